package catalog

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// ModelDefinition is a CPU model from outside the catalog's QEMU (a
// vendor plugin's): QEMU's X86CPUDefinition with one version's props
// applied, before QEMU builds a CPU from it.
type ModelDefinition struct {
	// Name is the name it is known by ("EPYC-Turin-v1", "EPYC-Turin" for
	// the unversioned alias); AliasOf the versioned name an alias stands
	// for.
	Name, AliasOf string
	// Features are the definition's features (QEMU's .features[]).
	Features feature.FeatureSet
	Vendor   string
	Family   int
	Model    int
	Stepping int
	ModelID  string
	// Level, XLevel and XLevel2 are the definition's levels. QEMU makes
	// them the CPU's minimum levels (x86_cpu_load_model sets min-level
	// from def->level), raised by the features; a version prop that sets
	// one makes it explicit (LevelExplicit …), kept as given.
	Level, XLevel, XLevel2                         uint32
	LevelExplicit, XLevelExplicit, XLevel2Explicit bool
	// Props are the version props that are neither features nor the
	// fields above ("x-force-cpuid-0x1f", say), by name: kept to be
	// shown, not applied.
	Props map[string]string
	// Source names where the definition comes from (a plugin's name).
	Source string
}

// accelDefaultProps are the properties QEMU sets on every named CPU model
// for an accelerator before machine compat properties and user options:
// kvm_default_props (target/i386/kvm/kvm-cpu.c) and tcg_default_props
// (target/i386/tcg/tcg-cpu.c), identical in QEMU 7.2 and 10.0, and in 5.2
// (both in its target/i386/cpu.c). 7.2's list also switches
// kvm-msi-ext-dest-id off, a no-op for models, none of which switches it
// on (and a name 5.2 does not have), so it is left out.
// TestDefinitionsReproduceCatalog holds them to every built-in model's
// answers.
var accelDefaultProps = map[string][]struct {
	name string
	on   bool
}{
	kvm: {
		{"kvmclock", true}, {"kvm-nopiodelay", true}, {"kvm-asyncpf", true},
		{"kvm-steal-time", true}, {"kvm-pv-eoi", true}, {"kvmclock-stable-bit", true},
		{"x2apic", true}, {"acpi", false}, {"monitor", false}, {"svm", false},
	},
	tcg: {{"vme", false}},
}

