package catalog

import (
	"fmt"
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
	// Settings are the feat=on|off (and bare "feat") options in order;
	// the last one for a feature wins.
	Settings []Setting
	// Plus and Minus are the legacy +feat/-feat options. QEMU applies them
	// after every feat=on|off, pluses first, so a -feat always wins.
	Plus, Minus feature.FeatureSet
	// Props are the non-feature properties QEMU accepts for x86 models that
	// change what Resolve reports: level, xlevel, xlevel2, family, model,
	// stepping, model-id, vendor.
	Props map[string]string
}

// Setting is one feat=on|off option.
type Setting struct {
	ID feature.ID
	On bool
}

// specProps are the properties ResolveSpec understands, with a check of
// each value.
var specProps = map[string]func(string) error{
	"level":    checkUint,
	"xlevel":   checkUint,
	"xlevel2":  checkUint,
	"family":   checkUint,
	"model":    checkUint,
	"stepping": checkUint,
	"model-id": func(string) error { return nil },
	"vendor": func(v string) error {
		if len(v) != 12 {
			return fmt.Errorf("vendor %q: want 12 characters", v)
		}
		return nil
	},
}

func checkUint(v string) error {
	if _, err := strconv.ParseUint(v, 0, 32); err != nil {
		return fmt.Errorf("%q is not a number", v)
	}
	return nil
}

// ParseCPUSpec parses QEMU's -cpu syntax. Commas inside a value are
// written ",," as in QEMU. Feature names may be any alias; they resolve
// to canonical names. Errors name the option and suggest the nearest
// name.
func ParseCPUSpec(spec string, reg *feature.Registry) (*CPUSpec, error) {
	opts := splitOpts(spec)
	if len(opts) == 0 || opts[0] == "" {
		return nil, fmt.Errorf("cpu spec %q: no model name", spec)
	}
	s := &CPUSpec{Text: spec, Model: opts[0], Props: map[string]string{}}
	for _, o := range opts[1:] {
		switch {
		case o == "":
			return nil, fmt.Errorf("cpu spec %q: empty option", spec)
		case o[0] == '+' || o[0] == '-':
			id, err := reg.Lookup(o[1:])
			if err != nil {
				return nil, fmt.Errorf("cpu spec %q: option %q: %v", spec, o, err)
			}
			if o[0] == '+' {
				s.Plus = s.Plus.Add(id)
			} else {
				s.Minus = s.Minus.Add(id)
			}
		default:
			k, v, hasValue := strings.Cut(o, "=")
			if check, ok := specProps[k]; ok {
				if !hasValue {
					return nil, fmt.Errorf("cpu spec %q: option %q needs a value", spec, k)
				}
				if err := check(v); err != nil {
					return nil, fmt.Errorf("cpu spec %q: option %s: %v", spec, k, err)
				}
				s.Props[k] = v
				continue
			}
			id, err := reg.Lookup(k)
			if err != nil {
				return nil, fmt.Errorf("cpu spec %q: option %q: %v", spec, o, err)
			}
			on := true
			if hasValue {
				switch strings.ToLower(v) {
				case "on", "true", "yes":
				case "off", "false", "no":
					on = false
				default:
					return nil, fmt.Errorf("cpu spec %q: option %s=%s: want on or off", spec, k, v)
				}
			}
			s.Settings = append(s.Settings, Setting{id, on})
		}
	}
	return s, nil
}

// splitOpts splits on single commas; ",," is a literal comma.
func splitOpts(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			if i+1 < len(s) && s[i+1] == ',' {
				cur.WriteByte(',')
				i++
				continue
			}
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	return append(out, cur.String())
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
	num := func(k string) (uint32, bool) {
		v, ok := s.Props[k]
		if !ok {
			return 0, false
		}
		n, _ := strconv.ParseUint(v, 0, 32)
		return uint32(n), true
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
	in.Vendor = r.Vendor
	var l, auto cpuidLevels
	r.Features, l, auto = c.expandDefinition(f, in, string(accel))
	r.Level, r.XLevel, r.XLevel2 = l.level, l.xlevel, l.xlevel2
	r.MinLevel, r.MinXLevel, r.MinXLevel2 = auto.level, auto.xlevel, auto.xlevel2
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
