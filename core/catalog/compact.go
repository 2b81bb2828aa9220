package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"cpupolicy/core/feature"
)

// Compact turns what QEMU said (raw) into a Catalog and checks that the
// Catalog resolves every (model, machine type, accelerator) of raw to
// exactly QEMU's answer. name names the catalog ("qemu-7.2").
//
// The catalog is layered the way QEMU builds a CPU: each model's base is
// its expansion on the newest pc-q35 machine under tcg; each accelerator
// changes it (kvm turns on its paravirt bits and x2apic, tcg turns vme
// off, …) — the part common to every model is the machine type's default
// for that accelerator, the rest is the model's own accelerator delta;
// each older machine type's compat properties are again a default for all
// models plus, sparsely, per-model overrides.
func Compact(raw *Raw, reg *feature.Registry, name string) (*Catalog, error) {
	c := &Catalog{
		Name:             name,
		QEMUVersion:      raw.QEMUVersion,
		QEMUPackage:      raw.QEMUPackage,
		ImportHostVendor: raw.HostVendor,
		defaults:         map[string]map[string]Delta{},
		overrides:        map[resolveKey]Delta{},
		reg:              reg,
	}
	for _, rm := range raw.Machines {
		fam, ver, ok := ParseMachineName(rm.Name)
		if !ok {
			return nil, fmt.Errorf("machine type %q: not FAMILY-VERSION", rm.Name)
		}
		c.Machines = append(c.Machines, MachineType{Name: rm.Name, Family: fam, Version: ver, Alias: rm.Alias, Deprecated: rm.Deprecated})
	}
	for _, rm := range raw.Models {
		base, v := splitVersion(rm.Name)
		c.Models = append(c.Models, Model{Name: rm.Name, Base: base, Version: v, AliasOf: rm.AliasOf,
			Static: rm.Static, MigrationSafe: rm.MigrationSafe, Deprecated: rm.Deprecated, accel: map[string]Delta{}})
	}
	c.index()
	newest, ok := c.Newest("pc-q35")
	if !ok {
		return nil, errors.New("no pc-q35 machine type")
	}

	// The answers, by key, with the kvm vendor rule checked and factored
	// out: under kvm the vendor is the host's, whatever the model says.
	ans := map[resolveKey]answer{}
	accels := map[string]bool{}
	for _, e := range raw.Expansions {
		if _, err := c.Model(e.Model); err != nil {
			return nil, fmt.Errorf("expansion of %s on %s (%s): %v", e.Model, e.Machine, e.Accel, err)
		}
		if _, err := c.Machine(e.Machine); err != nil {
			return nil, fmt.Errorf("expansion of %s on %s (%s): %v", e.Model, e.Machine, e.Accel, err)
		}
		fs, err := reg.Set(e.Features...)
		if err != nil {
			return nil, fmt.Errorf("expansion of %s on %s (%s): %v", e.Model, e.Machine, e.Accel, err)
		}
		k := resolveKey{e.Model, e.Machine, e.Accel}
		if _, dup := ans[k]; dup {
			return nil, fmt.Errorf("expansion of %s on %s (%s) given twice", e.Model, e.Machine, e.Accel)
		}
		ans[k] = answer{fs, propsOf(e)}
		accels[e.Accel] = true
	}
	for a := range accels {
		c.Accels = append(c.Accels, a)
	}
	sort.Strings(c.Accels)
	baseAccel := TCG
	if !accels[TCG] {
		baseAccel = KVM
	}
	if accels[KVM] {
		c.KVMVendorFromHost = true
		for k, a := range ans {
			// "base" has no vendor of its own, and QEMU gives it none.
			own := ans[resolveKey{k.model, k.machine, baseAccel}].p.Vendor
			if k.accel == KVM && a.p.Vendor != raw.HostVendor && !(own == "" && a.p.Vendor == "") {
				c.KVMVendorFromHost = false
			}
		}
	}
	// own is a model's vendor as tcg (or, without tcg, kvm) reports it.
	own := func(model string) string { return ans[resolveKey{model, newest.Name, baseAccel}].p.Vendor }
	get := func(k resolveKey) (answer, bool) {
		a, ok := ans[k]
		if ok && k.accel == KVM && c.KVMVendorFromHost {
			a.p.Vendor = own(k.model)
		}
		return a, ok
	}

	// Bases: the newest pc-q35 under the base accelerator.
	for i := range c.Models {
		m := &c.Models[i]
		a, ok := get(resolveKey{m.Name, newest.Name, baseAccel})
		if !ok {
			return nil, fmt.Errorf("no expansion of %s on %s (%s): the base of the catalog", m.Name, newest.Name, baseAccel)
		}
		m.Features, m.Props = a.f, a.p
	}
	// Stage 1: each accelerator on the newest machine type: the common
	// part becomes that machine's default, the rest the model's delta.
	for _, acc := range c.Accels {
		d := c.factor(newest.Name, acc, get, func(m *Model) (feature.FeatureSet, Props) { return m.Features, m.Props })
		c.setDefault(newest.Name, acc, d)
		for i := range c.Models {
			m := &c.Models[i]
			a, ok := get(resolveKey{m.Name, newest.Name, acc})
			if !ok {
				continue
			}
			f, p := d.applyBoth(m.Features, m.Props)
			if rest := diff(f, p, a.f, a.p); !rest.IsZero() {
				m.accel[acc] = rest
			}
		}
	}
	// Stage 2: every other machine type.
	for _, mt := range c.Machines {
		if mt.Name == newest.Name {
			continue
		}
		for _, acc := range c.Accels {
			stage := func(m *Model) (feature.FeatureSet, Props) {
				f, p := m.Features, m.Props
				if d, ok := m.accel[acc]; ok {
					f = d.apply(f, &p)
				}
				return f, p
			}
			d := c.factor(mt.Name, acc, get, stage)
			c.setDefault(mt.Name, acc, d)
			for i := range c.Models {
				m := &c.Models[i]
				a, ok := get(resolveKey{m.Name, mt.Name, acc})
				if !ok {
					continue
				}
				f, p := stage(m)
				f = d.apply(f, &p)
				if rest := diff(f, p, a.f, a.p); !rest.IsZero() {
					c.overrides[resolveKey{m.Name, mt.Name, acc}] = rest
				}
			}
		}
	}
	if err := c.Verify(raw); err != nil {
		return nil, err
	}
	return c, nil
}

