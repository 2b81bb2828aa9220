package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// testCatalog is the catalog tests run with unless --catalog says
// otherwise. It is pinned, not the newest embedded one, so that a test
// keeps its meaning when a newer catalog is embedded.
const testCatalog = "qemu-7.2"

// hostsSubdir is where tests find recorded hosts: the nearest
// testdata/hosts directory at or above the test file's.
const hostsSubdir = "testdata/hosts"

func runTest(e *env, args []string) int {
	fs := newFlags("test")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	runRE := fs.String("run", "", "run only the tests whose names match the regular expression `REGEX`")
	verbose := fs.Bool("v", false, "list every test, not only failures")
	catName := fs.String("catalog", "", "the `NAME|FILE` of the catalog tests run with (default: "+testCatalog+")")
	hostsDir := fs.String("hosts", "", "the `DIR` of recorded hosts (default: the nearest "+hostsSubdir+" above each test file)")
	sf := addSandboxFlags(fs)
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	var run *regexp.Regexp
	if *runRE != "" {
		var err error
		if run, err = regexp.Compile(*runRE); err != nil {
			return usageError(e, "test", "--run: %v", err)
		}
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	files, err := findTestFiles(dirs)
	if err != nil {
		return inputError(e, err)
	}
	if len(files) == 0 {
		fmt.Fprintf(e.stderr, "cpupolicy test: no *_test.star files in %s\n", strings.Join(dirs, " "))
		return exitUsage
	}

	if _, err := e.registry(); err != nil { // plugin errors first, once
		return inputError(e, err)
	}
	cats := map[string]*starlib.Catalog{}
	for _, n := range catalog.EmbeddedNames() {
		c, err := e.loadCatalog(n)
		if err != nil {
			return inputError(e, err)
		}
		cats[n] = starlib.NewCatalog(c)
	}
	def := cats[testCatalog]
	if *catName != "" {
		c, err := e.loadCatalog(*catName)
		if err != nil {
			return inputError(e, err)
		}
		if def = cats[*catName]; def == nil { // a file: it joins catalogs under its name
			def = starlib.NewCatalog(c)
			cats[c.Name] = def
		}
	}
	if def == nil {
		return inputError(e, fmt.Errorf("no embedded catalog %s: name one with --catalog", testCatalog))
	}

	base := sf.options(e)
	base.Print = func(msg string) { fmt.Fprintln(e.stderr, msg) }
	hostSets := map[string]map[string]*starlib.Host{} // by directory
	rep := &testReport{}
	for _, file := range files {
		dir := *hostsDir
		if dir == "" {
			dir = findHostsDir(file)
		}
		hosts, ok := hostSets[dir]
		if !ok {
			if hosts, err = starlib.LoadTestHosts(dir, *hostsDir != "", base); err != nil {
				return inputError(e, err)
			}
			hostSets[dir] = hosts
		}
		opts := base
		if opts.Predeclared, err = starlib.TestGlobals(starlib.TestFixtures{Catalog: def, Catalogs: cats, Hosts: hosts}, base); err != nil {
			return inputError(e, err)
		}
		s, err := starlib.LoadScriptFile(file, opts)
		if err != nil {
			rep.loadErrors = append(rep.loadErrors, err)
			continue
		}
		rep.results = append(rep.results, s.RunTests(context.Background(), def, run)...)
	}

	var buf bytes.Buffer
	if format.value == "json" {
		if err := writeTestJSON(&buf, rep); err != nil {
			fmt.Fprintf(e.stderr, "cpupolicy test: %v\n", err)
			return exitUsage
		}
	} else {
		writeTestText(&buf, rep, *verbose, colorOK(e.stdout))
	}
	e.stdout.Write(buf.Bytes())
	for _, err := range rep.loadErrors {
		fmt.Fprintf(e.stderr, "cpupolicy test: %s\n", strings.TrimRight(err.Error(), "\n"))
	}
	return rep.exitCode()
}

// findTestFiles returns the *_test.star files named or under the
// directories named, sorted. Walking skips hidden directories and
// testdata directories (they hold fixtures, as in Go); a directory or
// file named on the command line is always used.
func findTestFiles(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if !strings.HasSuffix(arg, "_test.star") {
				return nil, fmt.Errorf("%s: not a test file: want NAME_test.star or a directory", arg)
			}
			files = append(files, arg)
			continue
		}
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != arg && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), "_test.star") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	out := files[:0]
	for i, f := range files { // a file named twice runs once
		if i == 0 || f != files[i-1] {
			out = append(out, f)
		}
	}
	return out, nil
}

