package feature

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
)

// These tests check the data tables (table.go, aliases.go) on their own:
// they use only words, qemuAliases(), linuxFlags(), libvirtNames(),
// descriptions() and the standard library.

// multiBit lists the names QEMU's table gives to more than one bit, with
// the bits. QEMU turns each into one property covering all its bits
// (x86_cpu_register_bit_prop). Any other repeated name is a table error.
var multiBit = map[string][]int{
	"kvmclock":                  {0, 3},   // FEAT_KVM: CLOCKSOURCE, CLOCKSOURCE2
	"vmx-invept-single-context": {25, 41}, // FEAT_VMX_EPT_VPID_CAPS (41 is INVVPID)
}

// bitRef is one named bit of the table.
type bitRef struct {
	word int // index into words
	bit  int
}

// tableNames maps each canonical name to the bits that carry it.
func tableNames() map[string][]bitRef {
	m := make(map[string][]bitRef)
	for wi, w := range words {
		for b, n := range w.names {
			if n != "" {
				m[n] = append(m[n], bitRef{wi, b})
			}
		}
	}
	return m
}

func readFlagList(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			names = append(names, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// referenceLists returns what each known release prints under
// "Recognized CPUID flags" (qemu-system-x86_64 -cpu help), oldest first,
// from testdata/qemu-RELEASE-cpu-flags.txt.
func referenceLists(t *testing.T) [][]string {
	var lists [][]string
	for _, r := range core.Releases() {
		l := readFlagList(t, fmt.Sprintf("testdata/qemu-%s-cpu-flags.txt", r))
		if len(l) < 100 {
			t.Fatalf("QEMU %s's reference list has %d names: truncated?", r, len(l))
		}
		lists = append(lists, l)
	}
	return lists
}

func TestReferenceNamesInTable(t *testing.T) {
	names := tableNames()
	for _, list := range referenceLists(t) {
		for _, n := range list {
			refs, ok := names[n]
			if !ok {
				t.Errorf("%q is not in the table", n)
				continue
			}
			want, multi := multiBit[n]
			if len(refs) == 1 && !multi {
				continue
			}
			var got []int
			for _, r := range refs {
				if r.word != refs[0].word {
					t.Errorf("%q is in two words: %s and %s", n, words[refs[0].word].qemu, words[r.word].qemu)
				}
				got = append(got, r.bit)
			}
			if !multi || !equalInts(got, want) {
				t.Errorf("%q is at bits %v of %s; only %v may repeat", n, got, words[refs[0].word].qemu, multiBit)
			}
		}
	}
	for n, want := range multiBit {
		var got []int
		for _, r := range names[n] {
			got = append(got, r.bit)
		}
		if !equalInts(got, want) {
			t.Errorf("multi-bit name %q is at bits %v, want %v", n, got, want)
		}
	}
}

func TestNoNameOutsideReferenceLists(t *testing.T) {
	lists, rels := referenceLists(t), core.Releases()
	union := make(map[string]bool)
	for i, l := range lists {
		for _, n := range l {
			union[n] = true
			// No name has gone yet: core/check's release rows list what
			// an older release lacks (absent), never what a newer one
			// dropped. A release that drops a name needs that first.
			if i+1 < len(lists) && !contains(lists[i+1], n) {
				t.Errorf("%q is in the %s list but not in the %s list", n, rels[i], rels[i+1])
			}
		}
	}
	names := tableNames()
	for n := range names {
		if !union[n] {
			t.Errorf("%q is in the table but in neither reference list", n)
		}
	}
	if len(names) != len(union) {
		t.Errorf("table has %d distinct names, reference union %d", len(names), len(union))
	}
}

func TestWordShapes(t *testing.T) {
	type cpuidLoc struct {
		leaf, subleaf uint32
		reg           cpuid.Reg
	}
	seenCPUID := make(map[cpuidLoc]string)
	seenMSR := make(map[uint32]string)
	seenQEMU := make(map[string]bool)
	for _, w := range words {
		if w.qemu == "" || !strings.HasPrefix(w.qemu, "FEAT_") {
			t.Errorf("word %+v has no QEMU FeatureWord name", w.qemu)
		}
		if seenQEMU[w.qemu] {
			t.Errorf("%s appears twice", w.qemu)
		}
		seenQEMU[w.qemu] = true
		if w.msr != 0 {
			if w.leaf != 0 || w.subleaf != 0 || w.reg != 0 {
				t.Errorf("%s: MSR word with a CPUID location", w.qemu)
			}
			if other, ok := seenMSR[w.msr]; ok {
				t.Errorf("%s and %s are both MSR %#x", w.qemu, other, w.msr)
			}
			seenMSR[w.msr] = w.qemu
			if g, ok := tableNames()[w.gate]; !ok || words[g[0].word].msr != 0 {
				t.Errorf("%s: gate %q is not a CPUID feature", w.qemu, w.gate)
			}
			if w.view != viewPlain {
				for b := 32; b < 64; b++ {
					if w.names[b] != "" {
						t.Errorf("%s: bit %d named in a %d-view word (its word has 32 bits)", w.qemu, b, w.view)
					}
				}
			}
			continue
		}
		if w.view != viewPlain || w.gate != "" {
			t.Errorf("%s: CPUID word with an MSR view or gate", w.qemu)
		}
		if w.reg > cpuid.EDX {
			t.Errorf("%s: bad register %d", w.qemu, w.reg)
		}
		l := cpuidLoc{w.leaf, w.subleaf, w.reg}
		if other, ok := seenCPUID[l]; ok {
			t.Errorf("%s and %s are both CPUID %#x.%d %s", w.qemu, other, w.leaf, w.subleaf, w.reg)
		}
		seenCPUID[l] = w.qemu
		for b := 32; b < 64; b++ {
			if w.names[b] != "" {
				t.Errorf("%s: CPUID word names bit %d", w.qemu, b)
			}
		}
	}
	// QEMU 11.1 declares 48 feature words (FEATURE_WORDS; 10.0 had 43).
	if len(words) != 48 {
		t.Errorf("%d words, want 48", len(words))
	}
}

// find returns the word and bit of a single-bit name.
func find(t *testing.T, name string) (word, int) {
	t.Helper()
	refs := tableNames()[name]
	if len(refs) == 0 {
		t.Fatalf("%q not in the table", name)
	}
	return words[refs[0].word], refs[0].bit
}

func checkCPUID(t *testing.T, name string, leaf, subleaf uint32, reg cpuid.Reg, bit int) {
	t.Helper()
	w, b := find(t, name)
	if w.msr != 0 || w.leaf != leaf || w.subleaf != subleaf || w.reg != reg || b != bit {
		t.Errorf("%s is at %s CPUID %#x.%d %s bit %d (msr %#x), want CPUID %#x.%d %s bit %d",
			name, w.qemu, w.leaf, w.subleaf, w.reg, b, w.msr, leaf, subleaf, reg, bit)
	}
}

func checkMSR(t *testing.T, name string, msr uint32, view msrView, bit int) {
	t.Helper()
	w, b := find(t, name)
	if w.msr != msr || w.view != view || b != bit {
		t.Errorf("%s is at %s MSR %#x view %d bit %d, want MSR %#x view %d bit %d",
			name, w.qemu, w.msr, w.view, b, msr, view, bit)
	}
}

func TestKnownLocations(t *testing.T) {
	checkCPUID(t, "fpu", 1, 0, cpuid.EDX, 0)
	checkCPUID(t, "pni", 1, 0, cpuid.ECX, 0)
	checkCPUID(t, "sse4.1", 1, 0, cpuid.ECX, 19)
	checkCPUID(t, "sse4.2", 1, 0, cpuid.ECX, 20)
	checkCPUID(t, "hypervisor", 1, 0, cpuid.ECX, 31)
	checkCPUID(t, "avx512f", 7, 0, cpuid.EBX, 16)
	checkCPUID(t, "sha-ni", 7, 0, cpuid.EBX, 29)
	checkCPUID(t, "avx512vnni", 7, 0, cpuid.ECX, 11)
	checkCPUID(t, "arch-capabilities", 7, 0, cpuid.EDX, 29)
	checkCPUID(t, "avx-vnni", 7, 1, cpuid.EAX, 4)
	checkCPUID(t, "avx10", 7, 1, cpuid.EDX, 19)
	checkCPUID(t, "mcdt-no", 7, 2, cpuid.EDX, 5)
	checkCPUID(t, "xsaves", 0xd, 1, cpuid.EAX, 3)
	checkCPUID(t, "avx10-512", 0x24, 0, cpuid.EBX, 18)
	checkCPUID(t, "intel-pt-lip", 0x14, 0, cpuid.ECX, 31)
	checkCPUID(t, "sgx-aex-notify", 0x12, 1, cpuid.EAX, 10)
	checkCPUID(t, "lm", 0x80000001, 0, cpuid.EDX, 29)
	checkCPUID(t, "lahf-lm", 0x80000001, 0, cpuid.ECX, 0)
	checkCPUID(t, "invtsc", 0x80000007, 0, cpuid.EDX, 8)
	checkCPUID(t, "amd-psfd", 0x80000008, 0, cpuid.EBX, 28)
	checkCPUID(t, "npt", 0x8000000a, 0, cpuid.EDX, 0)
	checkCPUID(t, "srso-user-kernel-no", 0x80000021, 0, cpuid.EAX, 30)
	checkCPUID(t, "perfmon-v2", 0x80000022, 0, cpuid.EAX, 0)
	checkCPUID(t, "pmm-en", 0xc0000001, 0, cpuid.EDX, 13)
	checkCPUID(t, "kvm-asyncpf-int", 0x40000001, 0, cpuid.EAX, 14)
	checkCPUID(t, "kvmclock-stable-bit", 0x40000001, 0, cpuid.EAX, 24)
	checkCPUID(t, "kvm-hint-dedicated", 0x40000001, 0, cpuid.EDX, 0)
	checkCPUID(t, "arat", 6, 0, cpuid.EAX, 2)
	// QEMU 11.1's new words and bits.
	checkCPUID(t, "cet-ss", 7, 0, cpuid.ECX, 7)
	checkCPUID(t, "cet-ibt", 7, 0, cpuid.EDX, 20)
	checkCPUID(t, "movrs", 7, 1, cpuid.EAX, 31)
	checkCPUID(t, "msr-imm", 7, 1, cpuid.ECX, 5)
	checkCPUID(t, "apxf", 7, 1, cpuid.EDX, 21)
	checkCPUID(t, "amx-movrs", 0x1e, 1, cpuid.EAX, 8)
	checkCPUID(t, "avx10-vnni-int", 0x24, 1, cpuid.ECX, 2)
	checkCPUID(t, "apx-nci-ndd-nf", 0x29, 0, cpuid.EBX, 0)
	checkCPUID(t, "prefetchi", 0x80000021, 0, cpuid.EAX, 20)
	checkCPUID(t, "tsa-l1-no", 0x80000021, 0, cpuid.ECX, 2)
	checkCPUID(t, "gmet", 0x8000000a, 0, cpuid.EDX, 17)

	// kvmclock is KVM_FEATURE_CLOCKSOURCE (bit 0) and KVM_FEATURE_CLOCKSOURCE2
	// (bit 3) of CPUID[4000_0001].EAX, both under the one name.
	refs := tableNames()["kvmclock"]
	if len(refs) != 2 {
		t.Fatalf("kvmclock has %d bits, want 2", len(refs))
	}
	for i, want := range []int{0, 3} {
		w := words[refs[i].word]
		if w.leaf != 0x40000001 || w.reg != cpuid.EAX || refs[i].bit != want {
			t.Errorf("kvmclock bit %d is %s %#x %s bit %d", i, w.qemu, w.leaf, w.reg, refs[i].bit)
		}
	}

	// IA32_ARCH_CAPABILITIES, IA32_CORE_CAPABILITIES, IA32_PERF_CAPABILITIES.
	for _, n := range []string{"rdctl-no", "ibrs-all", "mds-no", "taa-no", "fb-clear", "bhi-no", "gds-no", "rfds-clear"} {
		w, _ := find(t, n)
		if w.msr != 0x10a || w.view != viewPlain {
			t.Errorf("%s is in %s (MSR %#x view %d), want MSR 0x10a plain", n, w.qemu, w.msr, w.view)
		}
	}
	checkMSR(t, "rdctl-no", 0x10a, viewPlain, 0)
	checkMSR(t, "fb-clear", 0x10a, viewPlain, 17)
	checkMSR(t, "rfds-clear", 0x10a, viewPlain, 28)
	checkMSR(t, "its-no", 0x10a, viewPlain, 62)
	checkMSR(t, "vmx-mbec", 0x48b, viewCanBeOne, 22)
	checkMSR(t, "vmx-exit-save-cet", 0x48f, viewCanBeOne, 28)
	checkMSR(t, "vmx-entry-load-cet", 0x490, viewCanBeOne, 20)
	checkMSR(t, "split-lock-detect", 0xcf, viewPlain, 5)
	checkMSR(t, "full-width-write", 0x345, viewPlain, 13)

	// VMX control MSRs: the TRUE_* MSRs and PROCBASED_CTLS2, read as
	// "may be 1 but need not be".
	checkMSR(t, "vmx-hlt-exit", 0x48e, viewCanBeOne, 7)
	checkMSR(t, "vmx-secondary-ctls", 0x48e, viewCanBeOne, 31)
	checkMSR(t, "vmx-ept", 0x48b, viewCanBeOne, 1)
	checkMSR(t, "vmx-enable-user-wait-pause", 0x48b, viewCanBeOne, 26)
	checkMSR(t, "vmx-posted-intr", 0x48d, viewCanBeOne, 7)
	checkMSR(t, "vmx-exit-ack-intr", 0x48f, viewCanBeOne, 15)
	checkMSR(t, "vmx-exit-secondary-ctls", 0x48f, viewCanBeOne, 31)
	checkMSR(t, "vmx-entry-ia32e-mode", 0x490, viewCanBeOne, 9)
	checkMSR(t, "vmx-entry-load-fred", 0x490, viewCanBeOne, 23)
	// The VMX capability MSRs are plain, and two of them name high bits.
	checkMSR(t, "vmx-activity-hlt", 0x485, viewPlain, 6)
	checkMSR(t, "vmx-invvpid", 0x48c, viewPlain, 32)
	checkMSR(t, "vmx-invept-single-context-noglobals", 0x48c, viewPlain, 43)
	checkMSR(t, "vmx-ins-outs", 0x480, viewPlain, 54)
	checkMSR(t, "vmx-nested-exception", 0x480, viewPlain, 58)
	checkMSR(t, "vmx-eptp-switching", 0x491, viewPlain, 0)

	for _, w := range words {
		if !strings.HasPrefix(w.qemu, "FEAT_VMX_") {
			continue
		}
		ctl := map[string]uint32{
			"FEAT_VMX_PROCBASED_CTLS": 0x48e,
			"FEAT_VMX_SECONDARY_CTLS": 0x48b,
			"FEAT_VMX_PINBASED_CTLS":  0x48d,
			"FEAT_VMX_EXIT_CTLS":      0x48f,
			"FEAT_VMX_ENTRY_CTLS":     0x490,
		}
		if msr, ok := ctl[w.qemu]; ok {
			if w.msr != msr || w.view != viewCanBeOne {
				t.Errorf("%s: MSR %#x view %d, want %#x viewCanBeOne", w.qemu, w.msr, w.view, msr)
			}
		} else if w.view != viewPlain {
			t.Errorf("%s: view %d, want viewPlain", w.qemu, w.view)
		}
		for _, n := range w.names {
			if n != "" && !strings.HasPrefix(n, "vmx-") {
				t.Errorf("%s names %q", w.qemu, n)
			}
		}
	}
}

func TestMapKeysAreCanonical(t *testing.T) {
	names := tableNames()
	check := func(what string, keys []string) {
		for _, k := range keys {
			if _, ok := names[k]; !ok {
				t.Errorf("%s key %q is not a canonical name", what, k)
			}
		}
	}
	check("qemuAliases()", keysOf(qemuAliases()))
	check("linuxFlags()", keysOf(linuxFlags()))
	check("libvirtNames()", keysOf(libvirtNames()))
	check("descriptions()", keysOf(descriptions()))
	for k, v := range qemuAliases() {
		if len(v) == 0 {
			t.Errorf("qemuAliases()[%q] is empty", k)
		}
	}
	for k, v := range linuxFlags() {
		if v == "" || strings.ContainsAny(v, "-. ") || strings.ToLower(v) != v {
			t.Errorf("linuxFlags()[%q] = %q is not a /proc/cpuinfo spelling", k, v)
		}
	}
	for k, v := range libvirtNames() {
		if v == "" {
			t.Errorf("libvirtNames()[%q] is empty", k)
		}
	}
	for k, v := range descriptions() {
		if v == "" {
			t.Errorf("descriptions()[%q] is empty", k)
		}
	}
	for n := range names {
		if _, ok := descriptions()[n]; !ok {
			t.Errorf("%q has no description", n)
		}
	}
}

// fold is the name folding the registry's lookups use (case-insensitive,
// '_' same as '-'); two spellings that fold together must name the same
// feature.
func fold(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }

func TestNoSpellingCollisions(t *testing.T) {
	names := tableNames()
	type owner struct{ feature, source string }
	for _, f := range []func(string) string{func(s string) string { return s }, fold} {
		seen := make(map[string]owner)
		claim := func(spelling, feature, source string) {
			k := f(spelling)
			if o, ok := seen[k]; ok && o.feature != feature {
				t.Errorf("spelling %q (%s, for %q) collides with %q (%s, for %q)",
					spelling, source, feature, k, o.source, o.feature)
				return
			}
			seen[k] = owner{feature, source}
		}
		for n := range names {
			claim(n, n, "canonical")
		}
		for _, c := range keysOf(qemuAliases()) {
			for _, a := range qemuAliases()[c] {
				claim(a, c, "qemu")
			}
		}
		for _, c := range keysOf(linuxFlags()) {
			claim(linuxFlags()[c], c, "linux")
		}
		for _, c := range keysOf(libvirtNames()) {
			claim(libvirtNames()[c], c, "libvirt")
		}
	}
}

func TestAliasSpotChecks(t *testing.T) {
	for canon, want := range map[string]string{
		"pni":               "pni",
		"lahf-lm":           "lahf_lm",
		"sha-ni":            "sha_ni",
		"avx512vnni":        "avx512_vnni",
		"sse4.1":            "sse4_1",
		"tsc-deadline":      "tsc_deadline_timer",
		"ds":                "dts",
		"xstore":            "rng",
		"pause-filter":      "pausefilter",
		"cr8legacy":         "cr8_legacy",
		"perfmon-v2":        "perfmon_v2",
		"arch-capabilities": "arch_capabilities",
	} {
		if got := linuxFlags()[canon]; got != want {
			t.Errorf("linuxFlags()[%q] = %q, want %q", canon, got, want)
		}
	}
	// Bits Linux does not print, or prints only as a synthetic flag.
	for _, n := range []string{"ibpb", "ibrs", "stibp", "ssbd", "spec-ctrl", "amd-ssbd", "xfd", "sha512",
		"cmpccxadd", "kvmclock", "vmx-ept", "ibrs-all", "split-lock-detect", "invtsc", "pcommit"} {
		if v, ok := linuxFlags()[n]; ok {
			t.Errorf("linuxFlags()[%q] = %q, want no entry", n, v)
		}
	}
	for canon, want := range map[string]string{
		"pclmulqdq":         "pclmuldq",
		"fxsr-opt":          "fxsr_opt",
		"tsc-adjust":        "tsc_adjust",
		"sse4.2":            "sse4.2",
		"split-lock-detect": "split-lock-detect",
		"svm-lock":          "svm-lock",
	} {
		if got := libvirtNames()[canon]; got != want {
			t.Errorf("libvirtNames()[%q] = %q, want %q", canon, got, want)
		}
	}
	for canon, want := range map[string][]string{
		"pni":       {"sse3"},
		"pclmulqdq": {"pclmuldq"},
		"sse4.1":    {"sse4-1", "sse4_1"},
		"nx":        {"xd"},
		"fxsr-opt":  {"ffxsr", "fxsr_opt"},
		"lm":        {"i64"},
	} {
		got := append([]string(nil), qemuAliases()[canon]...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("qemuAliases()[%q] = %v, want %v", canon, got, want)
		}
	}
	n := 0
	for _, v := range qemuAliases() {
		n += len(v)
	}
	if n != 30 {
		t.Errorf("%d QEMU aliases, want the 30 feature aliases of x86_cpu_initfn", n)
	}
}

func keysOf[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWords holds the exported view of the table (Words, LookupWord,
// WordOfMSR, InWord) to the table itself.
func TestWords(t *testing.T) {
	reg := Builtin()
	ws := Words()
	if len(ws) != len(words) {
		t.Fatalf("Words() has %d words, the table %d", len(ws), len(words))
	}
	for i, w := range ws {
		got, ok := LookupWord(w.Name)
		if !ok || got != w {
			t.Errorf("LookupWord(%q) = %+v, %v; want %+v", w.Name, got, ok, w)
		}
		if w.Loc.IsMSR() {
			if got, ok := WordOfMSR(w.Loc.MSR); !ok || got != w {
				t.Errorf("WordOfMSR(%#x) = %+v, %v; want %+v", w.Loc.MSR, got, ok, w)
			}
		}
		var want FeatureSet
		for _, n := range words[i].names {
			if n == "" {
				continue
			}
			id, err := reg.Lookup(n)
			if err != nil {
				t.Fatal(err)
			}
			want = want.Add(id)
		}
		if got := reg.InWord(w, 0, 63); got != want {
			t.Errorf("InWord(%s) = %v, want %v", w.Name, reg.Names(got), reg.Names(want))
		}
	}
	if _, ok := LookupWord("FEAT_NONE"); ok {
		t.Error("LookupWord found FEAT_NONE")
	}
	ept, _ := LookupWord("FEAT_VMX_EPT_VPID_CAPS")
	if got, want := reg.Names(reg.InWord(ept, 32, 63)), []string{"vmx-invept-single-context", "vmx-invept-single-context-noglobals", "vmx-invvpid", "vmx-invvpid-all-context", "vmx-invvpid-single-addr"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("InWord(FEAT_VMX_EPT_VPID_CAPS, 32, 63) = %v, want %v", got, want)
	}
}