// build returns what QEMU answers for a CPU built from d on the machine
// type with index mi under accel: the definition with hypervisor set (as
// x86_cpu_load_model sets it on every model), the accelerator's
// default props, the machine type's compat properties (the catalog's
// per-machine defaults, which are what the machine type changes for
// every model alike), then QEMU's expansion (dependencies, automatic
// levels). Under kvm the vendor stays the definition's, as in a catalog's
// stored answers (Resolve substitutes the host's).
func (c *Catalog) build(d *ModelDefinition, mi int, accel string) (answer, error) {
	mt := &c.machines[mi]
	// x86_cpu_load_model sets hypervisor on every model it loads.
	hv, err := c.reg.Lookup("hypervisor")
	if err != nil {
		return answer{}, err
	}
	f, err := applyAccelDefaults(c.reg, d.Features.Add(hv), accel, mt)
	if err != nil {
		return answer{}, err
	}
	p := Props{
		Vendor: d.Vendor, Family: d.Family, Model: d.Model, Stepping: d.Stepping, ModelID: d.ModelID,
		FullCPUIDAutoLevel: true, IntelPTAutoLevel: true,
	}
	if c.definitions {
		p.LevelExplicit, p.XLevelExplicit, p.XLevel2Explicit = d.LevelExplicit, d.XLevelExplicit, d.XLevel2Explicit
		if !d.LevelExplicit {
			p.DefMinLevel = d.Level
		}
		if !d.XLevelExplicit {
			p.DefMinXLevel = d.XLevel
		}
		if !d.XLevel2Explicit {
			p.DefMinXLevel2 = d.XLevel2
		}
	}
	// The machine type's compat properties, as the catalog's default for
	// every model: its switches of the automatic levels go into the
	// expansion; its feature changes apply to the expansion, as they do
	// for the catalog's own models.
	var md Delta
	if newest, _ := c.newest("pc-q35"); mt.Name != newest.Name {
		md = c.defaults[mt.Name][accel]
		if v := md.Props.FullCPUIDAutoLevel; v != nil {
			p.FullCPUIDAutoLevel = *v
		}
		if v := md.Props.IntelPTAutoLevel; v != nil {
			p.IntelPTAutoLevel = *v
		}
	}
	explicit := func(set bool, v uint32) *uint32 {
		if !set {
			return nil
		}
		return &v
	}
	in := LevelInput{
		MinLevel: p.DefMinLevel, MinXLevel: p.DefMinXLevel, MinXLevel2: p.DefMinXLevel2,
		FullCPUIDAutoLevel: p.FullCPUIDAutoLevel, IntelPTAutoLevel: p.IntelPTAutoLevel,
		Vendor: d.Vendor, VendorCPUIDOnly: true,
		Level:   explicit(d.LevelExplicit, d.Level),
		XLevel:  explicit(d.XLevelExplicit, d.XLevel),
		XLevel2: explicit(d.XLevel2Explicit, d.XLevel2),
	}
	if !c.definitions {
		in.MinLevel, in.MinXLevel, in.MinXLevel2 = d.Level, d.XLevel, d.XLevel2
	}
	exp, l, auto := c.expandDefinition(f, in, accel)
	p.Level, p.XLevel, p.XLevel2 = l.level, l.xlevel, l.xlevel2
	p.MinLevel, p.MinXLevel, p.MinXLevel2 = auto.level, auto.xlevel, auto.xlevel2
	a := answer{f: exp.Union(md.On).Difference(md.Off), p: p}
	if c.definitions {
		if accel != kvm {
			f = f.Difference(kvmWord(c.reg))
		}
		a.lat = md.applyLatent(f.Difference(exp))
	}
	return a, nil
}

// applyAccelDefaults returns f with accel's default props applied as
// QEMU applies them on machine type mt: kvm_default_props less those
// mt's compat function drops (kvmDefaultDropped), or tcg_default_props.
func applyAccelDefaults(reg *feature.Registry, f feature.FeatureSet, accel string, mt *MachineType) (feature.FeatureSet, error) {
	for _, p := range accelDefaultProps[accel] {
		if accel == kvm && kvmDefaultDropped(p.name, mt) {
			continue
		}
		id, err := reg.Lookup(p.name)
		if err != nil {
			return f, err
		}
		if p.on {
			f = f.Add(id)
		} else {
			f = f.Remove(id)
		}
	}
	return f, nil
}

// kvmDefaultDropped reports whether machine type mt takes prop out of
// kvm_default_props (x86_cpu_change_kvm_default(prop, NULL) in its compat
// function): x2apic before 2.0 (pc_compat_1_7), svm before 2.2
// (pc_compat_2_1, when KVM still enabled SVM for models that have it).
// (5.2 also drops kvm-pv-eoi in pc_compat_1_2, hw/i386/pc_piix.c, but
// only for pc-1.0 to pc-1.2: machine types of family "pc", which no
// catalog holds — the importer takes pc-i440fx-* and pc-q35-* only.)
func kvmDefaultDropped(prop string, mt *MachineType) bool {
	var before []int
	switch prop {
	case "x2apic":
		before = []int{2, 0}
	case "svm":
		before = []int{2, 2}
	default:
		return false
	}
	return compareVersions(mt.Version, before) < 0
}

