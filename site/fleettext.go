package site

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/psabi"
	"github.com/cpupolicy/cpupolicy/internal/ansi"
	"github.com/cpupolicy/cpupolicy/internal/english"
)

// WriteFleetText writes the report for people: per pool, its hosts, the
// common features, per machine type the newest model and what blocks the
// next, and the offers' verdicts; then the offers without a pool and a
// summary line; color paints it with ANSI escapes for a terminal.
func WriteFleetText(w io.Writer, o *FleetReport, color bool) {
	paint := func(c ansi.Color, s string) string { return ansi.Paint(color, c, s) }
	fmt.Fprintf(w, "fleet: %s in %s; catalog %s (QEMU %s), kvm; %s\n", english.Count(o.Hosts, "host"), english.Count(len(o.Pools), "pool"), o.Catalog, o.QEMU, strings.Join(o.Machines, ", "))
	for _, s := range o.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.File, s.Reason)
	}
	unsafe, offers := 0, 0
	for _, p := range o.Pools {
		fmt.Fprintf(w, "\n%s %s: %s (%s), %s\n", paint(ansi.Bold, "pool"), paint(ansi.Bold, p.Name), hostsN(len(p.Hosts)), list(p.Hosts, 8), strings.Join(p.Vendors, " "))
		if len(p.Vendors) > 1 {
			fmt.Fprintf(w, "  mixed vendors: under kvm a guest sees its host's vendor, so no named model migrates between them\n")
		}
		fmt.Fprintf(w, "  common features (%d): %s\n", len(p.CommonFeatures), strings.Join(p.CommonFeatures, " "))
		fmt.Fprintf(w, "  x86-64 level of the common features: %s\n", psabi.Level(p.ABILevel))
		for _, m := range p.Machines {
			newest := m.NewestModel
			if newest == "" {
				newest = "none"
			}
			fmt.Fprintf(w, "  %s: %d of %d models run on every host; newest: %s\n", m.Machine, len(m.RunnableModels), m.Models, newest)
			if m.NextModel != nil {
				fmt.Fprintf(w, "    next better model %s is blocked by %s:\n", m.NextModel.Model, hostsN(len(m.NextModel.BlockedBy)))
				writeBlockers(w, m.NextModel.BlockedBy, p.Hosts, "      ")
			}
		}
		if len(p.Offers) > 0 {
			fmt.Fprintln(w, "  offers:")
		}
		for _, of := range p.Offers {
			offers++
			if !of.Runnable || !of.MigrationSafe {
				unsafe++
			}
			writeOfferText(w, &of, p.Hosts, paint)
		}
	}
	if len(o.UnpooledOffers) > 0 {
		fmt.Fprintf(w, "\noffers without a pool, judged on every host:\n")
		var names []string
		for _, p := range o.Pools {
			names = append(names, p.Hosts...)
		}
		for _, of := range o.UnpooledOffers {
			writeOfferText(w, &of, names, paint)
		}
	}
	writeMigrationText(w, o.Migration)
	verdict := paint(ansi.Green, "PASS")
	if o.Status == "fail" {
		verdict = paint(ansi.Red, "FAIL")
	}
	if offers == 0 {
		// Nothing was judged but the models: a PASS would claim more.
		fmt.Fprintf(w, "\nno pool offers to judge (a --site file declares them)\n")
		return
	}
	fmt.Fprintf(w, "\n%s: %d of %s not runnable or not migration-safe\n", verdict, unsafe, english.Count(offers, "pool offer"))
}

func writeOfferText(w io.Writer, of *OfferReport, order []string, paint func(ansi.Color, string) string) {
	status := paint(ansi.Green, "ok  ")
	if !of.Runnable || !of.MigrationSafe {
		status = paint(ansi.Red, "FAIL")
	}
	fmt.Fprintf(w, "    %s %s: %s on %s (%s)", status, of.Name, of.CPU, of.Machine, of.Accel)
	if len(of.Problems) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(of.Problems, "; "))
	}
	fmt.Fprintln(w)
	writeBlockers(w, of.BlockedBy, order, "      ")
}

// writeBlockers lists hosts and their missing bits in the order of
// hosts, at most ten.
func writeBlockers(w io.Writer, by map[string][]string, hosts []string, indent string) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	n := 0
	seen := map[string]bool{}
	for _, h := range hosts {
		bits, ok := by[h]
		if !ok || seen[h] {
			continue
		}
		seen[h] = true
		if n == 10 {
			fmt.Fprintf(tw, "%s… and %d more\n", indent, len(by)-10)
			break
		}
		n++
		fmt.Fprintf(tw, "%s%s\t%s\n", indent, h, strings.Join(bits, " "))
	}
	tw.Flush()
}

// list joins at most most names, saying how many more there are.
func list(names []string, most int) string {
	if len(names) <= most {
		return strings.Join(names, " ")
	}
	return fmt.Sprintf("%s … +%d more", strings.Join(names[:most], " "), len(names)-most)
}
