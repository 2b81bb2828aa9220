package catalog

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Resolution is a model resolved on a machine type under an accelerator:
// what QEMU's query-cpu-model-expansion (type "full") reports.
type Resolution struct {
	Model, Machine string
	Accel          core.Accel
	Features       feature.FeatureSet
	Props
	// Options are the non-feature properties a -cpu spec set (CPUSpec.Props):
	// those that change CPUID are applied above as well; the others
	// (enforce, pmu, phys-bits, hv-*, …) are recorded here.
	Options map[string]string
}

// Resolve returns what QEMU gives a guest of model on machine under
// accel. Under kvm QEMU replaces the model's vendor with the
// host's: hostVendor is that host's CPUID vendor string ("" keeps the
// model's own vendor, which is what a guest sees on a host of the same
// vendor).
func (c *Catalog) Resolve(model, machine string, accel core.Accel, hostVendor string) (*Resolution, error) {
	m, err := c.model(model)
	if err != nil {
		return nil, err
	}
	mt, err := c.machine(machine)
	if err != nil {
		return nil, err
	}
	if !c.HasAccel(accel) {
		return nil, fmt.Errorf("catalog %s has no data for accelerator %q (it has %v)", c.name, accel, c.accels)
	}
	r := &Resolution{Model: m.Name, Machine: mt.Name, Accel: accel}
	t := c.table(c.machineIdx[mt.Name], string(accel))
	e := &t[c.modelIdx[m.Name]]
	r.Features, r.Props = e.f, e.p
	if accel == core.KVM && c.kvmVendorFromHost && hostVendor != "" && r.Vendor != "" {
		r.Vendor = hostVendor
	}
	return r, nil
}

// Features is Resolve's feature set alone, without allocating: the hot
// path of runnability verdicts (features do not depend on the host's
// vendor).
func (c *Catalog) Features(model, machine string, accel core.Accel) (feature.FeatureSet, error) {
	mi, ok := c.modelIdx[model]
	mt, ok2 := c.machineIdx[machine]
	if !ok || !ok2 || !c.HasAccel(accel) {
		r, err := c.Resolve(model, machine, accel, "")
		if err != nil {
			return feature.FeatureSet{}, err
		}
		return r.Features, nil
	}
	return c.table(mt, string(accel))[mi].f, nil
}

// resolve applies the layers: the model's base, its accelerator delta,
// the machine type's defaults, and the residual override.
func (c *Catalog) resolve(m *Model, machine, accel string) (feature.FeatureSet, Props) {
	f, p := m.Features, m.Props
	if d, ok := m.accel[accel]; ok {
		f = d.apply(f, &p)
	}
	if d, ok := c.defaults[machine][accel]; ok {
		f = d.apply(f, &p)
	}
	if d, ok := c.override(resolveKey{m.Name, machine, accel}); ok {
		f = d.apply(f, &p)
	}
	return f, p
}

// Implicit returns what the accelerator and machine type add to model on
// their own, and what they take away, relative to the model's definition
// on the newest machine type under tcg.
func (c *Catalog) Implicit(model, machine string, accel core.Accel) (added, removed feature.FeatureSet, err error) {
	r, err := c.Resolve(model, machine, accel, "")
	if err != nil {
		return
	}
	m, _ := c.model(model)
	return r.Features.Difference(m.Features), m.Features.Difference(r.Features), nil
}

// resolved is one cached resolution.
type resolved struct {
	f feature.FeatureSet
	p Props
}

// table returns every model resolved on machine (an index into
// Machines) under accel, in model order, computing it on first use: a
// command that judges all models on one machine type pays the layer walk
// once per model, and a repeated Resolve is two map lookups and a copy.
func (c *Catalog) table(machine int, accel string) []resolved {
	slot := &c.tables[machine][0]
	if accel == tcg {
		slot = &c.tables[machine][1]
	}
	if t := slot.Load(); t != nil {
		return *t
	}
	t := make([]resolved, len(c.models))
	name := c.machines[machine].Name
	for i := range c.models {
		t[i].f, t[i].p = c.resolve(&c.models[i], name, accel)
	}
	slot.CompareAndSwap(nil, &t)
	return *slot.Load()
}
