package site

import (
	"fmt"
	"io"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/psabi"
)

// MigrationClass is a migratability class of a fleet (fleet.Class): hosts
// that can take each other's host-model guests, and where the guests of
// its hosts can and cannot live-migrate. Its JSON keys are a contract.
type MigrationClass struct {
	// Class numbers the classes from 1, in order of their first host.
	Class    int      `json:"class"`
	Vendor   string   `json:"vendor"`
	Hosts    []string `json:"hosts"`
	Features int      `json:"features"`
	ABILevel int      `json:"abi_level"`
	// MigratesTo are the other classes whose hosts take a host-model
	// guest of this class's hosts; a guest moves within its class too.
	MigratesTo []int `json:"migrates_to"`
	// Blocked are the other classes that cannot take one, and why.
	Blocked []BlockedMove `json:"blocked"`
}

// BlockedMove is a class a host-model guest cannot move to: it shows the
// guest another vendor (Missing is then empty), or lacks Missing of the
// guest's features.
type BlockedMove struct {
	Class   int      `json:"class"`
	Vendor  string   `json:"other_vendor,omitempty"`
	Missing []string `json:"missing"`
}

// migration fills r.Migration: the classes of all the fleet's hosts and
// the moves between them.
func (r *FleetReport) migration() {
	all := make([]int32, r.f.Len())
	for i := range all {
		all[i] = int32(i)
	}
	classes := r.f.Classes(all)
	moves := fleet.Moves(classes)
	r.Migration = make([]MigrationClass, len(classes))
	for i, c := range classes {
		mc := MigrationClass{Class: i + 1, Vendor: c.Vendor, Features: c.Set.Count(), ABILevel: int(r.levels.Of(c.Set)),
			MigratesTo: []int{}, Blocked: []BlockedMove{}}
		for _, h := range c.Hosts {
			mc.Hosts = append(mc.Hosts, r.f.Name(h))
		}
		for _, m := range moves[i] {
			switch {
			case m.OK:
				mc.MigratesTo = append(mc.MigratesTo, m.To+1)
			case m.OtherVendor:
				// The vendor alone blocks it; the other vendor's
				// missing bits (long lists) would say nothing more.
				mc.Blocked = append(mc.Blocked, BlockedMove{Class: m.To + 1, Vendor: classes[m.To].Vendor, Missing: []string{}})
			default:
				mc.Blocked = append(mc.Blocked, BlockedMove{Class: m.To + 1, Missing: r.reg.Names(m.Missing)})
			}
		}
		r.Migration[i] = mc
	}
}

// Targets returns the hosts a host-model guest started on the named host
// can live-migrate to, by its class; false for a host the report's
// migration classes do not hold.
func (r *FleetReport) Targets(hostName string) ([]string, bool) {
	for _, c := range r.Migration {
		for _, h := range c.Hosts {
			if h != hostName {
				continue
			}
			var out []string
			for _, o := range c.Hosts {
				if o != hostName {
					out = append(out, o)
				}
			}
			for _, to := range c.MigratesTo {
				out = append(out, r.Migration[to-1].Hosts...)
			}
			return out, true
		}
	}
	return nil, false
}

// writeMigrationText writes the classes for people: each with its hosts,
// where its host-model guests go, and the bits that block the rest (the
// other vendor's classes are counted, not listed).
func writeMigrationText(w io.Writer, classes []MigrationClass) {
	if len(classes) == 0 {
		return
	}
	fmt.Fprintf(w, "\nmigration classes (hosts that take each other's host-model guests): %d\n", len(classes))
	for _, c := range classes {
		fmt.Fprintf(w, "  class %d: %s (%s), %s, %d features, %s\n", c.Class, hostsN(len(c.Hosts)), list(c.Hosts, 6), c.Vendor, c.Features, psabi.Level(c.ABILevel))
		if len(c.MigratesTo) > 0 {
			var to []string
			for _, t := range c.MigratesTo {
				to = append(to, fmt.Sprintf("%d", t))
			}
			fmt.Fprintf(w, "    host-model guests also migrate to %s %s\n", plural(len(to), "class", "classes"), strings.Join(to, ", "))
		}
		other := 0
		for _, b := range c.Blocked {
			if b.Vendor != "" {
				other++
				continue
			}
			fmt.Fprintf(w, "    not to class %d: lacks %s\n", b.Class, list(b.Missing, 8))
		}
		if other > 0 {
			fmt.Fprintf(w, "    not to %d %s of another vendor\n", other, plural(other, "class", "classes"))
		}
	}
}

// plural is one or many by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
