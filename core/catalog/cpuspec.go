package catalog

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// CPUSpec is a parsed QEMU -cpu option: "Model,+feat,-feat,feat=on,prop=value".
type CPUSpec struct {
	Text  string
	Model string
	// Release is the QEMU release whose grammar (its x86 CPU object's
	// properties) the spec was parsed with.
	Release core.Release
	// Settings are the feat=on|off (and bare "feat") options in order;
	// the last one for a feature wins.
	Settings []Setting
	// Plus and Minus are the legacy +feat/-feat options. QEMU applies them
	// after every feat=on|off, pluses first, so a -feat always wins.
	Plus, Minus feature.FeatureSet
	// Props are the other properties of QEMU's x86 CPU object the spec
	// sets (enforce, check, kvm, pmu, phys-bits, level, vendor, hv-*,
	// x-*, …), by QEMU's name, each with its final value in QEMU's order
	// (prop=value in order, then +prop, then -prop), normalised: "on" or
	// "off" for a flag, a decimal number for an integer. tsc-freq is
	// recorded as tsc-frequency, in Hz.
	Props map[string]string
	// Warnings are what QEMU warns about while parsing the spec (a
	// feature given both as +feat or -feat and as feat=value).
	Warnings []string
}

// Setting is one feat=on|off option.
type Setting struct {
	ID feature.ID
	On bool
}

// Prop returns the value the spec gives property name, or def.
func (s *CPUSpec) Prop(name, def string) string {
	if v, ok := s.Props[name]; ok {
		return v
	}
	return def
}

// AccelError is QEMU's refusal of the spec's model under accel: "host"
// is the host CPU as KVM (or HVF) gives it, and nothing under tcg; nil
// for every other model and accelerator.
func (s *CPUSpec) AccelError(accel core.Accel) error {
	if s.Model == "host" && accel != core.KVM {
		return fmt.Errorf("cpu spec %q: CPU model 'host' requires KVM or HVF", s.Text)
	}
	return nil
}

// Enforce reports whether QEMU refuses to start the guest when the host
// lacks a feature the spec asks for (enforce=on); otherwise it starts it
// without the feature, warning (check=on, the default) or not.
func (s *CPUSpec) Enforce() bool { return s.Prop("enforce", "off") == "on" }

// Check reports whether QEMU warns about a feature the host lacks.
func (s *CPUSpec) Check() bool { return s.Prop("check", "on") == "on" || s.Enforce() }

// grammarRelease is the release whose -cpu grammar parses specs for c:
// its own, or for a catalog of no known release (libvirt's CPU map) the
// newest known one.
func (c *Catalog) grammarRelease() core.Release {
	if rel, err := c.release(); err == nil {
		return rel
	}
	rels := core.Releases()
	return rels[len(rels)-1]
}

