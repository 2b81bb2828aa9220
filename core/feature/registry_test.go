package feature

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

func TestBuiltinIsCanonicallyOrdered(t *testing.T) {
	r := Builtin()
	fs := r.Features()
	if len(fs) != 407 {
		t.Errorf("%d built-in features, want the 407 of QEMU 11.1 (a superset of 10.0's 382 and 7.2's 319)", len(fs))
	}
	for i, f := range fs {
		if f.ID != ID(i) {
			t.Fatalf("feature %q has ID %d at index %d", f.Name, f.ID, i)
		}
		if i > 0 && fs[i-1].Name >= f.Name {
			t.Fatalf("%q sorts after %q", fs[i-1].Name, f.Name)
		}
	}
}

// TestQEMUNamesLive asks the installed QEMU for its feature list and
// requires every name in the registry.
func TestQEMUNamesLive(t *testing.T) {
	bin := testenv.Need(t, testenv.QEMU, "compare the registry with -cpu help")
	out, err := exec.Command(bin, "-cpu", "help").Output()
	if err != nil {
		t.Fatalf("%s -cpu help: %v", bin, err)
	}
	names := parseCPUHelp(string(out))
	if len(names) < 300 {
		t.Fatalf("parsed only %d names from -cpu help", len(names))
	}
	r := Builtin()
	for _, n := range names {
		id, err := r.Lookup(n)
		if err != nil {
			t.Errorf("QEMU lists %q: %v", n, err)
		} else if r.Name(id) != n {
			t.Errorf("QEMU's canonical %q resolves to %q", n, r.Name(id))
		}
	}
	t.Logf("%s: %d names, all known", bin, len(names))
}

// parseCPUHelp returns the names under "Recognized CPUID flags:".
func parseCPUHelp(out string) []string {
	_, flags, ok := strings.Cut(out, "Recognized CPUID flags:")
	if !ok {
		return nil
	}
	var names []string
	for _, line := range strings.Split(flags, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			break // the next section
		}
		names = append(names, strings.Fields(line)...)
	}
	return names
}

