// Package testenv tells a test whether the real systems it compares
// cpupolicy against — QEMU, /dev/kvm, the cpuid tool, a C compiler with
// <linux/kvm.h>, chromium, libvirt's CPU map, … — are on this machine, as
// Go's internal/testenv does for the go command and the network.
//
// Each system is a requirement ([Req]). Where one is missing, a test
// skips with the reason ([Need], [Missing]) or does less ([Want]). That
// is right on a laptop and wrong in CI: a CI that skips every comparison
// with the real systems goes green having compared nothing. So the
// environment variable CPUPOLICY_REQUIRE names the requirements that must
// be met, and a test that would skip for one of them fails instead,
// naming what is missing and how to install it:
//
//	CPUPOLICY_REQUIRE=all          every requirement
//	CPUPOLICY_REQUIRE=qemu,cpuid   those two
//	CPUPOLICY_REQUIRE=all,-kvm     all but kvm (a CI runner without /dev/kvm)
//
// Names are read left to right: "all" adds every requirement, NAME adds
// one, -NAME removes one. An unknown name fails any test that finds a
// requirement missing, suggesting the nearest known name.
//
// The package imports only the standard library and internal/suggest, so
// that core's tests may use it (core/deps_test.go).
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// EnvVar is the environment variable that names the requirements that
// must be met.
const EnvVar = "CPUPOLICY_REQUIRE"

// Req names a system the tests compare against. Its value is the name
// CPUPOLICY_REQUIRE uses.
type Req string

// The requirements. Each is described in the table reqs below: what is
// probed and how to install it.
const (
	QEMU           Req = "qemu"            // QEMU 7.2's qemu-system-x86_64 on PATH
	QEMU52         Req = "qemu-5.2"        // QEMU 5.2 unpacked by scripts/qemu-release.sh
	QEMU10         Req = "qemu-10.0"       // QEMU 10.0 unpacked by scripts/qemu-release.sh
	QEMU111        Req = "qemu-11.1"       // QEMU 11.1 unpacked by scripts/qemu-release.sh
	KVM            Req = "kvm"             // /dev/kvm, read-write
	CPUID          Req = "cpuid"           // the cpuid tool on PATH
	Taskset        Req = "taskset"         // taskset on PATH
	CC             Req = "cc"              // cc on PATH and <linux/kvm.h>
	Chromium       Req = "chromium"        // chromium on PATH
	Tmux           Req = "tmux"            // tmux on PATH
	Xmllint        Req = "xmllint"         // xmllint on PATH
	SystemdAnalyze Req = "systemd-analyze" // systemd-analyze on PATH
	LibvirtCPUMap  Req = "libvirt-cpumap"  // libvirt's CPU map
)

// Where scripts/qemu-release.sh VERSION puts each release's wrapper
// (/opt/qemu-VERSION/bin/qemu-system-x86_64).
const (
	QEMU52Binary  = "/opt/qemu-5.2/bin/qemu-system-x86_64"
	QEMU10Binary  = "/opt/qemu-10.0/bin/qemu-system-x86_64"
	QEMU111Binary = "/opt/qemu-11.1/bin/qemu-system-x86_64"
)

// LibvirtCPUMapDir is where Debian's libvirt0 installs libvirt's CPU map
// (core/libvirt.DefaultMapDir; testenv's test checks they agree).
const LibvirtCPUMapDir = "/usr/share/libvirt/cpu_map"

// kvmHeader is the header the raw-ioctl KVM witness compiles against.
const kvmHeader = "/usr/include/linux/kvm.h"

// req describes a requirement: what it is, how to install it, and how to
// find it (the path a test uses, or why it is missing).
type req struct {
	what    string
	install string
	probe   func() (string, error)
}

var reqs = map[Req]req{
	QEMU: {"QEMU 7.2's qemu-system-x86_64 on PATH", "apt-get install qemu-system-x86 (Debian 12)",
		func() (string, error) { return qemuRelease("qemu-system-x86_64", "7.2") }},
	QEMU52: {"QEMU 5.2 in " + QEMU52Binary, "run scripts/qemu-release.sh 5.2 as root",
		func() (string, error) { return qemuRelease(QEMU52Binary, "5.2") }},
	QEMU10: {"QEMU 10.0 in " + QEMU10Binary, "run scripts/qemu-release.sh 10.0 as root",
		func() (string, error) { return qemuRelease(QEMU10Binary, "10.0") }},
	QEMU111: {"QEMU 11.1 in " + QEMU111Binary, "run scripts/qemu-release.sh 11.1 as root",
		func() (string, error) { return qemuRelease(QEMU111Binary, "11.1") }},
	KVM: {"/dev/kvm opened read-write", "a host with KVM: load kvm_intel or kvm_amd and give the user read-write access to /dev/kvm (group kvm)",
		func() (string, error) {
			f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
			if err != nil {
				return "", err
			}
			f.Close()
			return "/dev/kvm", nil
		}},
	CPUID:    {"the cpuid tool on PATH", "apt-get install cpuid", lookPath("cpuid")},
	Taskset:  {"taskset on PATH", "apt-get install util-linux", lookPath("taskset")},
	Chromium: {"chromium on PATH", "apt-get install chromium", lookPath("chromium")},
	Tmux:     {"tmux on PATH", "apt-get install tmux", lookPath("tmux")},
	Xmllint:  {"xmllint on PATH", "apt-get install libxml2-utils", lookPath("xmllint")},
	SystemdAnalyze: {"systemd-analyze on PATH", "apt-get install systemd",
		lookPath("systemd-analyze")},
	CC: {"a C compiler (cc on PATH) and " + kvmHeader, "apt-get install gcc libc6-dev linux-libc-dev",
		func() (string, error) {
			cc, err := exec.LookPath("cc")
			if err != nil {
				return "", err
			}
			if _, err := os.Stat(kvmHeader); err != nil {
				return "", err
			}
			return cc, nil
		}},
	LibvirtCPUMap: {"libvirt's CPU map in " + LibvirtCPUMapDir, "apt-get install libvirt0",
		func() (string, error) {
			if _, err := os.Stat(LibvirtCPUMapDir + "/index.xml"); err != nil {
				return "", err
			}
			return LibvirtCPUMapDir, nil
		}},
}