// ParseCPU parses a QEMU -cpu option as the catalog's QEMU release does
// ([ParseCPU]), and checks that the catalog has its model (or that it is
// host, max or base).
func (c *Catalog) ParseCPU(text string) (*CPUSpec, error) {
	s, err := ParseCPU(c.grammarRelease(), text, c.reg)
	if err != nil {
		return nil, err
	}
	if !IsHostModel(s.Model) {
		if _, err := c.model(s.Model); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ParseCPU parses QEMU's -cpu syntax as release rel's
// x86_cpu_parse_featurestr does: the model up to the first comma, then
// comma-separated options (empty ones skipped; QEMU has no escaped
// comma here). "+name" and "-name" set a flag property by its exact name
// after everything else; "name=value" and a bare "name" (= "on") set any
// property, with '_' read as '-'; "tsc-freq" takes a metric size. A
// property must be one of rel's x86 CPU object (qom-list-properties),
// settable, and its value of its type; a feature flag may also be one a
// plugin added to reg. Errors give QEMU's reason and suggest a name only
// when it is a plausible typo.
func ParseCPU(rel core.Release, text string, reg *feature.Registry) (*CPUSpec, error) {
	props := propertiesOf(rel)
	if props == nil {
		return nil, fmt.Errorf("cpu spec %q: no -cpu grammar for QEMU %s (known: %s)", text, rel, core.KnownReleases())
	}
	model, rest, _ := strings.Cut(text, ",")
	if model == "" {
		return nil, fmt.Errorf("cpu spec %q: no model name", text)
	}
	s := &CPUSpec{Text: text, Model: model, Release: rel, Props: map[string]string{}}
	maxModel := model == "max" || model == "host"
	fail := func(opt string, err error) error {
		return fmt.Errorf("cpu spec %q: option %q: %v", text, opt, err)
	}
	// lookup finds a property by its exact name, and the feature it sets
	// (ok false for another property).
	lookup := func(name string) (p cpuProperty, id feature.ID, isFeature bool, err error) {
		p, found := props.byName[name]
		if found && p.maxOnly && !maxModel {
			return p, 0, false, fmt.Errorf("QEMU %s's x86 CPU has property %q only in models host and max", rel, name)
		}
		if !found {
			// A plugin's feature, which QEMU does not know.
			fid, err := reg.Lookup(name)
			if err == nil && reg.Feature(fid).Source != "" {
				return cpuProperty{name: name, typ: "bool"}, fid, true, nil
			}
			msg := fmt.Sprintf("unknown feature %q", name)
			// The registry's suggestion for a feature-like name (it
			// prefers canonical names), else the nearest property.
			near := ""
			var ue *feature.UnknownError
			if errors.As(err, &ue) {
				near = ue.Suggestion()
			}
			if near == "" {
				near = closeName(name, props.names)
			}
			if near != "" {
				msg = fmt.Sprintf("unknown feature %q (did you mean %q?)", name, near)
			}
			return p, 0, false, errors.New(msg)
		}
		if err := p.settable(); err != nil {
			return p, 0, false, err
		}
		if p.typ == "bool" {
			if fid, err := reg.Lookup(name); err == nil {
				return p, fid, true, nil
			}
		}
		return p, 0, false, nil
	}
	var plus, minus []string
	for _, o := range strings.Split(rest, ",") {
		if rest == "" || o == "" {
			continue
		}
		if o[0] == '+' {
			plus = append(plus, o)
			continue
		}
		if o[0] == '-' {
			minus = append(minus, o)
			continue
		}
		name, val, hasValue := strings.Cut(o, "=")
		if !hasValue {
			val = "on"
		}
		name = strings.ReplaceAll(name, "_", "-")
		for _, l := range [][]string{plus, minus} {
			for _, pm := range l {
				if pm[1:] == name {
					s.Warnings = append(s.Warnings, fmt.Sprintf("ambiguous CPU model string: don't mix both %q and \"%s=%s\"", pm, name, val))
				}
			}
		}
		if name == "tsc-freq" {
			v, err := parseTSCFreq(val)
			if err != nil {
				return nil, fail(o, err)
			}
			name, val = "tsc-frequency", v
		}
		p, id, isFeature, err := lookup(name)
		if err != nil {
			return nil, fail(o, err)
		}
		v, err := p.parseValue(val)
		if err != nil {
			return nil, fail(o, err)
		}
		if isFeature {
			s.Settings = append(s.Settings, Setting{id, v == "on"})
		} else {
			s.Props[p.name] = v
		}
	}
	// x86_cpu_expand_features sets each +name, then each -name, with
	// object_property_set_bool: the exact property name, a flag only.
	for _, l := range [][]string{plus, minus} {
		for _, o := range l {
			p, id, isFeature, err := lookup(o[1:])
			if err != nil {
				return nil, fail(o, err)
			}
			if p.typ != "bool" {
				return nil, fail(o, fmt.Errorf("parameter %q expects %s, not on or off", p.name, p.typ))
			}
			switch {
			case isFeature && o[0] == '+':
				s.Plus = s.Plus.Add(id)
			case isFeature:
				s.Minus = s.Minus.Add(id)
			case o[0] == '+':
				s.Props[p.name] = "on"
			default:
				s.Props[p.name] = "off"
			}
		}
	}
	return s, nil
}

// Explicit returns the features the spec switches on and off by name.
func (s *CPUSpec) Explicit() (on, off feature.FeatureSet) {
	for _, st := range s.Settings {
		if st.On {
			on, off = on.Add(st.ID), off.Remove(st.ID)
		} else {
			off, on = off.Add(st.ID), on.Remove(st.ID)
		}
	}
	on = on.Union(s.Plus).Difference(s.Minus)
	off = off.Difference(s.Plus).Union(s.Minus)
	return on, off
}

// ResolveSpec resolves a -cpu spec the way QEMU builds the CPU. It starts
// from the model's definition on machine under accel — the CPU before
// x86_cpu_expand_features: the expansion (Resolve) plus the features
// QEMU's dependencies hid there, with the definition's own minimum and
// explicit levels — and applies the spec in QEMU's order: the
// feat=on|off settings in order, then every +feat, then every -feat, then
// the level, xlevel and xlevel2 options as explicit levels. Then it
// expands as QEMU does (expand.go): without kvm the KVM word is cleared,
// the feature dependencies run, and the CPUID levels are raised for the
// features. family, model, stepping, model-id and vendor replace the
// definition's; under kvm the vendor is otherwise the host's, as for
// Resolve. The result is what query-cpu-model-expansion (type "full")
// answers for the model with the spec's options as props.
//
// A catalog without definitions (Catalog.Definitions false) starts from
// the expansion itself, with its (already raised) minimum levels: an
// approximation that misses hidden features (vmx=on adds no VMX
// capability) and never lowers a level.
func (c *Catalog) ResolveSpec(s *CPUSpec, machine string, accel core.Accel, hostVendor string) (*Resolution, error) {
	return c.ResolveCPU(s, machine, accel, &HostCPU{Vendor: hostVendor})
}

// HostCPU is what the host and max models start from on one host under
// one accelerator: what the accelerator can give a guest there (under
// kvm, KVM's answer adjusted as QEMU adjusts it; under tcg, what TCG
// emulates), less the features QEMU never turns on by itself
// (no_autoenable_flags), and the host's identity. core/check computes it
// (check.HostCPU) from a host's availability.
type HostCPU struct {
	Features feature.FeatureSet
	// Unmigratable are the features "migratable=on" (host's and max's
	// default) leaves out: invtsc, which QEMU marks unmigratable.
	Unmigratable feature.FeatureSet
	// Vendor is the CPUID vendor QEMU gives a kvm guest on the host ("":
	// unknown, the model's own).
	Vendor                  string
	Family, Model, Stepping int
	ModelID                 string
}

// ResolveCPU is ResolveSpec for any model, host and max included: those
// start from h (QEMU's max_x86_cpu_initfn and
// x86_cpu_expand_features' max_features: every feature the accelerator
// supports that QEMU auto-enables, less the unmigratable ones unless
// migratable=off), with vendor, family, model, stepping and model-id the
// host's under kvm; under tcg "host" is an error, as in QEMU, and max
// is an AMD CPU. h may be nil for a named model.
func (c *Catalog) ResolveCPU(s *CPUSpec, machine string, accel core.Accel, h *HostCPU) (*Resolution, error) {
	hostVendor := ""
	if h != nil {
		hostVendor = h.Vendor
	}
	if s.Model == "host" || s.Model == "max" {
		return c.resolveHostModel(s, machine, accel, h)
	}
	r, err := c.Resolve(s.Model, machine, accel, hostVendor)
	if err != nil {
		return nil, err
	}
	if len(s.Settings) == 0 && s.Plus.IsEmpty() && s.Minus.IsEmpty() && len(s.Props) == 0 {
		return r, nil
	}
	if _, err := c.release(); err != nil {
		return nil, fmt.Errorf("cpu spec %q: catalog %s is of QEMU %s: -cpu options are resolved for QEMU %s only",
			s.Text, c.name, c.qemuVersion, core.KnownReleases())
	}
	f := r.Features
	if c.definitions {
		m, _ := c.model(r.Model)
		f = f.Union(c.latent(m, r.Machine, string(accel)))
	}
	in := definitionInput(r.Props, c.definitions)
	// x86_cpu_parse_featurestr makes feat=on|off global properties, set
	// in order when the CPU is created; x86_cpu_expand_features applies
	// plus_features, then minus_features.
	for _, st := range s.Settings {
		if st.On {
			f = f.Add(st.ID)
		} else {
			f = f.Remove(st.ID)
		}
	}
	f = f.Union(s.Plus).Difference(s.Minus)
	return c.applyProps(r, s, f, in)
}

// applyProps applies the spec's properties to r, whose features (with
// the spec's features applied) are f and whose definition's levels are
// in, and expands the result as QEMU does.
func (c *Catalog) applyProps(r *Resolution, s *CPUSpec, f feature.FeatureSet, in LevelInput) (*Resolution, error) {
	accel := r.Accel
	num := func(k string) (uint32, bool) {
		v, ok := s.Props[k]
		if !ok {
			return 0, false
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		return uint32(n), true
	}
	flag := func(k string, def bool) bool {
		v, ok := s.Props[k]
		if !ok {
			return def
		}
		return v == "on"
	}
	if v, ok := num("level"); ok {
		in.Level, r.LevelExplicit = &v, true
	}
	if v, ok := num("xlevel"); ok {
		in.XLevel, r.XLevelExplicit = &v, true
	}
	if v, ok := num("xlevel2"); ok {
		in.XLevel2, r.XLevel2Explicit = &v, true
	}
	if v, ok := num("level-func7"); ok {
		in.LevelFunc7 = &v
	}
	if v, ok := num("min-level"); ok {
		in.MinLevel = v
	}
	if v, ok := num("min-xlevel"); ok {
		in.MinXLevel = v
	}
	if v, ok := num("min-xlevel2"); ok {
		in.MinXLevel2 = v
	}
	in.FullCPUIDAutoLevel = flag("full-cpuid-auto-level", in.FullCPUIDAutoLevel)
	in.IntelPTAutoLevel = flag("x-intel-pt-auto-level", in.IntelPTAutoLevel)
	in.VendorCPUIDOnly = flag("x-vendor-cpuid-only", in.VendorCPUIDOnly)
	in.ForceFeatures = flag("x-force-features", false)
	in.ForceCPUID0x1F = flag("x-force-cpuid-0x1f", in.ForceCPUID0x1F)
	in.PMU = flag("pmu", false)
	// 11.1 clears pdcm without a PMU unless x-pdcm-on-even-without-pmu,
	// which pc_compat_10_0 sets for machine types 10.0 and older.
	oldMachine := false
	if m, err := c.machine(r.Machine); err == nil {
		oldMachine = compareVersions(m.Version, []int{10, 0}) <= 0
	}
	in.PDCMNeedsPMU = !in.PMU && !flag("x-pdcm-on-even-without-pmu", oldMachine)
	r.FullCPUIDAutoLevel, r.IntelPTAutoLevel = in.FullCPUIDAutoLevel, in.IntelPTAutoLevel
	if v, ok := num("family"); ok {
		r.Family = int(v)
	}
	if v, ok := num("model"); ok {
		r.Props.Model = int(v)
	}
	if v, ok := num("stepping"); ok {
		r.Stepping = int(v)
	}
	if v, ok := s.Props["model-id"]; ok {
		r.ModelID = v
	}
	if v, ok := s.Props["vendor"]; ok {
		r.Vendor = v
	}
	// kvm=off hides the KVM signature leaves: QEMU clears FEAT_KVM
	// ("if (!kvm_enabled() || !cpu->expose_kvm)"), as without kvm.
	exposeKVM := flag("kvm", true)
	in.Vendor = r.Vendor
	var l, auto cpuidLevels
	if !exposeKVM {
		f = f.Difference(kvmWord(c.reg))
	}
	r.Features, l, auto = c.expandDefinition(f, in, string(accel))
	r.Level, r.XLevel, r.XLevel2 = l.level, l.xlevel, l.xlevel2
	r.MinLevel, r.MinXLevel, r.MinXLevel2 = auto.level, auto.xlevel, auto.xlevel2
	if len(s.Props) > 0 {
		r.Options = maps.Clone(s.Props)
	}
	return r, nil
}

// definitionInput is the LevelInput of a resolved model's definition:
// its own minimum levels and its explicit levels, or, without
// definitions, the expansion's minimum levels (already raised).
func definitionInput(p Props, definitions bool) LevelInput {
	in := LevelInput{
		MinLevel: p.MinLevel, MinXLevel: p.MinXLevel, MinXLevel2: p.MinXLevel2,
		FullCPUIDAutoLevel: p.FullCPUIDAutoLevel, IntelPTAutoLevel: p.IntelPTAutoLevel,
		Vendor: p.Vendor, VendorCPUIDOnly: true,
	}
	if !definitions {
		return in
	}
	in.MinLevel, in.MinXLevel, in.MinXLevel2 = p.DefMinLevel, p.DefMinXLevel, p.DefMinXLevel2
	explicit := func(set bool, v uint32) *uint32 {
		if !set {
			return nil
		}
		return &v
	}
	in.Level = explicit(p.LevelExplicit, p.Level)
	in.XLevel = explicit(p.XLevelExplicit, p.XLevel)
	in.XLevel2 = explicit(p.XLevel2Explicit, p.XLevel2)
	return in
}

// expandDefinition is x86_cpu_expand_features on a definition s (with the
// user's features applied) for the catalog's QEMU: without kvm the KVM
// word is cleared (QEMU: "if (!kvm_enabled() || !cpu->expose_kvm)
// env->features[FEAT_KVM] = 0"), then expandCPU. It returns the features,
// the levels, and the automatic levels — what QEMU reports as min-level,
// min-xlevel and min-xlevel2 after raising them, explicit levels or not.
func (c *Catalog) expandDefinition(s feature.FeatureSet, in LevelInput, accel string) (feature.FeatureSet, cpuidLevels, cpuidLevels) {
	if accel != kvm {
		s = s.Difference(kvmWord(c.reg))
	}
	rel, err := c.release()
	if err != nil {
		// ResolveSpec, Verify and WithModels refuse such a catalog first.
		panic("catalog: " + err.Error())
	}
	return expandCPU(c.reg, s, rel, in)
}

var kvmWords sync.Map // *feature.Registry → feature.FeatureSet

// kvmWord returns the features of QEMU's FEAT_KVM word, CPUID
// 0x40000001 EAX (kvmclock, kvm-nopiodelay, …, kvm-pv-eoi, …).
func kvmWord(reg *feature.Registry) feature.FeatureSet {
	if s, ok := kvmWords.Load(reg); ok {
		return s.(feature.FeatureSet)
	}
	w, _ := feature.LookupWord("FEAT_KVM")
	s := reg.InWord(w, 0, 63)
	kvmWords.Store(reg, s)
	return s
}

// Canonical writes s back as a -cpu option QEMU reads the same way: the
// model, the feature settings in order by canonical name, the properties
// in name order, then the +feat and -feat options.
func (s *CPUSpec) Canonical(reg *feature.Registry) string {
	var b strings.Builder
	b.WriteString(s.Model)
	for _, st := range s.Settings {
		b.WriteString("," + reg.Name(st.ID) + "=")
		if st.On {
			b.WriteString("on")
		} else {
			b.WriteString("off")
		}
	}
	keys := make([]string, 0, len(s.Props))
	for k := range s.Props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("," + k + "=" + s.Props[k])
	}
	for id := range s.Plus.All() {
		b.WriteString(",+" + reg.Name(id))
	}
	for id := range s.Minus.All() {
		b.WriteString(",-" + reg.Name(id))
	}
	return b.String()
}

// tcgMaxVendor is the vendor of QEMU's max model under tcg
// (max_x86_cpu_initfn: "CPUID_VENDOR_AMD" when not accelerated).
const tcgMaxVendor = "AuthenticAMD"

// resolveHostModel resolves host or max (see ResolveCPU).
func (c *Catalog) resolveHostModel(s *CPUSpec, machine string, accel core.Accel, h *HostCPU) (*Resolution, error) {
	if err := s.AccelError(accel); err != nil {
		return nil, err
	}
	if h == nil || (h.Features.IsEmpty() && h.Vendor == "") {
		return nil, fmt.Errorf("cpu spec %q: model %s needs the host's availability under %s", s.Text, s.Model, accel)
	}
	mt, err := c.machine(machine)
	if err != nil {
		return nil, err
	}
	if !c.HasAccel(accel) {
		return nil, fmt.Errorf("catalog %s has no data for accelerator %q (it has %v)", c.name, accel, c.accels)
	}
	if _, err := c.release(); err != nil {
		return nil, fmt.Errorf("cpu spec %q: catalog %s is of QEMU %s: host and max are resolved for QEMU %s only",
			s.Text, c.name, c.qemuVersion, core.KnownReleases())
	}
	f := h.Features
	if s.Prop("migratable", "on") == "on" {
		f = f.Difference(h.Unmigratable)
	}
	// User settings win over max_features: QEMU fills in only what the
	// user did not set (~env->user_features).
	on, off := s.Explicit()
	f = f.Union(on).Difference(off)
	r := &Resolution{Model: s.Model, Machine: mt.Name, Accel: accel}
	r.Vendor, r.Family, r.Props.Model, r.Stepping, r.ModelID = h.Vendor, h.Family, h.Model, h.Stepping, h.ModelID
	if accel != core.KVM {
		r.Vendor = tcgMaxVendor
	}
	r.FullCPUIDAutoLevel, r.IntelPTAutoLevel = true, true
	in := LevelInput{FullCPUIDAutoLevel: true, IntelPTAutoLevel: true, VendorCPUIDOnly: true, Vendor: r.Vendor}
	return c.applyProps(r, s, f, in)
}
