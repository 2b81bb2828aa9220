package libvirt

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// qemuCPUHelp is what a QEMU binary's -cpu help lists: its x86 models
// (aliases included) and its CPUID flag names.
func qemuCPUHelp(t *testing.T, bin string) (models, flags []string) {
	t.Helper()
	out, err := exec.Command(bin, "-cpu", "help").Output()
	if err != nil {
		t.Fatalf("%s -cpu help: %v", bin, err)
	}
	inFlags := false
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Recognized CPUID flags:"):
			inFlags = true
		case inFlags:
			flags = append(flags, f...)
		case len(f) >= 2 && f[0] == "x86":
			models = append(models, f[1])
		}
	}
	if len(models) == 0 || len(flags) == 0 {
		t.Fatalf("%s -cpu help lists %d models and %d flags", bin, len(models), len(flags))
	}
	return models, flags
}

// TestFallbackLibvirt replays libvirt's cpu-fallback and cpu-nofallback
// tests (tests/qemuxml2argvdata, for QEMU 5.2.0): a domain asks for
// EPYC-Milan, which QEMU 5.2 lacks (it came in 6.0), with nine features
// disabled. With fallback='allow' (the default) libvirt names the same
// CPU by EPYC-Rome and QEMU 5.2 gets -cpu EPYC-Rome,amd-ssbd=off,…
// (ibrs and svme-addr-chk, unknown to 5.2, left out); with
// fallback='forbid' it refuses the domain. The models and flags QEMU 5.2
// has are the real binary's.
func TestFallbackLibvirt(t *testing.T) {
	dir := testenv.Need(t, testenv.LibvirtCPUMap, "translating a model needs libvirt's CPU map")
	bin := testenv.Need(t, testenv.QEMU52, "QEMU 5.2 lacks EPYC-Milan, as in libvirt's test")
	models, flags := qemuCPUHelp(t, bin)
	reg := feature.Builtin()
	m, err := LoadMap(dir, reg)
	if err != nil {
		t.Fatal(err)
	}
	q := QEMU{
		HasModel: func(n string) bool { return slices.Contains(models, n) },
		HasFeature: func(n string) bool {
			// -cpu help lists flags by their legacy spellings too.
			return slices.Contains(flags, n) || slices.Contains(flags, strings.ReplaceAll(n, "-", "_"))
		},
	}
	data, err := os.ReadFile("testdata/domains/cpu-fallback.xml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCPU("cpu-fallback.xml", data, reg)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := c.Translate(m, q.HasModel)
	if err != nil || !changed {
		t.Fatalf("Translate: changed %v, %v", changed, err)
	}
	c.DropUnknown(reg, q)
	spec, err := c.Spec(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// libvirt's cpu-fallback.x86_64-5.2.0.args.
	if want := "EPYC-Rome,amd-ssbd=off,erms=off,fsrm=off,invpcid=off,pcid=off,pku=off,xsaves=off"; spec != want {
		t.Errorf("-cpu %s\n want %s (libvirt's)", spec, want)
	}
	if c.Translated != "EPYC-Milan" {
		t.Errorf("Translated %q", c.Translated)
	}

	forbid, err := ParseCPU("cpu-nofallback.xml", []byte(strings.Replace(string(data), "<model>", "<model fallback='forbid'>", 1)), reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forbid.Translate(m, q.HasModel); err == nil || !strings.HasSuffix(err.Error(), "CPU model EPYC-Milan is not supported by hypervisor") {
		t.Errorf("fallback='forbid': %v, want libvirt's cpu-nofallback.x86_64-5.2.0.err", err)
	}
	// A QEMU with no model libvirt's map has: libvirt's error, at the
	// <cpu>'s line.
	none, _ := ParseCPU("cpu-fallback.xml", data, reg)
	if _, err := none.Translate(m, func(string) bool { return false }); err == nil || err.Error() != "cpu-fallback.xml:11: CPU model EPYC-Milan: Cannot find suitable CPU model for given data" {
		t.Errorf("no candidate: %v", err)
	}
	// A model QEMU has is never translated.
	again, _ := ParseCPU("cpu-fallback.xml", data, reg)
	if changed, err := again.Translate(m, func(string) bool { return true }); changed || err != nil {
		t.Errorf("a model QEMU has: changed %v, %v", changed, err)
	}
}
