package plugins

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the inspection for people (`cpupolicy plugin inspect`).
func (in Inspection) WriteText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "plugin\t%s %s (ABI %d)\n", in.Name, in.Version, in.ABI)
	fmt.Fprintf(tw, "file\t%s (%d bytes)\n", in.File, in.Size)
	if in.Description != "" {
		fmt.Fprintf(tw, "description\t%s\n", in.Description)
	}
	vendors, leaves := make([]string, len(in.Vendors)), make([]string, len(in.Leaves))
	for i, v := range in.Vendors {
		vendors[i] = fmt.Sprintf("%q", v)
	}
	for i, r := range in.Leaves {
		leaves[i] = r[0] + "-" + r[1]
	}
	fmt.Fprintf(tw, "vendors\t%s\nleaves\t%s\n", orElse(strings.Join(vendors, ", "), "any"), orElse(strings.Join(leaves, ", "), "all"))
	fmt.Fprintf(tw, "imports\t%s\nexports\t%s\n", strings.Join(in.Imports, " "), strings.Join(in.Exports, " "))
	fmt.Fprintf(tw, "memory\t%d pages (%d KiB) at start\n", in.MemoryPages, in.MemoryPages*64)
	cache := "compiled"
	if in.CacheHit {
		cache = "from the compilation cache"
	}
	if in.CacheNote != "" {
		cache += " (" + in.CacheNote + ")"
	}
	fmt.Fprintf(tw, "load\t%s %.1f ms %s, instantiate %.1f ms, describe %.2f ms\n", in.Engine, in.CompileMS, cache, in.InstantiateMS, in.DescribeMS)
	tw.Flush()
	if len(in.Features) > 0 {
		fmt.Fprintf(w, "\nfeatures (%d):\n", len(in.Features))
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for _, f := range in.Features {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, f.Location, f.Description)
		}
		tw.Flush()
	}
	if len(in.Models) > 0 || in.ModelsError != "" {
		fmt.Fprintf(w, "\nmodels (%d):\n", len(in.Models))
		if in.ModelsError != "" {
			fmt.Fprintf(w, "  error: %s\n", in.ModelsError)
		}
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for _, m := range in.Models {
			fmt.Fprintf(tw, "  %s\t%s family %d model %d stepping %d\t%d features\t%s\n", m.Name, m.Vendor, m.Family, m.Model, m.Stepping, len(m.Features), strings.Join(m.Versions, " "))
		}
		tw.Flush()
	}
	if len(in.Checks) > 0 {
		fmt.Fprintf(w, "\nchecks (%d):\n", len(in.Checks))
		for _, c := range in.Checks {
			fmt.Fprintf(w, "  %s.%s  %s\n", in.Name, c.Name, c.Description)
		}
	}
}

// orElse is s, or def for "".
func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
