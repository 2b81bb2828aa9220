package fleet_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
)

// TestBestModelOfRecordedHosts: the best-model rule on the recorded hosts,
// each answer checked by hand against QEMU's definitions
// (target/i386/cpu.c, builtin_x86_defs) and the catalogs' expansions:
//
//   - Xeon Gold 6130 runs Skylake-Server-v1 … v5. v1 has hle and rtm;
//     v2 ("Skylake-Server-IBRS": clflushopt off, spec-ctrl on) the same
//     count; v3 ("noTSX-IBRS": hle, rtm off) 76, and v4
//     (vmx-eptp-switching on) resolves to v3's set; v5 (xsaves,
//     vmx-xsaves on) 77. v3 = v4 is contained in v2 and v5; v1, v2 and v5
//     contain no other (v1 has clflushopt, v2 spec-ctrl, both TSX; v5
//     lacks TSX), all Skylake-Server: the highest version, v5.
//     Cascadelake-Server needs avx512vnni.
//   - Core i7-8550U has no AVX-512: Skylake-Client; v1 and v2 have hle and
//     rtm, which its microcode disabled, so v4 (v3 + xsaves).
//   - EPYC 7502 runs EPYC-Rome-v1 only of the Rome versions (v2 adds ibrs,
//     which its KVM does not pass); EPYC-Rome-v1 contains EPYC-v1 … v4.
//   - The Xeon and the laptop: Skylake-Client-v4.
//   - The EPYC and the Xeon share no vendor's recent model: SandyBridge-v2
//     (IvyBridge needs erms, which this EPYC's KVM lacks; no AMD model
//     runs on the Xeon beyond Opteron_G2, which SandyBridge contains).
//   - This machine's KVM (a nested guest) hides pni: no 64-bit model
//     runs, and pentium3 is the richest of the rest.
func TestBestModelOfRecordedHosts(t *testing.T) {
	reg := feature.Builtin()
	snaps := loadReal(t, reg)
	cases := []struct {
		hosts      []string
		best, next string
	}{
		{[]string{"xeon-gold-6130"}, "Skylake-Server-v5", "Cascadelake-Server-v5"},
		{[]string{"core-i7-8550u"}, "Skylake-Client-v4", "Skylake-Server-v5"},
		{[]string{"xeon-gold-6130", "core-i7-8550u"}, "Skylake-Client-v4", "Skylake-Server-v5"},
		{[]string{"epyc-7502-32-core", "xeon-gold-6130"}, "SandyBridge-v2", "IvyBridge-v2"},
		{[]string{"this-machine"}, "pentium3-v1", "Opteron_G2-v1"},
	}
	for _, c := range []struct {
		catalog string
		rel     core.Release
		epyc    []string // best and next for the EPYC alone
	}{
		{"qemu-7.2", core.Release{Major: 7, Minor: 2}, []string{"EPYC-Rome-v1", "EPYC-Rome-v2"}},
		// 10.0's EPYC-Rome-v3 adds only ibrs to v1 as v2 does, and is the
		// later version of the two cheapest upgrades.
		{"qemu-10.0", core.Release{Major: 10, Minor: 0}, []string{"EPYC-Rome-v1", "EPYC-Rome-v3"}},
	} {
		t.Run(c.catalog, func(t *testing.T) {
			cat, err := catalog.Embedded(c.catalog)
			if err != nil {
				t.Fatal(err)
			}
			mt, _ := cat.Newest("pc-q35")
			cands, err := fleet.Candidates(cat, mt.Name, core.KVM)
			if err != nil {
				t.Fatal(err)
			}
			name := func(i int) string {
				if i < 0 {
					return "none"
				}
				return cands[i].Name
			}
			all := append(slices.Clip(cases), struct {
				hosts      []string
				best, next string
			}{[]string{"epyc-7502-32-core"}, c.epyc[0], c.epyc[1]})
			for _, tc := range all {
				var hs []feature.FeatureSet
				var named []fleet.HostSet
				for _, h := range tc.hosts {
					a, err := check.Compute(reg, snaps[h], c.rel, core.KVM)
					if err != nil {
						t.Fatal(err)
					}
					hs = append(hs, a.Set)
					named = append(named, fleet.HostSet{Name: h, Set: a.Set})
				}
				best, next := fleet.Baseline(cands, hs)
				if name(best) != tc.best || name(next) != tc.next {
					t.Errorf("%v: best %s, next %s; want %s, %s", tc.hosts, name(best), name(next), tc.best, tc.next)
				}
				rank := fleet.Rank(cands, hs)
				if len(rank) == 0 || rank[0] != best {
					t.Errorf("%v: ranking starts %v, best is %s", tc.hosts, rank, name(best))
				}
				rep, err := fleet.CatalogBaseline(cat, mt.Name, named)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Best != tc.best || len(rep.Ranking) != len(rep.Runnable) || rep.Ranking[0].Model != tc.best {
					t.Errorf("%v: report's best %s, ranking %d of %d runnable", tc.hosts, rep.Best, len(rep.Ranking), len(rep.Runnable))
				}
			}
		})
	}
}

