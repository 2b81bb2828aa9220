package fleet

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/psabi"
	"github.com/cpupolicy/cpupolicy/internal/english"
)

// HostSet is one host's name and its availability under kvm.
type HostSet struct {
	Name string
	Set  feature.FeatureSet
}

// BaselineReport is what a few hosts have in common on one machine type
// of a catalog under kvm: the features and their x86-64 level, the
// models every host runs, the best of them by the best-model rule
// ([Rank]) with the whole ranking, and the next better one with what
// blocks it on each host. Its JSON keys are a contract (`cpupolicy
// baseline`).
type BaselineReport struct {
	Catalog  string   `json:"catalog"`
	Machine  string   `json:"machine"`
	Hosts    []string `json:"hosts"`
	Features []string `json:"features"`
	// Level is the x86-64 level of the common features: what a guest
	// with everything every host makes available reaches.
	Level    int      `json:"abi_level"`
	Runnable []string `json:"runnable_models"`
	Best     string   `json:"best_model"`
	// BestLevel is the x86-64 level the best model reaches (0 without
	// one).
	BestLevel int `json:"best_model_abi_level"`
	// Ranking is every runnable model, best first.
	Ranking []RankedModel `json:"ranking"`
	Next    *NextModel    `json:"next_model"`
}

// RankedModel is a runnable model in a BaselineReport's ranking.
type RankedModel struct {
	Model string `json:"model"`
	Level int    `json:"abi_level"`
	// Features is how many features it gives a guest.
	Features   int  `json:"features"`
	Deprecated bool `json:"deprecated,omitempty"`
}

// NextModel is the next better model than the baseline's best, and the
// features each host that blocks it lacks.
type NextModel struct {
	Model    string              `json:"model"`
	Blockers map[string][]string `json:"blocked_by"`
}

// CatalogBaseline judges every model of cat on machine under kvm for
// hosts (at least one), in catalog order; aliases are judged under their
// versioned names. Features do not depend on the vendor QEMU gives a kvm
// guest (catalog.Features), so one required set serves every host.
func CatalogBaseline(cat *catalog.Catalog, machine string, hosts []HostSet) (*BaselineReport, error) {
	reg := cat.Registry()
	levels, err := psabi.NewSets(reg)
	if err != nil {
		return nil, err
	}
	common := hosts[0].Set
	sets := make([]feature.FeatureSet, len(hosts))
	out := &BaselineReport{Catalog: cat.Name(), Machine: machine, Runnable: []string{}, Ranking: []RankedModel{}}
	for i, h := range hosts {
		common = common.Intersect(h.Set)
		sets[i] = h.Set
		out.Hosts = append(out.Hosts, h.Name)
	}
	out.Features = reg.Names(common)
	out.Level = int(levels.Of(common))
	cands, err := Candidates(cat, machine, core.KVM)
	if err != nil {
		return nil, err
	}
	for i := range cands {
		if cands[i].Set.SubsetOf(common) {
			out.Runnable = append(out.Runnable, cands[i].Name)
		}
	}
	for _, i := range Rank(cands, sets) {
		c := &cands[i]
		out.Ranking = append(out.Ranking, RankedModel{Model: c.Name, Level: int(levels.Of(c.Set)), Features: c.Set.Count(), Deprecated: c.Deprecated})
	}
	best, next := Baseline(cands, sets)
	if best >= 0 {
		out.Best = cands[best].Name
		out.BestLevel = int(levels.Of(cands[best].Set))
	}
	if next >= 0 {
		out.Next = &NextModel{Model: cands[next].Name, Blockers: map[string][]string{}}
		for _, h := range hosts {
			if m := cands[next].Set.Difference(h.Set); !m.IsEmpty() {
				out.Next.Blockers[h.Name] = reg.Names(m)
			}
		}
	}
	return out, nil
}

// WriteText writes the report for people (`cpupolicy baseline`); all
// adds the ranking of every runnable model.
func (out *BaselineReport) WriteText(buf io.Writer, all bool) {
	fmt.Fprintf(buf, "%s, %s on %s (kvm): %s in common (%s)\n", english.Count(len(out.Hosts), "host"), out.Catalog, out.Machine, english.Count(len(out.Features), "feature"), psabi.Level(out.Level))
	fmt.Fprintf(buf, "runnable on every host (%d): %s\n", len(out.Runnable), strings.Join(out.Runnable, " "))
	if out.Best != "" {
		fmt.Fprintf(buf, "best model: %s (%s)\n", out.Best, psabi.Level(out.BestLevel))
	}
	if all && len(out.Ranking) > 0 {
		fmt.Fprintln(buf, "ranking (best first: no model another contains; then generation, version):")
		tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
		for i, r := range out.Ranking {
			dep := ""
			if r.Deprecated {
				dep = "\tdeprecated"
			}
			fmt.Fprintf(tw, "  %d.\t%s\t%s\t%d features%s\n", i+1, r.Model, psabi.Level(r.Level), r.Features, dep)
		}
		tw.Flush()
	}
	if out.Next != nil {
		fmt.Fprintf(buf, "next better model: %s, blocked by:\n", out.Next.Model)
		tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
		for _, h := range out.Hosts {
			if b := out.Next.Blockers[h]; len(b) > 0 {
				fmt.Fprintf(tw, "  %s\t%s\n", h, strings.Join(b, " "))
			}
		}
		tw.Flush()
	}
}
