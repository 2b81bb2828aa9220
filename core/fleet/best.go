package fleet

import (
	"slices"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// generations is the order of QEMU's built-in x86 CPU model definitions,
// builtin_x86_defs in target/i386/cpu.c (v10.0.2; 7.2 has the same order
// without SapphireRapids, GraniteRapids, SierraForest, ClearwaterForest,
// EPYC-Genoa and YongFeng; 5.2 has Icelake-Client, which 7.1 removed,
// before Icelake-Server; 11.1 adds DiamondRapids after GraniteRapids and
// EPYC-Turin after YongFeng, as the binaries' strings show): within a vendor, a later entry is a later CPU
// generation. It is the tie-break of the best-model rule between models
// whose features do not contain each other ([Rank]). The real
// binaries' read-only data holds the names in this order too
// (`strings qemu-system-x86_64`, 7.2.22 and 10.0.2).
var generations = []string{
	"qemu64", "phenom", "core2duo", "kvm64", "qemu32", "kvm32", "coreduo",
	"486", "pentium", "pentium2", "pentium3", "athlon", "n270",
	"Conroe", "Penryn", "Nehalem", "Westmere", "SandyBridge", "IvyBridge",
	"Haswell", "Broadwell", "Skylake-Client", "Skylake-Server",
	"Cascadelake-Server", "Cooperlake", "Icelake-Client", "Icelake-Server", "SapphireRapids",
	"GraniteRapids", "DiamondRapids", "SierraForest", "ClearwaterForest", "Denverton",
	"Snowridge", "KnightsMill",
	"Opteron_G1", "Opteron_G2", "Opteron_G3", "Opteron_G4", "Opteron_G5",
	"EPYC", "Dhyana", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa", "YongFeng", "EPYC-Turin",
}

// Generation returns the position of base (an unversioned model name)
// in QEMU's definitions, or -1 for a model QEMU does not define there
// ("base", a plugin's or a site's): such a model is older than all.
func Generation(base string) int { return slices.Index(generations, base) }

// Candidate is a CPU model as the best-model rule sees it: its
// requirement and what orders models whose requirements do not contain
// each other.
type Candidate struct {
	Name string
	Set  feature.FeatureSet
	// Generation is Generation(base model); Version the N of -vN.
	Generation, Version int
	Deprecated          bool
}

// Candidates returns the versioned models of cat (aliases are judged
// under the version they stand for) with what each needs on machine
// under accel, in catalog order.
func Candidates(cat *catalog.Catalog, machine string, accel core.Accel) ([]Candidate, error) {
	var out []Candidate
	for m := range cat.AllModels() {
		if m.AliasOf != "" {
			continue
		}
		f, err := cat.Features(m.Name, machine, accel)
		if err != nil {
			return nil, err
		}
		out = append(out, Candidate{Name: m.Name, Set: f, Generation: Generation(m.Base),
			Version: m.Version, Deprecated: m.Deprecated})
	}
	return out, nil
}

// Rank returns the indexes of the candidates that run on every host
// (their sets ⊆ what all of hosts offer; every candidate with no hosts)
// best first: the best is Rank's first. The rule, applied again to what
// is left after each pick:
//
//  1. never a deprecated model while a non-deprecated one is left;
//  2. of the rest, only models that no other left strictly contains (a
//     model whose features are a superset of another's is preferred to
//     it);
//  3. of those, the latest generation in QEMU's definitions, then the
//     highest version, then the first in catalog order.
func Rank(cands []Candidate, hosts []feature.FeatureSet) []int {
	left := runnable(cands, hosts)
	out := make([]int, 0, len(left))
	for len(left) > 0 {
		k := pick(cands, left)
		out = append(out, left[k])
		left = slices.Delete(left, k, k+1)
	}
	return out
}

// runnable is the indexes of the candidates every host runs.
func runnable(cands []Candidate, hosts []feature.FeatureSet) []int {
	var common feature.FeatureSet
	for i, h := range hosts {
		if i == 0 {
			common = h
		}
		common = common.Intersect(h)
	}
	var out []int
	for i := range cands {
		if len(hosts) == 0 || cands[i].Set.SubsetOf(common) {
			out = append(out, i)
		}
	}
	return out
}

// pick returns the position in left of the rule's choice among left.
func pick(cands []Candidate, left []int) int {
	anyCurrent := slices.ContainsFunc(left, func(i int) bool { return !cands[i].Deprecated })
	best := -1
	for k, i := range left {
		c := &cands[i]
		if anyCurrent && c.Deprecated {
			continue
		}
		contained := false
		for _, j := range left {
			o := &cands[j]
			if (anyCurrent && o.Deprecated) || o.Set == c.Set {
				continue
			}
			if c.Set.SubsetOf(o.Set) {
				contained = true
				break
			}
		}
		if contained {
			continue
		}
		if best < 0 || laterGeneration(c, &cands[left[best]]) {
			best = k
		}
	}
	return best
}

// laterGeneration is rule 3's order: a later generation, then a higher
// version.
func laterGeneration(a, b *Candidate) bool {
	if a.Generation != b.Generation {
		return a.Generation > b.Generation
	}
	return a.Version > b.Version
}

// Baseline picks among cands for hosts (what each makes available):
//
//   - best, the rule's choice among the candidates every host runs
//     (Rank's first);
//   - next, the candidate that would be better: one that needs all of
//     best's features and more, which some host blocks, and of those the
//     one the hosts miss the fewest bits of in total — the cheapest
//     upgrade — then the later generation and higher version.
//
// Each is -1 when there is none. With no hosts, every candidate runs.
func Baseline(cands []Candidate, hosts []feature.FeatureSet) (best, next int) {
	best, next = -1, -1
	left := runnable(cands, hosts)
	// With nothing runnable, the next is the cheapest model of all.
	var bestSet feature.FeatureSet
	if len(left) > 0 {
		best = left[pick(cands, left)]
		bestSet = cands[best].Set
	}
	runs := make([]bool, len(cands))
	for _, i := range left {
		runs[i] = true
	}
	fewest := -1
	for i := range cands {
		r := cands[i].Set
		if runs[i] || !bestSet.SubsetOf(r) {
			continue
		}
		n := 0
		for _, h := range hosts {
			n += r.Difference(h).Count()
			if fewest >= 0 && n > fewest {
				break // already worse than the cheapest so far
			}
		}
		if fewest < 0 || n < fewest || n == fewest && laterGeneration(&cands[i], &cands[next]) {
			fewest, next = n, i
		}
	}
	return best, next
}
