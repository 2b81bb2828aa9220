package drift

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Kind is what a Finding says went wrong for the locked VMs.
type Kind string

// The kinds of findings, in the order Verify reports them.
const (
	// ModelGone: the catalog has no such model; VMs using it cannot
	// start.
	ModelGone Kind = "model-gone"
	// MachineGone: the catalog has no such machine type (a VM on
	// pc-i440fx-2.3 cannot start on a QEMU that dropped it).
	MachineGone Kind = "machine-gone"
	// AccelGone: the catalog has no data for a locked accelerator, so
	// nothing under it can be checked.
	AccelGone Kind = "accel-gone"
	// Requirements: the triple gives the guest features it did not, and
	// a host must now make them available.
	Requirements Kind = "requirements"
	// Definition: the triple's definition changed without a new version
	// name (features removed, CPUID properties changed, or what -cpu
	// options apply to: the definition's hidden features and levels),
	// which breaks live migration between the two releases.
	Definition Kind = "definition"
)

var kindOrder = []Kind{ModelGone, MachineGone, AccelGone, Requirements, Definition}

// Finding is one way a catalog breaks a lock.
type Finding struct {
	Kind    Kind   `json:"kind"`
	Model   string `json:"model,omitempty"`
	Machine string `json:"machine,omitempty"`
	Accel   string `json:"accel,omitempty"`
	// Added and Removed are the features the triple gained and lost.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// Hidden says only the definition beyond the expansion changed: its
	// hidden (latent) features or its own levels.
	Hidden bool `json:"hidden,omitempty"`
	// Triples is how many locked triples a gone model, machine type or
	// accel takes with it.
	Triples int `json:"triples,omitempty"`
}

func (f *Finding) String() string {
	switch f.Kind {
	case ModelGone:
		return fmt.Sprintf("model %s is gone: %d locked triples cannot start", f.Model, f.Triples)
	case MachineGone:
		return fmt.Sprintf("machine type %s is gone: %d locked triples cannot start", f.Machine, f.Triples)
	case AccelGone:
		return fmt.Sprintf("accelerator %s has no data in the catalog: %d locked triples unchecked", f.Accel, f.Triples)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: ", f.Model, f.Machine, f.Accel)
	if f.Kind == Requirements {
		fmt.Fprintf(&b, "requires %d more feature(s):", len(f.Added))
	} else {
		b.WriteString("definition changed without a new version name:")
	}
	for _, n := range f.Added {
		b.WriteString(" +" + n)
	}
	for _, n := range f.Removed {
		b.WriteString(" -" + n)
	}
	switch {
	case f.Hidden:
		b.WriteString(" its hidden features or own levels differ (what -cpu options apply to)")
	case len(f.Added)+len(f.Removed) == 0:
		b.WriteString(" CPUID properties differ")
	}
	return b.String()
}

// Report is Verify's answer.
type Report struct {
	// Checked is how many locked triples the catalog still has.
	Checked int `json:"checked"`
	// Locked is how many triples the lock holds.
	Locked int `json:"locked"`
	// DefinitionsUnchecked says the lock or the catalog has no model
	// definitions, so only expansions were compared.
	DefinitionsUnchecked bool      `json:"definitions_unchecked"`
	Findings             []Finding `json:"findings"`
}

// OK reports whether the catalog keeps every locked triple exactly as it
// was. Even a triple that lost a feature fails: a guest started on the
// old release would lose it when migrated to the new one.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// Verify checks cat against lf: every locked model, machine type and
// accelerator must still be there, and every locked triple must resolve
// to the same definition; a triple that gains features is reported as
// new requirements, any other change as a definition change.
func Verify(lf *LockFile, cat *catalog.Catalog) *Report {
	rep := &Report{Findings: []Finding{}, DefinitionsUnchecked: !lf.Definitions || !cat.Definitions()}
	n := len(lf.Machines) * len(lf.Accels)
	var models, machines, accels []string
	for _, m := range lf.Models {
		if !cat.HasModel(m.Name) {
			rep.Findings = append(rep.Findings, Finding{Kind: ModelGone, Model: m.Name, Triples: n})
		} else {
			models = append(models, m.Name)
		}
	}
	for _, m := range lf.Machines {
		// By full name: an alias of the new catalog does not stand in.
		if mt, err := cat.Machine(m); err != nil || mt.Name != m {
			rep.Findings = append(rep.Findings, Finding{Kind: MachineGone, Machine: m, Triples: len(lf.Models) * len(lf.Accels)})
		} else {
			machines = append(machines, m)
		}
	}
	for _, a := range lf.Accels {
		if !cat.HasAccel(core.Accel(a)) {
			rep.Findings = append(rep.Findings, Finding{Kind: AccelGone, Accel: a, Triples: len(lf.Models) * len(lf.Machines)})
		} else {
			accels = append(accels, a)
		}
	}
	rep.Locked = len(lf.Models) * n
	reg := cat.Registry()
	for _, r := range lf.Requirements {
		if !slices.Contains(models, r.Model) || !slices.Contains(accels, r.Accel) {
			continue
		}
		// Names the catalog's registry does not know are features no
		// triple of it can have: lost.
		req, unknown := setOf(reg, r.Requires)
		for _, machine := range r.Machines {
			if !slices.Contains(machines, machine) {
				continue
			}
			rep.Checked++
			h, err := hashTriple(cat, r.Model, machine, r.Accel)
			if err != nil {
				continue // unreachable: all three were found above
			}
			f := Finding{Kind: Definition, Model: r.Model, Machine: machine, Accel: r.Accel}
			switch {
			case h.expansion != r.Expansion:
				f.Added = reg.Names(h.features.Difference(req))
				f.Removed = append(reg.Names(req.Difference(h.features)), unknown...)
				slices.Sort(f.Removed)
				if len(f.Added) > 0 {
					f.Kind = Requirements
				}
			case !rep.DefinitionsUnchecked && h.definition != r.Definition:
				f.Hidden = true
			default:
				continue
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	machineIdx := map[string]int{}
	for i, m := range lf.Machines {
		machineIdx[m] = i
	}
	slices.SortStableFunc(rep.Findings, func(x, y Finding) int {
		return cmp.Or(
			cmp.Compare(slices.Index(kindOrder, x.Kind), slices.Index(kindOrder, y.Kind)),
			strings.Compare(x.Model, y.Model),
			cmp.Compare(machineIdx[x.Machine], machineIdx[y.Machine]),
			strings.Compare(x.Accel, y.Accel))
	})
	return rep
}

// setOf returns the set of the names reg knows, and the others.
func setOf(reg *feature.Registry, names []string) (feature.FeatureSet, []string) {
	var s feature.FeatureSet
	var unknown []string
	for _, n := range names {
		if id, err := reg.Lookup(n); err == nil {
			s = s.Add(id)
		} else {
			unknown = append(unknown, n)
		}
	}
	return s, unknown
}
