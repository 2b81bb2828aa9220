package site

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/psabi"
)

// WhatIfReport is how each pool's best model and x86-64 level change
// when hosts leave the fleet or join it: `cpupolicy fleet
// --what-if-remove HOST --what-if-add FILE`. Its JSON keys are a
// contract.
type WhatIfReport struct {
	Catalog string   `json:"catalog"`
	Removed []string `json:"removed"`
	Added   []string `json:"added"`
	// Pools has one entry per pool and machine type, before or after.
	Pools []PoolChange `json:"pools"`
}

// PoolChange is one pool on one machine type before and after; Before
// or After is nil for a pool that only exists on one side.
type PoolChange struct {
	Pool    string     `json:"pool"`
	Machine string     `json:"machine"`
	Before  *PoolState `json:"before"`
	After   *PoolState `json:"after"`
	// Changed says the best model or a level differs.
	Changed bool `json:"changed"`
}

// PoolState is what a fleet report says of a pool on a machine type.
type PoolState struct {
	Hosts     int    `json:"hosts"`
	Best      string `json:"best_model"`
	BestLevel int    `json:"best_model_abi_level"`
	// Level is the x86-64 level of the pool's common features.
	Level int `json:"abi_level"`
}

// WhatIf judges the fleet of in as it is and again without the hosts
// named in remove (as the report names them) and with the host files of
// add (which join DefaultPool), and reports the change of each pool.
func WhatIf(in FleetInput, remove []string, add []FleetFile) (*WhatIfReport, error) {
	before, err := JudgeFleet(in)
	if err != nil {
		return nil, err
	}
	changed := in
	changed.Exclude = append(append([]string(nil), in.Exclude...), remove...)
	changed.Files = append(append([]FleetFile(nil), in.Files...), add...)
	after, err := JudgeFleet(changed)
	if err != nil {
		return nil, err
	}
	out := &WhatIfReport{Catalog: before.Catalog, Removed: nonNil(remove), Added: []string{}, Pools: []PoolChange{}}
	for _, a := range add {
		out.Added = append(out.Added, a.Path)
	}
	type key struct{ pool, machine string }
	var order []key
	states := map[key]*PoolChange{}
	collect := func(r *FleetReport, after bool) {
		for _, p := range r.Pools {
			for _, m := range p.Machines {
				k := key{p.Name, m.Machine}
				c, ok := states[k]
				if !ok {
					c = &PoolChange{Pool: p.Name, Machine: m.Machine}
					states[k] = c
					order = append(order, k)
				}
				st := &PoolState{Hosts: len(p.Hosts), Best: m.NewestModel, BestLevel: m.NewestModelLevel, Level: p.ABILevel}
				if after {
					c.After = st
				} else {
					c.Before = st
				}
			}
		}
	}
	collect(before, false)
	collect(after, true)
	for _, k := range order {
		c := states[k]
		c.Changed = c.Before == nil || c.After == nil || c.Before.Best != c.After.Best ||
			c.Before.BestLevel != c.After.BestLevel || c.Before.Level != c.After.Level
		out.Pools = append(out.Pools, *c)
	}
	return out, nil
}

// WriteWhatIfText writes the report for people: a line per pool and
// machine type, the changed ones marked.
func WriteWhatIfText(w io.Writer, o *WhatIfReport) {
	var what []string
	if len(o.Removed) > 0 {
		what = append(what, "without "+strings.Join(o.Removed, ", "))
	}
	if len(o.Added) > 0 {
		var names []string
		for _, a := range o.Added {
			names = append(names, strings.TrimSuffix(filepath.Base(a), ".json"))
		}
		what = append(what, "with "+strings.Join(names, ", "))
	}
	if len(what) == 0 {
		what = append(what, "unchanged")
	}
	fmt.Fprintf(w, "what if: %s (catalog %s)\n", strings.Join(what, "; "), o.Catalog)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tPOOL\tMACHINE\tBEFORE\tAFTER")
	n := 0
	for _, c := range o.Pools {
		mark := "same"
		if c.Changed {
			mark = "changed"
			n++
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", mark, c.Pool, c.Machine, stateText(c.Before), stateText(c.After))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d pool answers change\n", n, len(o.Pools))
}

func stateText(s *PoolState) string {
	if s == nil {
		return "(no pool)"
	}
	best := s.Best
	if best == "" {
		best = "no model"
	}
	return fmt.Sprintf("%s (%s), %s, pool %s", best, psabi.Level(s.BestLevel), hostsN(s.Hosts), psabi.Level(s.Level))
}