// TestGenerationsCoverCatalogs: every base model of the embedded
// catalogs is in QEMU's definition order, so no model of theirs falls to
// "older than all" by omission.
func TestGenerationsCoverCatalogs(t *testing.T) {
	for _, name := range catalog.EmbeddedNames() {
		cat, err := catalog.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		for m := range cat.AllModels() {
			if m.AliasOf == "" && m.Base != "base" && fleet.Generation(m.Base) < 0 {
				t.Errorf("%s: %s (base %s) has no generation", name, m.Name, m.Base)
			}
		}
	}
	if fleet.Generation("Skylake-Server") <= fleet.Generation("Skylake-Client") || fleet.Generation("EPYC-Rome") <= fleet.Generation("EPYC") {
		t.Error("definition order lost")
	}
}

// TestRankDefinition holds Rank and Baseline to the rule, read
// literally, on random candidates: a brute-force check of each pick.
func TestRankDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		var cands []fleet.Candidate
		for i := range 1 + rng.IntN(20) {
			var s feature.FeatureSet
			for range rng.IntN(12) {
				s = s.Add(feature.ID(rng.IntN(16)))
			}
			cands = append(cands, fleet.Candidate{Name: string(rune('a' + i)), Set: s,
				Generation: rng.IntN(4) - 1, Version: 1 + rng.IntN(3), Deprecated: rng.IntN(5) == 0})
		}
		var hosts []feature.FeatureSet
		for range rng.IntN(4) {
			var s feature.FeatureSet
			for range 12 {
				s = s.Add(feature.ID(rng.IntN(16)))
			}
			hosts = append(hosts, s)
		}
		runs := func(c *fleet.Candidate) bool {
			for _, h := range hosts {
				if !c.Set.SubsetOf(h) {
					return false
				}
			}
			return true
		}
		rank := fleet.Rank(cands, hosts)
		left := map[int]bool{}
		for i := range cands {
			if runs(&cands[i]) {
				left[i] = true
			}
		}
		if len(rank) != len(left) {
			t.Fatalf("ranked %d of %d runnable", len(rank), len(left))
		}
		for _, p := range rank {
			if !left[p] {
				t.Fatalf("ranked %d twice or not runnable", p)
			}
			c := &cands[p]
			current := false
			for i := range left {
				current = current || !cands[i].Deprecated
			}
			for i := range left {
				o := &cands[i]
				switch {
				case i == p:
				case current && c.Deprecated:
					t.Fatalf("picked deprecated %s while %s is not", c.Name, o.Name)
				case current && o.Deprecated:
				case o.Set != c.Set && c.Set.SubsetOf(o.Set):
					t.Fatalf("picked %s, which %s strictly contains", c.Name, o.Name)
				case o.Set.SubsetOf(c.Set) && o.Set != c.Set:
				case o.Generation > c.Generation || o.Generation == c.Generation && o.Version > c.Version:
					// o may still be contained in a third candidate.
					contained := false
					for j := range left {
						if cands[j].Set != o.Set && o.Set.SubsetOf(cands[j].Set) && !(current && cands[j].Deprecated) {
							contained = true
						}
					}
					if !contained {
						t.Fatalf("picked %s (gen %d v%d) over uncontained %s (gen %d v%d)", c.Name, c.Generation, c.Version, o.Name, o.Generation, o.Version)
					}
				}
			}
			delete(left, p)
		}
		best, next := fleet.Baseline(cands, hosts)
		if len(rank) > 0 && best != rank[0] || len(rank) == 0 && best != -1 {
			t.Fatalf("Baseline's best %d, Rank's %v", best, rank)
		}
		var bestSet feature.FeatureSet
		if best >= 0 {
			bestSet = cands[best].Set
		}
		missed := func(c *fleet.Candidate) int {
			n := 0
			for _, h := range hosts {
				n += c.Set.Difference(h).Count()
			}
			return n
		}
		for i := range cands {
			c := &cands[i]
			if runs(c) || !bestSet.SubsetOf(c.Set) {
				continue
			}
			if next < 0 {
				t.Fatalf("%s is a blocked superset of the best, but next is none", c.Name)
			}
			if m, mn := missed(c), missed(&cands[next]); m < mn {
				t.Fatalf("%s (hosts miss %d bits) beats next %s (%d bits)", c.Name, m, cands[next].Name, mn)
			}
		}
		if next >= 0 && (runs(&cands[next]) || !bestSet.SubsetOf(cands[next].Set)) {
			t.Fatalf("next %s is not a blocked superset of the best", cands[next].Name)
		}
	}
}
