package catalog

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
	// Machines are the pc-i440fx-* and pc-q35-* machine types imported,
	// as query-machines reports them.
	Machines []RawMachine `json:"machines"`
	// Models are query-cpu-definitions' entries (from any one machine
	// type: the list does not depend on it), host/max/base excluded.
	Models []RawModel `json:"models"`
	// Expansions holds one entry per (model, machine, accel) imported.
	Expansions []RawExpansion `json:"expansions"`
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
}
