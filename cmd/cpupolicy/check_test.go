package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkScenario is a check run that a report format must express.
type checkScenario struct {
	name   string
	args   []string
	code   int
	waived int
}

// checkScenarios are runs over recorded hosts and the embedded catalog:
// clean, violations, everything waived, an expired waiver, a site file, a
// Starlark waivers file, and a policy stopped by its time limit.
func checkScenarios(t *testing.T) []checkScenario {
	t.Helper()
	dir := t.TempDir()
	hosts, err := filepath.Abs("../../testdata/hosts")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	site := write("site.star", `"""A site."""
offer("web", cpu = "Skylake-Server-v4", machine = "pc-q35-7.2", pool = "intel")
offer("db", cpu = "EPYC-v3,kvmclock=on", pool = "mixed")
pool("intel", hosts = ["`+hosts+`/xeon-gold-6130.json", "`+hosts+`/core-i7-8550u.json"])
pool("mixed", hosts = ["`+hosts+`/xeon-gold-6130.json", "`+hosts+`/epyc-7502-32-core.json"])
`)
	expired := write("expired.json", `{"waivers": [
  {"policy": "explicit-kvm-bits", "model": "*", "machine": "*",
   "features": ["kvmclock", "kvm-nopiodelay", "kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi", "kvmclock-stable-bit", "x2apic"],
   "reason": "accepted until the migration", "expires": "2020-01-31"},
  {"policy": "runnable", "model": "Skylake-Server-v4", "machine": "pc-q35-7.2",
   "features": ["avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl", "clwb", "pku"],
   "reason": "the laptop is a test host", "expires": "2999-12-31"}
]}
`)
	starWaivers := write("waivers.star", `"""Waivers."""
KVM = features("kvmclock", "kvm-nopiodelay", "kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi", "kvmclock-stable-bit")
waiver(policy = "explicit-kvm-bits", model = "*", machine = "*", features = KVM | features("x2apic"), reason = "we name no KVM bits yet")
`)
	loop := write("loop.star", `"""Never ends."""
def check(ctx):
    for i in range(1000000000):
        pass
`)
	history := "../../examples/waivers/qemu-7.2-history.json"
	xeon := filepath.Join(hosts, "xeon-gold-6130.json")
	named := "Haswell-v4,kvmclock=on,kvm-nopiodelay=on,kvm-asyncpf=on,kvm-steal-time=on,kvm-pv-eoi=on,kvmclock-stable-bit=on"
	return []checkScenario{
		{name: "clean", args: []string{"--catalog", "qemu-7.2", "--policy", "explicit-kvm-bits", "--policy", "runnable", "--cpu", named, "--host", xeon}, code: 0},
		{name: "violations", args: []string{"--catalog", "qemu-7.2", "--policy", "no-new-host-deps"}, code: 1},
		{name: "all waived", args: []string{"--catalog", "qemu-7.2", "--policy", "no-new-host-deps", "--waivers", history}, code: 0, waived: 206},
		{name: "site", args: []string{"--catalog", "qemu-7.2", "--site", site, "--policy", "runnable", "--policy", "migration-safe", "--policy", "explicit-kvm-bits"}, code: 1},
		{name: "expired waiver", args: []string{"--catalog", "qemu-7.2", "--site", site, "--policy", "runnable", "--policy", "explicit-kvm-bits", "--waivers", expired}, code: 1, waived: 1},
		{name: "starlark waivers", args: []string{"--catalog", "qemu-7.2", "--site", site, "--policy", "explicit-kvm-bits", "--waivers", starWaivers}, code: 0, waived: 2},
		{name: "runaway policy", args: []string{"--catalog", "qemu-7.2", "--policy", "explicit-kvm-bits", "--cpu", "Haswell-v4", "--host", xeon, loop, "--timeout", "300ms"}, code: 2},
	}
}

// runCheckForTest runs check in process and returns its standard output
// and exit status.
func runCheckForTest(t *testing.T, args []string) ([]byte, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"check"}, args...), strings.NewReader(""), &stdout, &stderr)
	if code == exitUsage && stdout.Len() == 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.Bytes(), code
}

