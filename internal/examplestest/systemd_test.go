package examplestest

// The tests of examples/systemd: the units that refresh a host's snapshot
// and Kubernetes labels are valid units whose commands are valid
// cpupolicy invocations.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

const installed = "/usr/local/bin/cpupolicy"

// systemdDir holds the units.
const systemdDir = "../../examples/systemd"

var units = []string{"cpupolicy-probe.service", "cpupolicy-probe.timer"}

// cli is the cpupolicy binary the tests run, built once per test binary
// into a directory TestMain removes.
var cli struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
	os.Exit(code)
}

// buildCLI builds cpupolicy once and returns its path.
func buildCLI(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		if cli.dir, cli.err = os.MkdirTemp("", "cpupolicy-systemd-"); cli.err != nil {
			return
		}
		cli.bin = filepath.Join(cli.dir, "cpupolicy")
		if out, err := exec.Command("go", "build", "-o", cli.bin, "github.com/cpupolicy/cpupolicy/cmd/cpupolicy").CombinedOutput(); err != nil {
			cli.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if cli.err != nil {
		t.Fatal(cli.err)
	}
	return cli.bin
}

// execLines returns the service's ExecStartPre and ExecStart command
// lines, in order.
func execLines(t *testing.T) (pre, start [][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join(systemdDir, "cpupolicy-probe.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "ExecStartPre":
			pre = append(pre, strings.Fields(v))
		case "ExecStart":
			start = append(start, strings.Fields(v))
		}
	}
	if len(start) != 2 {
		t.Fatalf("%d ExecStart lines, want probe and labels", len(start))
	}
	return pre, start
}

// rewrite copies the units into dir with the binary path replaced, and
// returns their paths.
func rewrite(t *testing.T, dir string, repl *strings.Replacer) []string {
	t.Helper()
	var paths []string
	for _, u := range units {
		data, err := os.ReadFile(filepath.Join(systemdDir, u))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, u)
		if err := os.WriteFile(p, []byte(repl.Replace(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestUnitsVerify runs systemd-analyze verify on the units, with the
// binary path pointing at a freshly built cpupolicy (verify checks that
// ExecStart commands are executable).
func TestUnitsVerify(t *testing.T) {
	analyze := testenv.Need(t, testenv.SystemdAnalyze, "verify the units")
	bin := buildCLI(t)
	paths := rewrite(t, t.TempDir(), strings.NewReplacer(installed, bin))
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestExecStartInvocations: every ExecStart is cpupolicy with flags it
// accepts (run with -h last, so that each flag before it is parsed).
func TestExecStartInvocations(t *testing.T) {
	bin := buildCLI(t)
	_, start := execLines(t)
	for _, argv := range start {
		if argv[0] != installed {
			t.Errorf("ExecStart runs %s, want %s", argv[0], installed)
			continue
		}
		cmd := exec.Command(bin, append(argv[1:], "-h")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s -h: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
}

// TestServiceRuns runs the service's commands for real, with its paths
// moved into a temporary directory, where /dev/kvm works.
func TestServiceRuns(t *testing.T) {
	testenv.Need(t, testenv.KVM, "run the service (its ConditionPathExists)")
	bin := buildCLI(t)
	root := t.TempDir()
	state := filepath.Join(root, "var/lib/cpupolicy")
	if err := os.MkdirAll(state, 0o755); err != nil { // systemd's StateDirectory=
		t.Fatal(err)
	}
	repl := strings.NewReplacer(installed, bin, "/var/lib/", root+"/var/lib/", "/etc/kubernetes/", root+"/etc/kubernetes/")
	pre, start := execLines(t)
	for _, argv := range append(pre, start...) {
		for i := range argv {
			argv[i] = repl.Replace(argv[i])
		}
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	labels, err := os.ReadFile(filepath.Join(root, "etc/kubernetes/node-feature-discovery/features.d/cpupolicy"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# +expiry-time=", "\ncpupolicy.io/catalog=", "\ncpupolicy.io/machine="} {
		if !strings.Contains(string(labels), want) {
			t.Errorf("labels lack %q:\n%s", want, labels)
		}
	}
}
