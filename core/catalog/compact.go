package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
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
//
// When raw records definitions (Raw.Definitions), each model's latent
// features are layered the same way, beside its features, and the
// definition's levels are properties like the others; Verify then also
// checks that every definition expands (expand.go) to QEMU's answer.
func Compact(raw *Raw, reg *feature.Registry, name string) (*Catalog, error) {
	c := &Catalog{
		name:             name,
		qemuVersion:      raw.QEMUVersion,
		qemuPackage:      raw.QEMUPackage,
		importHostVendor: raw.HostVendor,
		definitions:      raw.Definitions,
		kvmData:          raw.KVMData,
		defaults:         map[string]map[string]Delta{},
		overrides:        map[resolveKey]Delta{},
		reg:              reg,
	}
	for _, rm := range raw.Machines {
		fam, ver, ok := ParseMachineName(rm.Name)
		if !ok {
			return nil, fmt.Errorf("machine type %q: not FAMILY-VERSION", rm.Name)
		}
		c.machines = append(c.machines, MachineType{Name: rm.Name, Family: fam, Version: ver, Alias: rm.Alias, Deprecated: rm.Deprecated})
	}
	for _, rm := range raw.Models {
		base, v := splitVersion(rm.Name)
		c.models = append(c.models, Model{Name: rm.Name, Base: base, Version: v, AliasOf: rm.AliasOf,
			Static: rm.Static, MigrationSafe: rm.MigrationSafe, Deprecated: rm.Deprecated, accel: map[string]Delta{}})
	}
	c.index()
	newest, ok := c.newest("pc-q35")
	if !ok {
		return nil, errors.New("no pc-q35 machine type")
	}

	// The answers, by key, with the kvm vendor rule checked and factored
	// out: under kvm the vendor is the host's, whatever the model says.
	ans := map[resolveKey]answer{}
	accels := map[string]bool{}
	for _, e := range raw.Expansions {
		if _, err := c.model(e.Model); err != nil {
			return nil, fmt.Errorf("expansion of %s on %s (%s): %v", e.Model, e.Machine, e.Accel, err)
		}
		if _, err := c.machine(e.Machine); err != nil {
			return nil, fmt.Errorf("expansion of %s on %s (%s): %v", e.Model, e.Machine, e.Accel, err)
		}
		fs, err := reg.Set(e.Features...)
		if err != nil {
			return nil, fmt.Errorf("expansion of %s on %s (%s): %v", e.Model, e.Machine, e.Accel, err)
		}
		lat, err := reg.Set(e.Latent...)
		if err != nil {
			return nil, fmt.Errorf("definition of %s on %s (%s): %v", e.Model, e.Machine, e.Accel, err)
		}
		if !raw.Definitions && (!lat.IsEmpty() || e.DefMinLevel != 0 || e.DefMinXLevel != 0 || e.DefMinXLevel2 != 0 ||
			e.LevelExplicit || e.XLevelExplicit || e.XLevel2Explicit) {
			return nil, fmt.Errorf("expansion of %s on %s (%s) records a definition, but the raw says it has none", e.Model, e.Machine, e.Accel)
		}
		k := resolveKey{e.Model, e.Machine, e.Accel}
		if _, dup := ans[k]; dup {
			return nil, fmt.Errorf("expansion of %s on %s (%s) given twice", e.Model, e.Machine, e.Accel)
		}
		ans[k] = answer{fs, lat, propsOf(e)}
		accels[e.Accel] = true
	}
	for a := range accels {
		c.accels = append(c.accels, a)
	}
	sort.Strings(c.accels)
	baseAccel := tcg
	if !accels[tcg] {
		baseAccel = kvm
	}
	if accels[kvm] {
		c.kvmVendorFromHost = true
		for k, a := range ans {
			// "base" has no vendor of its own, and QEMU gives it none.
			own := ans[resolveKey{k.model, k.machine, baseAccel}].p.Vendor
			if k.accel == kvm && a.p.Vendor != raw.HostVendor && !(own == "" && a.p.Vendor == "") {
				c.kvmVendorFromHost = false
			}
		}
	}
	// own is a model's vendor as tcg (or, without tcg, kvm) reports it.
	own := func(model string) string { return ans[resolveKey{model, newest.Name, baseAccel}].p.Vendor }
	get := func(k resolveKey) (answer, bool) {
		a, ok := ans[k]
		if ok && k.accel == kvm && c.kvmVendorFromHost {
			a.p.Vendor = own(k.model)
		}
		return a, ok
	}

	// Bases: the newest pc-q35 under the base accelerator.
	for i := range c.models {
		m := &c.models[i]
		a, ok := get(resolveKey{m.Name, newest.Name, baseAccel})
		if !ok {
			return nil, fmt.Errorf("no expansion of %s on %s (%s): the base of the catalog", m.Name, newest.Name, baseAccel)
		}
		m.Features, m.Latent, m.Props = a.f, a.lat, a.p
	}
	// Stage 1: each accelerator on the newest machine type: the common
	// part becomes that machine's default, the rest the model's delta.
	for _, acc := range c.accels {
		c.setDefault(newest.Name, acc, c.factor(newest.Name, acc, get, (*Model).base))
		for i := range c.models {
			m := &c.models[i]
			if a, ok := get(resolveKey{m.Name, newest.Name, acc}); ok {
				c.setAccelDelta(m, newest.Name, acc, a)
			}
		}
	}
	// Stage 2: every other machine type.
	for _, mt := range c.machines {
		if mt.Name == newest.Name {
			continue
		}
		for _, acc := range c.accels {
			stage := func(m *Model) answer { return m.stage(acc) }
			c.setDefault(mt.Name, acc, c.factor(mt.Name, acc, get, stage))
			for i := range c.models {
				m := &c.models[i]
				if a, ok := get(resolveKey{m.Name, mt.Name, acc}); ok {
					c.setOverride(m, mt.Name, acc, a)
				}
			}
		}
	}
	if err := c.Verify(raw); err != nil {
		return nil, err
	}
	return c, nil
}

