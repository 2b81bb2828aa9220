package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/catalog/qemuimport"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/tty"
)

func runCatalog(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stdout, helpText("catalog"))
		if len(args) == 0 {
			return errIncomplete
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
	accels := fs.String("accels", "", "accelerators: kvm,tcg (default: both)")
	kvmMode := fs.String("kvm", "", "kvm answers: `capture` (ask QEMU under kvm) or derive (from the tcg answers); default: capture when /dev/kvm works, else derive")
	out := fs.String("o", "", "write the catalog to `FILE` atomically (default: standard output)")
	name := fs.String("name", "", "the catalog's `NAME` (default: qemu-MAJOR.MINOR)")
	every := fs.Bool("every-machine", false, "run QEMU on every machine type, also those whose CPU compat properties equal another's")
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
	switch *kvmMode {
	case qemuimport.KVMAuto, qemuimport.KVMCapture, qemuimport.KVMDerive:
	default:
		return usagef("catalog import", "--kvm %q: want capture or derive", *kvmMode)
	}
	opts := qemuimport.Options{Binary: *binary, Accels: splitList(*accels), KVM: *kvmMode, EveryMachine: *every}
	if *machines != "all" {
		opts.Machines = strings.Split(*machines, ",")
	}
	if tty.Is(e.stderr) {
		opts.Progress = tty.Progress(e.stderr, "importing", "QEMU runs", time.Now())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	raw, err := qemuimport.Import(ctx, opts)
	if err != nil {
		return err
	}
	for _, w := range qemuimport.Warnings(raw) {
		fmt.Fprintf(e.stderr, "catalog import: warning: %s\n", w)
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
	fmt.Fprintf(e.stderr, "%s: %s, %d bytes\n", *out, cat.ImportSummary(), len(data))
	return nil
}

func runCatalogShow(e *env, args []string) error {
	fs := newFlags("catalog show")
	format := addFormatFlag(fs, "text", "json")
	catName := catalogFlag(fs)
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return err
	}
	js := cat.Summarize()
	return writeFormat(e, "catalog show", "", format.Value, js, func(b *bytes.Buffer) { js.WriteText(b, cat) })
}
