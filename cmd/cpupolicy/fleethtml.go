package main

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// fleetTemplate is the HTML report: one self-contained page (its CSS and
// script inline, nothing fetched), so that it can be mailed, archived by
// CI, or opened from disk.
//
//go:embed templates/fleet.html
var fleetTemplate string

var fleetHTML = template.Must(template.New("fleet").Parse(fleetTemplate))

// htmlReport is what the template renders: the JSON report and, per
// machine type, the hosts × models matrix grouped by pool.
type htmlReport struct {
	*fleetJSON
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

type htmlRow struct {
	Host, Vendor string
	Runs         int
	Cells        []htmlCell
}

// htmlCell is one verdict; Missing is "" when the model runs.
type htmlCell struct {
	OK      bool
	Missing string
	Mark    string // "newest", "next" or ""
	Title   string
}

func writeFleetHTML(w io.Writer, r *fleetRun) error {
	rep := htmlReport{fleetJSON: &r.out, Models: r.models}
	nm := len(r.models)
	for mi, mt := range r.machines {
		hm := htmlMatrix{Machine: mt}
		for pi, p := range r.f.Pools() {
			pm := r.out.Pools[pi].Machines[mi]
			g := htmlGroup{Pool: p.Name, Newest: pm.NewestModel}
			if pm.NextModel != nil {
				g.Next = pm.NextModel.Model
			}
			for _, h := range p.Hosts {
				hi := int(h)
				row := htmlRow{Host: r.f.Name(hi), Vendor: r.f.Vendor(hi)}
				for i, model := range r.models {
					c := htmlCell{OK: r.matrix.Runs(hi, mi*nm+i)}
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
	return fleetHTML.Execute(w, rep)
}
