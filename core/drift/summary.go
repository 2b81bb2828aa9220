package drift

import (
	"fmt"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
)

// ChangeGroup is the changes of one model and accelerator that add and
// remove the same features, on a run of machine types.
type ChangeGroup struct {
	Model          string
	Accel          core.Accel
	Added, Removed []string
	// Machines folds consecutive machine types of a family (in catalog
	// A's order) into ranges: "pc-i440fx-2.4..7.2 pc-q35-4.1".
	Machines string
}

// Groups folds d.Changed into groups, in the order of their first
// change: one row per model, accelerator and change.
func (d *DiffResult) Groups() []ChangeGroup {
	type group struct {
		ChangeGroup
		machines []string
	}
	var gs []*group
	for _, c := range d.Changed {
		var g *group
		for _, prev := range gs {
			if prev.Model == c.Model && prev.Accel == c.Accel && equal(prev.Added, c.Added) && equal(prev.Removed, c.Removed) {
				g = prev
				break
			}
		}
		if g == nil {
			g = &group{ChangeGroup: ChangeGroup{Model: c.Model, Accel: c.Accel, Added: c.Added, Removed: c.Removed}}
			gs = append(gs, g)
		}
		g.machines = append(g.machines, c.Machine)
	}
	pos := map[string]int{}
	for i, m := range d.A.Machines() {
		pos[m.Name] = i
	}
	out := make([]ChangeGroup, len(gs))
	for i, g := range gs {
		out[i] = g.ChangeGroup
		out[i].Machines = foldMachines(g.machines, pos)
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, " ") == strings.Join(b, " ") }

// foldMachines writes machine types as ranges of consecutive ones by
// their position in pos.
func foldMachines(names []string, pos map[string]int) string {
	var out []string
	for i := 0; i < len(names); {
		j := i
		for j+1 < len(names) && pos[names[j+1]] == pos[names[j]]+1 && machineFamily(names[j+1]) == machineFamily(names[i]) {
			j++
		}
		if j == i {
			out = append(out, names[i])
		} else {
			_, last, _ := strings.Cut(names[j], machineFamily(names[j])+"-")
			out = append(out, names[i]+".."+last)
		}
		i = j + 1
	}
	return strings.Join(out, " ")
}

func machineFamily(machine string) string {
	fam, _, _ := catalog.ParseMachineName(machine)
	return fam
}

// Summary counts the findings by kind in words: "1 model gone, 2 triples
// require more features"; "" when there are none.
func (r *Report) Summary() string {
	count := map[Kind]int{}
	for i := range r.Findings {
		count[r.Findings[i].Kind]++
	}
	var parts []string
	for _, k := range []struct {
		kind      Kind
		one, many string
	}{
		{ModelGone, "model gone", "models gone"},
		{MachineGone, "machine type gone", "machine types gone"},
		{AccelGone, "accelerator gone", "accelerators gone"},
		{Requirements, "triple requires more features", "triples require more features"},
		{Definition, "triple changed definition without a new version name", "triples changed definition without a new version name"},
	} {
		switch n := count[k.kind]; n {
		case 0:
		case 1:
			parts = append(parts, "1 "+k.one)
		default:
			parts = append(parts, fmt.Sprintf("%d %s", n, k.many))
		}
	}
	return strings.Join(parts, ", ")
}
