package cpuid

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// The fake CPUs under testdata/fake exercise every walk rule on the kinds of
// machine this host is not: an Intel part with leaf-2 repeats, SGX, PT,
// PCONFIG, AMX, V2 topology and Hyper-V with KVM nested under it
// (intel); an AMD part under Xen with a bogus second hypervisor, AMD cache
// and PQoS subleaves and garbage range maxima (amd-xen); range maxima right
// at cpuid's sanity caps and a leaf 0 that says max 0 (edge-caps); and
// walks whose terminators sit at subleaf 0, plus a chain of five
// hypervisors (edge-terminators).
//
// NAME.table.txt is the fake CPU: every key it lacks reads as zeros.
// NAME.want.txt is what the real cpuid 20230120 printed for it with
// `cpuid -k -1 -r`, its /dev/cpuid reads answered from the table by
// testdata/cpuidshim.c (TestFakeWantsMatchCpuidTool re-checks this). The
// tables keep consecutive subleaves distinct, because `cpuid -k` zeroes a
// subleaf that repeats the previous one ("older kernels do not support
// cpuid ecx control"), which the instruction would not.
var fakeCPUs = []string{"intel", "amd-xen", "edge-caps", "edge-terminators"}

func readDump(t testing.TB, path string) Leaves {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ls, err := ParseDump(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// diffLeaves describes how got differs from want, or returns "".
// skipValues names leaves whose keys must match but whose values may not.
func diffLeaves(got, want Leaves, skipValues func(leaf uint32) bool) string {
	var b strings.Builder
	gm := map[[2]uint32]Leaf{}
	for _, l := range got {
		gm[[2]uint32{l.Leaf, l.Subleaf}] = l
	}
	wm := map[[2]uint32]Leaf{}
	for _, l := range want {
		k := [2]uint32{l.Leaf, l.Subleaf}
		wm[k] = l
		g, ok := gm[k]
		switch {
		case !ok:
			fmt.Fprintf(&b, "missing  0x%08x 0x%02x\n", l.Leaf, l.Subleaf)
		case g != l && (skipValues == nil || !skipValues(l.Leaf)):
			fmt.Fprintf(&b, "differs  0x%08x 0x%02x: got %08x %08x %08x %08x, want %08x %08x %08x %08x\n",
				l.Leaf, l.Subleaf, g.EAX, g.EBX, g.ECX, g.EDX, l.EAX, l.EBX, l.ECX, l.EDX)
		}
	}
	for _, l := range got {
		if _, ok := wm[[2]uint32{l.Leaf, l.Subleaf}]; !ok && !beyondTool(l.Leaf, l.Subleaf) {
			fmt.Fprintf(&b, "extra    0x%08x 0x%02x\n", l.Leaf, l.Subleaf)
		}
	}
	return b.String()
}

func TestEnumerateFakeCPUs(t *testing.T) {
	for _, name := range fakeCPUs {
		t.Run(name, func(t *testing.T) {
			table := readDump(t, filepath.Join("testdata", "fake", name+".table.txt"))
			want := readDump(t, filepath.Join("testdata", "fake", name+".want.txt"))
			got := Enumerate(table.Func())
			if d := diffLeaves(got, want, nil); d != "" {
				t.Errorf("Enumerate differs from cpuid -r:\n%s", d)
			}
		})
	}
}

// TestEnumerateRules spells out the walk rules that are easy to get wrong,
// on the fake CPUs, so that a failure names the rule.
func TestEnumerateRules(t *testing.T) {
	walks := map[string]Leaves{}
	for _, name := range fakeCPUs {
		walks[name] = Enumerate(readDump(t, filepath.Join("testdata", "fake", name+".table.txt")).Func())
	}
	subleaves := func(ls Leaves, leaf uint32) string {
		var s []string
		for _, l := range ls {
			if l.Leaf == leaf {
				s = append(s, fmt.Sprint(l.Subleaf))
			}
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		name, cpu string
		leaf      uint32
		want      string // subleaves walked, in order
	}{
		{"leaf 2 repeats subleaf 0 AL times", "intel", 2, "0 1"},
		{"leaf 4 includes the no-more-caches terminator", "intel", 4, "0 1 2 3 4"},
		{"leaf 4 terminator at subleaf 0", "edge-terminators", 4, "0"},
		{"leaf 7 walks 0 to subleaf 0's EAX", "intel", 7, "0 1 2"},
		{"leaf 0xB includes the invalid level", "intel", 0xb, "0 1 2"},
		{"leaf 0xB invalid at subleaf 0", "edge-terminators", 0xb, "0"},
		{"leaf 0xD follows XCR0 and XSS masks, not 63", "intel", 0xd, "0 1 2 5 6 7 8 9 11 12 16 17 18 32 62"},
		{"leaf 0xD with empty masks", "edge-terminators", 0xd, "0 1"},
		{"leaf 0xF subleaf 1 needs 0xF.0 EDX bit 1", "intel", 0xf, "0 1"},
		{"leaf 0xF without L3 monitoring", "amd-xen", 0xf, "0"},
		{"leaf 0x10 follows the EBX resource mask", "intel", 0x10, "0 1 2 3 31"},
		{"leaf 0x12 until SGX type 0, inclusive", "intel", 0x12, "0 1 2 3 4"},
		{"leaf 0x12 shows 0 1 2 even without SGX", "edge-terminators", 0x12, "0 1 2"},
		{"leaf 0x14 walks 0 to EAX", "intel", 0x14, "0 1"},
		{"leaf 0x17 walks 0 to EAX", "intel", 0x17, "0 1 2 3"},
		{"leaf 0x18 walks 0 to EAX", "intel", 0x18, "0 1 2"},
		{"leaf 0x1B until PCONFIG type 0, inclusive", "intel", 0x1b, "0 1 2"},
		{"leaf 0x1D walks 0 to EAX", "intel", 0x1d, "0 1"},
		{"leaf 0x1E walked to subleaf 0's EAX (beyond cpuid 20230120)", "intel", 0x1e, "0 1"},
		{"leaf 0x1F until level type 0, inclusive", "intel", 0x1f, "0 1 2 3"},
		{"leaf 0x1F never stops at subleaf 0", "edge-terminators", 0x1f, "0 1"},
		{"leaf 0x20 walks 0 to EAX", "intel", 0x20, "0 1"},
		{"leaf 0x23 walks 0 to EAX", "intel", 0x23, "0 1 2 3"},
		{"leaf 0x24 walked to subleaf 0's EAX (beyond cpuid 20230120)", "intel", 0x24, "0 1"},
		{"leaf 0x25 is past the basic maximum", "intel", 0x25, ""},
		{"0x8000001D excludes the terminator", "amd-xen", 0x8000_001d, "0 1 2 3"},
		{"0x8000001D absent when subleaf 0 has type 0", "edge-terminators", 0x8000_001d, ""},
		{"0x80000020 follows the EBX resource mask", "amd-xen", 0x8000_0020, "0 1 2 3 4"},
		{"0x80000026 walked until level type 0 (beyond cpuid 20230120)", "amd-xen", 0x8000_0026, "0 1 2 3 4"},
		{"Xen base+3 has subleaves 0 1 2", "amd-xen", 0x4000_0003, "0 1 2"},
		{"Hyper-V base+3 has subleaf 0 only", "intel", 0x4000_0003, "0"},
		{"KVM max 0 means base+1", "intel", 0x4000_0101, "0"},
		{"walk stops at a base whose max is below it", "intel", 0x4000_0300, ""},
		{"unknown hypervisor past base+0x100 stops the walk", "amd-xen", 0x4000_0101, ""},
		{"no hypervisor walk when leaf 1 was never read", "edge-caps", 0x4000_0000, ""},
		{"Xeon Phi range with a garbage max: base only", "amd-xen", 0x2000_0001, ""},
		{"Xeon Phi range at the 0x20000100 cap", "edge-caps", 0x2000_0100, "0"},
		{"Centaur range above the 0xC0001000 cap: base only", "amd-xen", 0xC000_0001, ""},
		{"Centaur range at the 0xC0001000 cap", "edge-caps", 0xC000_1000, "0"},
		{"extended range with max below 0x80000000: base only", "edge-caps", 0x8000_0000, "0"},
		{"extended range with max below 0x80000000: nothing more", "edge-caps", 0x8000_0001, ""},
		{"Transmeta range walks to its max", "intel", 0x8086_0002, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subleaves(walks[tt.cpu], tt.leaf); got != tt.want {
				t.Errorf("%s leaf %#x: subleaves %q, want %q", tt.cpu, tt.leaf, got, tt.want)
			}
		})
	}
	// Leaf 2's repeats are fresh executions of CPUID(2, 0), filed under
	// subleaf 1, 2, …; they are not CPUID(2, 1).
	intel := walks["intel"]
	l0, _ := intel.Find(2, 0)
	l1, _ := intel.Find(2, 1)
	if l1.EAX != l0.EAX || l1.EBX != l0.EBX || l1.ECX != l0.ECX || l1.EDX != l0.EDX {
		t.Errorf("leaf 2 subleaf 1 = %+v, want a repeat of subleaf 0 %+v", l1, l0)
	}
}

// TestEnumerateBounded feeds a CPU whose every register is all ones: every
// maximum is 0xFFFFFFFF and every subleaf walk's stop condition never
// holds. cpuid would never finish; Enumerate must, within walkLimit.
func TestEnumerateBounded(t *testing.T) {
	calls := 0
	ones := func(leaf, subleaf uint32) Leaf {
		calls++
		return Leaf{Leaf: leaf, Subleaf: subleaf, EAX: ^uint32(0), EBX: ^uint32(0), ECX: ^uint32(0), EDX: ^uint32(0)}
	}
	ls := Enumerate(ones)
	if len(ls) == 0 || len(ls) > 20*walkLimit {
		t.Fatalf("Enumerate returned %d leaves after %d calls", len(ls), calls)
	}
	for i := 1; i < len(ls); i++ {
		a, b := ls[i-1], ls[i]
		if a.Leaf > b.Leaf || (a.Leaf == b.Leaf && a.Subleaf >= b.Subleaf) {
			t.Fatalf("not sorted and unique at %d: %+v then %+v", i, a, b)
		}
	}
	if _, ok := ls.Find(walkLimit-1, 0); !ok {
		t.Errorf("basic range stopped before walkLimit")
	}
	if _, ok := ls.Find(walkLimit, 0); ok {
		t.Errorf("basic range went past walkLimit")
	}
}

// TestFakeWantsMatchCpuidTool re-derives testdata/fake/*.want.txt from the
// installed cpuid by running `cpuid -k -1 -r` with testdata/cpuidshim.c
// preloaded, so the expectations above are the tool's, not ours. It needs
// Linux on x86-64, /usr/bin/cpuid and a C compiler.
//
// To regenerate a want file after changing a table:
//
//	gcc -shared -fPIC -o /tmp/shim.so testdata/cpuidshim.c -ldl
//	CPUID_SHIM_TABLE=testdata/fake/NAME.table.txt LD_PRELOAD=/tmp/shim.so \
//	    cpuid -k -1 -r > testdata/fake/NAME.want.txt
func TestFakeWantsMatchCpuidTool(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("needs linux/amd64 to preload the shim into cpuid")
	}
	const tool = "/usr/bin/cpuid"
	if _, err := os.Stat(tool); err != nil {
		testenv.Missing(t, testenv.CPUID, "cpuid tool not installed: %v", err)
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		cc = testenv.Need(t, testenv.CC, "build the LD_PRELOAD shim")
	}
	shim := filepath.Join(t.TempDir(), "cpuidshim.so")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O2", "-o", shim, filepath.Join("testdata", "cpuidshim.c"), "-ldl").CombinedOutput(); err != nil {
		testenv.Missing(t, testenv.CC, "cannot build the shim: %v\n%s", err, out)
	}
	for _, name := range fakeCPUs {
		t.Run(name, func(t *testing.T) {
			table, err := filepath.Abs(filepath.Join("testdata", "fake", name+".table.txt"))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tool, "-k", "-1", "-r")
			cmd.Env = append(os.Environ(), "CPUID_SHIM_TABLE="+table, "LD_PRELOAD="+shim)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("cpuid -k -1 -r: %v", err)
			}
			got, err := ParseDump("cpuid -k -1 -r", strings.NewReader(string(out)))
			if err != nil {
				t.Fatal(err)
			}
			want := readDump(t, filepath.Join("testdata", "fake", name+".want.txt"))
			if d := diffLeaves(got, want, nil); d != "" {
				t.Errorf("installed cpuid no longer prints %s.want.txt:\n%s", name, d)
			}
		})
	}
}

