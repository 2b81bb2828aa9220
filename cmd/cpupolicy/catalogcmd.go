package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/catalog/qemuimport"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

func runCatalog(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, helpText("catalog"))
		if len(args) == 0 {
			return errUsagePrinted
		}
		return nil
	}
	sub := map[string]func(*env, []string) error{"import": runCatalogImport, "show": runCatalogShow,
		"diff": runCatalogDiff, "lock": runCatalogLock, "verify": runCatalogVerify}
	if run, ok := sub[args[0]]; ok {
		return run(e, args[1:])
	}
	return usagef("catalog", "unknown subcommand %q (want import, show, diff, lock or verify)", args[0])
}

func runCatalogImport(e *env, args []string) error {
	fs := newFlags("catalog import")
	binary := fs.String("binary", "qemu-system-x86_64", "the QEMU `PATH` to import from")
	machines := fs.String("machines", "all", "machine types to import: all, or a comma-separated `LIST`")
	accels := fs.String("accels", "", "accelerators: kvm,tcg (default: tcg, plus kvm when /dev/kvm works)")
	out := fs.String("o", "", "write the catalog to `FILE` atomically (default: standard output)")
	name := fs.String("name", "", "the catalog's `NAME` (default: qemu-MAJOR.MINOR)")
	// The source comes first ("catalog import qemu --binary …"); flags may
	// also precede it.
	if len(args) > 0 && args[0] == "libvirt" {
		return runCatalogImportLibvirt(e, args[1:])
	}
	source := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		source, args = args[0], args[1:]
	}
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if source == "" && fs.NArg() > 0 {
		source = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usagef("catalog import", "unexpected argument %q", fs.Arg(0))
	}
	if source != "qemu" {
		return usagef("catalog import", "unknown source %q: want 'catalog import qemu [flags]' or 'catalog import libvirt [DIR]'", source)
	}
	opts := qemuimport.Options{Binary: *binary, Accels: splitList(*accels)}
	if *machines != "all" {
		opts.Machines = strings.Split(*machines, ",")
	}
	if isTerminal(e.stderr) {
		opts.Progress = progressBar(e.stderr, time.Now())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	raw, err := qemuimport.Import(ctx, opts)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = qemuimport.CatalogName(raw.QEMUVersion)
	}
	cat, err := catalog.Compact(raw, feature.Builtin(), *name)
	if err != nil {
		return cmdError("catalog import", err)
	}
	data, err := cat.Marshal()
	if err != nil {
		return cmdError("catalog import", err)
	}
	if err := output(e, "catalog import", *out, data); err != nil || *out == "" {
		return err
	}
	fmt.Fprintf(e.stderr, "%s: QEMU %s, %d models, %d machine types, accels %s, %d bytes\n",
		*out, cat.QEMUVersion, len(cat.Models), len(cat.Machines), strings.Join(cat.Accels, ","), len(data))
	return nil
}

// progressBar draws the import's progress on w, a terminal.
func progressBar(w io.Writer, start time.Time) func(done, total int) {
	return func(done, total int) {
		const width = 30
		n := width * done / max(total, 1)
		fmt.Fprintf(w, "\rimporting [%s%s] %d/%d machine×accel  %.1fs", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, time.Since(start).Seconds())
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// isTerminal reports whether w is a terminal (colour aside: a progress bar
// is not colour, so NO_COLOR does not turn it off).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type catalogShowJSON struct {
	Name        string               `json:"name"`
	QEMUVersion string               `json:"qemu_version"`
	QEMUPackage string               `json:"qemu_package"`
	Accels      []string             `json:"accels"`
	Machines    []catalogShowMachine `json:"machines"`
	Models      []catalogShowModel   `json:"models"`
}

type catalogShowMachine struct {
	Name       string `json:"name"`
	Family     string `json:"family"`
	Version    string `json:"version"`
	Alias      string `json:"alias,omitempty"`
	Deprecated bool   `json:"deprecated"`
}

type catalogShowModel struct {
	Name          string `json:"name"`
	AliasOf       string `json:"alias-of,omitempty"`
	Version       int    `json:"version,omitempty"`
	Static        bool   `json:"static"`
	MigrationSafe bool   `json:"migration-safe"`
	Deprecated    bool   `json:"deprecated"`
	Vendor        string `json:"vendor"`
	Features      int    `json:"features"`
	Source        string `json:"source,omitempty"`
}

func runCatalogShow(e *env, args []string) error {
	fs := newFlags("catalog show")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("catalog show", "unexpected argument %q", fs.Arg(0))
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return err
	}
	js := catalogShowJSON{Name: cat.Name, QEMUVersion: cat.QEMUVersion, QEMUPackage: cat.QEMUPackage, Accels: cat.Accels}
	for _, m := range cat.Machines {
		js.Machines = append(js.Machines, catalogShowMachine{m.Name, m.Family, m.VersionString(), m.Alias, m.Deprecated})
	}
	for _, m := range cat.Models() {
		js.Models = append(js.Models, catalogShowModel{m.Name, m.AliasOf, m.Version, m.Static, m.MigrationSafe, m.Deprecated, m.Props.Vendor, m.Features.Count(), m.Source})
	}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, js)
	} else {
		writeCatalogText(&buf, cat, js.Models)
	}
	return output(e, "catalog show", "", buf.Bytes())
}

func writeCatalogText(buf *bytes.Buffer, cat *catalog.Catalog, models []catalogShowModel) {
	pkg := ""
	if cat.QEMUPackage != "" {
		pkg = " (" + cat.QEMUPackage + ")"
	}
	fmt.Fprintf(buf, "catalog %s: %s%s, accels %s\n", cat.Name, qemuText(cat.QEMUVersion), pkg, strings.Join(cat.Accels, ", "))
	for _, fam := range []string{"pc-i440fx", "pc-q35"} {
		var names []string
		for _, m := range cat.MachineTypes(fam) {
			names = append(names, m.VersionString())
		}
		if len(names) > 0 {
			fmt.Fprintf(buf, "%s: %d machine types: %s\n", fam, len(names), strings.Join(names, " "))
		}
	}
	fmt.Fprintf(buf, "%d models:\n", len(cat.Models))
	tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tALIAS-OF\tVENDOR\tFEATURES\tFLAGS")
	for _, m := range models {
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{m.Static, "static"}, {m.MigrationSafe, "migration-safe"}, {m.Deprecated, "deprecated"}, {m.Source != "", "from " + m.Source}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		aliasOf := m.AliasOf
		if aliasOf == "" {
			aliasOf = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", m.Name, aliasOf, m.Vendor, m.Features, strings.Join(flags, ","))
	}
	tw.Flush()
}
