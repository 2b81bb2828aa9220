// Package drift says what changes for the VMs of a site when it moves
// from one catalog (QEMU release) to another.
//
// [Diff] compares two catalogs: the CPU models and machine types one has
// and the other lacks, and for every (model, machine type, accelerator)
// both have, the features the newer one adds or removes. A feature added
// there is a new host requirement for VMs that already run with that
// exact model and machine type: they may no longer start, or migrate, on
// hosts that ran them before.
//
// [Lock] records what a site runs today — every triple's required
// feature set and its definition — as a [LockFile] (schema [Schema]);
// [Verify] checks another catalog against it and returns a [Finding] for
// every locked triple that gains requirements, every locked model or
// machine type that is gone, and every definition that changed without
// a new version name. That last rule is QEMU's own since 2015: a CPU
// model's definition is frozen once released, and a change needs a new
// version (-vN) or a machine type compat property that keeps the old
// behaviour on the old machine types. A lock holds releases to it.
//
// Resolutions use each model's own vendor, never a host's: features do
// not depend on the vendor, and a lock must not depend on the host that
// wrote it.
package drift

import (
	"cmp"
	"slices"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// DiffResult is what changes from catalog A to catalog B. Its JSON form
// is a contract (`cpupolicy catalog diff --format json`): every list is
// present, sorted and never null.
type DiffResult struct {
	// A and B name the two catalogs; they are not part of the JSON.
	A, B *catalog.Catalog `json:"-"`
	// Models (machine types) B has and A lacks, and the reverse. Models
	// are sorted by name, machine types by family, then version.
	ModelsAdded     []string `json:"models_added"`
	ModelsRemoved   []string `json:"models_removed"`
	MachinesAdded   []string `json:"machines_added"`
	MachinesRemoved []string `json:"machines_removed"`
	// Changed lists every (model, machine type, accel) both have whose
	// features differ, by model, then machine type (family, version),
	// then accelerator.
	Changed []Change `json:"changed"`
	// Common is how many triples both catalogs have (the ones compared).
	Common int `json:"-"`
}

// Change is one triple whose features differ between two catalogs.
type Change struct {
	Model   string     `json:"model"`
	Machine string     `json:"machine"`
	Accel   core.Accel `json:"accel"`
	// Added are B's features A lacks (new host requirements), Removed
	// A's features B lacks; canonical names, sorted.
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// Diff compares catalog a (the one a site runs) with b (the one it moves
// to).
func Diff(a, b *catalog.Catalog) *DiffResult {
	d := &DiffResult{A: a, B: b,
		ModelsAdded: []string{}, ModelsRemoved: []string{},
		MachinesAdded: []string{}, MachinesRemoved: []string{}, Changed: []Change{}}
	models := commonModels(a, b, &d.ModelsAdded, &d.ModelsRemoved)
	machines := commonMachines(a, b, &d.MachinesAdded, &d.MachinesRemoved)
	regA, regB := a.Registry(), b.Registry()
	for _, model := range models {
		for _, machine := range machines {
			for _, name := range a.Accels() {
				accel := core.Accel(name)
				if !b.HasAccel(accel) {
					continue
				}
				fa, errA := a.Features(model, machine, accel)
				fb, errB := b.Features(model, machine, accel)
				if errA != nil || errB != nil {
					continue // unreachable: all three are in both
				}
				d.Common++
				c := Change{Model: model, Machine: machine, Accel: accel}
				if regA == regB {
					if fa.Equal(fb) {
						continue
					}
					c.Added, c.Removed = regA.Names(fb.Difference(fa)), regA.Names(fa.Difference(fb))
				} else {
					na, nb := sortedNames(regA, fa), sortedNames(regB, fb)
					c.Added, c.Removed = diffNames(na, nb), diffNames(nb, na)
					if len(c.Added) == 0 && len(c.Removed) == 0 {
						continue
					}
				}
				d.Changed = append(d.Changed, c)
			}
		}
	}
	return d
}

// commonModels returns the models both catalogs have, by name, and
// appends to added and removed those only b and only a have.
func commonModels(a, b *catalog.Catalog, added, removed *[]string) []string {
	inA, inB := map[string]bool{}, map[string]bool{}
	modelsA, modelsB := a.Models(), b.Models()
	for i := range modelsA {
		inA[modelsA[i].Name] = true
	}
	for i := range modelsB {
		inB[modelsB[i].Name] = true
	}
	var common []string
	for i := range modelsA {
		if n := modelsA[i].Name; inB[n] {
			common = append(common, n)
		} else {
			*removed = append(*removed, n)
		}
	}
	for i := range modelsB {
		if n := modelsB[i].Name; !inA[n] {
			*added = append(*added, n)
		}
	}
	slices.Sort(common)
	slices.Sort(*added)
	slices.Sort(*removed)
	return common
}

// commonMachines is commonModels for machine types (by full name; an
// alias such as "q35" moves from release to release and is not
// compared), in family-then-version order.
func commonMachines(a, b *catalog.Catalog, added, removed *[]string) []string {
	inA, inB := map[string]bool{}, map[string]bool{}
	machinesA, machinesB := a.Machines(), b.Machines()
	for i := range machinesA {
		inA[machinesA[i].Name] = true
	}
	for i := range machinesB {
		inB[machinesB[i].Name] = true
	}
	var aOnly, bOnly, both []*catalog.MachineType
	for i := range machinesA {
		if inB[machinesA[i].Name] {
			both = append(both, &machinesA[i])
		} else {
			aOnly = append(aOnly, &machinesA[i])
		}
	}
	for i := range machinesB {
		if !inA[machinesB[i].Name] {
			bOnly = append(bOnly, &machinesB[i])
		}
	}
	names := func(mts []*catalog.MachineType) []string {
		slices.SortFunc(mts, compareMachines)
		out := []string{}
		for _, m := range mts {
			out = append(out, m.Name)
		}
		return out
	}
	*removed, *added = names(aOnly), names(bOnly)
	return names(both)
}

// compareMachines orders machine types by family, then version.
func compareMachines(x, y *catalog.MachineType) int {
	if x.Less(y) {
		return -1
	}
	if y.Less(x) {
		return 1
	}
	return cmp.Compare(x.Name, y.Name)
}

// diffNames returns the names in y and not in x: the slow path for two
// catalogs over different registries (one extended by a plugin), which
// compare feature by feature by name.
func diffNames(x, y []string) []string {
	out := []string{}
	for _, n := range y {
		if _, found := slices.BinarySearch(x, n); !found {
			out = append(out, n)
		}
	}
	return out
}

func sortedNames(reg *feature.Registry, s feature.FeatureSet) []string {
	n := reg.Names(s)
	slices.Sort(n)
	return n
}