// TestEnumerateBeyondTool: the walks the issue asks for that cpuid
// 20230120 lacks — 0x1E and 0x24 up to subleaf 0's EAX, 0x80000026 until
// level type 0 — on a made-up CPU that has all three.
func TestEnumerateBeyondTool(t *testing.T) {
	cpu := Leaves{
		{Leaf: 0, EAX: 0x24},
		{Leaf: 0x1e, Subleaf: 0, EAX: 1},
		{Leaf: 0x1e, Subleaf: 1, EAX: 0xabc},
		{Leaf: 0x24, Subleaf: 0, EAX: 2},
		{Leaf: 0x24, Subleaf: 1, EBX: 1},
		{Leaf: 0x24, Subleaf: 2, EBX: 2},
		{Leaf: 0x8000_0000, EAX: 0x8000_0026},
		{Leaf: 0x8000_0026, Subleaf: 0, ECX: 0x0100},
		{Leaf: 0x8000_0026, Subleaf: 1, ECX: 0x0201},
		{Leaf: 0x8000_0026, Subleaf: 2, ECX: 0x0402},
		{Leaf: 0x8000_0026, Subleaf: 3, ECX: 0x0003},
	}
	cpu.Sort()
	got := Enumerate(cpu.Func())
	for _, c := range []struct {
		leaf uint32
		want string
	}{{0x1e, "0 1"}, {0x24, "0 1 2"}, {0x8000_0026, "0 1 2 3"}} {
		var subs []string
		for _, l := range got {
			if l.Leaf == c.leaf {
				subs = append(subs, fmt.Sprint(l.Subleaf))
			}
		}
		if s := strings.Join(subs, " "); s != c.want {
			t.Errorf("leaf %#x: subleaves %q, want %q", c.leaf, s, c.want)
		}
	}
	if l, _ := got.Find(0x1e, 1); l.EAX != 0xabc {
		t.Errorf("0x1E.1 not read: %+v", l)
	}
}