func lookPath(name string) func() (string, error) {
	return func() (string, error) { return exec.LookPath(name) }
}

// qemuRelease returns bin's path if it runs and is QEMU release rel.
func qemuRelease(bin, rel string) (string, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", err
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", path, err)
	}
	if !bytes.HasPrefix(out, []byte("QEMU emulator version "+rel+".")) {
		first, _, _ := bytes.Cut(out, []byte("\n"))
		return "", fmt.Errorf("%s is not QEMU %s: %s", path, rel, bytes.TrimSpace(first))
	}
	return path, nil
}

// probed caches each requirement's probe for the test binary's life:
// starting QEMU for its version in every test would cost seconds, and the
// machine does not change under a test run.
var probed sync.Map // Req → *probe

type probe struct {
	once sync.Once
	path string
	err  error
}

// find probes r once and returns its path, or why it is missing.
func find(r Req) (string, error) {
	d, ok := reqs[r]
	if !ok {
		return "", fmt.Errorf("unknown requirement %q", r)
	}
	v, _ := probed.LoadOrStore(r, new(probe))
	p := v.(*probe)
	p.once.Do(func() { p.path, p.err = d.probe() })
	return p.path, p.err
}

// Names lists the requirement names, sorted.
func Names() []string {
	var names []string
	for r := range reqs {
		names = append(names, string(r))
	}
	slices.Sort(names)
	return names
}

// parseRequire returns the set of requirements spec names (the syntax of
// CPUPOLICY_REQUIRE in the package doc).
func parseRequire(spec string) (map[Req]bool, error) {
	set := map[Req]bool{}
	var errs []error
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, remove := strings.CutPrefix(f, "-")
		if name == "all" {
			for r := range reqs {
				set[r] = !remove
			}
			continue
		}
		if _, ok := reqs[Req(name)]; !ok {
			msg := fmt.Sprintf("%s: unknown requirement %q", EnvVar, name)
			if s := suggest.Nearest(name, append(Names(), "all")); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, errors.New(msg+"; known: all, "+strings.Join(Names(), ", ")))
			continue
		}
		set[Req(name)] = !remove
	}
	for r, on := range set {
		if !on {
			delete(set, r)
		}
	}
	return set, errors.Join(errs...)
}

// required reports whether CPUPOLICY_REQUIRE names r.
func required(r Req) (bool, error) {
	set, err := parseRequire(os.Getenv(EnvVar))
	return set[r], err
}

// missing is the failure for r missing under CPUPOLICY_REQUIRE: what it
// is, what the test wanted it for, how to install it.
func missing(r Req, detail string) string {
	d := reqs[r]
	return fmt.Sprintf("%s is missing (%s) and %s=%q requires it: %s; to install: %s",
		r, d.what, EnvVar, os.Getenv(EnvVar), detail, d.install)
}

// Need returns r's path (a binary, a directory, "/dev/kvm") for a test
// that cannot run without it; why says what the test does with it. When
// r is missing the test skips, or fails under CPUPOLICY_REQUIRE.
func Need(t testing.TB, r Req, why string) string {
	t.Helper()
	path, err := find(r)
	if err != nil {
		Missing(t, r, "%s: %v", why, err)
	}
	return path
}

// Want reports whether r is here, for a test that does less without it
// (compares tcg only where /dev/kvm does not open, or one QEMU release of
// two); why says what is not done. A missing r is logged, or fails the
// test under CPUPOLICY_REQUIRE.
func Want(t testing.TB, r Req, why string) bool {
	t.Helper()
	_, err := find(r)
	if err == nil {
		return true
	}
	if must, perr := required(r); perr != nil {
		t.Fatal(perr)
	} else if must {
		t.Fatal(missing(r, fmt.Sprintf("%v, so %s", err, why)))
	}
	t.Logf("%s: %v, so %s", r, err, why)
	return false
}

// Missing ends a test that found r missing by its own probe (a QEMU of
// another release, a KVM that does not answer): it skips with the
// formatted reason, or fails under CPUPOLICY_REQUIRE.
func Missing(t testing.TB, r Req, format string, args ...any) {
	t.Helper()
	if _, ok := reqs[r]; !ok {
		t.Fatalf("testenv: unknown requirement %q", r)
	}
	detail := fmt.Sprintf(format, args...)
	must, err := required(r)
	if err != nil {
		t.Fatal(err)
	}
	if must {
		t.Fatal(missing(r, detail))
	}
	t.Skipf("%s (%s missing; to install: %s)", detail, r, reqs[r].install)
}

// Cond is a testscript condition for r: true where r is here, false where
// it is missing, and an error naming what is missing under
// CPUPOLICY_REQUIRE (which fails the script).
func Cond(r Req) (bool, error) {
	if _, ok := reqs[r]; !ok {
		return false, fmt.Errorf("unknown requirement %q (known: %s)", r, strings.Join(Names(), ", "))
	}
	_, err := find(r)
	if err == nil {
		return true, nil
	}
	must, perr := required(r)
	if perr != nil {
		return false, perr
	}
	if must {
		return false, errors.New(missing(r, err.Error()))
	}
	return false, nil
}