// base is m's base layer: its answer on the newest pc-q35 under the base
// accelerator.
func (m *Model) base() answer { return answer{m.Features, m.Latent, m.Props} }

// stage is m on the newest pc-q35 under acc: its base with its own
// accelerator delta (none yet while stage 1 runs).
func (m *Model) stage(acc string) answer {
	s := m.base()
	if d, ok := m.accel[acc]; ok {
		s = d.applyAll(s)
	}
	return s
}

// residual is what takes from to a beyond the default of machine and acc.
func (c *Catalog) residual(machine, acc string, from, a answer) Delta {
	if d, ok := c.defaults[machine][acc]; ok {
		from = d.applyAll(from)
	}
	return diff(from, a)
}

// setAccelDelta records, as m's own delta for acc, what a (its answer on
// the newest pc-q35 newest under acc) holds beyond that machine's default.
func (c *Catalog) setAccelDelta(m *Model, newest, acc string, a answer) {
	if rest := c.residual(newest, acc, m.base(), a); !rest.IsZero() {
		m.accel[acc] = rest
	}
}

// setOverride records, as an override, what a (m's answer on machine
// under acc) holds beyond the machine's default applied to m's stage.
func (c *Catalog) setOverride(m *Model, machine, acc string, a answer) {
	if rest := c.residual(machine, acc, m.stage(acc), a); !rest.IsZero() {
		c.overrides[resolveKey{m.Name, machine, acc}] = rest
	}
}

// answer is what QEMU said for one (model, machine, accel): the
// expansion's features and properties, and the definition's latent
// features.
type answer struct {
	f, lat feature.FeatureSet
	p      Props
}

// applyAll applies d to a copy of a.
func (d Delta) applyAll(a answer) answer {
	a.f = d.apply(a.f, &a.p)
	a.lat = d.applyLatent(a.lat)
	return a
}