// answer is what QEMU said for one (model, machine, accel).
type answer struct {
	f feature.FeatureSet
	p Props
}

// applyBoth is apply on copies, returning both.
func (d Delta) applyBoth(f feature.FeatureSet, p Props) (feature.FeatureSet, Props) {
	f = d.apply(f, &p)
	return f, p
}

// diff returns the delta from (f, p) to (g, q).
func diff(f feature.FeatureSet, p Props, g feature.FeatureSet, q Props) Delta {
	return Delta{On: g.Difference(f), Off: f.Difference(g), Props: diffProps(p, q)}
}

func (c *Catalog) setDefault(machine, accel string, d Delta) {
	if d.IsZero() {
		return
	}
	if c.defaults[machine] == nil {
		c.defaults[machine] = map[string]Delta{}
	}
	c.defaults[machine][accel] = d
}

// factor finds what machine × accel does to every model alike: features
// on in every answer that some model's previous stage lacks, features off
// in every answer that some previous stage has. Properties are per model
// and stay in the residual.
func (c *Catalog) factor(machine, accel string, get func(resolveKey) (answer, bool), stage func(*Model) (feature.FeatureSet, Props)) Delta {
	var allOn, anyOn, stageAll, stageAny feature.FeatureSet
	var answers, stages []Props
	first := true
	for i := range c.Models {
		m := &c.Models[i]
		a, ok := get(resolveKey{m.Name, machine, accel})
		if !ok {
			continue
		}
		f, p := stage(m)
		answers = append(answers, a.p)
		stages = append(stages, p)
		if first {
			allOn, stageAll = a.f, f
			first = false
		}
		allOn = allOn.Intersect(a.f)
		anyOn = anyOn.Union(a.f)
		stageAll = stageAll.Intersect(f)
		stageAny = stageAny.Union(f)
	}
	if first {
		return Delta{}
	}
	return Delta{
		On:    allOn.Difference(stageAll),
		Off:   stageAny.Difference(anyOn),
		Props: commonPatch(answers, stages),
	}
}

