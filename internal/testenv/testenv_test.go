package testenv

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

func TestParseRequire(t *testing.T) {
	all := Names()
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(names, n) })
	}
	for _, tc := range []struct {
		name, spec string
		want       []string
		err        string // substring of the error; "" for none
	}{
		{"unset", "", nil, ""},
		{"all", "all", all, ""},
		{"all but kvm", "all,-kvm", without("kvm"), ""},
		{"all but two, spaces", " all , -kvm, -qemu-10.0 ", without("kvm", "qemu-10.0"), ""},
		{"list", "qemu,cpuid", []string{"cpuid", "qemu"}, ""},
		{"removed then added", "all,-kvm,kvm", all, ""},
		{"added then removed", "kvm,-kvm", nil, ""},
		{"minus all", "all,-all,tmux", []string{"tmux"}, ""},
		{"empty items", ",,xmllint,", []string{"xmllint"}, ""},
		{"typo", "all,-kmv", all, `CPUPOLICY_REQUIRE: unknown requirement "kmv" (did you mean "kvm"?)`},
		{"unknown", "qemu,gpu", []string{"qemu"}, `unknown requirement "gpu"; known: all, cc, chromium,`},
		{"two unknown", "nope,zilch", nil, `"zilch"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := parseRequire(tc.spec)
			var got []string
			for r := range set {
				got = append(got, string(r))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("parseRequire(%q) = %v, want %v", tc.spec, got, tc.want)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("parseRequire(%q): %v", tc.spec, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("parseRequire(%q) error %v, want one containing %q", tc.spec, err, tc.err)
			}
		})
	}
}

// TestNames: the thirteen requirements, each with a description and
// an install hint.
func TestNames(t *testing.T) {
	want := []string{"cc", "chromium", "cpuid", "kvm", "libvirt-cpumap", "qemu", "qemu-10.0", "qemu-11.1", "qemu-5.2", "systemd-analyze", "taskset", "tmux", "xmllint"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for r, d := range reqs {
		if d.what == "" || d.install == "" || d.probe == nil {
			t.Errorf("%s: incomplete %+v", r, d)
		}
	}
}

func TestCPUMapDir(t *testing.T) {
	if LibvirtCPUMapDir != libvirt.DefaultMapDir {
		t.Errorf("LibvirtCPUMapDir = %q, core/libvirt reads %q", LibvirtCPUMapDir, libvirt.DefaultMapDir)
	}
}

// TestHelperNeedTmux is run by TestRequire in a child process, with a
// PATH that has no tmux; on its own it does nothing.
func TestHelperNeedTmux(t *testing.T) {
	switch os.Getenv("TESTENV_HELPER") {
	case "need":
		Need(t, Tmux, "drive the REPL")
		t.Log("tmux found")
	case "want":
		if Want(t, Tmux, "the REPL is not driven") {
			t.Log("tmux found")
		}
	case "cond":
		ok, err := Cond(Tmux)
		t.Logf("cond: %v, %v", ok, err)
	}
}

// TestRequire: a missing tool skips (or is logged), unless
// CPUPOLICY_REQUIRE names it; then the test fails naming it and how to
// install it. Run in a child process whose PATH lacks tmux, so that the
// probe's cache starts empty.
func TestRequire(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		helper, require string
		fail            bool
		want            string
	}{
		{"need", "", false, "--- SKIP: TestHelperNeedTmux"},
		{"need", "", false, "drive the REPL: exec: \"tmux\": executable file not found in $PATH (tmux missing; to install: apt-get install tmux)"},
		{"need", "all,-tmux", false, "--- SKIP"},
		{"need", "qemu", false, "--- SKIP"},
		{"need", "all", true, "tmux is missing (tmux on PATH) and CPUPOLICY_REQUIRE=\"all\" requires it: drive the REPL: exec: \"tmux\": executable file not found in $PATH; to install: apt-get install tmux"},
		{"need", "tmux", true, "--- FAIL: TestHelperNeedTmux"},
		{"need", "all,-tmx", true, `unknown requirement "tmx" (did you mean "tmux"?)`},
		{"want", "", false, "tmux: exec: \"tmux\": executable file not found in $PATH, so the REPL is not driven"},
		{"want", "all", true, "tmux is missing (tmux on PATH) and CPUPOLICY_REQUIRE=\"all\" requires it: exec: \"tmux\": executable file not found in $PATH, so the REPL is not driven"},
		{"cond", "", false, "cond: false, <nil>"},
		{"cond", "all", false, "cond: false, tmux is missing (tmux on PATH) and CPUPOLICY_REQUIRE=\"all\" requires it"},
	} {
		t.Run(tc.helper+"/"+tc.require, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNeedTmux$", "-test.v")
			cmd.Env = append(os.Environ(), "TESTENV_HELPER="+tc.helper, "PATH="+empty, EnvVar+"="+tc.require)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tc.fail {
				t.Errorf("failed = %v, want %v:\n%s", failed, tc.fail, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
