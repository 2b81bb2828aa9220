package fleet

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/english"
)

// HostSet is one host's name and its availability under kvm.
type HostSet struct {
	Name string
	Set  feature.FeatureSet
}

// BaselineReport is what a few hosts have in common on one machine type
// of a catalog under kvm: the features, the models every host runs, the
// best of them and the next better one with what blocks it on each
// host. Its JSON keys are a contract (`cpupolicy baseline`).
type BaselineReport struct {
	Catalog  string     `json:"catalog"`
	Machine  string     `json:"machine"`
	Hosts    []string   `json:"hosts"`
	Features []string   `json:"features"`
	Runnable []string   `json:"runnable_models"`
	Best     string     `json:"best_model"`
	Next     *NextModel `json:"next_model"`
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
	common := hosts[0].Set
	sets := make([]feature.FeatureSet, len(hosts))
	out := &BaselineReport{Catalog: cat.Name(), Machine: machine, Runnable: []string{}}
	for i, h := range hosts {
		common = common.Intersect(h.Set)
		sets[i] = h.Set
		out.Hosts = append(out.Hosts, h.Name)
	}
	out.Features = reg.Names(common)
	var names []string
	var reqs []feature.FeatureSet
	models := cat.Models()
	for i := range models {
		m := &models[i]
		if m.AliasOf != "" {
			continue
		}
		f, err := cat.Features(m.Name, machine, core.KVM)
		if err != nil {
			return nil, err
		}
		names, reqs = append(names, m.Name), append(reqs, f)
		if f.SubsetOf(common) {
			out.Runnable = append(out.Runnable, m.Name)
		}
	}
	best, next := Baseline(reqs, sets)
	if best >= 0 {
		out.Best = names[best]
	}
	if next >= 0 {
		out.Next = &NextModel{Model: names[next], Blockers: map[string][]string{}}
		for _, h := range hosts {
			if m := reqs[next].Difference(h.Set); !m.IsEmpty() {
				out.Next.Blockers[h.Name] = reg.Names(m)
			}
		}
	}
	return out, nil
}

// WriteText writes the report for people (`cpupolicy baseline`).
func (out *BaselineReport) WriteText(buf io.Writer) {
	fmt.Fprintf(buf, "%s, %s on %s (kvm): %s in common\n", english.Count(len(out.Hosts), "host"), out.Catalog, out.Machine, english.Count(len(out.Features), "feature"))
	fmt.Fprintf(buf, "runnable on every host (%d): %s\n", len(out.Runnable), strings.Join(out.Runnable, " "))
	if out.Best != "" {
		fmt.Fprintf(buf, "best model: %s\n", out.Best)
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