// WithModels returns a catalog that also holds defs, each resolved on
// every machine type under every accelerator of c as QEMU would resolve
// a model it defined (see build), over reg, which must be c's registry or
// one extended from it (feature.Registry.Extend) that names the
// definitions' features. A definition whose name c already has is
// skipped when it resolves exactly as c's model does everywhere (a
// notice says so), and is an error naming both otherwise. c is not
// changed.
func (c *Catalog) WithModels(reg *feature.Registry, defs []ModelDefinition) (*Catalog, []string, error) {
	if err := extends(reg, c.reg); err != nil {
		return nil, nil, err
	}
	if _, err := c.release(); err != nil && len(defs) > 0 {
		release := "names no QEMU release"
		if c.qemuVersion != "" {
			release = "is of QEMU " + c.qemuVersion
		}
		return nil, nil, fmt.Errorf("catalog %s %s: models of %s are built with a known QEMU release's rules (%s), so they join only catalogs of those",
			c.name, release, defs[0].Source, core.KnownReleases())
	}
	newest, ok := c.newest("pc-q35")
	if !ok {
		return nil, nil, fmt.Errorf("catalog %s has no pc-q35 machine type to base models on", c.name)
	}
	n := *c
	n.reg = reg
	n.models = append([]Model(nil), c.models...)
	n.overrides = make(map[resolveKey]Delta, len(c.overrides))
	for k, v := range c.overrides {
		n.overrides[k] = v
	}
	// n.packed is c's: never written after parseBinary, so shared.
	baseAccel := tcg
	if !c.HasAccel(core.TCG) {
		baseAccel = kvm
	}
	var notices []string
	var errs []error
	seen := map[string]string{}
	for i := range defs {
		d := &defs[i]
		if prev, dup := seen[d.Name]; dup {
			errs = append(errs, fmt.Errorf("model %s is defined by both %s and %s", d.Name, prev, d.Source))
			continue
		}
		seen[d.Name] = d.Source
		answers := make(map[resolveKey]answer, len(c.machines)*len(c.accels))
		for mi := range c.machines {
			for _, acc := range c.accels {
				a, err := n.build(d, mi, acc)
				if err != nil {
					return nil, nil, fmt.Errorf("model %s of %s: %v", d.Name, d.Source, err)
				}
				answers[resolveKey{d.Name, c.machines[mi].Name, acc}] = a
			}
		}
		if old, err := c.model(d.Name); err == nil {
			if where := c.differs(old, answers); where != "" {
				src := old.Source
				if src == "" {
					src = "catalog " + c.name
				}
				errs = append(errs, fmt.Errorf("model %s of %s differs from %s's model %s (%s)", d.Name, d.Source, src, old.Name, where))
			} else {
				notices = append(notices, fmt.Sprintf("model %s of %s is already in catalog %s with the same definition; using the catalog's", d.Name, d.Source, c.name))
			}
			continue
		}
		base, v := splitVersion(d.Name)
		if d.AliasOf != "" {
			v = 0
		}
		m := Model{Name: d.Name, Base: base, Version: v, AliasOf: d.AliasOf, Static: false,
			MigrationSafe: true, Source: d.Source, accel: map[string]Delta{}}
		// Layer it as Compact layers QEMU's answers: base, accelerator
		// delta on the newest pc-q35, sparse per-machine overrides.
		b := answers[resolveKey{d.Name, newest.Name, baseAccel}]
		m.Features, m.Latent, m.Props = b.f, b.lat, b.p
		for _, acc := range c.accels {
			n.setAccelDelta(&m, newest.Name, acc, answers[resolveKey{d.Name, newest.Name, acc}])
		}
		for _, mt := range c.machines {
			if mt.Name == newest.Name {
				continue
			}
			for _, acc := range c.accels {
				n.setOverride(&m, mt.Name, acc, answers[resolveKey{d.Name, mt.Name, acc}])
			}
		}
		n.models = append(n.models, m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	n.tables = nil
	n.index()
	return &n, notices, nil
}

// differs says where c's model m resolves differently from answers (""
// when nowhere): the first (machine, accel) that differs.
func (c *Catalog) differs(m *Model, answers map[resolveKey]answer) string {
	keys := make([]resolveKey, 0, len(answers))
	for k := range answers {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].machine != keys[j].machine {
			return keys[i].machine < keys[j].machine
		}
		return keys[i].accel < keys[j].accel
	})
	for _, k := range keys {
		a := answers[k]
		f, p := c.resolve(m, k.machine, k.accel)
		if f != a.f {
			return fmt.Sprintf("on %s under %s: %s", k.machine, k.accel, describeDiff(c.reg, a.f, f))
		}
		if p != a.p {
			return fmt.Sprintf("on %s under %s: properties %+v vs %+v", k.machine, k.accel, a.p, p)
		}
	}
	return ""
}

