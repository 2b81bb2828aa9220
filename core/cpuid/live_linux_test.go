//go:build linux

package cpuid

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// pinToCPU0 locks the test's goroutine to its OS thread and that thread to
// CPU 0, so that native CPUID answers for the same CPU that
// `taskset -c 0 cpuid` reads. The returned func undoes both.
func pinToCPU0(t testing.TB) (restore func()) {
	t.Helper()
	runtime.LockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		t.Skipf("cannot read the thread's CPU affinity: %v", err)
	}
	var cpu0 unix.CPUSet
	cpu0.Set(0)
	if err := unix.SchedSetaffinity(0, &cpu0); err != nil {
		runtime.UnlockOSThread()
		t.Skipf("cannot pin to CPU 0 (offline or outside this cgroup?): %v", err)
	}
	return func() {
		if err := unix.SchedSetaffinity(0, &old); err != nil {
			t.Errorf("restoring CPU affinity: %v", err)
		}
		runtime.UnlockOSThread()
	}
}

// volatileLeaf reports the leaves whose values change from one execution to
// the next on the same CPU, so that two walks can only agree on their keys:
// 0x80860007 (Transmeta: current core clock, voltage, performance, gate
// delay) and 0xC0000002 (VIA: current temperature, voltage and clock
// ratio). Everything else cpuid walks is fixed for a given CPU, boot and
// kernel: leaf 6 only describes thermal and APERF/MPERF features, whose
// counters are MSRs, not CPUID. Repeated walks on this host's AMD EPYC
// under KVM agreed on every value.
func volatileLeaf(leaf uint32) bool {
	return leaf == 0x8086_0007 || leaf == 0xC000_0002
}

func TestEnumerateMatchesCpuidTool(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("needs x86-64 to execute CPUID")
	}
	const tool = "/usr/bin/cpuid"
	if _, err := os.Stat(tool); err != nil {
		testenv.Missing(t, testenv.CPUID, "cpuid tool not installed: %v", err)
	}
	taskset := testenv.Need(t, testenv.Taskset, "run cpuid on CPU 0")
	defer pinToCPU0(t)()

	native, err := Native()
	if err != nil {
		t.Fatal(err)
	}
	got := Enumerate(native)

	out, err := exec.Command(taskset, "-c", "0", tool, "-1", "-r").Output()
	if err != nil {
		t.Fatalf("taskset -c 0 cpuid -1 -r: %v", err)
	}
	want, err := ParseDump("taskset -c 0 cpuid -1 -r", bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if d := diffLeaves(withoutProcessorIDs(got), withoutProcessorIDs(want), volatileLeaf); d != "" {
		t.Errorf("Enumerate(Native) differs from `taskset -c 0 cpuid -1 -r` (processor IDs aside):\n%s", d)
	}
	if d := diffLeaves(got, want, volatileLeaf); d != "" {
		t.Logf("the processor IDs differ, which a hypervisor may do (see Leaf.WithoutProcessorIDs):\n%s", d)
	}
	t.Logf("%d leaves, identical to cpuid -1 -r", len(got))
}

// withoutProcessorIDs masks every leaf of ls with [Leaf.WithoutProcessorIDs].
func withoutProcessorIDs(ls Leaves) Leaves {
	out := make(Leaves, len(ls))
	for i, l := range ls {
		out[i] = l.WithoutProcessorIDs()
	}
	return out
}

// TestEnumerateStable walks CPU 0 repeatedly: apart from volatileLeaf and
// the processor IDs, the answers must not change, or
// TestEnumerateMatchesCpuidTool would be comparing noise.
func TestEnumerateStable(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("needs x86-64 to execute CPUID")
	}
	defer pinToCPU0(t)()
	native, err := Native()
	if err != nil {
		t.Fatal(err)
	}
	first := Enumerate(native)
	for i := 0; i < 50; i++ {
		if d := diffLeaves(withoutProcessorIDs(Enumerate(native)), withoutProcessorIDs(first), volatileLeaf); d != "" {
			t.Fatalf("walk %d differs from the first:\n%s", i+2, d)
		}
	}
}

func BenchmarkEnumerate(b *testing.B) {
	if runtime.GOARCH != "amd64" {
		b.Skip("needs x86-64 to execute CPUID")
	}
	defer pinToCPU0(b)()
	native, err := Native()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n = len(Enumerate(native))
	}
	b.ReportMetric(float64(n), "leaves")
}