// commonPatch sets each property that every answer has the same value
// of, where some stage differs: machine-wide compat properties such as
// full-cpuid-auto-level.
func commonPatch(answers, stages []Props) PropsPatch {
	var pp PropsPatch
	out := reflect.ValueOf(&pp).Elem()
	for i := 0; i < out.NumField(); i++ {
		name := out.Type().Field(i).Name
		v := reflect.ValueOf(answers[0]).FieldByName(name)
		same, differs := true, false
		for j := range answers {
			a := reflect.ValueOf(answers[j]).FieldByName(name)
			if !a.Equal(v) {
				same = false
				break
			}
			if !reflect.ValueOf(stages[j]).FieldByName(name).Equal(a) {
				differs = true
			}
		}
		if same && differs {
			ptr := reflect.New(v.Type())
			ptr.Elem().Set(v)
			out.Field(i).Set(ptr)
		}
	}
	return pp
}

func propsOf(e RawExpansion) Props {
	return Props{
		Vendor: e.Vendor, Family: e.Family, Model: e.ModelNum, Stepping: e.Stepping, ModelID: e.ModelID,
		Level: e.Level, XLevel: e.XLevel, XLevel2: e.XLevel2,
		MinLevel: e.MinLevel, MinXLevel: e.MinXLevel, MinXLevel2: e.MinXLevel2,
		FullCPUIDAutoLevel: e.FullCPUIDAutoLevel, IntelPTAutoLevel: e.IntelPTAutoLevel,
	}
}

// MismatchError lists where a catalog resolves differently from QEMU.
type MismatchError struct {
	Catalog    string
	Mismatches []string // the first few, one per (model, machine, accel)
	Count      int
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("catalog %s differs from QEMU in %d expansions: %s", e.Catalog, e.Count, strings.Join(e.Mismatches, "; "))
}

// Verify resolves every expansion of raw and compares it with QEMU's
// answer: features, and every property.
func (c *Catalog) Verify(raw *Raw) error {
	var bad []string
	n := 0
	for _, e := range raw.Expansions {
		r, err := c.Resolve(e.Model, e.Machine, e.Accel, raw.HostVendor)
		if err != nil {
			return err
		}
		want, err := c.reg.Set(e.Features...)
		if err != nil {
			return err
		}
		wp := propsOf(e)
		if r.Features == want && r.Props == wp {
			continue
		}
		n++
		if len(bad) < 5 {
			msg := fmt.Sprintf("%s on %s (%s):", e.Model, e.Machine, e.Accel)
			if extra := r.Features.Difference(want); !extra.IsEmpty() {
				msg += fmt.Sprintf(" extra %v", c.reg.Names(extra))
			}
			if miss := want.Difference(r.Features); !miss.IsEmpty() {
				msg += fmt.Sprintf(" missing %v", c.reg.Names(miss))
			}
			if r.Props != wp {
				msg += fmt.Sprintf(" props %+v, QEMU %+v", r.Props, wp)
			}
			bad = append(bad, msg)
		}
	}
	if n > 0 {
		return &MismatchError{Catalog: c.Name, Mismatches: bad, Count: n}
	}
	return nil
}