func describeDiff(reg *feature.Registry, a, b feature.FeatureSet) string {
	s := ""
	if x := a.Difference(b); !x.IsEmpty() {
		s += fmt.Sprintf("has %v", reg.Names(x))
	}
	if x := b.Difference(a); !x.IsEmpty() {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("lacks %v", reg.Names(x))
	}
	return s
}

// extends checks that reg is base or an extension of it: the same
// features under the same IDs, possibly more after them.
func extends(reg, base *feature.Registry) error {
	if reg == base {
		return nil
	}
	if reg.Len() < base.Len() {
		return errors.New("registry does not extend the catalog's: it has fewer features")
	}
	for i := 0; i < base.Len(); i++ {
		if reg.Name(feature.ID(i)) != base.Name(feature.ID(i)) {
			return fmt.Errorf("registry does not extend the catalog's: feature %d is %s, not %s", i, reg.Name(feature.ID(i)), base.Name(feature.ID(i)))
		}
	}
	return nil
}

// AccelDefaultsOn returns the features QEMU switches on for every named
// model under accel (its accel default props that are on), in the order
// QEMU sets them.
func AccelDefaultsOn(accel string) []string {
	var out []string
	for _, p := range accelDefaultProps[accel] {
		if p.on {
			out = append(out, p.name)
		}
	}
	return out
}

// KVMDerived is a catalog's "kvm_data" (Raw.KVMData, Catalog.KVMData)
// when its kvm answers were derived from its tcg answers by DeriveKVM,
// not captured from QEMU under kvm.
const KVMDerived = "derived"

// What tcg's answers cannot show of a definition. tcg_default_props turn
// vme off for every named model, and QEMU applies machine compat
// properties after the accelerator's defaults, so under tcg no answer or
// probe shows whether a definition has vme — yet under kvm the
// expansion has it exactly when the definition does. These tables say
// it instead, from the source; TestDeriveKVMReproducesCatalog holds them
// to the captured kvm answers of the embedded catalogs.
var (
	// lacksVME are the models (every version) whose builtin_x86_defs
	// entry (target/i386/cpu.c) has no CPUID_VME: qemu64 and qemu32 list
	// PPRO_FEATURES-based words without it, base lists nothing. Every
	// other model of 5.2 to 11.1 has it.
	lacksVME = []string{"base", "qemu32", "qemu64"}
	// compatVMEOff are the models whose class pc_compat_2_2
	// (hw/i386/pc.c) sets vme=off on, on machine types 2.2 and older:
	// the unversioned names only (the -vN models are other classes).
	compatVMEOff = []string{"kvm64", "kvm32", "Conroe", "Penryn", "Nehalem", "Westmere", "SandyBridge", "Haswell",
		"Broadwell", "Opteron_G1", "Opteron_G2", "Opteron_G3", "Opteron_G4", "Opteron_G5"}
)

// definitionHasVME says whether model's definition has vme on machine
// type mt (see lacksVME, compatVMEOff).
func definitionHasVME(model string, mt *MachineType) bool {
	base, _ := splitVersion(model)
	if slices.Contains(lacksVME, base) {
		return false
	}
	return !(slices.Contains(compatVMEOff, model) && compareVersions(mt.Version, []int{2, 3}) < 0)
}

