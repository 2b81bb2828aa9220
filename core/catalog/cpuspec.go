package catalog

import (
	"fmt"
	"strconv"
	"strings"

	"cpupolicy/core/feature"
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

// ResolveSpec resolves a -cpu spec the way QEMU builds the CPU: the model
// on machine under accel (Resolve), then the spec's feat=on|off settings
// in order, then +feat, then -feat; then QEMU's feature dependencies and
// automatic CPUID levels (expand.go); then explicit properties.
func (c *Catalog) ResolveSpec(s *CPUSpec, machine, accel, hostVendor string) (*Resolution, error) {
	r, err := c.Resolve(s.Model, machine, accel, hostVendor)
	if err != nil {
		return nil, err
	}
	if len(s.Settings) == 0 && s.Plus.IsEmpty() && s.Minus.IsEmpty() && len(s.Props) == 0 {
		return r, nil
	}
	f := r.Features
	for _, st := range s.Settings {
		if st.On {
			f = f.Add(st.ID)
		} else {
			f = f.Remove(st.ID)
		}
	}
	f = f.Union(s.Plus).Difference(s.Minus)
	f = applyDependencies(c.reg, f, c.QEMUVersion)
	r.Features = f
	num := func(k string) (uint32, bool) {
		v, ok := s.Props[k]
		if !ok {
			return 0, false
		}
		n, _ := strconv.ParseUint(v, 0, 32)
		return uint32(n), true
	}
	in := LevelInput{
		MinLevel: r.MinLevel, MinXLevel: r.MinXLevel, MinXLevel2: r.MinXLevel2,
		FullCPUIDAutoLevel: r.FullCPUIDAutoLevel, IntelPTAutoLevel: r.IntelPTAutoLevel, Vendor: r.Vendor,
	}
	if v, ok := num("level"); ok {
		in.Level = &v
	}
	if v, ok := num("xlevel"); ok {
		in.XLevel = &v
	}
	if v, ok := num("xlevel2"); ok {
		in.XLevel2 = &v
	}
	r.Level, r.XLevel, r.XLevel2 = autoLevels(c.reg, f, c.QEMUVersion, in)
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
	return r, nil
}