// TestCheckJSON: the JSON report of each scenario agrees with the exit
// status, and its counts with its lists.
func TestCheckJSON(t *testing.T) {
	for _, c := range checkScenarios(t) {
		t.Run(c.name, func(t *testing.T) {
			out, code := runCheckForTest(t, append(c.args, "--format", "json"))
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			var r struct {
				Violations     []map[string]any `json:"violations"`
				Waived         []struct{ Violation, Waiver map[string]any }
				ExpiredWaivers []map[string]any `json:"expired_waivers"`
				Errors         []map[string]any `json:"errors"`
				Summary        struct {
					Violations, Waived, Errors int
					ExpiredWaivers             int `json:"expired_waivers"`
					Status                     string
				} `json:"summary"`
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			s := r.Summary
			if s.Violations != len(r.Violations) || s.Waived != len(r.Waived) || s.ExpiredWaivers != len(r.ExpiredWaivers) || s.Errors != len(r.Errors) {
				t.Errorf("summary %+v disagrees with the lists", s)
			}
			if len(r.Waived) != c.waived {
				t.Errorf("%d waived, want %d", len(r.Waived), c.waived)
			}
			if want := [...]string{"pass", "fail", "error"}[c.code]; s.Status != want {
				t.Errorf("status %q, want %q", s.Status, want)
			}
			for _, v := range r.Violations {
				for _, k := range []string{"policy", "message", "features"} {
					if _, ok := v[k]; !ok {
						t.Errorf("violation without %q: %v", k, v)
					}
				}
			}
			for _, w := range r.Waived {
				if w.Waiver["reason"] == "" || w.Waiver["source"] == "" || w.Violation["policy"] != w.Waiver["policy"] {
					t.Errorf("waived %v by %v", w.Violation, w.Waiver)
				}
			}
		})
	}
}

// TestCheckHostile: hostile policies each end with exit 2, and standard
// error names the policy, what stopped it (the time limit, Starlark's own
// checks) and where;
// the other policies still report.
func TestCheckHostile(t *testing.T) {
	const limit = 500 * time.Millisecond
	dir := t.TempDir()
	xeon := filepath.Join("..", "..", "testdata", "hosts", "xeon-gold-6130.json")
	for _, tt := range []struct {
		file, src string
		want      []string
	}{
		{"loop.star", "def check(ctx):\n    for i in range(1000000000):\n        pass\n",
			[]string{"policy %s: Starlark computation cancelled: time limit exceeded after 500ms", "%s:4:5: in check"}},
		{"slow_builtin.star", "def check(ctx):\n    for i in range(1000000000):\n        for m in ctx.catalog.models():\n            m.features()\n",
			[]string{"time limit exceeded after 500ms", "in check"}},
		{"huge_string.star", "def check(ctx):\n    s = \"x\" * 10000000000\n",
			[]string{"policy %s: repeat count 10000000000 too large", "%s:4:13: in check"}},
		{"recursion.star", "def f(n):\n    return f(n + 1)\n\ndef check(ctx):\n    f(0)\n",
			[]string{"policy %s: function f called recursively"}},
		{"passwd.star", "load(\"/etc/passwd\", \"root\")\n\ndef check(ctx):\n    pass\n",
			[]string{"%s:3:1: cannot load /etc/passwd: absolute paths are not allowed"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join(dir, tt.file)
			if err := os.WriteFile(file, []byte("\"\"\"Hostile.\"\"\"\n\n"+tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			// The other policy is a cheap one: under -race on a loaded
			// machine, no-new-host-deps could itself outlast the limit.
			code := run([]string{"check", "--catalog", "qemu-7.2", "--policy", "explicit-kvm-bits", "--cpu", "Haswell-v4", "--host", xeon, file,
				"--timeout", limit.String(), "--max-steps", "0"}, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want 2", code)
			}
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "%s", file); !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr\n%s\ndoes not contain %q", stderr.String(), w)
				}
			}
			if tt.file == "passwd.star" {
				return // a load error stops everything before any policy runs
			}
			name := strings.TrimSuffix(tt.file, ".star")
			if !strings.Contains(stdout.String(), "FAIL  explicit-kvm-bits: 1 violation") || !strings.Contains(stdout.String(), "ERROR "+name+":") {
				t.Errorf("stdout:\n%s", stdout.String())
			}
		})
	}
}
