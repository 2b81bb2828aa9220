package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/drift"
)

// defaultLockFile is where `catalog lock` writes without -o, beside the
// site's other files (as go.sum and Cargo.lock sit beside their
// manifests); "-o -" writes to standard output instead.
const defaultLockFile = "cpupolicy.lock"

func runCatalogDiff(e *env, args []string) error {
	fs := newFlags("catalog diff")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("catalog diff", "want two catalogs (embedded names or files), got %d arguments", fs.NArg())
	}
	a, err := e.loadCatalog(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := e.loadCatalog(fs.Arg(1))
	if err != nil {
		return err
	}
	d := drift.Diff(a, b)
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, d)
	} else {
		writeDiffText(&buf, d)
	}
	return output(e, "catalog diff", "", buf.Bytes())
}

// writeDiffText writes the diff for people: the lists of models and
// machine types added and removed, then one row per model, accel and
// change, with the machine types it applies to folded into ranges.
func writeDiffText(w io.Writer, d *drift.DiffResult) {
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

func runCatalogLock(e *env, args []string) error {
	fs := newFlags("catalog lock")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` to lock (default: the newest embedded)")
	out := fs.String("o", defaultLockFile, "write the lock to `FILE` atomically (- for standard output)")
	models := fs.String("models", "", "lock only these models: a comma-separated `LIST` (default: all)")
	machines := fs.String("machines", "", "lock only these machine types: a comma-separated `LIST` (default: all)")
	accels := fs.String("accels", "", "lock only these accelerators: kvm,tcg (default: all the catalog has)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("catalog lock", "unexpected argument %q", fs.Arg(0))
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return err
	}
	lf, err := drift.Lock(cat, drift.Scope{Models: splitList(*models), Machines: splitList(*machines), Accels: splitList(*accels)})
	if err != nil {
		return err
	}
	data := lf.Marshal()
	if *out == "-" {
		*out = "" // standard output
	}
	if err := output(e, "catalog lock", *out, data); err != nil || *out == "" {
		return err
	}
	fmt.Fprintf(e.stderr, "%s: catalog %s (QEMU %s), %d models x %d machine types x %s = %d triples, %d bytes\n",
		*out, lf.Catalog, lf.QEMUVersion, len(lf.Models), len(lf.Machines), strings.Join(lf.Accels, ","),
		len(lf.Models)*len(lf.Machines)*len(lf.Accels), len(data))
	return nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// verifyJSON is `catalog verify --format json`.
type verifyJSON struct {
	Lock        string `json:"lock"`
	LockCatalog string `json:"lock_catalog"`
	Catalog     string `json:"catalog"`
	QEMUVersion string `json:"qemu_version"`
	OK          bool   `json:"ok"`
	Locked      int    `json:"locked"`
	Checked     int    `json:"checked"`
	// DefinitionsUnchecked: the lock or the catalog has no model
	// definitions, so only expansions were compared.
	DefinitionsUnchecked bool            `json:"definitions_unchecked"`
	Findings             []drift.Finding `json:"findings"`
}

func runCatalogVerify(e *env, args []string) error {
	fs := newFlags("catalog verify")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	lockPath := fs.String("lock", "", "the lock `FILE` to verify against (required)")
	catName := fs.String("catalog", "", "the catalog `NAME|FILE` to verify (default: the newest embedded)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("catalog verify", "unexpected argument %q", fs.Arg(0))
	}
	if *lockPath == "" {
		return usagef("catalog verify", "--lock FILE is required")
	}
	data, err := os.ReadFile(*lockPath)
	if err != nil {
		return err
	}
	reg, err := e.registry()
	if err != nil {
		return err
	}
	lf, err := drift.Parse(*lockPath, data, reg)
	if err != nil {
		return err
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return err
	}
	rep := drift.Verify(lf, cat)
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, verifyJSON{*lockPath, lf.Catalog, cat.Name, cat.QEMUVersion, rep.OK(), rep.Locked, rep.Checked,
			rep.DefinitionsUnchecked, rep.Findings})
	} else {
		writeVerifyText(&buf, *lockPath, lf, cat, rep, colorOK(e.stdout))
	}
	if err := output(e, "catalog verify", "", buf.Bytes()); err != nil || rep.OK() {
		return err
	}
	return errFailed
}

// writeVerifyText writes one line per finding, then a summary.
func writeVerifyText(w io.Writer, path string, lf *drift.LockFile, cat *catalog.Catalog, rep *drift.Report, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	fmt.Fprintf(w, "lock %s: catalog %s (QEMU %s), %d triples\n", path, lf.Catalog, lf.QEMUVersion, rep.Locked)
	fmt.Fprintf(w, "catalog %s (QEMU %s): %d of them checked\n", cat.Name(), cat.QEMUVersion(), rep.Checked)
	if rep.DefinitionsUnchecked {
		fmt.Fprintln(w, "note: the lock or the catalog has no model definitions: expansions compared, definitions not")
	}
	for i := range rep.Findings {
		fmt.Fprintf(w, "%s %s\n", paint(ansiRed, "FAIL"), rep.Findings[i].String())
	}
	if rep.OK() {
		fmt.Fprintf(w, "%s: every locked model, machine type and triple is unchanged\n", paint(ansiGreen, "ok"))
		return
	}
	fmt.Fprintf(w, "%s: %s\n", paint(ansiRed, "FAIL"), rep.Summary())
}
