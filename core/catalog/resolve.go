package catalog

import (
	"fmt"

	"cpupolicy/core/feature"
)

// Resolution is a model resolved on a machine type under an accelerator:
// what QEMU's query-cpu-model-expansion (type "full") reports.
type Resolution struct {
	Model, Machine, Accel string
	Features              feature.FeatureSet
	Props
}

// Resolve returns what QEMU gives a guest of model on machine under accel
// ("kvm" or "tcg"). Under kvm QEMU replaces the model's vendor with the
// host's: hostVendor is that host's CPUID vendor string ("" keeps the
// model's own vendor, which is what a guest sees on a host of the same
// vendor).
func (c *Catalog) Resolve(model, machine, accel, hostVendor string) (*Resolution, error) {
	m, err := c.Model(model)
	if err != nil {
		return nil, err
	}
	mt, err := c.Machine(machine)
	if err != nil {
		return nil, err
	}
	if !c.HasAccel(accel) {
		return nil, fmt.Errorf("catalog %s has no data for accelerator %q (it has %v)", c.Name, accel, c.Accels)
	}
	r := &Resolution{Model: m.Name, Machine: mt.Name, Accel: accel}
	r.Features, r.Props = c.resolve(m, mt.Name, accel)
	if accel == KVM && c.KVMVendorFromHost && hostVendor != "" {
		r.Vendor = hostVendor
	}
	return r, nil
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
	if d, ok := c.overrides[resolveKey{m.Name, machine, accel}]; ok {
		f = d.apply(f, &p)
	}
	return f, p
}

// Implicit returns what the accelerator and machine type add to model on
// their own, and what they take away, relative to the model's definition
// on the newest machine type under tcg.
func (c *Catalog) Implicit(model, machine, accel string) (added, removed feature.FeatureSet, err error) {
	r, err := c.Resolve(model, machine, accel, "")
	if err != nil {
		return
	}
	m, _ := c.Model(model)
	return r.Features.Difference(m.Features), m.Features.Difference(r.Features), nil
}
