package site

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// fleetTemplate is the HTML report: one self-contained page (its CSS and
// script inline, nothing fetched), so that it can be mailed, archived by
// CI, or opened from disk.
//
//go:embed templates/fleet.html
var fleetTemplate string

// fleetHTML is parsed on first use: at init it would cost every command
// 0.1 ms (TestFleetHTMLInChromium and the fleet scripts parse it).
var fleetHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("fleet").Funcs(template.FuncMap{"blockers": htmlBlockers}).Parse(fleetTemplate))
})

// htmlBlocker is one line of a pool card's list of blocking hosts.
type htmlBlocker struct {
	Host, Bits string
	More       int // set on the last line instead: this many hosts not shown
}

// htmlBlockers lists at most ten hosts of by, in name order, and how many
// more there are: a pool card stays readable on a big pool, and the
// matrix shows every host.
func htmlBlockers(by map[string][]string) []htmlBlocker {
	hosts := make([]string, 0, len(by))
	for h := range by {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var out []htmlBlocker
	for i, h := range hosts {
		if i == 10 {
			out = append(out, htmlBlocker{More: len(hosts) - 10})
			break
		}
		out = append(out, htmlBlocker{Host: h, Bits: strings.Join(by[h], " ")})
	}
	return out
}

// htmlReport is what the template renders: the JSON report and, per
// machine type, the hosts × models matrix grouped by pool.
type htmlReport struct {
	*FleetReport
	Models   []string
	Matrices []htmlMatrix
}

type htmlMatrix struct {
	Machine string
	Groups  []htmlGroup
}

type htmlGroup struct {
	Pool         string
	Newest, Next string
	Rows         []htmlRow
}

// htmlRow is a host, or several of one pool that offer the same and have
// the same vendor: a fleet has far fewer configurations than hosts, and
// a row per host would make a page of hundreds of megabytes at 10,000.
type htmlRow struct {
	Host, Vendor string
	Runs         int
	Cells        []htmlCell
	// Same counts the other hosts of the row, named in Others.
	Same   int
	Others string
}

// htmlCell is one verdict; Missing is "" when the model runs.
type htmlCell struct {
	OK      bool
	Missing string
	Mark    string // "newest", "next" or ""
	Title   string
}

// WriteFleetHTML writes the report as one self-contained HTML page: the
// pools' cards and, per machine type, the hosts × models matrix, whose
// every verdict it computes here (the text and JSON reports summarise
// pools from their common sets).
func WriteFleetHTML(w io.Writer, r *FleetReport) error {
	matrix := r.f.Judge(r.reqs)
	rep := htmlReport{FleetReport: r, Models: r.models}
	nm := len(r.models)
	for mi, mt := range r.Machines {
		hm := htmlMatrix{Machine: mt}
		for pi, p := range r.pools {
			pm := r.Pools[pi].Machines[mi]
			g := htmlGroup{Pool: p.name, Newest: pm.NewestModel}
			if pm.NextModel != nil {
				g.Next = pm.NextModel.Model
			}
			type key struct {
				avail  feature.FeatureSet
				vendor string
			}
			rowOf := map[key]int{}
			for _, h := range p.hosts {
				hi := int(h)
				k := key{r.f.Avail(hi), r.f.Vendor(hi)}
				if j, ok := rowOf[k]; ok {
					row := &g.Rows[j]
					row.Same++
					if row.Same <= 50 {
						row.Others += " " + r.f.Name(hi)
					} else if row.Same == 51 {
						row.Others += " …"
					}
					continue
				}
				rowOf[k] = len(g.Rows)
				row := htmlRow{Host: r.f.Name(hi), Vendor: r.f.Vendor(hi)}
				for i, model := range r.models {
					c := htmlCell{OK: matrix.Runs(hi, mi*nm+i)}
					switch model {
					case g.Newest:
						c.Mark = "newest"
					case g.Next:
						c.Mark = "next"
					}
					if c.OK {
						row.Runs++
						c.Title = fmt.Sprintf("%s on %s: runs", model, row.Host)
					} else {
						miss := r.reg.Names(r.reqs[mi*nm+i].Difference(r.f.Avail(hi)))
						c.Missing = strings.Join(miss, " ")
						c.Title = fmt.Sprintf("%s on %s: missing %d: %s", model, row.Host, len(miss), c.Missing)
					}
					row.Cells = append(row.Cells, c)
				}
				g.Rows = append(g.Rows, row)
			}
			hm.Groups = append(hm.Groups, g)
		}
		rep.Matrices = append(rep.Matrices, hm)
	}
	return fleetHTML().Execute(w, rep)
}
