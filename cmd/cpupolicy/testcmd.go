package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/internal/tty"
	"github.com/cpupolicy/cpupolicy/report"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// testCatalog is the catalog tests run with unless --catalog says
// otherwise. It is pinned, not the newest embedded one, so that a test
// keeps its meaning when a newer catalog is embedded.
const testCatalog = "qemu-7.2"

func runTest(e *env, args []string) error {
	fs := newFlags("test")
	format := addFormatFlag(fs, "text", "json")
	runRE := fs.String("run", "", "run only the tests whose names match the regular expression `REGEX`")
	verbose := fs.Bool("v", false, "list every test, not only failures")
	catName := fs.String("catalog", "", "the `NAME|FILE` of the catalog tests run with (default: "+testCatalog+")")
	hostsDir := fs.String("hosts", "", "the `DIR` of recorded hosts (default: the nearest testdata/hosts above each test file)")
	sf := addSandboxFlags(fs)
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	cfg := starlib.TestConfig{HostsDir: *hostsDir}
	if *runRE != "" {
		var err error
		if cfg.Run, err = regexp.Compile(*runRE); err != nil {
			return usagef("test", "--run: %v", err)
		}
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	files, err := starlib.FindTestFiles(dirs)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return cmdError("test", fmt.Errorf("no *_test.star files in %s", strings.Join(dirs, " ")))
	}
	if cfg.Catalog, cfg.Catalogs, err = testCatalogs(e, *catName); err != nil {
		return err
	}
	cfg.Options = sf.options(e)
	cfg.Options.Print = func(msg string) { fmt.Fprintln(e.stderr, msg) }
	rep := &report.Tests{}
	if rep.Results, rep.LoadErrors, err = starlib.RunTestFiles(context.Background(), files, cfg); err != nil {
		return err
	}
	var buf bytes.Buffer
	if format.Value == "json" {
		err = report.WriteTestJSON(&buf, rep)
	} else {
		err = report.WriteTestText(&buf, rep, report.TextOptions{Verbose: *verbose, Color: tty.Color(e.stdout)})
	}
	if err != nil {
		return cmdError("test", err)
	}
	if err := output(e, "test", "", buf.Bytes()); err != nil {
		return err
	}
	for _, err := range rep.LoadErrors {
		fmt.Fprintf(e.stderr, "cpupolicy test: %s\n", strings.TrimRight(err.Error(), "\n"))
	}
	return [...]error{nil, errFailed, errIncomplete}[rep.ExitCode()]
}

// testCatalogs returns the catalog tests run with (testCatalog, or the
// one named) and every catalog at hand by name: the embedded ones, and a
// catalog file under its own name.
func testCatalogs(e *env, name string) (*starlib.Catalog, map[string]*starlib.Catalog, error) {
	if _, err := e.registry(); err != nil { // plugin errors first, once
		return nil, nil, err
	}
	cats := map[string]*starlib.Catalog{}
	for _, n := range catalog.EmbeddedNames() {
		c, err := e.loadCatalog(n)
		if err != nil {
			return nil, nil, err
		}
		cats[n] = starlib.NewCatalog(c)
	}
	def := cats[testCatalog]
	if name != "" {
		c, err := e.loadCatalog(name)
		if err != nil {
			return nil, nil, err
		}
		if def = cats[name]; def == nil { // a file: it joins catalogs under its name
			def = starlib.NewCatalog(c)
			cats[c.Name()] = def
		}
	}
	if def == nil {
		return nil, nil, fmt.Errorf("no embedded catalog %s: name one with --catalog", testCatalog)
	}
	return def, cats, nil
}
