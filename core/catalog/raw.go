package catalog

import (
	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Raw is what a QEMU binary said about its CPU models, before compaction:
// the answers of query-version, query-machines, query-cpu-definitions and
// query-cpu-model-expansion (type "full") for every model on every machine
// type under every accelerator imported. The importer fills it; Compact
// turns it into a Catalog and checks that the Catalog re-expands to
// exactly these answers.
type Raw struct {
	// QEMUVersion is query-version's "qemu" triple, "7.2.22".
	QEMUVersion string `json:"qemu_version"`
	// QEMUPackage is query-version's "package" string.
	QEMUPackage string `json:"qemu_package"`
	// HostVendor is the CPUID vendor string of the host the kvm
	// expansions were taken on ("" when no kvm expansion was taken).
	HostVendor string `json:"host_vendor,omitempty"`
	// KVMData is KVMDerived when the kvm expansions were derived from
	// the tcg ones (DeriveKVM) rather than taken from QEMU under kvm;
	// HostVendor is then the vendor of the host they were derived for.
	KVMData string `json:"kvm_data,omitempty"`
	// Machines are the pc-i440fx-* and pc-q35-* machine types imported,
	// as query-machines reports them.
	Machines []RawMachine `json:"machines"`
	// Models are query-cpu-definitions' entries (from any one machine
	// type: the list does not depend on it), host/max/base excluded.
	Models []RawModel `json:"models"`
	// Expansions holds one entry per (model, machine, accel) imported.
	Expansions []RawExpansion `json:"expansions"`
	// Definitions says that every expansion also records the model's
	// definition (RawExpansion.Latent and the Def* fields). Raws taken
	// before definitions were recorded, or from a QEMU release whose
	// expansion rules expand.go does not know, have none.
	Definitions bool `json:"definitions,omitempty"`
	// NewFeatures are the CPUID flags the binary recognises
	// (qemu-system-x86_64 -cpu help, "Recognized CPUID flags") that the
	// feature registry of the import does not know: the binary is of a
	// release newer than this cpupolicy. Expansions cannot record them
	// (a FeatureSet holds registry features only), so they are named
	// here, for the importer's caller to report.
	NewFeatures []string `json:"new_features,omitempty"`
	// Warnings are what the import noticed and the caller should tell:
	// kvm answers captured from QEMU that differ from those derived from
	// its tcg answers (CompareDerivedKVM).
	Warnings []string `json:"warnings,omitempty"`
}

// RawMachine is one query-machines entry.
type RawMachine struct {
	Name       string `json:"name"`
	Alias      string `json:"alias,omitempty"` // "pc", "q35"
	IsDefault  bool   `json:"is_default,omitempty"`
	Deprecated bool   `json:"deprecated,omitempty"`
}

// RawModel is one query-cpu-definitions entry.
type RawModel struct {
	Name string `json:"name"`
	// AliasOf is the versioned model an unversioned name stands for, as
	// QEMU reports it under "-machine none" (tcg; kvm reports the same).
	// It depends on the machine type: types 4.0.1 and older report no
	// alias-of at all (their unversioned models are legacy classes), and
	// machine compat properties aimed at the unversioned class make it
	// expand differently from its target on types up to 6.0 (Broadwell
	// vs Broadwell-v1 on pc-i440fx-2.4; qemu64 vs qemu64-v1 on
	// pc-q35-6.0). Resolve an unversioned name by its own expansion.
	AliasOf       string `json:"alias_of,omitempty"`
	Static        bool   `json:"static,omitempty"`
	MigrationSafe bool   `json:"migration_safe,omitempty"`
	Deprecated    bool   `json:"deprecated,omitempty"`
	TypeName      string `json:"typename,omitempty"`
}

// RawExpansion is one query-cpu-model-expansion (type "full") answer.
type RawExpansion struct {
	Model   string `json:"model"`
	Machine string `json:"machine"`
	Accel   string `json:"accel"` // "kvm" or "tcg"
	// Features are the names of the boolean properties that are true and
	// name a CPUID/MSR feature, canonical QEMU spellings, sorted.
	Features []string `json:"features"`
	// The numeric and string CPUID properties of the expansion.
	Level    uint32 `json:"level"`
	XLevel   uint32 `json:"xlevel"`
	XLevel2  uint32 `json:"xlevel2"`
	Family   int    `json:"family"`
	ModelNum int    `json:"model_num"` // the "model" property
	Stepping int    `json:"stepping"`
	ModelID  string `json:"model_id"`
	Vendor   string `json:"vendor"`
	// The properties that steer QEMU's automatic CPUID levels
	// (x86_cpu_expand_features): the model's minimum levels and the
	// machine type's full-cpuid-auto-level / x-intel-pt-auto-level.
	MinLevel           uint32 `json:"min_level"`
	MinXLevel          uint32 `json:"min_xlevel"`
	MinXLevel2         uint32 `json:"min_xlevel2"`
	FullCPUIDAutoLevel bool   `json:"full_cpuid_auto_level"`
	IntelPTAutoLevel   bool   `json:"intel_pt_auto_level"`

	// The model's definition on this machine type under this
	// accelerator: the CPU as QEMU has built it before
	// x86_cpu_expand_features, which is what the props of a
	// query-cpu-model-expansion request and the options of -cpu are
	// applied to. It is the expansion's own properties (family, model-id,
	// full-cpuid-auto-level, …) and features, plus what follows; set only
	// when Raw.Definitions is.
	//
	// Latent are the features the definition has and the expansion
	// lacks, canonical names, sorted: QEMU's feature dependencies cleared
	// them (Intel models define VMX capabilities but not vmx; kvm turns
	// svm off, hiding AMD models' SVM features) or, on machine types 2.8
	// to 3.1, the intel-pt level rule did.
	Latent []string `json:"latent,omitempty"`
	// DefMinLevel, DefMinXLevel and DefMinXLevel2 are min-level,
	// min-xlevel and min-xlevel2 before QEMU raises them for the
	// features: the model's own levels, or a machine type's compat
	// property (min-level 4 for qemu64 on 2.3 and older).
	DefMinLevel   uint32 `json:"def_min_level,omitempty"`
	DefMinXLevel  uint32 `json:"def_min_xlevel,omitempty"`
	DefMinXLevel2 uint32 `json:"def_min_xlevel2,omitempty"`
	// LevelExplicit (XLevelExplicit, XLevel2Explicit) says the
	// definition sets level (xlevel, xlevel2) itself, to the value Level
	// (XLevel, XLevel2) reports, so that no feature raises it: machine
	// compat properties set EPYC's xlevel on 2.12 and older.
	LevelExplicit   bool `json:"level_explicit,omitempty"`
	XLevelExplicit  bool `json:"xlevel_explicit,omitempty"`
	XLevel2Explicit bool `json:"xlevel2_explicit,omitempty"`
}

// FeatureDependency is one entry of QEMU's feature_dependencies[]: when
// the set has none of From, x86_cpu_expand_features clears To.
type FeatureDependency struct {
	From, To feature.FeatureSet
}

// FeatureDependencies returns the feature dependencies of QEMU release
// rel in QEMU's order, compiled for reg: what an importer needs to tell
// which features of a definition its expansion hides.
func FeatureDependencies(reg *feature.Registry, rel core.Release) ([]FeatureDependency, error) {
	r, err := compileRules(reg, rel)
	if err != nil {
		return nil, err
	}
	return r.deps, nil // compiled for this call: the caller's to keep
}

// ProbeGroups splits absent, from features a definition may have and its
// full expansion lacks, into groups that one probe expansion each can
// settle: with every from feature outside the group on, no dependency
// that clears a member has all its from features inside the group, so a
// member survives the probe exactly when the definition has it. The
// importer and the check of the dependency rules against QEMU recover
// definitions with these probes.
func ProbeGroups(deps []FeatureDependency, absent feature.FeatureSet) []feature.FeatureSet {
	safe := func(g feature.FeatureSet) bool {
		for _, d := range deps {
			if !d.To.Intersect(g).IsEmpty() && d.From.SubsetOf(g) {
				return false
			}
		}
		return true
	}
	var groups []feature.FeatureSet
next:
	for id := range absent.All() {
		for i, g := range groups {
			if safe(g.Add(id)) {
				groups[i] = g.Add(id)
				continue next
			}
		}
		groups = append(groups, feature.SetOf(id))
	}
	return groups
}