// diff returns the delta from a to b.
func diff(a, b answer) Delta {
	return Delta{On: b.f.Difference(a.f), Off: a.f.Difference(b.f), Props: diffProps(a.p, b.p),
		LatentOn: b.lat.Difference(a.lat), LatentOff: a.lat.Difference(b.lat)}
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
func (c *Catalog) factor(machine, accel string, get func(resolveKey) (answer, bool), stage func(*Model) answer) Delta {
	// [0] the features, [1] the latent features.
	var allOn, anyOn, stageAll, stageAny [2]feature.FeatureSet
	var answers, stages []Props
	first := true
	for i := range c.models {
		m := &c.models[i]
		a, ok := get(resolveKey{m.Name, machine, accel})
		if !ok {
			continue
		}
		s := stage(m)
		answers = append(answers, a.p)
		stages = append(stages, s.p)
		for j, pair := range [2][2]feature.FeatureSet{{a.f, s.f}, {a.lat, s.lat}} {
			if first {
				allOn[j], stageAll[j] = pair[0], pair[1]
			}
			allOn[j] = allOn[j].Intersect(pair[0])
			anyOn[j] = anyOn[j].Union(pair[0])
			stageAll[j] = stageAll[j].Intersect(pair[1])
			stageAny[j] = stageAny[j].Union(pair[1])
		}
		first = false
	}
	if first {
		return Delta{}
	}
	return Delta{
		On:        allOn[0].Difference(stageAll[0]),
		Off:       stageAny[0].Difference(anyOn[0]),
		Props:     commonPatch(answers, stages),
		LatentOn:  allOn[1].Difference(stageAll[1]),
		LatentOff: stageAny[1].Difference(anyOn[1]),
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
		DefMinLevel: e.DefMinLevel, DefMinXLevel: e.DefMinXLevel, DefMinXLevel2: e.DefMinXLevel2,
		LevelExplicit: e.LevelExplicit, XLevelExplicit: e.XLevelExplicit, XLevel2Explicit: e.XLevel2Explicit,
	}
}

// withoutDefinition returns p with the definition's properties zeroed.
func withoutDefinition(p Props) Props {
	p.DefMinLevel, p.DefMinXLevel, p.DefMinXLevel2 = 0, 0, 0
	p.LevelExplicit, p.XLevelExplicit, p.XLevel2Explicit = false, false, false
	return p
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
// answer: features, and every property; when raw records definitions,
// the latent features and the definition's levels too. When the catalog
// has definitions, Verify also expands each definition it resolves
// (expand.go) and requires QEMU's answer: the features, level, xlevel,
// xlevel2 and the min levels QEMU reports after raising them.
func (c *Catalog) Verify(raw *Raw) error {
	if c.definitions {
		if _, err := c.release(); err != nil {
			return fmt.Errorf("catalog %s has definitions, but no expansion rules are known for QEMU %s", c.name, c.qemuVersion)
		}
	}
	var bad []string
	n := 0
	for _, e := range raw.Expansions {
		r, err := c.Resolve(e.Model, e.Machine, core.Accel(e.Accel), raw.HostVendor)
		if err != nil {
			return err
		}
		want, err := c.reg.Set(e.Features...)
		if err != nil {
			return err
		}
		wantLat, err := c.reg.Set(e.Latent...)
		if err != nil {
			return err
		}
		m, _ := c.model(e.Model)
		lat := c.latent(m, r.Machine, e.Accel)
		wp, gp := propsOf(e), r.Props
		if !raw.Definitions {
			wp, gp, wantLat = withoutDefinition(wp), withoutDefinition(gp), lat
		}
		var msg string
		if r.Features != want || gp != wp || lat != wantLat {
			msg = fmt.Sprintf("%s on %s (%s):", e.Model, e.Machine, e.Accel)
			if extra := r.Features.Difference(want); !extra.IsEmpty() {
				msg += fmt.Sprintf(" extra %v", c.reg.Names(extra))
			}
			if miss := want.Difference(r.Features); !miss.IsEmpty() {
				msg += fmt.Sprintf(" missing %v", c.reg.Names(miss))
			}
			if extra := lat.Difference(wantLat); !extra.IsEmpty() {
				msg += fmt.Sprintf(" extra latent %v", c.reg.Names(extra))
			}
			if miss := wantLat.Difference(lat); !miss.IsEmpty() {
				msg += fmt.Sprintf(" missing latent %v", c.reg.Names(miss))
			}
			if gp != wp {
				msg += fmt.Sprintf(" props %+v, QEMU %+v", gp, wp)
			}
		} else if c.definitions {
			// The definition must expand to the expansion.
			f, l, auto := c.expandDefinition(r.Features.Union(lat), definitionInput(r.Props, true), e.Accel)
			if f != r.Features || l.level != r.Level || l.xlevel != r.XLevel || l.xlevel2 != r.XLevel2 ||
				auto.level != r.MinLevel || auto.xlevel != r.MinXLevel || auto.xlevel2 != r.MinXLevel2 {
				msg = fmt.Sprintf("definition of %s on %s (%s) expands to %v more, %v fewer features, levels %#x, min levels %#x; QEMU's levels %#x, min levels %#x",
					e.Model, e.Machine, e.Accel, c.reg.Names(f.Difference(r.Features)), c.reg.Names(r.Features.Difference(f)),
					[3]uint32{l.level, l.xlevel, l.xlevel2}, [3]uint32{auto.level, auto.xlevel, auto.xlevel2},
					[3]uint32{r.Level, r.XLevel, r.XLevel2}, [3]uint32{r.MinLevel, r.MinXLevel, r.MinXLevel2})
			}
		}
		if msg == "" {
			continue
		}
		n++
		if len(bad) < 5 {
			bad = append(bad, msg)
		}
	}
	if n > 0 {
		return &MismatchError{Catalog: c.name, Mismatches: bad, Count: n}
	}
	return nil
}
