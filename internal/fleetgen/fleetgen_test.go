package fleetgen_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/fleetgen"
)

func loadBases(t testing.TB, reg *feature.Registry) []*fleetgen.Base {
	var bases []*fleetgen.Base
	for _, p := range []string{
		"../../testdata/hosts/this-machine.json",
		"../../testdata/hosts/xeon-gold-6130.json",
		"../../testdata/qemu-hosts/x86_64-cpuid-EPYC-7502-32-Core.json", // QMP replies
		"../../testdata/qemu-hosts/x86_64-cpuid-Core-i7-8550U.json",
	} {
		b, err := fleetgen.LoadBase(p, reg, core.Release{Major: 10, Minor: 0})
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, b)
	}
	return bases
}

// TestGenerate: generated hosts are valid snapshots (they survive
// Marshal and Parse), lose exactly the bits they say they mask (and
// perhaps bits that depend on those) and nothing their base lacks, and
// the same seed gives the same fleet.
func TestGenerate(t *testing.T) {
	reg := feature.Builtin()
	bases := loadBases(t, reg)
	cfg := fleetgen.Realistic(400, 7, reg)
	cfg.Strays = 0.05
	hosts, err := fleetgen.Generate(bases, 400, cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := fleetgen.Generate(bases, 400, cfg, reg)
	masked, strays := 0, 0
	pools := map[string]bool{}
	for i, h := range hosts {
		if h.Name != again[i].Name || !slices.Equal(h.Masked, again[i].Masked) {
			t.Fatalf("host %d: %s %v, then %s %v: not deterministic", i, h.Name, h.Masked, again[i].Name, again[i].Masked)
		}
		pools[h.Pool] = true
		if !strings.HasPrefix(h.Name, h.Base.Name+"-"+h.Pool+"-") {
			t.Fatalf("host %s: name does not say base %s and pool %s", h.Name, h.Base.Name, h.Pool)
		}
		data, err := h.Snap.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		s, err := host.Parse(h.Name, data, reg)
		if err != nil {
			t.Fatalf("generated snapshot does not parse: %v", err)
		}
		got, err := check.Available(reg, s, core.Release{Major: 10, Minor: 0}, core.KVM)
		if err != nil {
			t.Fatal(err)
		}
		base, _ := check.Available(reg, h.Base.Snap, core.Release{Major: 10, Minor: 0}, core.KVM)
		if !got.SubsetOf(base) {
			t.Fatalf("%s offers %v its base does not", h.Name, reg.Names(got.Difference(base)))
		}
		lost := base.Difference(got)
		for _, m := range h.Masked {
			name, _, _ := strings.Cut(m, " ")
			id, err := reg.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Has(id) {
				t.Errorf("%s: masked %s is still available", h.Name, m)
			}
		}
		if len(h.Masked) == 0 && !lost.IsEmpty() {
			t.Errorf("%s: no masks, but lost %v", h.Name, reg.Names(lost))
		}
		if len(h.Masked) > 0 {
			masked++
		}
	}
	for _, h := range hosts {
		if !strings.HasPrefix(h.Name, h.Base.Name) {
			strays++
		}
	}
	// A third of the hosts is masked: far from none and from all.
	if masked < 80 || masked > 200 {
		t.Errorf("%d of 400 hosts masked, want about a third", masked)
	}
	if len(pools) != 4 {
		t.Errorf("%d pools, want 4 for 400 hosts", len(pools))
	}
	// The bases were not modified.
	for _, b := range loadBases(t, reg) {
		for _, old := range bases {
			if old.Name == b.Name {
				x, _ := old.Snap.Marshal()
				y, _ := b.Snap.Marshal()
				if string(x) != string(y) {
					t.Errorf("base %s was modified by Generate", b.Name)
				}
			}
		}
	}
}

// TestMaskLayers: a live snapshot's masks are made where they happen —
// hw in raw CPUID, os in the kernel's flags, kvm in KVM's answer — and
// check.Compute then blames that layer.
func TestMaskLayers(t *testing.T) {
	reg := feature.Builtin()
	b, err := fleetgen.LoadBase(filepath.Join("..", "..", "testdata", "hosts", "this-machine.json"), reg, core.Release{Major: 10, Minor: 0})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fleetgen.Config{Seed: 1, MaskedHosts: 1, MaxMasked: 3}
	hosts, err := fleetgen.Generate([]*fleetgen.Base{b}, 60, cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, h := range hosts {
		a, err := check.Compute(reg, h.Snap, core.Release{Major: 10, Minor: 0}, core.KVM)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range h.Masked {
			name, layer, _ := strings.Cut(m, " ")
			layer = strings.Trim(layer, "()")
			id, _ := reg.Lookup(name)
			if got := a.Layer(id); got != layer {
				t.Errorf("%s: %s masked at %s, check says %s", h.Name, name, layer, got)
			}
			seen[layer]++
		}
	}
	for _, l := range []string{check.LayerHW, check.LayerOS, check.LayerKVM} {
		if seen[l] == 0 {
			t.Errorf("no bit masked at layer %s in 60 hosts", l)
		}
	}
}
