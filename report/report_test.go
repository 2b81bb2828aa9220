package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/report"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// writePolicy writes a policy file into a new directory.
func writePolicy(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPolicies(t *testing.T) {
	all, err := report.LoadPolicies(nil, nil, starlib.Options{})
	if err != nil || len(all) == 0 || !all[0].Builtin || all[0].File != "policies/"+all[0].Name+".star" || all[0].Script == nil {
		t.Fatalf("built-ins: %+v, %v", all, err)
	}
	own := writePolicy(t, "own.star", "\"\"\"Mine.\"\"\"\ndef check(ctx):\n    pass\n")
	ps, err := report.LoadPolicies(nil, []string{own}, starlib.Options{})
	if err != nil || len(ps) != 1 || ps[0].Name != "own" || ps[0].Builtin || ps[0].Doc != "Mine." {
		t.Errorf("a file alone: %+v, %v; want only it", ps, err)
	}
	var unknown *report.UnknownPolicyError
	if _, err := report.LoadPolicies([]string{"runable"}, nil, starlib.Options{}); !errors.As(err, &unknown) ||
		err.Error() != `no built-in policy "runable" (did you mean "runnable"?) (have abi-level, explicit-kvm-bits, migration-safe, no-new-host-deps, runnable)` {
		t.Errorf("unknown name: %v", err)
	}
	twin := writePolicy(t, "runnable.star", "\"\"\"Twin.\"\"\"\ndef check(ctx):\n    pass\n")
	var dup *report.DuplicatePolicyError
	if _, err := report.LoadPolicies([]string{"runnable"}, []string{twin}, starlib.Options{}); !errors.As(err, &dup) ||
		err.Error() != "two policies named runnable: policies/runnable.star and "+twin {
		t.Errorf("two of one name: %v", err)
	}
	var se *starlib.Error
	if _, err := report.LoadPolicies(nil, []string{writePolicy(t, "bad.star", "def check(:\n")}, starlib.Options{}); !errors.As(err, &se) {
		t.Errorf("a file that does not parse: %v, want a *starlib.Error", err)
	}
}

// TestRun: every policy reports, a failing one included; waivers sort
// the violations, an expired one fails the run; the report's times come
// from the clock given.
func TestRun(t *testing.T) {
	c, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	two := writePolicy(t, "two.star", `"""Two violations."""
def check(ctx):
    ctx.violation("first", model = "Haswell-v4", machine = "pc-q35-7.2")
    ctx.violation("second", model = "EPYC-v3", machine = "pc-q35-7.2")
`)
	broken := writePolicy(t, "broken.star", "\"\"\"Fails.\"\"\"\ndef check(ctx):\n    fail(\"no\")\n")
	ps, err := report.LoadPolicies(nil, []string{two, broken}, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ws := []site.Waiver{
		{Policy: "two", Model: "EPYC-v3", Machine: "*", Reason: "known", Source: "w.json:3"},
		{Policy: "two", Model: "*", Machine: "*", Reason: "old", Expires: "2026-01-31", Source: "w.json:9"},
	}
	r := report.Run(context.Background(), report.Config{Policies: ps, Input: starlib.Input{Catalog: starlib.NewCatalog(c)},
		Waivers: ws, WaiversFile: "w.json", Now: func() time.Time { return clock }})
	if r.Catalog != "qemu-7.2" || !r.Start.Equal(clock) || !r.End.Equal(clock) || r.WaiversFile != "w.json" {
		t.Errorf("report header: %q %v %v %q", r.Catalog, r.Start, r.End, r.WaiversFile)
	}
	if len(r.Results) != 2 || r.Results[0].Status() != "fail" || r.Results[1].Status() != "error" {
		t.Fatalf("results: %+v", r.Results)
	}
	if res := r.Results[0]; len(res.Violations) != 1 || res.Violations[0].Message != "first" || len(res.Waived) != 1 || res.Waived[0].Waiver.Source != "w.json:3" {
		t.Errorf("two: violations %v, waived %v", res.Violations, res.Waived)
	}
	if len(r.Expired) != 1 || r.Expired[0].Source != "w.json:9" {
		t.Errorf("expired %v, want w.json:9", r.Expired)
	}
	if v, w, e := r.Counts(); v != 1 || w != 1 || e != 1 || r.ExitCode() != 2 || r.Status() != "error" {
		t.Errorf("counts %d %d %d, exit %d, status %s", v, w, e, r.ExitCode(), r.Status())
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Violations []struct{ Message string }
		Errors     []struct{ Policy, File string }
		Summary    struct {
			Status   string
			Policies []struct{ Name, Status string }
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Violations) != 1 || len(out.Errors) != 1 || out.Errors[0].Policy != "broken" || out.Summary.Status != "error" || len(out.Summary.Policies) != 2 {
		t.Errorf("JSON report:\n%s", buf.String())
	}
}
