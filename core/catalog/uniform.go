package catalog

import (
	"errors"
	"fmt"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Uniform builds a catalog of definitions that, unlike QEMU's, depend on
// neither the machine type nor the accelerator: libvirt's CPU map is one.
// Every model resolves to its own Features and Props on each of machines
// under both kvm and tcg, and under kvm the vendor is the host's, as
// QEMU makes it (KVMVendorFromHost). The machine types are only the names
// the catalog answers for — a reference QEMU catalog's, so that commands
// which pick a machine type (the newest pc-q35 by default) and operands
// that name one work on it as on that QEMU catalog.
//
// The catalog names no QEMU release (QEMUVersion is "") and has no
// definitions in Catalog.Definitions' sense: a -cpu spec with options
// does not resolve on it.
//
// Of each model, Uniform uses Name, Features, Props, Static,
// MigrationSafe and Deprecated.
func Uniform(name string, reg *feature.Registry, machines []MachineType, models []Model) (*Catalog, error) {
	if len(machines) == 0 {
		return nil, errors.New("uniform catalog: no machine types")
	}
	c := &Catalog{
		name:              name,
		kvmVendorFromHost: true,
		accels:            []string{kvm, tcg},
		defaults:          map[string]map[string]Delta{},
		overrides:         map[resolveKey]Delta{},
		reg:               reg,
	}
	for _, mt := range machines {
		fam, ver, ok := ParseMachineName(mt.Name)
		if !ok {
			return nil, fmt.Errorf("uniform catalog: machine type %q is not FAMILY-VERSION", mt.Name)
		}
		c.machines = append(c.machines, MachineType{Name: mt.Name, Family: fam, Version: ver, Alias: mt.Alias, Deprecated: mt.Deprecated})
	}
	seen := map[string]bool{}
	for _, m := range models {
		if m.Name == "" || seen[m.Name] {
			return nil, fmt.Errorf("uniform catalog: empty or repeated model name %q", m.Name)
		}
		seen[m.Name] = true
		base, v := splitVersion(m.Name)
		c.models = append(c.models, Model{Name: m.Name, Base: base, Version: v, Static: m.Static,
			MigrationSafe: m.MigrationSafe, Deprecated: m.Deprecated, Features: m.Features, Props: m.Props,
			accel: map[string]Delta{}})
	}
	c.index()
	if len(c.machineIdx) != len(c.machines) {
		return nil, errors.New("uniform catalog: a machine type name is repeated")
	}
	return c, nil
}
