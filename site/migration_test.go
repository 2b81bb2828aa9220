package site_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/fleetgen"
	"github.com/cpupolicy/cpupolicy/site"
)

var recorded = []string{"xeon-gold-6130", "core-i7-8550u", "epyc-7502-32-core", "this-machine"}

func loadRecorded(t *testing.T, reg *feature.Registry, name string) *host.HostSnapshot {
	t.Helper()
	p := filepath.Join("..", "testdata", "hosts", name+".json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s, err := host.Parse(p, data, reg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMigrationTargets: on the recorded hosts and 120 masked variants of
// them (internal/fleetgen: TSX, AVX-512, speculation controls and the
// like switched off at the hw, os or kvm layer), the fleet report lists,
// for a host-model guest of each host, exactly the hosts it can
// live-migrate to: those that show it the same vendor and make all it has
// available, checked here against `resolve --cpu host` of each source
// under kvm (check.ResolveConfig: what QEMU's -cpu host gives a guest)
// and against `models` of the targets (every model runnable on the source runs there); and for each
// same-vendor host it cannot go to, the bits that host lacks.
func TestMigrationTargets(t *testing.T) {
	reg := feature.Builtin()
	rel := core.Release{Major: 10, Minor: 0}
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := cat.Newest("pc-q35")
	var bases []*fleetgen.Base
	st := &site.Site{}
	for _, n := range recorded {
		s := loadRecorded(t, reg, n)
		b, err := fleetgen.NewBase(n, s, reg, rel)
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, b)
		st.Pools = append(st.Pools, site.Pool{Name: "recorded", Hosts: []*site.Host{site.NewHost(n, s)}})
	}
	gen, err := fleetgen.Generate(bases, 120, fleetgen.Realistic(120, 7, reg), reg)
	if err != nil {
		t.Fatal(err)
	}
	snaps := map[string]*host.HostSnapshot{}
	for _, p := range st.Pools {
		snaps[p.Hosts[0].Name] = p.Hosts[0].Snapshot
	}
	for _, g := range gen {
		st.Pools = append(st.Pools, site.Pool{Name: g.Pool, Hosts: []*site.Host{site.NewHost(g.Name, g.Snap)}})
		snaps[g.Name] = g.Snap
	}
	r, err := site.JudgeFleet(site.FleetInput{Catalog: cat, Release: rel, Machines: []string{mt.Name}, Site: st, Migration: true})
	if err != nil {
		t.Fatal(err)
	}
	avail := map[string]*check.Availability{}
	var names []string
	for n, s := range snaps {
		a, err := check.Compute(reg, s, rel, core.KVM)
		if err != nil {
			t.Fatal(err)
		}
		avail[n] = a
		names = append(names, n)
	}
	slices.Sort(names)
	runnable := map[string][]string{}
	models := func(n string) []string {
		if m, ok := runnable[n]; ok {
			return m
		}
		j := &check.Judge{Catalog: cat, Machine: mt, Accel: core.KVM, Avail: avail[n], Vendor: snaps[n].Vendor, Host: n}
		rows, err := j.Models()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, row := range rows {
			if row.Runnable() {
				out = append(out, row.Name)
			}
		}
		runnable[n] = out
		return out
	}
	class := map[string]*site.MigrationClass{}
	for i := range r.Migration {
		for _, h := range r.Migration[i].Hosts {
			class[h] = &r.Migration[i]
		}
	}
	moves, classes := 0, len(r.Migration)
	for _, src := range names {
		got, ok := r.Targets(src)
		if !ok {
			t.Fatalf("%s is in no migration class", src)
		}
		// What a host-model guest of src has: `resolve --cpu host` on
		// src under kvm (check.ResolveConfig, QEMU's -cpu host).
		res, _, err := check.ResolveConfig(cat, "host", mt.Name, core.KVM, snaps[src], "")
		if err != nil {
			t.Fatalf("%s: resolve --cpu host: %v", src, err)
		}
		var want []string
		for _, dst := range names {
			if dst != src && snaps[dst].Vendor == snaps[src].Vendor && res.Features.SubsetOf(avail[dst].Set) {
				want = append(want, dst)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: targets %v, want %v", src, got, want)
		}
		moves += len(got)
		for k, dst := range got {
			if k == 3 {
				break // models of a few targets per source: enough, and each costs a listing
			}
			for _, m := range models(src) {
				if !slices.Contains(models(dst), m) {
					t.Errorf("%s → %s: %s runs on the source, not on the target", src, dst, m)
				}
			}
		}
		// Each same-vendor class it cannot go to names the bits it lacks.
		for _, b := range class[src].Blocked {
			to := &r.Migration[b.Class-1]
			dst := to.Hosts[0]
			if b.Vendor != "" {
				if to.Vendor == class[src].Vendor {
					t.Errorf("%s → class %d: blocked for vendor %s, same as the source's", src, b.Class, b.Vendor)
				}
				continue
			}
			if want := reg.Names(avail[src].Set.Difference(avail[dst].Set)); !slices.Equal(b.Missing, want) || len(want) == 0 {
				t.Errorf("%s → %s: blocked by %v, want %v", src, dst, b.Missing, want)
			}
		}
	}
	if classes < 10 || moves == 0 {
		t.Errorf("%d classes, %d moves: the masked fleet should have many classes and some moves", classes, moves)
	}
	t.Logf("%d hosts, %d migration classes, %d host-model moves", len(names), classes, moves)
}

// TestWhatIf: leaving a host out or adding one changes each pool's best
// model and levels as the pool without or with it decides.
func TestWhatIf(t *testing.T) {
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := cat.Newest("pc-q35")
	file := func(n string) site.FleetFile {
		return site.FleetFile{Path: filepath.Join("..", "testdata", "hosts", n+".json")}
	}
	parse := func(name string, data []byte) (*host.HostSnapshot, error) {
		return host.Parse(name, data, cat.Registry())
	}
	in := func(files ...string) site.FleetInput {
		fin := site.FleetInput{Catalog: cat, Release: core.Release{Major: 10, Minor: 0}, Machines: []string{mt.Name}, Parse: parse}
		for _, f := range files {
			fin.Files = append(fin.Files, file(f))
		}
		return fin
	}
	for _, c := range []struct {
		name          string
		hosts, remove []string
		add           []string
		before, after site.PoolState
	}{
		// Without the laptop, the Xeon's AVX-512 is back: v5, level 4.
		{"remove the laptop", []string{"xeon-gold-6130", "core-i7-8550u"}, []string{"core-i7-8550u"}, nil,
			site.PoolState{Hosts: 2, Best: "Skylake-Client-v4", BestLevel: 3, Level: 3},
			site.PoolState{Hosts: 1, Best: "Skylake-Server-v5", BestLevel: 4, Level: 4}},
		// An EPYC among Xeons: no recent model of either vendor; the
		// common features still reach v3, no model that runs on both does.
		{"add an EPYC", []string{"xeon-gold-6130"}, nil, []string{"epyc-7502-32-core"},
			site.PoolState{Hosts: 1, Best: "Skylake-Server-v5", BestLevel: 4, Level: 4},
			site.PoolState{Hosts: 2, Best: "SandyBridge-v2", BestLevel: 2, Level: 3}},
		{"nothing", []string{"xeon-gold-6130"}, nil, nil,
			site.PoolState{Hosts: 1, Best: "Skylake-Server-v5", BestLevel: 4, Level: 4},
			site.PoolState{Hosts: 1, Best: "Skylake-Server-v5", BestLevel: 4, Level: 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var add []site.FleetFile
			for _, a := range c.add {
				add = append(add, file(a))
			}
			r, err := site.WhatIf(in(c.hosts...), c.remove, add)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Pools) != 1 {
				t.Fatalf("%d pool changes, want 1", len(r.Pools))
			}
			p := r.Pools[0]
			if *p.Before != c.before || *p.After != c.after || p.Changed != (c.before != c.after) {
				t.Errorf("before %+v, after %+v, changed %v; want %+v, %+v", *p.Before, *p.After, p.Changed, c.before, c.after)
			}
		})
	}
	if _, err := site.WhatIf(in("xeon-gold-6130"), []string{"nosuch"}, nil); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("removing an unknown host: %v", err)
	}
}
