package starlib_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// loadTestFile loads a test file written into a new directory, with the
// test globals over the fixtures.
func loadTestFile(t *testing.T, files map[string]string, opts starlib.Options) *starlib.Script {
	t.Helper()
	loadFixtures(t)
	g, err := starlib.TestGlobals(starlib.TestFixtures{Catalog: fixtures.cat72,
		Catalogs: map[string]*starlib.Catalog{"qemu-10.0": fixtures.cat100}, Hosts: fixtures.hosts}, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Predeclared = g
	dir := writeTree(t, files)
	s, err := starlib.LoadScriptFile(filepath.Join(dir, "x_test.star"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunTests(t *testing.T) {
	s := loadTestFile(t, map[string]string{
		"kvm.star": `"""Flags KVM bits."""
def check(ctx):
    for o in ctx.site.offers:
        bits = o.config.implicit & features("kvmclock")
        if bits:
            ctx.violation("offer %s gets kvmclock" % o.name, model = o.config, machine = o.config, features = bits,
                          offer = o.name, n = 1, ok = True, nested = {"l": [1, 2.5, None]})
`,
		"x_test.star": `load("kvm.star", "check")

def test_pass():
    vs = run_check(check, offers = [offer("a", cpu = "Haswell-v4", machine = "pc-q35-7.2"), offer("b", cpu = "Haswell-v4,kvmclock=on")])
    assert.eq(vs, [{"policy": "kvm", "message": "offer a gets kvmclock", "model": "Haswell-v4", "machine": "pc-q35-7.2",
                    "features": ["kvmclock"], "n": 1, "nested": {"l": [1, 2.5, None]}, "offer": "a", "ok": True}])
    assert.eq(run_check(check, offers = [offer("t", cpu = "qemu64", accel = "tcg")]), [])
    assert.eq(sorted(catalogs.keys()), ["qemu-10.0", "qemu-7.2"])
    assert.true("xeon-gold-6130" in hosts)
    assert.contains([1, 2], 2)
    assert.lt(1, 2)
    assert.ne(1, 2)
    assert.fails(lambda: 1 // 0, "division by zero")

def test_fail():
    assert.eq([1], [2])
    assert.contains("abc", "d")
    assert.fail("and on")

def test_error():
    run_check(check, offers = [offer("a", cpu = "Nope")])

def test_params_and_host():
    def p(ctx):
        ctx.violation("%s %s" % (ctx.params["k"], ctx.host.name))
    assert.eq(run_check(p, host = hosts["xeon-gold-6130"], params = {"k": "v"})[0]["message"], "v xeon-gold-6130")

def todo_test_later():
    assert.fail("never runs")

def helper():
    pass
`,
	}, starlib.Options{})
	res := s.RunTests(context.Background(), fixtures.cat72, nil)
	got := map[string]starlib.TestResult{}
	var names []string
	for _, r := range res {
		got[r.Name] = r
		names = append(names, r.Name)
	}
	if strings.Join(names, " ") != "test_error test_fail test_params_and_host test_pass todo_test_later" {
		t.Fatalf("ran %q", names)
	}
	if r := got["test_pass"]; r.Status != starlib.TestPass {
		t.Errorf("test_pass: %s %q %v", r.Status, r.Failures, r.Err)
	}
	if r := got["test_params_and_host"]; r.Status != starlib.TestPass {
		t.Errorf("test_params_and_host: %s %q %v", r.Status, r.Failures, r.Err)
	}
	f := got["test_fail"]
	wantFailures := []string{
		"x_test.star:16:14: assert.eq: got [1], want [2]",
		`x_test.star:17:20: assert.contains: "abc" does not contain "d"`,
		"x_test.star:18:16: assert.fail: and on",
	}
	if f.Status != starlib.TestFail || len(f.Failures) != len(wantFailures) {
		t.Fatalf("test_fail: %s %q", f.Status, f.Failures)
	}
	for i, w := range wantFailures {
		if !strings.HasSuffix(f.Failures[i], w) {
			t.Errorf("failure %d: got %q, want …%q", i, f.Failures[i], w)
		}
	}
	if e := got["test_error"]; e.Status != starlib.TestError || !strings.Contains(e.Err.Error(), `unknown CPU model "Nope"`) || !strings.Contains(e.Err.Error(), "in test_error") {
		t.Errorf("test_error: %s %v", e.Status, e.Err)
	}
	if got["todo_test_later"].Status != starlib.TestSkip {
		t.Errorf("todo_test_later: %s", got["todo_test_later"].Status)
	}
	// --run
	res = s.RunTests(context.Background(), fixtures.cat72, regexp.MustCompile("pass"))
	if len(res) != 1 || res[0].Name != "test_pass" {
		t.Errorf("--run pass ran %+v", res)
	}
}

// TestRunTestsLimits: a runaway test is an error, stopped by its time
// limit, and assert.fails does not swallow the limit.
func TestRunTestsLimits(t *testing.T) {
	const limit = 300 * time.Millisecond
	s := loadTestFile(t, map[string]string{"x_test.star": `
def forever():
    for i in range(1000000000):
        pass

def test_loop():
    forever()

def test_fails_loop():
    assert.fails(forever, "")
`}, starlib.Options{Timeout: limit, MaxSteps: 1 << 62})
	ctx, cancel := context.WithTimeout(context.Background(), safetyNet)
	defer cancel()
	res := s.RunTests(ctx, fixtures.cat72, nil)
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for _, r := range res {
		if r.Status != starlib.TestError || !errors.Is(r.Err, starlib.ErrTimeout) || !strings.Contains(r.Err.Error(), "time limit exceeded after 300ms") {
			t.Errorf("%s: %s %v", r.Name, r.Status, r.Err)
		}
	}
}

// TestTestOffer: offer() of test files takes what a site file's takes,
// refuses the same wrong types, and run_check hands the offer on whole.
func TestTestOffer(t *testing.T) {
	s := loadTestFile(t, map[string]string{"x_test.star": `
def seen(ctx):
    for o in ctx.site.offers:
        ctx.violation("%s %s %s %s" % (o.name, o.config.machine.name, o.pool, o.accel))

def test_fields():
    o = offer("a", "qemu64", machine = "pc-q35-7.2", pool = None, accel = "tcg")
    assert.eq((o.name, o.cpu, o.machine, o.pool, o.accel), ("a", "qemu64", "pc-q35-7.2", None, "tcg"))
    assert.eq([v["message"] for v in run_check(seen, offers = [o])], ["a pc-q35-7.2 None tcg"])

def test_types():
    assert.fails(lambda: offer("a", "qemu64", machine = 1), "offer: machine: got int, want string or None")
    assert.fails(lambda: offer("a", "qemu64", accel = ["kvm"]), "offer: accel: got list, want string or None")
    assert.fails(lambda: offer("a", cpu = 1), "offer: for parameter \"cpu\": got int, want string")
`}, starlib.Options{})
	for _, r := range s.RunTests(context.Background(), fixtures.cat72, nil) {
		if r.Status != starlib.TestPass {
			t.Errorf("%s: %s %q %v", r.Name, r.Status, r.Failures, r.Err)
		}
	}
}

// TestAssertOutsideTest: at a file's top level a failed assertion is an
// error (there is no test to fail), a passing one is nothing.
func TestAssertOutsideTest(t *testing.T) {
	loadFixtures(t)
	g, err := starlib.TestGlobals(starlib.TestFixtures{Catalog: fixtures.cat72}, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{"ok_test.star": "assert.eq(1, 1)\n", "bad_test.star": "assert.eq(1, 2)\n"})
	if _, err := starlib.LoadScriptFile(filepath.Join(dir, "ok_test.star"), starlib.Options{Predeclared: g}); err != nil {
		t.Error(err)
	}
	_, err = starlib.LoadScriptFile(filepath.Join(dir, "bad_test.star"), starlib.Options{Predeclared: g})
	if err == nil || !strings.Contains(err.Error(), "assert.eq: got 1, want 2 (outside a test function)") {
		t.Errorf("got %v", err)
	}
}

// TestLoadTestHosts: every recorded snapshot of a directory is a host
// named by its file; a file that is not a snapshot is an error when the
// directory was named and skipped when it was found.
func TestLoadTestHosts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(hostsDir, "xeon-gold-6130.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{"gold.json": string(data), "notes.json": `{"not": "a snapshot"}`, "README.md": "x"})
	hosts, err := starlib.LoadTestHosts(dir, false, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 1 || hosts["gold"] == nil || hosts["gold"].Name() != "gold" || hosts["gold"].Snapshot().Vendor != "GenuineIntel" {
		t.Errorf("found dir: got %v, want gold only", hosts)
	}
	if _, err := starlib.LoadTestHosts(dir, true, starlib.Options{}); err == nil || !strings.Contains(err.Error(), "notes.json") {
		t.Errorf("named dir with a bad file: got %v, want an error naming notes.json", err)
	}
	missing := filepath.Join(dir, "nope")
	if hosts, err := starlib.LoadTestHosts(missing, false, starlib.Options{}); err != nil || len(hosts) != 0 {
		t.Errorf("found dir missing: got %v %v, want no hosts", hosts, err)
	}
	if _, err := starlib.LoadTestHosts(missing, true, starlib.Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("named dir missing: got %v, want not exist", err)
	}
	if hosts, err := starlib.LoadTestHosts("", true, starlib.Options{}); err != nil || len(hosts) != 0 {
		t.Errorf("no dir: got %v %v, want no hosts", hosts, err)
	}
}
