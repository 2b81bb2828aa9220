package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/cpupolicy/cpupolicy/internal/ansi"
	"github.com/cpupolicy/cpupolicy/internal/english"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// Tests is the outcome of a run of policy tests (`cpupolicy test`).
type Tests struct {
	Results []starlib.TestResult
	// LoadErrors are the test files that failed to load, each a
	// *starlib.Error or an error naming the file.
	LoadErrors []error
}

// count is the number of tests that ended with s.
func (r *Tests) count(s starlib.TestStatus) int {
	n := 0
	for _, t := range r.Results {
		if t.Status == s {
			n++
		}
	}
	return n
}

// ExitCode is the exit status of `cpupolicy test` for r: 2 when a file
// failed to load, else 1 when a test failed, else 0.
func (r *Tests) ExitCode() int {
	switch {
	case len(r.LoadErrors) > 0:
		return 2
	case r.count(starlib.TestFail)+r.count(starlib.TestError) > 0:
		return 1
	}
	return 0
}

// WriteTestText writes what `opa test` does: each failed test with its
// failures (every test with o.Verbose), and the counts.
func WriteTestText(w io.Writer, r *Tests, o TextOptions) error {
	ew := &errWriter{w: w}
	label := map[starlib.TestStatus]string{
		starlib.TestPass: o.paint(ansi.Green, "PASS"), starlib.TestFail: o.paint(ansi.Red, "FAIL"),
		starlib.TestError: o.paint(ansi.Red, "ERROR"), starlib.TestSkip: o.paint(ansi.Yellow, "SKIP"),
	}
	for _, t := range r.Results {
		if !o.Verbose && (t.Status == starlib.TestPass || t.Status == starlib.TestSkip) {
			continue
		}
		fmt.Fprintf(ew, "%s: %s: %s", t.File, t.Name, label[t.Status])
		if o.Verbose {
			fmt.Fprintf(ew, " (%s)", t.Duration.Round(10e3))
		}
		fmt.Fprintln(ew)
		for _, f := range t.Failures {
			fmt.Fprintf(ew, "    %s\n", f)
		}
		if t.Err != nil {
			for _, l := range strings.Split(strings.TrimRight(t.Err.Error(), "\n"), "\n") {
				fmt.Fprintf(ew, "    %s\n", l)
			}
		}
	}
	total := len(r.Results)
	fmt.Fprintln(ew, strings.Repeat("-", 80))
	if total == 0 {
		// "PASS: 0/0" would claim a pass where nothing ran.
		fmt.Fprintln(ew, "no tests to run (test_* functions in *_test.star files)")
	}
	for _, s := range []starlib.TestStatus{starlib.TestPass, starlib.TestFail, starlib.TestError, starlib.TestSkip} {
		if n := r.count(s); total > 0 && (n > 0 || s == starlib.TestPass) {
			fmt.Fprintf(ew, "%s: %d/%d\n", label[s], n, total)
		}
	}
	if len(r.LoadErrors) > 0 {
		fmt.Fprintf(ew, "%s: %s did not load\n", o.paint(ansi.Red, "ERROR"), english.Count(len(r.LoadErrors), "test file"))
	}
	return ew.err
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

// WriteTestJSON writes r as one JSON object: the tests, the files that
// did not load, and a summary.
func WriteTestJSON(w io.Writer, r *Tests) error {
	out := testRunJSON{Tests: []testJSON{}, LoadErrors: []loadErrorJSON{}}
	for _, t := range r.Results {
		tj := testJSON{File: t.File, Name: t.Name, Status: string(t.Status), Failures: nonNil(t.Failures),
			DurationMS: float64(t.Duration.Microseconds()) / 1000}
		if t.Err != nil {
			tj.Error = t.Err.Error()
		}
		out.Tests = append(out.Tests, tj)
	}
	for _, err := range r.LoadErrors {
		le := loadErrorJSON{Message: err.Error()}
		if se, ok := err.(*starlib.Error); ok {
			le.File = se.File
		}
		out.LoadErrors = append(out.LoadErrors, le)
	}
	out.Summary = testSummaryJSON{Total: len(r.Results), Pass: r.count(starlib.TestPass), Fail: r.count(starlib.TestFail),
		Error: r.count(starlib.TestError), Skip: r.count(starlib.TestSkip), Loaded: len(r.LoadErrors),
		Status: statuses[r.ExitCode()]}
	return writeIndented(w, out)
}
