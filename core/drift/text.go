package drift

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/internal/ansi"
)

// WriteText writes the diff for people (`cpupolicy catalog diff`): the lists of models and
// machine types added and removed, then one row per model, accel and
// change, with the machine types it applies to folded into ranges.
func (d *DiffResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "catalog diff %s (QEMU %s) -> %s (QEMU %s)\n", d.A.Name(), d.A.QEMUVersion(), d.B.Name(), d.B.QEMUVersion())
	list := func(what string, names []string) {
		fmt.Fprintf(w, "%-24s %3d", what, len(names))
		wrapNames(w, names, 30)
	}
	list("models added:", d.ModelsAdded)
	list("models removed:", d.ModelsRemoved)
	list("machine types added:", d.MachinesAdded)
	list("machine types removed:", d.MachinesRemoved)
	fmt.Fprintf(w, "triples compared: %d (model x machine type x accel in both; each model's own vendor, no host)\n", d.Common)
	fmt.Fprintf(w, "triples changed: %d\n", len(d.Changed))
	if len(d.Changed) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tACCEL\tMACHINE TYPES\tADDED\tREMOVED")
	for _, g := range d.Groups() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Model, g.Accel, g.Machines, signed("+", g.Added), signed("-", g.Removed))
	}
	tw.Flush()
}

// signed writes names each after sign, "-" for none.
func signed(sign string, names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return sign + strings.Join(names, " "+sign)
}

// wrapNames writes names after a column already indent wide, wrapped
// below 100 columns.
func wrapNames(w io.Writer, names []string, indent int) {
	col := indent
	for _, n := range names {
		if col+1+len(n) > 100 && col > indent {
			fmt.Fprintf(w, "\n%*s", indent, "")
			col = indent
		}
		fmt.Fprint(w, " "+n)
		col += 1 + len(n)
	}
	fmt.Fprintln(w)
}

// WriteText writes the report for people (`cpupolicy catalog verify`):
// one line per finding, then a summary; color paints the verdicts for a
// terminal. path names the lock file lf was read from.
func (rep *Report) WriteText(w io.Writer, path string, lf *LockFile, cat *catalog.Catalog, color bool) {
	paint := func(c ansi.Color, s string) string { return ansi.Paint(color, c, s) }
	fmt.Fprintf(w, "lock %s: catalog %s (QEMU %s), %d triples\n", path, lf.Catalog, lf.QEMUVersion, rep.Locked)
	fmt.Fprintf(w, "catalog %s (QEMU %s): %d of them checked\n", cat.Name(), cat.QEMUVersion(), rep.Checked)
	if rep.DefinitionsUnchecked {
		fmt.Fprintln(w, "note: the lock or the catalog has no model definitions: expansions compared, definitions not")
	}
	for i := range rep.Findings {
		fmt.Fprintf(w, "%s %s\n", paint(ansi.Red, "FAIL"), rep.Findings[i].String())
	}
	if rep.OK() {
		fmt.Fprintf(w, "%s: every locked model, machine type and triple is unchanged\n", paint(ansi.Green, "ok"))
		return
	}
	fmt.Fprintf(w, "%s: %s\n", paint(ansi.Red, "FAIL"), rep.Summary())
}