func TestLookup(t *testing.T) {
	r := Builtin()
	for _, c := range []struct{ in, want string }{
		{"sse4.1", "sse4.1"},
		{"sse4_1", "sse4.1"},
		{"sse4-1", "sse4.1"},
		{"SSE4.1", "sse4.1"},
		{"pclmuldq", "pclmulqdq"},
		{"sse3", "pni"},
		{"pni", "pni"},
		{"xd", "nx"},
		{"i64", "lm"},
		{"ffxsr", "fxsr-opt"},
		{"kvm_pv_eoi", "kvm-pv-eoi"},
		{"lahf_lm", "lahf-lm"},
		{"sha_ni", "sha-ni"},
		{"avx512_vnni", "avx512vnni"},
		{"tsc_deadline_timer", "tsc-deadline"},
		{"kvmclock", "kvmclock"},
	} {
		id, err := r.Lookup(c.in)
		if err != nil {
			t.Errorf("Lookup(%q): %v", c.in, err)
			continue
		}
		if got := r.Name(id); got != c.want {
			t.Errorf("Lookup(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLookupSuggests(t *testing.T) {
	r := Builtin()
	for _, c := range []struct{ in, want string }{
		{"avx512", `unknown feature "avx512" (did you mean "avx512f"?)`},
		{"sse4.3", `unknown feature "sse4.3" (did you mean "sse4.1"?)`},
		{"avx-512f", `unknown feature "avx-512f" (did you mean "avx512f"?)`},
		{"kvm-clock", `unknown feature "kvm-clock" (did you mean "kvmclock"?)`},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzzz", `unknown feature "zzzzzzzzzzzzzzzzzzzzzzzzzzzz"`},
	} {
		_, err := r.Lookup(c.in)
		var ue *UnknownError
		if !errors.As(err, &ue) {
			t.Errorf("Lookup(%q) = %v, want an *UnknownError", c.in, err)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Lookup(%q): %q, want %q", c.in, err, c.want)
		}
	}
}

// An UnknownError made outside Lookup has no registry to suggest from.
func TestUnknownErrorZero(t *testing.T) {
	if got := (&UnknownError{Name: "x"}).Error(); got != `unknown feature "x"` {
		t.Errorf("got %q", got)
	}
}

func TestLocations(t *testing.T) {
	r := Builtin()
	for _, c := range []struct {
		name string
		want Location
	}{
		{"sse4.1", Location{Leaf: 1, Reg: cpuid.ECX, Bit: 19}},
		{"avx512f", Location{Leaf: 7, Reg: cpuid.EBX, Bit: 16}},
		{"avx-vnni", Location{Leaf: 7, Subleaf: 1, Reg: cpuid.EAX, Bit: 4}},
		{"xsaveopt", Location{Leaf: 0xd, Subleaf: 1, Reg: cpuid.EAX, Bit: 0}},
		{"lahf-lm", Location{Leaf: 0x80000001, Reg: cpuid.ECX, Bit: 0}},
		{"kvm-pv-eoi", Location{Leaf: 0x40000001, Reg: cpuid.EAX, Bit: 6}},
		{"rdctl-no", Location{MSR: 0x10a, Bit: 0}},
		{"vmx-ept", Location{MSR: 0x48b, Bit: 32 + 1}},
	} {
		id, err := r.Lookup(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Feature(id).Loc; got != c.want {
			t.Errorf("%s at %v, want %v", c.name, got, c.want)
		}
	}
	if got := (Location{Leaf: 7, Reg: cpuid.EBX, Bit: 16}).String(); got != "CPUID[0x7,0].EBX[16]" {
		t.Errorf("Location.String = %q", got)
	}
	if got := (Location{MSR: 0x10a, Bit: 3}).String(); got != "MSR[0x10a][3]" {
		t.Errorf("Location.String = %q", got)
	}
}

// TestEncodeDecodeRoundTrip: for random sets, Decode(Encode(s)) == s, and
// every built-in feature alone encodes to exactly its own bits.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	r := Builtin()
	rnd := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 200; i++ {
		var s FeatureSet
		for id := ID(0); int(id) < r.Len(); id++ {
			if rnd.IntN(3) == 0 {
				s = s.Add(id)
			}
		}
		leaves, msrs := r.Encode(s)
		got := r.Decode(leaves).Union(r.DecodeMSRs(msrs))
		if got != s {
			t.Fatalf("round trip lost %v, gained %v", r.Names(s.Difference(got)), r.Names(got.Difference(s)))
		}
	}
	for _, f := range r.Features() {
		one := SetOf(f.ID)
		leaves, msrs := r.Encode(one)
		bitsSet := 0
		for _, l := range leaves {
			for reg := cpuid.EAX; reg <= cpuid.EDX; reg++ {
				bitsSet += popcount(uint64(l.Reg(reg)))
			}
		}
		for _, v := range msrs {
			bitsSet += popcount(v)
		}
		if want := 1 + len(f.Also); bitsSet != want {
			t.Errorf("%s encodes to %d bits, want %d", f.Name, bitsSet, want)
		}
		if got := r.Decode(leaves).Union(r.DecodeMSRs(msrs)); got != one {
			t.Errorf("%s decodes to %v", f.Name, r.Names(got))
		}
	}
}

func popcount(v uint64) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// TestMultiBitFeature: QEMU names two bits "kvmclock"; the feature is on
// only when both are set.
func TestMultiBitFeature(t *testing.T) {
	r := Builtin()
	id, _ := r.Lookup("kvmclock")
	f := r.Feature(id)
	if len(f.Also) != 1 {
		t.Fatalf("kvmclock has %d extra bits, want 1 (CLOCKSOURCE and CLOCKSOURCE2)", len(f.Also))
	}
	leaf := func(eax uint32) cpuid.Leaves {
		return cpuid.Leaves{{Leaf: 0x40000001, EAX: eax}}
	}
	for _, c := range []struct {
		eax  uint32
		want bool
	}{{0b1001, true}, {0b0001, false}, {0b1000, false}, {0, false}} {
		s := r.Decode(leaf(c.eax))
		if s.Has(id) != c.want {
			t.Errorf("eax=%#b: kvmclock %v, want %v", c.eax, s.Has(id), c.want)
		}
	}
}

func TestDecodeMSRViews(t *testing.T) {
	r := Builtin()
	ept, _ := r.Lookup("vmx-ept")
	// IA32_VMX_PROCBASED_CTLS2 (0x48b): allowed-1 bits are the high half.
	s := r.DecodeMSRs(map[uint32]uint64{0x48b: 1 << (32 + 1)})
	if !s.Has(ept) {
		t.Errorf("vmx-ept not decoded from allowed-1 bit 33 of MSR 0x48b")
	}
	if s := r.DecodeMSRs(map[uint32]uint64{0x48b: 1 << 1}); s.Has(ept) {
		t.Errorf("vmx-ept decoded from the allowed-0 half")
	}
}

func TestExtend(t *testing.T) {
	r := Builtin()
	zx := []Feature{
		{Name: "zx-sm2", Loc: Location{Leaf: 0xC0000001, Reg: cpuid.EDX, Bit: 0}, Aliases: []Alias{{"sm2", Linux}}},
	}
	// 0xC0000001 EDX bit 0 is taken? Find a free Centaur bit instead.
	free := Location{Leaf: 0xC0000006, Reg: cpuid.EAX, Bit: 5}
	zx[0].Loc = free
	n, err := r.Extend("zhaoxin.wasm", zx...)
	if err != nil {
		t.Fatal(err)
	}
	if n.Len() != r.Len()+1 || r.Len() != 407 {
		t.Fatalf("lengths %d → %d", r.Len(), n.Len())
	}
	id, err := n.Lookup("sm2")
	if err != nil || n.Name(id) != "zx-sm2" || n.Feature(id).Source != "zhaoxin.wasm" {
		t.Fatalf("Lookup(sm2) = %v, %v", id, err)
	}
	if got := n.Decode(cpuid.Leaves{{Leaf: 0xC0000006, EAX: 1 << 5}}); !got.Has(id) {
		t.Errorf("plugin feature not decoded")
	}
	if _, err := r.Lookup("sm2"); err == nil {
		t.Errorf("Extend changed the original registry")
	}

	_, err = r.Extend("bad.wasm", Feature{Name: "avx2", Loc: Location{Leaf: 0xC0000006, Reg: cpuid.EAX, Bit: 6}})
	if err == nil || !strings.Contains(err.Error(), `feature name "avx2" of feature "avx2" of plugin bad.wasm clashes with built-in feature "avx2"`) {
		t.Errorf("name clash: %v", err)
	}
	_, err = r.Extend("bad.wasm", Feature{Name: "my-sse41", Loc: Location{Leaf: 1, Reg: cpuid.ECX, Bit: 19}})
	if err == nil || !strings.Contains(err.Error(), `which built-in feature "sse4.1" already names`) {
		t.Errorf("location clash: %v", err)
	}

	// A plugin written before QEMU 11.1 named CPUID[0x1E,1].EAX[0]
	// "amx-int8-mirror", with 11.1's spelling as an alias: the built-in
	// feature stands and takes the plugin's name.
	old, err := r.Extend("intel.wasm", Feature{Name: "amx-int8-mirror", Loc: Location{Leaf: 0x1e, Subleaf: 1, Reg: cpuid.EAX, Bit: 0},
		Aliases: []Alias{{"amx-int8-alias", Linux}}})
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := r.Lookup("amx-int8-alias")
	if id, err := old.Lookup("amx-int8-mirror"); err != nil || id != builtin || old.Len() != r.Len() {
		t.Errorf("superseded plugin feature: Lookup = %v, %v (want %v); %d features, want %d", id, err, builtin, old.Len(), r.Len())
	}
}

// TestReferenceListMatchesInstalledQEMU keeps the checked-in QEMU lists
// (generated by `qemu-system-x86_64 -cpu help`) and the live output of
// each installed release in step: the system's QEMU (7.2), and the
// releases scripts/qemu-release.sh unpacks under /opt (5.2 reads the
// same flags table the others do; its list is the one that lacks most).
func TestReferenceListMatchesInstalledQEMU(t *testing.T) {
	for _, c := range []struct {
		req testenv.Req
		rel string
	}{{testenv.QEMU, "7.2"}, {testenv.QEMU52, "5.2"}} {
		t.Run(c.rel, func(t *testing.T) {
			bin := testenv.Need(t, c.req, "compare the reference list with -cpu help")
			out, err := exec.Command(bin, "--version").Output()
			if err != nil {
				t.Fatal(err)
			}
			v, _, _ := strings.Cut(strings.TrimPrefix(string(out), "QEMU emulator version "), " ")
			rel, err := core.ParseRelease(v)
			if err != nil {
				testenv.Missing(t, c.req, "no reference list for %s: %v", strings.TrimSpace(string(out)), err)
			}
			file := fmt.Sprintf("testdata/qemu-%s-cpu-flags.txt", rel)
			ref, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			help, _ := exec.Command(bin, "-cpu", "help").Output()
			live := parseCPUHelp(string(help))
			slices.Sort(live)
			live = slices.Compact(live)
			want := strings.Fields(string(ref))
			if !slices.Equal(live, want) {
				t.Errorf("%s differs from the live -cpu help (%d vs %d names): regenerate it", file, len(want), len(live))
			}
		})
	}
}

var decodeSink FeatureSet

func BenchmarkDecodeDump(b *testing.B) {
	f, err := os.Open("../../testdata/hosts/this-machine.cpuid.txt")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	leaves, err := cpuid.ParseDump(f.Name(), f)
	if err != nil {
		b.Fatal(err)
	}
	r := Builtin()
	b.ReportAllocs()
	b.ReportMetric(float64(len(leaves)), "leaves")
	for b.Loop() {
		decodeSink = r.Decode(leaves)
	}
}

func BenchmarkLookupAlias(b *testing.B) {
	r := Builtin()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Lookup("sse4_1"); err != nil {
			b.Fatal(err)
		}
	}
}
