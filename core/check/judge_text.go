package check

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/ansi"
	"github.com/cpupolicy/cpupolicy/internal/english"
)

// WriteModelsText writes rows, the verdicts of j.Models, as a table for
// people (`cpupolicy models`); color paints them for a terminal.
func (j *Judge) WriteModelsText(w io.Writer, rows []ModelVerdict, color bool) {
	runnable := 0
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tRUNNABLE\tMISSING")
	for _, r := range rows {
		if r.Runnable() {
			runnable++
		}
		name := r.Name
		if r.Source != "" {
			name += " [" + r.Source + "]"
		}
		var why []string
		for i, f := range r.Why {
			if i == 6 {
				why = append(why, fmt.Sprintf("… +%d more", len(r.Why)-i))
				break
			}
			why = append(why, fmt.Sprintf("%s (%s)", f.Feature, f.Layer))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, verdictText(color, r.Runnable()), strings.Join(why, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d of %d models runnable on %s with %s (%s, %s)\n", runnable, len(rows), j.Host, j.Machine.Name, j.Accel, catalog.ReleaseText(j.Catalog.QEMUVersion()))
}

// paint writes a verdict, green or red on a terminal.
func verdictText(color, yes bool) string {
	switch {
	case !color && yes:
		return "yes"
	case !color:
		return "no"
	case yes:
		return ansi.Paint(true, ansi.Green, "yes")
	}
	return ansi.Paint(true, ansi.Red, "no")
}

// WriteText writes the explanation for people (`cpupolicy why`); color
// paints the verdict for a terminal.
func (o *Explanation) WriteText(w io.Writer, color bool) {
	fmt.Fprintf(w, "%s on %s (%s, %s), host %s: runnable: %s\n", o.Model, o.Machine, o.Accel, catalog.ReleaseText(o.QEMU), o.Host, verdictText(color, o.Runnable))
	if o.AliasOf != "" {
		fmt.Fprintf(w, "%s is an alias of %s\n", strings.SplitN(o.Model, ",", 2)[0], o.AliasOf)
	}
	for _, warn := range o.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if len(o.Missing) > 0 {
		byLayer := map[string]int{}
		for _, m := range o.Missing {
			byLayer[m.Layer]++
		}
		var counts []string
		for _, l := range Layers {
			if byLayer[l] > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", byLayer[l], l))
			}
		}
		if o.Filtered {
			fmt.Fprintf(w, "warning: without enforce QEMU starts the guest without %s the host lacks (%s):\n", english.Count(len(o.Missing), "feature"), strings.Join(counts, ", "))
		} else {
			fmt.Fprintf(w, "%s missing (%s):\n", english.Count(len(o.Missing), "feature"), strings.Join(counts, ", "))
		}
		writeMissing(w, o.Missing)
	}
	if len(o.HyperV) > 0 {
		fmt.Fprintf(w, "QEMU refuses to start the guest, enforce or not: KVM lacks %s:\n", english.Count(len(o.HyperV), "Hyper-V enlightenment"))
		writeMissing(w, o.HyperV)
	}
	if len(o.Unseen) > 0 {
		fmt.Fprintf(w, "snapshot source %s (%s): the %s layer%s not seen, so a feature missing at kvm may be missing there\n",
			o.Source, host.SourceWhat(o.Source), strings.Join(o.Unseen, " and "), pluralVerb(len(o.Unseen)))
	}
	if len(o.Forbidden) > 0 {
		fmt.Fprintf(w, "forbidden by the libvirt <cpu> but offered by the host (libvirt will not start the domain): %s\n", strings.Join(o.Forbidden, " "))
	}
	if len(o.Nearest) > 0 {
		fmt.Fprintf(w, "runnable versions of the same model: %s\n", strings.Join(o.Nearest, ", "))
	} else if !o.Runnable {
		fmt.Fprintln(w, "no version of the same model is runnable here")
	}
}

// writeMissing is the table of missing features (or enlightenments).
func writeMissing(w io.Writer, ms []Missing) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  FEATURE\tLAYER\tLOCATION\tWHY")
	for _, m := range ms {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.Feature, m.Layer, m.Location, m.Reason)
	}
	tw.Flush()
}

// pluralVerb is " was" or "s were" after a layer count.
func pluralVerb(n int) string {
	if n == 1 {
		return " was"
	}
	return "s were"
}
