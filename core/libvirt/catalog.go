package libvirt

import (
	"math/bits"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Catalog returns the map's models as a catalog named name
// ([catalog.Uniform]): libvirt's definitions do not depend on the machine
// type or the accelerator, so each model resolves to the same features on
// every one of machines (a reference QEMU catalog's machine types) under
// kvm and tcg. Of each model the catalog keeps:
//
//   - the features: the registry's features at the bits of the model's
//     libvirt features, inherited ones included, removed='yes' ones not;
//   - the vendor: the vendor's CPUID string (under kvm a guest gets the
//     host's, as for QEMU's models);
//   - family, model and stepping: the first <signature> (the lowest
//     stepping it lists), i.e. the CPU libvirt recognises as the model —
//     libvirt does not set them for a guest, QEMU does;
//   - static: always (the definition is fixed data); migration-safe:
//     unless a feature is migratable='no'.
//
// Levels and model-id stay zero: libvirt's map has none. The map's other
// signatures, its ancestor names and removed features stay in the Map.
func (m *Map) Catalog(name string, reg *feature.Registry, machines []catalog.MachineType) (*catalog.Catalog, error) {
	models := make([]catalog.Model, 0, len(m.Models))
	for i := range m.Models {
		lm := &m.Models[i]
		cm := catalog.Model{Name: lm.Name, Features: lm.Set, Static: true, MigrationSafe: lm.Migratable}
		if v, ok := m.Vendor(lm.Vendor); ok {
			cm.Props.Vendor = v.String
		}
		if len(lm.Signatures) > 0 {
			s := lm.Signatures[0]
			cm.Props.Family, cm.Props.Model = s.Family, s.Model
			if s.Steppings != 0 {
				cm.Props.Stepping = bits.TrailingZeros16(s.Steppings)
			}
		}
		models = append(models, cm)
	}
	return catalog.Uniform(name, reg, machines, models)
}
