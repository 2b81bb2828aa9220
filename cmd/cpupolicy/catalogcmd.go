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

func runCatalog(e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, helpText("catalog"))
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "import":
		return runCatalogImport(e, args[1:])
	case "show":
		return runCatalogShow(e, args[1:])
	case "diff":
		return runCatalogDiff(e, args[1:])
	case "lock":
		return runCatalogLock(e, args[1:])
	case "verify":
		return runCatalogVerify(e, args[1:])
	}
	return usageError(e, "catalog", "unknown subcommand %q (want import, show, diff, lock or verify)", args[0])
}

func runCatalogImport(e *env, args []string) int {
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
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if source == "" && fs.NArg() > 0 {
		source = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError(e, "catalog import", "unexpected argument %q", fs.Arg(0))
	}
	if source != "qemu" {
		return usageError(e, "catalog import", "unknown source %q: want 'catalog import qemu [flags]' or 'catalog import libvirt [DIR]'", source)
	}
	opts := qemuimport.Options{Binary: *binary}
	if *machines != "all" {
		opts.Machines = strings.Split(*machines, ",")
	}
	if *accels != "" {
		opts.Accels = strings.Split(*accels, ",")
	}
	if colorOK(e.stderr) || isTerminal(e.stderr) {
		start := time.Now()
		opts.Progress = func(done, total int) {
			const width = 30
			n := width * done / max(total, 1)
			fmt.Fprintf(e.stderr, "\rimporting [%s%s] %d/%d machine×accel  %.1fs", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, time.Since(start).Seconds())
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	raw, err := qemuimport.Import(ctx, opts)
	if err != nil {
		return inputError(e, err)
	}
	if *name == "" {
		v := raw.QEMUVersion
		if parts := strings.Split(v, "."); len(parts) >= 2 {
			v = parts[0] + "." + parts[1]
		}
		*name = "qemu-" + v
	}
	cat, err := catalog.Compact(raw, feature.Builtin(), *name)
	if err != nil {
		fmt.Fprintf(e.stderr, "cpupolicy catalog import: %s\n", oneLine(err))
		return exitUsage
	}
	data, err := cat.Marshal()
	if err != nil {
		fmt.Fprintf(e.stderr, "cpupolicy catalog import: %v\n", err)
		return exitUsage
	}
	if rc := writeOutput(e, "catalog import", *out, data); rc != exitOK || *out == "" {
		return rc
	}
	fmt.Fprintf(e.stderr, "%s: QEMU %s, %d models, %d machine types, accels %s, %d bytes\n",
		*out, cat.QEMUVersion(), len(cat.Models()), len(cat.Machines()), strings.Join(cat.Accels(), ","), len(data))
	return exitOK
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

func runCatalogShow(e *env, args []string) int {
	fs := newFlags("catalog show")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if fs.NArg() > 0 {
		return usageError(e, "catalog show", "unexpected argument %q", fs.Arg(0))
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return inputError(e, err)
	}
	var js catalogShowJSON
	js.Name, js.QEMUVersion, js.QEMUPackage, js.Accels = cat.Name(), cat.QEMUVersion(), cat.QEMUPackage(), cat.Accels()
	for _, m := range cat.Machines() {
		js.Machines = append(js.Machines, catalogShowMachine{m.Name, m.Family, m.VersionString(), m.Alias, m.Deprecated})
	}
	for _, m := range cat.Models() {
		js.Models = append(js.Models, catalogShowModel{m.Name, m.AliasOf, m.Version, m.Static, m.MigrationSafe, m.Deprecated, m.Props.Vendor, m.Features.Count(), m.Source})
	}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, js)
	} else {
		pkg := ""
		if cat.QEMUPackage() != "" {
			pkg = " (" + cat.QEMUPackage() + ")"
		}
		fmt.Fprintf(&buf, "catalog %s: %s%s, accels %s\n", cat.Name(), qemuText(cat.QEMUVersion()), pkg, strings.Join(cat.Accels(), ", "))
		for _, fam := range []string{"pc-i440fx", "pc-q35"} {
			var names []string
			for _, m := range cat.MachineTypes(fam) {
				names = append(names, m.VersionString())
			}
			if len(names) > 0 {
				fmt.Fprintf(&buf, "%s: %d machine types: %s\n", fam, len(names), strings.Join(names, " "))
			}
		}
		fmt.Fprintf(&buf, "%d models:\n", len(cat.Models()))
		tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tALIAS-OF\tVENDOR\tFEATURES\tFLAGS")
		for _, m := range js.Models {
			var flags []string
			if m.Static {
				flags = append(flags, "static")
			}
			if m.MigrationSafe {
				flags = append(flags, "migration-safe")
			}
			if m.Deprecated {
				flags = append(flags, "deprecated")
			}
			if m.Source != "" {
				flags = append(flags, "from "+m.Source)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", m.Name, dash(m.AliasOf), m.Vendor, m.Features, strings.Join(flags, ","))
		}
		tw.Flush()
	}
	e.stdout.Write(buf.Bytes())
	return exitOK
}