// findHostsDir returns the nearest testdata/hosts directory at or above
// file's directory, or "" when there is none.
func findHostsDir(file string) string {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, hostsSubdir)
		if info, err := os.Stat(cand); err == nil && info.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// testReport is the outcome of a test run.
type testReport struct {
	results    []starlib.TestResult
	loadErrors []error
}

func (r *testReport) count(s starlib.TestStatus) int {
	n := 0
	for _, t := range r.results {
		if t.Status == s {
			n++
		}
	}
	return n
}

// exitCode is 2 when a file failed to load, else 1 when a test failed,
// else 0.
func (r *testReport) exitCode() int {
	switch {
	case len(r.loadErrors) > 0:
		return exitUsage
	case r.count(starlib.TestFail)+r.count(starlib.TestError) > 0:
		return exitViolation
	}
	return exitOK
}

// writeTestText writes what `opa test` does: each failed test with its
// failures, every test with -v, and the counts.
func writeTestText(w io.Writer, r *testReport, verbose, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	label := map[starlib.TestStatus]string{
		starlib.TestPass: paint(ansiGreen, "PASS"), starlib.TestFail: paint(ansiRed, "FAIL"),
		starlib.TestError: paint(ansiRed, "ERROR"), starlib.TestSkip: paint(ansiYellow, "SKIP"),
	}
	for _, t := range r.results {
		if !verbose && (t.Status == starlib.TestPass || t.Status == starlib.TestSkip) {
			continue
		}
		fmt.Fprintf(w, "%s: %s: %s", t.File, t.Name, label[t.Status])
		if verbose {
			fmt.Fprintf(w, " (%s)", t.Duration.Round(10e3))
		}
		fmt.Fprintln(w)
		for _, f := range t.Failures {
			fmt.Fprintf(w, "    %s\n", f)
		}
		if t.Err != nil {
			for _, l := range strings.Split(strings.TrimRight(t.Err.Error(), "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	total := len(r.results)
	fmt.Fprintln(w, strings.Repeat("-", 80))
	for _, s := range []starlib.TestStatus{starlib.TestPass, starlib.TestFail, starlib.TestError, starlib.TestSkip} {
		if n := r.count(s); n > 0 || s == starlib.TestPass {
			fmt.Fprintf(w, "%s: %d/%d\n", label[s], n, total)
		}
	}
	if len(r.loadErrors) > 0 {
		fmt.Fprintf(w, "%s: %d test files did not load\n", paint(ansiRed, "ERROR"), len(r.loadErrors))
	}
}

// The JSON form of a test run. Its keys are a contract.
type testRunJSON struct {
	Tests      []testJSON      `json:"tests"`
	LoadErrors []loadErrorJSON `json:"load_errors"`
	Summary    testSummaryJSON `json:"summary"`
}

type testJSON struct {
	File       string   `json:"file"`
	Name       string   `json:"name"`
	Status     string   `json:"status"`
	Failures   []string `json:"failures"`
	Error      string   `json:"error,omitempty"`
	DurationMS float64  `json:"duration_ms"`
}

type loadErrorJSON struct {
	File    string `json:"file"`
	Message string `json:"message"`
}

type testSummaryJSON struct {
	Total  int `json:"total"`
	Pass   int `json:"pass"`
	Fail   int `json:"fail"`
	Error  int `json:"error"`
	Skip   int `json:"skip"`
	Loaded int `json:"load_errors"`
	// Status is "pass", "fail" or "error", as the exit status 0, 1, 2.
	Status string `json:"status"`
}

func writeTestJSON(w io.Writer, r *testReport) error {
	out := testRunJSON{Tests: []testJSON{}, LoadErrors: []loadErrorJSON{}}
	for _, t := range r.results {
		tj := testJSON{File: t.File, Name: t.Name, Status: string(t.Status), Failures: nonNil(t.Failures),
			DurationMS: float64(t.Duration.Microseconds()) / 1000}
		if t.Err != nil {
			tj.Error = t.Err.Error()
		}
		out.Tests = append(out.Tests, tj)
	}
	for _, err := range r.loadErrors {
		le := loadErrorJSON{Message: err.Error()}
		if se, ok := err.(*starlib.Error); ok {
			le.File = se.File
		}
		out.LoadErrors = append(out.LoadErrors, le)
	}
	out.Summary = testSummaryJSON{Total: len(r.results), Pass: r.count(starlib.TestPass), Fail: r.count(starlib.TestFail),
		Error: r.count(starlib.TestError), Skip: r.count(starlib.TestSkip), Loaded: len(r.loadErrors),
		Status: [...]string{exitOK: "pass", exitViolation: "fail", exitUsage: "error"}[r.exitCode()]}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
