package examplestest

// The tests of examples/policies, run as their README says: the
// policies' own Starlark tests with `cpupolicy test`, and the policies
// over the example site with `cpupolicy check`, where they run as site
// policies do (ctx only: a test file's globals such as catalog are not
// there).

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const policiesDir = "../../examples/policies"

var sitePolicies = []string{"no-tsx.star", "x86-64-level.star", "pinned-models.star"}

// runCLI runs cpupolicy in dir and returns its standard output and exit
// status.
func runCLI(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(buildCLI(t), args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out) + stderr.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out) + stderr.String(), 0
}

func TestPoliciesTests(t *testing.T) {
	out, code := runCLI(t, policiesDir, "test", "-v", ".")
	if code != 0 {
		t.Fatalf("cpupolicy test: exit %d\n%s", code, out)
	}
	for _, p := range sitePolicies {
		file := strings.TrimSuffix(p, ".star") + "_test.star"
		if !strings.Contains(out, file+": test_") {
			t.Errorf("no test of %s ran:\n%s", file, out)
		}
	}
}

// TestPoliciesCheck runs the policies over site.star: each finds what the
// site's comments say is wrong with it, and nothing else.
func TestPoliciesCheck(t *testing.T) {
	for _, c := range []struct {
		name   string
		params []string
		want   []string // "policy offer", sorted
	}{
		{"defaults", nil, []string{"no-tsx db", "pinned-models legacy", "pinned-models legacy", "pinned-models rescue", "x86-64-level rescue"}},
		// Skylake-Client-v4, Cascadelake-Server-v1 and EPYC-Rome-v2 reach
		// v3. Haswell-noTSX would too, but on pc-i440fx-1.4 QEMU's compat
		// properties take abm (LZCNT) away: legacy is v2 there.
		{"level 3", []string{"--param", "level=3"}, []string{"no-tsx db", "pinned-models legacy", "pinned-models legacy", "pinned-models rescue", "x86-64-level legacy", "x86-64-level rescue"}},
		// Only Cascadelake-Server has AVX-512.
		{"level 4", []string{"--param", "level=4"}, []string{"no-tsx db", "pinned-models legacy", "pinned-models legacy", "pinned-models rescue", "x86-64-level batch", "x86-64-level legacy", "x86-64-level rescue", "x86-64-level web"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"check", "--catalog", "qemu-7.2", "--site", "site.star", "--format", "json"}, c.params...)
			out, code := runCLI(t, policiesDir, append(args, sitePolicies...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			var rep struct {
				Violations []struct {
					Policy string `json:"policy"`
					Offer  string `json:"offer"`
				} `json:"violations"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var got []string
			for _, v := range rep.Violations {
				got = append(got, v.Policy+" "+v.Offer)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("violations %q, want %q", got, c.want)
			}
		})
	}
}