// DeriveKVM returns the kvm expansions QEMU would answer on a host whose
// CPU vendor is hostVendor, derived from raw's tcg expansions, which
// must record definitions (Raw.Definitions): one per tcg expansion, in
// the same order.
//
// QEMU builds a named model under kvm from the same definition and
// machine compat properties as under tcg; only the accelerator's
// default props differ, and no host feature enters the expansion (only
// host and max read the host; the importer leaves both out). So each
// kvm answer is the tcg definition (the expansion and its latent
// features) with tcg's defaults undone (vme, as definitionHasVME says)
// and kvm's applied (applyAccelDefaults, build's rules), expanded with
// the release's rules (expand.go) from the definition's own levels and
// the machine type's automatic-level switches. Under kvm the vendor is
// the host's (host_cpu_instance_init), except for base, which has none.
func DeriveKVM(raw *Raw, reg *feature.Registry, hostVendor string) ([]RawExpansion, error) {
	if !raw.Definitions {
		return nil, fmt.Errorf("QEMU %s: deriving kvm answers needs the models' definitions, which the import records only for a known release", raw.QEMUVersion)
	}
	rel, err := core.ParseRelease(raw.QEMUVersion)
	if err != nil {
		return nil, err
	}
	if _, err := compileRules(reg, rel); err != nil {
		return nil, err
	}
	vme, err := reg.Lookup("vme")
	if err != nil {
		return nil, err
	}
	var out []RawExpansion
	for _, e := range raw.Expansions {
		if e.Accel != tcg {
			continue
		}
		where := fmt.Sprintf("%s on %s", e.Model, e.Machine)
		fam, ver, ok := ParseMachineName(e.Machine)
		if !ok {
			return nil, fmt.Errorf("%s: machine type %q is not FAMILY-VERSION", where, e.Machine)
		}
		mt := &MachineType{Name: e.Machine, Family: fam, Version: ver}
		exp, err := reg.Set(e.Features...)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		lat, err := reg.Set(e.Latent...)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		def := exp.Union(lat)
		if definitionHasVME(e.Model, mt) {
			def = def.Add(vme)
		}
		// base is the one model without an X86CPUModel (its class is
		// x86_cpu_base_class_init's), and QEMU applies the accelerator's
		// defaults only "if (xcc->model)" (kvm_cpu_instance_init).
		if e.Model != "base" {
			if def, err = applyAccelDefaults(reg, def, kvm, mt); err != nil {
				return nil, err
			}
		}
		p := propsOf(e)
		if e.Vendor != "" {
			p.Vendor = hostVendor
		}
		in := definitionInput(p, true)
		f, l, auto := expandCPU(reg, def, rel, in)
		k := e
		k.Accel = kvm
		k.Features = reg.Names(f)
		k.Latent = nil
		if x := def.Difference(f); !x.IsEmpty() {
			k.Latent = reg.Names(x)
		}
		k.Vendor = p.Vendor
		k.Level, k.XLevel, k.XLevel2 = l.level, l.xlevel, l.xlevel2
		k.MinLevel, k.MinXLevel, k.MinXLevel2 = auto.level, auto.xlevel, auto.xlevel2
		out = append(out, k)
	}
	return out, nil
}

// CompareDerivedKVM derives the kvm answers of raw's tcg ones (DeriveKVM)
// and compares them with the kvm answers raw holds, which QEMU gave
// under kvm: it returns one line per (model, machine type) where they
// differ, the first few of them, and how many there are. An import that
// captures kvm checks the derivation this way, so that a QEMU whose kvm
// rules are not the release's (a distribution's patch, say) is noticed
// before its catalogs are derived anywhere.
func CompareDerivedKVM(raw *Raw, reg *feature.Registry) (first []string, n int, err error) {
	derived, err := DeriveKVM(raw, reg, raw.HostVendor)
	if err != nil {
		return nil, 0, err
	}
	type key struct{ model, machine string }
	captured := map[key]RawExpansion{}
	for _, e := range raw.Expansions {
		if e.Accel == kvm {
			captured[key{e.Model, e.Machine}] = e
		}
	}
	for _, d := range derived {
		c, ok := captured[key{d.Model, d.Machine}]
		if !ok {
			continue
		}
		msg := ""
		if !slices.Equal(d.Features, c.Features) {
			msg += fmt.Sprintf(" derived %v more, %v fewer features;", setDiff(d.Features, c.Features), setDiff(c.Features, d.Features))
		}
		if !slices.Equal(d.Latent, c.Latent) {
			msg += fmt.Sprintf(" derived latent %v, QEMU's %v;", d.Latent, c.Latent)
		}
		if propsOf(d) != propsOf(c) {
			msg += fmt.Sprintf(" derived properties %+v, QEMU's %+v;", propsOf(d), propsOf(c))
		}
		if msg == "" {
			continue
		}
		n++
		if len(first) < 5 {
			first = append(first, fmt.Sprintf("%s on %s (kvm):%s", d.Model, d.Machine, strings.TrimSuffix(msg, ";")))
		}
	}
	return first, n, nil
}

// setDiff returns the names of a not in b.
func setDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
