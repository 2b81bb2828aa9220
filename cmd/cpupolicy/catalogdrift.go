package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/drift"
	"github.com/cpupolicy/cpupolicy/internal/tty"
)

// defaultLockFile is where `catalog lock` writes without -o, beside the
// site's other files (as go.sum and Cargo.lock sit beside their
// manifests); "-o -" writes to standard output instead.
const defaultLockFile = "cpupolicy.lock"

func runCatalogDiff(e *env, args []string) error {
	fs := newFlags("catalog diff")
	format := addFormatFlag(fs, "text", "json")
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
	return writeFormat(e, "catalog diff", "", format.Value, d, func(b *bytes.Buffer) { d.WriteText(b) })
}

func runCatalogLock(e *env, args []string) error {
	fs := newFlags("catalog lock")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` to lock (default: the newest embedded)")
	out := fs.String("o", defaultLockFile, "write the lock to `FILE` atomically (- for standard output)")
	models := fs.String("models", "", "lock only these models: a comma-separated `LIST` (default: all)")
	machines := fs.String("machines", "", "lock only these machine types: a comma-separated `LIST` (default: all)")
	accels := fs.String("accels", "", "lock only these accelerators: kvm,tcg (default: all the catalog has)")
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
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
	format := addFormatFlag(fs, "text", "json")
	lockPath := fs.String("lock", "", "the lock `FILE` to verify against (required)")
	catName := fs.String("catalog", "", "the catalog `NAME|FILE` to verify (default: the newest embedded)")
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
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
	js := verifyJSON{*lockPath, lf.Catalog, cat.Name(), cat.QEMUVersion(), rep.OK(), rep.Locked, rep.Checked,
		rep.DefinitionsUnchecked, rep.Findings}
	err = writeFormat(e, "catalog verify", "", format.Value, js, func(b *bytes.Buffer) {
		rep.WriteText(b, *lockPath, lf, cat, tty.Color(e.stdout))
	})
	if err != nil || rep.OK() {
		return err
	}
	return errFailed
}
