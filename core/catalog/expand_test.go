package catalog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// qemuMasks is each single feature that the rules name, at the bit QEMU's
// cpu.h masks put it (CPUID_*, VMX_* defines; the VMX control words live
// at MSR bit 32+n, see core/feature's viewCanBeOne). It is a second,
// independent reading of cpu.h, not a second declaration of the rules.
var qemuMasks = map[string]string{
	"arch-capabilities":          "CPUID[0x7,0].EDX[29]",
	"core-capability":            "CPUID[0x7,0].EDX[30]",
	"pdcm":                       "CPUID[0x1,0].ECX[15]",
	"vmx":                        "CPUID[0x1,0].ECX[5]",
	"lm":                         "CPUID[0x80000001,0].EDX[29]",
	"vmx-entry-ia32e-mode":       "MSR[0x490][41]", // VMX_VM_ENTRY_IA32E_MODE 0x200
	"vmx-secondary-ctls":         "MSR[0x48e][63]", // VMX_CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
	"xsaves":                     "CPUID[0xd,1].EAX[3]",
	"vmx-xsaves":                 "MSR[0x48b][52]", // 0x00100000
	"rdrand":                     "CPUID[0x1,0].ECX[30]",
	"vmx-rdrand-exit":            "MSR[0x48b][43]", // 0x00000800
	"invpcid":                    "CPUID[0x7,0].EBX[10]",
	"vmx-invpcid-exit":           "MSR[0x48b][44]", // 0x00001000
	"mpx":                        "CPUID[0x7,0].EBX[14]",
	"vmx-exit-clear-bndcfgs":     "MSR[0x48f][55]", // 0x00800000
	"vmx-entry-load-bndcfgs":     "MSR[0x490][48]", // 0x00010000
	"rdseed":                     "CPUID[0x7,0].EBX[18]",
	"vmx-rdseed-exit":            "MSR[0x48b][48]", // 0x00010000
	"intel-pt":                   "CPUID[0x7,0].EBX[25]",
	"rdtscp":                     "CPUID[0x80000001,0].EDX[27]",
	"vmx-rdtscp-exit":            "MSR[0x48b][35]", // 0x00000008
	"vmx-ept":                    "MSR[0x48b][33]", // 0x00000002
	"vmx-unrestricted-guest":     "MSR[0x48b][39]", // 0x00000080
	"vmx-vpid":                   "MSR[0x48b][37]", // 0x00000020
	"vmx-vmfunc":                 "MSR[0x48b][45]", // 0x00002000
	"svm":                        "CPUID[0x80000001,0].ECX[2]",
	"waitpkg":                    "CPUID[0x7,0].ECX[5]",
	"vmx-enable-user-wait-pause": "MSR[0x48b][58]", // 0x04000000
	"fred":                       "CPUID[0x7,1].EAX[17]",
	"lkgs":                       "CPUID[0x7,1].EAX[18]",
	"wrmsrns":                    "CPUID[0x7,1].EAX[19]",
	"sgx":                        "CPUID[0x7,0].EBX[2]",
	"sgxlc":                      "CPUID[0x7,0].ECX[30]",
	"avx10-128":                  "CPUID[0x24,0].EBX[16]",
	"avx10-256":                  "CPUID[0x24,0].EBX[17]",
	"avx10-512":                  "CPUID[0x24,0].EBX[18]",
	"avx10":                      "CPUID[0x7,1].EDX[19]",
	// 11.1's entries (masks as decoded from its binary's
	// feature_dependencies[]).
	"vmx-mbec":            "MSR[0x48b][54]", // VMX_SECONDARY_EXEC_MODE_BASED_EPT_EXEC 0x00400000
	"apxf":                "CPUID[0x7,1].EDX[21]",
	"vmx-entry-load-fred": "MSR[0x490][55]", // VMX_VM_ENTRY_LOAD_IA32_FRED 0x00800000
}

func TestExpandRulesNameQEMUBits(t *testing.T) {
	reg := feature.Builtin()
	check := func(name string) {
		t.Helper()
		id, err := reg.Lookup(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		f := reg.Feature(id)
		if f.Name != name {
			t.Errorf("%s is an alias of %s; the rules use canonical names", name, f.Name)
		}
		want, ok := qemuMasks[name]
		if !ok {
			t.Errorf("%s: no cpu.h mask recorded in qemuMasks", name)
			return
		}
		if got := f.Loc.String(); got != want || len(f.Also) != 0 {
			t.Errorf("%s is at %s (also %v), cpu.h says %s", name, got, f.Also, want)
		}
	}
	for _, d := range featureDependencies {
		for _, n := range d.from {
			check(n)
		}
		for _, n := range d.to.names {
			check(n)
		}
	}
	for _, rel := range core.Releases() {
		r, err := compileRules(reg, rel)
		if err != nil {
			t.Fatal(err)
		}
		want := map[core.Release]int{qemu52: 21, qemu72: 24, qemu100: 36, qemu111: 39}[rel]
		if len(r.deps) != want {
			t.Errorf("QEMU %s: %d dependencies, feature_dependencies[] has %d", rel, len(r.deps), want)
		}
		for i, d := range r.deps {
			if d.From.IsEmpty() || d.To.IsEmpty() {
				t.Errorf("QEMU %s: dependency %d selects nothing", rel, i)
			}
		}
	}
	// Whole-word targets: every bit in the word, nothing else.
	for _, name := range []featWord{featVMXProcbased, featVMXSecondary, featSVM, feat240EBX} {
		w, ok := feature.LookupWord(string(name))
		if !ok {
			t.Fatalf("no feature word %s", name)
		}
		s := reg.InWord(w, 0, 63)
		for id := range s.All() {
			f := reg.Feature(id)
			if l := w.Loc; l.MSR != 0 && f.Loc.MSR != l.MSR || l.MSR == 0 && (f.Loc.Leaf != l.Leaf || f.Loc.Subleaf != l.Subleaf || f.Loc.Reg != l.Reg) {
				t.Errorf("%s holds %s at %s", w.Name, f.Name, f.Loc)
			}
		}
	}
}

// TestReleaseTables: every release core knows has a row in this
// package's tables (expandSources), and no row is of a release core
// does not know.
func TestReleaseTables(t *testing.T) {
	for _, rel := range core.Releases() {
		if _, ok := expandSources[rel]; !ok {
			t.Errorf("QEMU %s: no row in expandSources (see RATIONALE.md, \"How to add a QEMU release\")", rel)
		}
	}
	if len(expandSources) != len(core.Releases()) {
		t.Errorf("expandSources has %d releases, core.Releases %d", len(expandSources), len(core.Releases()))
	}
}

// TestUnknownRelease: a release without expansion rules is an error
// naming the known ones, from the catalog's entry points as from core.
func TestUnknownRelease(t *testing.T) {
	if _, err := compileRules(feature.Builtin(), core.Release{Major: 9, Minor: 2}); !errors.Is(err, core.ErrUnknownRelease) {
		t.Errorf("compileRules(9.2): %v, want core.ErrUnknownRelease", err)
	}
	c := &Catalog{name: "x", qemuVersion: "9.2.0"}
	if _, err := c.release(); err == nil || err.Error() != `unknown QEMU release "9.2.0" (known: `+core.KnownReleases()+`)` {
		t.Errorf("release() of QEMU 9.2.0: %v", err)
	}
}

// rel parses a release the tests name.
func rel(t *testing.T, v string) core.Release {
	t.Helper()
	r, err := core.ParseRelease(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSet(t *testing.T, reg *feature.Registry, names string) feature.FeatureSet {
	t.Helper()
	s, err := reg.Set(strings.Fields(names)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestApplyDependencies(t *testing.T) {
	reg := feature.Builtin()
	cases := []struct {
		qemu, in, want string
	}{
		// vmx off clears every VMX word, and the chain below it.
		{"7.2", "lm vmx-ept vmx-invept vmx-secondary-ctls vmx-eptp-switching vmx-entry-ia32e-mode", "lm"},
		// vmx-secondary-ctls off clears the secondary word; then vmx-ept
		// and vmx-vpid are off, so the EPT/VPID capabilities go too.
		{"7.2", "vmx lm vmx-ept vmx-vpid vmx-vmfunc vmx-invept vmx-invvpid vmx-eptp-switching vmx-entry-ia32e-mode",
			"vmx lm vmx-entry-ia32e-mode"},
		// EPT off clears the low half of the capabilities (and the
		// two-bit vmx-invept-single-context with it) and
		// unrestricted-guest; VPID keeps the high half.
		{"10.0", "vmx vmx-secondary-ctls vmx-vpid vmx-unrestricted-guest vmx-invept vmx-invvpid vmx-invept-single-context",
			"vmx vmx-secondary-ctls vmx-vpid vmx-invvpid"},
		{"10.0", "vmx vmx-secondary-ctls vmx-ept vmx-invept vmx-invvpid vmx-invept-single-context",
			"vmx vmx-secondary-ctls vmx-ept vmx-invept"},
		// waitpkg → vmx-enable-user-wait-pause exists in 10.0 only.
		{"7.2", "vmx vmx-secondary-ctls vmx-enable-user-wait-pause", "vmx vmx-secondary-ctls vmx-enable-user-wait-pause"},
		{"10.0", "vmx vmx-secondary-ctls vmx-enable-user-wait-pause", "vmx vmx-secondary-ctls"},
		// The AVX10 chain, in table order: 128 off clears 256, which
		// clears 512; no vector length left clears avx10.
		{"10.0", "avx10 avx10-256 avx10-512", ""},
		{"10.0", "avx10 avx10-128 avx10-512", "avx10 avx10-128"},
		{"10.0", "avx10-128 avx10-256", ""},
		{"7.2", "avx10 avx10-256", "avx10 avx10-256"},
		// FRED needs lm, lkgs and wrmsrns (10.0).
		{"10.0", "fred lkgs wrmsrns", "lkgs wrmsrns"},
		{"10.0", "fred lm lkgs wrmsrns", "fred lm lkgs wrmsrns"},
		{"7.2", "fred lkgs", "fred lkgs"},
		// SGX (10.0): sgxlc and the leaf 0x12 words.
		{"10.0", "sgxlc sgx1 sgx-exinfo sgx-debug", ""},
		{"7.2", "sgxlc sgx1 sgx-exinfo sgx-debug", "sgxlc sgx1 sgx-exinfo sgx-debug"},
		// Words behind CPUID bits.
		{"7.2", "rdctl-no split-lock-detect full-width-write intel-pt-lip npt vgif", ""},
		{"7.2", "arch-capabilities rdctl-no core-capability split-lock-detect pdcm full-width-write intel-pt intel-pt-lip svm npt",
			"arch-capabilities rdctl-no core-capability split-lock-detect pdcm full-width-write intel-pt intel-pt-lip svm npt"},
		// 5.2 lacks mpx → the VMX BNDCFGS controls and intel-pt → leaf
		// 0x14, which 7.2 has.
		{"5.2", "vmx vmx-exit-clear-bndcfgs vmx-entry-load-bndcfgs intel-pt-lip", "vmx vmx-exit-clear-bndcfgs vmx-entry-load-bndcfgs intel-pt-lip"},
		{"7.2", "vmx vmx-exit-clear-bndcfgs vmx-entry-load-bndcfgs intel-pt-lip", "vmx"},
		{"5.2", "lm vmx-ept vmx-invept vmx-secondary-ctls vmx-entry-ia32e-mode npt", "lm"},
		// No xsave dependency: the 0xD.1 word stays.
		{"10.0", "xsaveopt xsavec xsaves", "xsaveopt xsavec xsaves"},
	}
	for _, c := range cases {
		got := applyDependencies(reg, mustSet(t, reg, c.in), rel(t, c.qemu))
		want := mustSet(t, reg, c.want)
		if got != want {
			t.Errorf("QEMU %s: applyDependencies(%s) = %v, want %v", c.qemu, c.in, reg.Names(got), reg.Names(want))
		}
	}
}

// TestProbeGroups: the groups partition the absent features, and no
// group holds a dependency's dependent together with all its from
// features (vmx-secondary-ctls clears vmx-ept, so they are probed apart).
func TestProbeGroups(t *testing.T) {
	reg := feature.Builtin()
	for _, qemu := range []string{"7.2.0", "10.0.0"} {
		deps, err := FeatureDependencies(reg, rel(t, qemu))
		if err != nil {
			t.Fatal(err)
		}
		var absent feature.FeatureSet
		for _, d := range deps {
			absent = absent.Union(d.From)
		}
		groups := ProbeGroups(deps, absent)
		var union feature.FeatureSet
		for i, g := range groups {
			if !union.Intersect(g).IsEmpty() {
				t.Errorf("QEMU %s: group %d %v overlaps an earlier one", qemu, i, reg.Names(g))
			}
			union = union.Union(g)
			for _, d := range deps {
				if !d.To.Intersect(g).IsEmpty() && d.From.SubsetOf(g) {
					t.Errorf("QEMU %s: group %d %v holds %v and what it clears", qemu, i, reg.Names(g), reg.Names(d.From))
				}
			}
		}
		if union != absent {
			t.Errorf("QEMU %s: groups cover %v, want %v", qemu, reg.Names(union), reg.Names(absent))
		}
		if len(groups) < 2 || len(groups) >= absent.Count() {
			t.Errorf("QEMU %s: %d groups for %d features", qemu, len(groups), absent.Count())
		}
		sec, ept := mustSet(t, reg, "vmx-secondary-ctls"), mustSet(t, reg, "vmx-ept")
		for _, g := range groups {
			if !g.Intersect(sec).IsEmpty() && !g.Intersect(ept).IsEmpty() {
				t.Errorf("QEMU %s: vmx-secondary-ctls and vmx-ept in one group %v", qemu, reg.Names(g))
			}
		}
	}
}

func TestAutoLevels(t *testing.T) {
	reg := feature.Builtin()
	u := func(v uint32) *uint32 { return &v }
	full := LevelInput{MinLevel: 1, MinXLevel: 0x80000001, FullCPUIDAutoLevel: true, IntelPTAutoLevel: true, VendorCPUIDOnly: true}
	old := LevelInput{MinLevel: 1}
	cases := []struct {
		qemu  string
		in    LevelInput
		feats string
		want  [4]uint32 // level, xlevel, xlevel2, level-func7
	}{
		{"7.2", full, "", [4]uint32{1, 0x80000001, 0, 0}},
		{"7.2", full, "arat", [4]uint32{6, 0x80000001, 0, 0}},
		{"7.2", full, "md-clear", [4]uint32{1, 0x80000001, 0, 0}}, // FEAT_7_0_EDX is never adjusted
		{"7.2", full, "avx-vnni xsaveopt", [4]uint32{0xd, 0x80000001, 0, 1}},
		{"7.2", full, "avx-vnni-int8 mcdt-no", [4]uint32{1, 0x80000001, 0, 0}}, // no 7.1/7.2 EDX words in 7.2
		{"10.0", full, "avx-vnni-int8 mcdt-no", [4]uint32{7, 0x80000001, 0, 2}},
		{"10.0", full, "avx10", [4]uint32{0x24, 0x80000001, 0, 1}},
		{"7.2", full, "intel-pt sgx", [4]uint32{0x14, 0x80000001, 0, 0}},
		{"7.2", LevelInput{MinLevel: 0xd, FullCPUIDAutoLevel: true}, "intel-pt", [4]uint32{0xd, 0, 0, 0}},
		{"7.2", full, "sgx", [4]uint32{0x12, 0x80000001, 0, 0}},
		{"7.2", full, "svm xstore invtsc", [4]uint32{1, 0x8000000a, 0xc0000001, 0}},
		{"7.2", full, "lfence-always-serializing", [4]uint32{1, 0x80000001, 0, 0}},
		{"10.0", full, "lfence-always-serializing", [4]uint32{1, 0x80000021, 0, 0}},
		{"10.0", full, "overflow-recov perfmon-v2", [4]uint32{1, 0x80000001, 0, 0}},
		// full-cpuid-auto-level off: only FEAT_7_0_EBX.
		{"10.0", old, "avx512f arat svm avx-vnni avx10 intel-pt", [4]uint32{7, 0, 0, 0}},
		{"10.0", old, "avx512vbmi", [4]uint32{1, 0, 0, 0}},
		// Explicit values win, even below the minimum.
		{"10.0", LevelInput{MinLevel: 0xd, FullCPUIDAutoLevel: true, Level: u(3), XLevel: u(0x80000004), XLevel2: u(0), LevelFunc7: u(0)},
			"avx512f avx-vnni svm", [4]uint32{3, 0x80000004, 0, 0}},
		// Extended topology: 0x1F for Intel, or any vendor without
		// x-vendor-cpuid-only; SEV: 0x8000001F.
		{"10.0", LevelInput{MinLevel: 0xd, FullCPUIDAutoLevel: true, ExtendedTopology: true, Vendor: "GenuineIntel", VendorCPUIDOnly: true}, "", [4]uint32{0x1f, 0, 0, 0}},
		{"10.0", LevelInput{MinLevel: 0xd, FullCPUIDAutoLevel: true, ExtendedTopology: true, Vendor: "AuthenticAMD", VendorCPUIDOnly: true}, "", [4]uint32{0xd, 0, 0, 0}},
		{"7.2", LevelInput{MinLevel: 0xd, FullCPUIDAutoLevel: true, ExtendedTopology: true, Vendor: "AuthenticAMD"}, "", [4]uint32{0x1f, 0, 0, 0}},
		{"7.2", LevelInput{MinLevel: 0xd, MinXLevel: 0x8000000a, FullCPUIDAutoLevel: true, SEV: true}, "", [4]uint32{0xd, 0x8000001f, 0, 0}},
		// 5.2 has no x-vendor-cpuid-only (dies alone raise the level) and
		// no SGX level rule.
		{"5.2", LevelInput{MinLevel: 0xd, FullCPUIDAutoLevel: true, ExtendedTopology: true, Vendor: "AuthenticAMD", VendorCPUIDOnly: true}, "", [4]uint32{0x1f, 0, 0, 0}},
		{"5.2", full, "sgx", [4]uint32{7, 0x80000001, 0, 0}},
		{"5.2", full, "avx512-bf16 xsaveopt", [4]uint32{0xd, 0x80000001, 0, 1}},
	}
	for _, c := range cases {
		s := mustSet(t, reg, c.feats)
		_, l, _ := levelsOf(reg, s, rel(t, c.qemu), c.in)
		if got := [4]uint32{l.level, l.xlevel, l.xlevel2, l.func7}; got != c.want {
			t.Errorf("QEMU %s: levels of {%s} = %#x, want %#x", c.qemu, c.feats, got, c.want)
		}
	}
}

// ---- Validation against the real QEMU binaries ----

// qemuCandidates are where QEMU may be: $PATH, the system's, and each
// known release's own prefix (scripts/qemu-release.sh unpacks 5.2 and
// 10.0 into /opt/qemu-5.2 and /opt/qemu-10.0). The version of each decides which release it checks.
func qemuCandidates() []string {
	c := []string{"qemu-system-x86_64", "/usr/bin/qemu-system-x86_64"}
	for _, r := range core.Releases() {
		c = append(c, "/opt/qemu-"+r.String()+"/bin/qemu-system-x86_64")
	}
	return c
}

type qemuBinary struct {
	path     string
	version  string
	rel      core.Release
	machines map[string]bool
}

func findQEMUBinaries(t *testing.T) []qemuBinary {
	seen := map[string]bool{}
	byRel := map[core.Release]qemuBinary{}
	for _, c := range qemuCandidates() {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		out, err := exec.Command(p, "-version").Output()
		if err != nil {
			t.Logf("%s -version: %v", p, err)
			continue
		}
		m := regexp.MustCompile(`version (\d+\.\d+\.\d+)`).FindSubmatch(out)
		if m == nil {
			continue
		}
		rel, err := core.ParseRelease(string(m[1]))
		if err != nil {
			t.Logf("%s: %v", p, err)
			continue
		}
		if _, dup := byRel[rel]; dup {
			continue
		}
		out, err = exec.Command(p, "-machine", "help").Output()
		if err != nil {
			continue
		}
		machines := map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				machines[f[0]] = true
			}
		}
		byRel[rel] = qemuBinary{path: p, version: string(m[1]), rel: rel, machines: machines}
	}
	var bins []qemuBinary
	for _, rel := range core.Releases() {
		if b, ok := byRel[rel]; ok {
			bins = append(bins, b)
		} else {
			req := map[core.Release]testenv.Req{qemu52: testenv.QEMU52, qemu72: testenv.QEMU, qemu100: testenv.QEMU10, qemu111: testenv.QEMU111}[rel]
			testenv.Want(t, req, "QEMU "+rel.String()+" is not compared")
		}
	}
	return bins
}

// qmpConn is a QEMU process driven over QMP on its stdio.
type qmpConn struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	cancel context.CancelFunc
}

func startQMP(bin, machine, accel string) (*qmpConn, error) {
	// A guard against a hung QEMU, not a speed limit: one session sends
	// up to ~2,600 expansions, which took over 3 minutes (the former
	// limit) on two cores shared with seven other test suites (load 35).
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "-machine", machine, "-accel", accel,
		"-nodefaults", "-no-user-config", "-display", "none", "-S", "-qmp", "stdio")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	q := &qmpConn{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16), stderr: &stderr, cancel: cancel}
	if _, err := q.readLine(); err != nil { // greeting
		q.close()
		return nil, fmt.Errorf("%s: %v: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	if _, err := q.run([][]byte{[]byte(`{"execute":"qmp_capabilities"}`)}); err != nil {
		q.close()
		return nil, err
	}
	return q, nil
}

// readLine returns the next line that is not an event.
func (q *qmpConn) readLine() ([]byte, error) {
	for {
		line, err := q.out.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if !bytes.HasPrefix(line, []byte(`{"timestamp"`)) {
			return line, nil
		}
	}
}

// run sends every request without waiting (QMP answers in order) and
// returns the answers' lines. An "error" answer is an error.
func (q *qmpConn) run(reqs [][]byte) ([][]byte, error) {
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(q.in, 1<<16)
		for _, r := range reqs {
			w.Write(r)
			w.WriteByte('\n')
		}
		werr <- w.Flush()
	}()
	resps := make([][]byte, len(reqs))
	var rerr error
	for i := range reqs {
		line, err := q.readLine()
		if err != nil {
			rerr = fmt.Errorf("reading answer %d of %d: %v", i+1, len(reqs), err)
			break
		}
		if bytes.HasPrefix(line, []byte(`{"error"`)) {
			if rerr == nil {
				rerr = fmt.Errorf("QMP %s: %s", reqs[i], line)
			}
			continue
		}
		resps[i] = line
	}
	if err := <-werr; err != nil && rerr == nil {
		rerr = err
	}
	return resps, rerr
}

func (q *qmpConn) close() {
	q.in.Close()
	q.cancel() // kills the process
	q.cmd.Wait()
}

// expansionReq is a query-cpu-model-expansion (type "full") request.
func expansionReq(model string, props map[string]any) []byte {
	m := map[string]any{"name": model}
	if len(props) > 0 {
		m["props"] = props
	}
	b, err := json.Marshal(map[string]any{
		"execute":   "query-cpu-model-expansion",
		"arguments": map[string]any{"type": "full", "model": m},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// expansion is what the checks need from a full expansion.
type expansion struct {
	features                  feature.FeatureSet
	level, xlevel, xlevel2    uint32
	minLevel, minX, minX2     uint32
	func7                     uint32
	fullAuto, ptAuto, vendOnl bool
	// 11.1: x-force-cpuid-0x1f, pmu, x-pdcm-on-even-without-pmu (absent
	// before 11.1: pdcmEven then reads true, 10.0's behaviour).
	force1F, pmu, pdcmEven bool
	force                  bool
	vendor                 string
}

// propIndex maps one QEMU binary's property names to features. It is
// built from one answer and reused for all (the property list does not
// depend on the model).
type propIndex struct {
	feat  map[string]feature.ID // boolean props that name a feature
	keys  map[string]bool       // every property
	known feature.FeatureSet    // features this QEMU has a property for
}

// scanProps calls fn for each member of the "props" object of a
// query-cpu-model-expansion answer. Values are the raw JSON text. The
// answer is flat (every prop is a scalar); a small scanner keeps the
// thousands of answers cheap to read, under -race too.
func scanProps(line []byte, fn func(key, val []byte)) error {
	i := bytes.Index(line, []byte(`"props": {`))
	if i < 0 {
		return fmt.Errorf("no props in %.200s", line)
	}
	b := line[i+len(`"props": {`):]
	for {
		b = bytes.TrimLeft(b, " ,")
		if len(b) == 0 {
			return errors.New("truncated props")
		}
		if b[0] == '}' {
			return nil
		}
		if b[0] != '"' {
			return fmt.Errorf("props: unexpected %.40q", b)
		}
		e := bytes.IndexByte(b[1:], '"')
		if e < 0 {
			return errors.New("props: unterminated key")
		}
		key := b[1 : 1+e]
		b = bytes.TrimLeft(b[2+e:], ": ")
		if len(b) == 0 {
			return errors.New("truncated props")
		}
		var n int
		switch b[0] {
		case '"':
			n = 1
			for {
				j := bytes.IndexByte(b[n:], '"')
				if j < 0 {
					return errors.New("props: unterminated string")
				}
				n += j + 1
				bs := 0
				for k := n - 2; k > 0 && b[k] == '\\'; k-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
			}
		case '{', '[':
			return fmt.Errorf("props: %s is not a scalar", key)
		default:
			n = bytes.IndexAny(b, ",}")
			if n < 0 {
				return errors.New("truncated props")
			}
		}
		fn(key, bytes.TrimSpace(b[:n]))
		b = b[n:]
	}
}

func newPropIndex(reg *feature.Registry, line []byte) (*propIndex, error) {
	px := &propIndex{feat: map[string]feature.ID{}, keys: map[string]bool{}}
	var bools []string
	err := scanProps(line, func(k, v []byte) {
		px.keys[string(k)] = true
		if string(v) == "true" || string(v) == "false" {
			bools = append(bools, string(k))
		}
	})
	if err != nil {
		return nil, err
	}
	for _, k := range bools {
		id, err := reg.Lookup(k)
		if err != nil {
			continue // a non-feature property: check, enforce, pmu, hv-*, …
		}
		if !px.keys[reg.Name(id)] {
			return nil, fmt.Errorf("property %q resolves to %s, which this QEMU has no property for", k, reg.Name(id))
		}
		px.feat[k] = id
		px.known = px.known.Add(id)
	}
	return px, nil
}

func (px *propIndex) parse(line []byte) (expansion, error) {
	// 11.1 has neither property: both automatic levels are always on.
	e := expansion{fullAuto: true, ptAuto: true, pdcmEven: true}
	var on, off feature.FeatureSet
	var bad []string
	num := func(v []byte) uint32 {
		n, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil {
			bad = append(bad, string(v))
		}
		return uint32(n)
	}
	err := scanProps(line, func(k, v []byte) {
		if id, ok := px.feat[string(k)]; ok {
			if v[0] == 't' {
				on = on.Add(id)
			} else {
				off = off.Add(id)
			}
			return
		}
		switch string(k) {
		case "level":
			e.level = num(v)
		case "xlevel":
			e.xlevel = num(v)
		case "xlevel2":
			e.xlevel2 = num(v)
		case "min-level":
			e.minLevel = num(v)
		case "min-xlevel":
			e.minX = num(v)
		case "min-xlevel2":
			e.minX2 = num(v)
		case "level-func7":
			e.func7 = num(v)
		case "full-cpuid-auto-level":
			e.fullAuto = v[0] == 't'
		case "x-intel-pt-auto-level":
			e.ptAuto = v[0] == 't'
		case "x-vendor-cpuid-only":
			e.vendOnl = v[0] == 't'
		case "x-force-cpuid-0x1f":
			e.force1F = v[0] == 't'
		case "pmu":
			e.pmu = v[0] == 't'
		case "x-pdcm-on-even-without-pmu":
			e.pdcmEven = v[0] == 't'
		case "x-force-features":
			e.force = v[0] == 't'
		case "vendor":
			e.vendor = strings.Trim(string(v), `"`)
		}
	})
	if err != nil {
		return e, err
	}
	if len(bad) > 0 {
		return e, fmt.Errorf("bad numbers %q", bad)
	}
	if c := on.Intersect(off); !c.IsEmpty() {
		return e, fmt.Errorf("spellings of %v disagree", c)
	}
	e.features = on
	return e, nil
}

// modSet is one set of properties given with a model in the request.
type modSet struct {
	name  string
	props map[string]any
}

func bools(v bool, names ...string) map[string]any {
	m := map[string]any{}
	for _, n := range names {
		m[n] = v
	}
	return m
}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// modSets exercise every dependency (prerequisite off with the dependent
// bits explicitly on; prerequisite on) and every level rule. Rules on
// disjoint words share a set. Names a QEMU lacks are dropped for it.
var modSets = []modSet{
	{"prereqs-off", merge(
		bools(true, "vmx", "vmx-secondary-ctls", "vmx-entry-ia32e-mode", "vmx-xsaves", "vmx-rdrand-exit",
			"vmx-invpcid-exit", "vmx-exit-clear-bndcfgs", "vmx-entry-load-bndcfgs", "vmx-rdseed-exit",
			"vmx-rdtscp-exit", "vmx-enable-user-wait-pause", "rdctl-no", "mds-no", "split-lock-detect",
			"full-width-write", "intel-pt-lip", "npt", "nrip-save", "sgxlc", "sgx1", "sgx-exinfo", "sgx-debug",
			"fred", "lkgs", "wrmsrns", "avx10-128", "avx10-256"),
		bools(false, "lm", "xsaves", "rdrand", "invpcid", "mpx", "rdseed", "rdtscp", "waitpkg",
			"arch-capabilities", "core-capability", "pdcm", "intel-pt", "svm", "sgx", "avx10"))},
	{"prereqs-on", bools(true, "vmx", "vmx-secondary-ctls", "vmx-entry-ia32e-mode", "vmx-xsaves", "vmx-rdrand-exit",
		"vmx-invpcid-exit", "vmx-exit-clear-bndcfgs", "vmx-entry-load-bndcfgs", "vmx-rdseed-exit",
		"vmx-rdtscp-exit", "vmx-enable-user-wait-pause", "rdctl-no", "mds-no", "split-lock-detect",
		"full-width-write", "intel-pt-lip", "npt", "nrip-save", "sgxlc", "sgx1", "sgx-exinfo", "sgx-debug",
		"fred", "lkgs", "wrmsrns", "avx10-128", "avx10-256", "avx10-512",
		"lm", "xsaves", "rdrand", "invpcid", "mpx", "rdseed", "rdtscp", "waitpkg",
		"arch-capabilities", "core-capability", "pdcm", "intel-pt", "svm", "sgx", "avx10",
		"vmx-ept", "vmx-vpid", "vmx-vmfunc", "vmx-unrestricted-guest", "vmx-invept", "vmx-invvpid", "vmx-eptp-switching")},
	{"vmx-on", bools(true, "vmx")},
	// The next four also carry level settings that cannot interact
	// with their dependencies.
	{"vmx-secondary-off,explicit-levels", merge(bools(true, "vmx", "vmx-ept", "vmx-vpid", "vmx-vmfunc", "vmx-unrestricted-guest",
		"vmx-eptp-switching", "vmx-invept", "vmx-invvpid", "vmx-xsaves", "avx512f", "avx-vnni", "svm", "xstore"),
		bools(false, "vmx-secondary-ctls"),
		map[string]any{"level": 3, "xlevel": 0x80000004, "xlevel2": 0, "level-func7": 0})},
	{"vmx-ept-off,min-levels-down", merge(bools(true, "vmx", "vmx-secondary-ctls", "vmx-unrestricted-guest", "vmx-vpid", "vmx-invept",
		"vmx-ept-2mb", "vmx-invvpid", "vmx-invept-single-context", "avx512f", "lm"), bools(false, "vmx-ept"),
		map[string]any{"min-level": 1, "min-xlevel": 0, "min-xlevel2": 0})},
	{"vmx-vpid-vmfunc-off,min-levels-up", merge(bools(true, "vmx", "vmx-secondary-ctls", "vmx-ept", "vmx-unrestricted-guest",
		"vmx-eptp-switching", "vmx-invept", "vmx-invvpid", "vmx-invvpid-all-context", "vmx-invept-single-context"),
		bools(false, "vmx-vpid", "vmx-vmfunc"),
		map[string]any{"min-level": 0x1f, "min-xlevel": 0x80000023, "min-xlevel2": 0xc0000004})},
	{"vmx-off-words-on,unadjusted-words", merge(bools(true, "vmx-secondary-ctls", "vmx-ept", "vmx-vpid", "vmx-vmfunc",
		"vmx-exit-load-efer", "vmx-entry-load-efer", "vmx-activity-hlt", "vmx-ins-outs", "vmx-nmi-exit",
		"vmx-invept", "vmx-eptp-switching", "vmx-hlt-exit", "md-clear", "spec-ctrl", "overflow-recov", "perfmon-v2"),
		bools(false, "vmx"))},
	{"fred-no-lkgs,avx10-no-128", merge(bools(true, "lm", "fred", "wrmsrns", "avx10", "avx10-256", "avx10-512"),
		bools(false, "lkgs", "avx10-128"))},
	{"fred-no-wrmsrns,avx10-no-vl", merge(bools(true, "lm", "fred", "lkgs", "avx10"),
		bools(false, "wrmsrns", "avx10-128", "avx10-256", "avx10-512"))},
	{"fred-no-lm,avx10-no-256", merge(bools(true, "fred", "lkgs", "wrmsrns", "avx10", "avx10-128", "avx10-512"),
		bools(false, "lm", "avx10-256"))},
	// CPUID levels.
	{"leaf-6,x-0x80000001.ecx", bools(true, "arat", "lahf-lm")},
	{"leaf-7.0.ecx,x-0x80000007", bools(true, "avx512vbmi", "invtsc")},
	{"leaf-7.1.eax,x-0x80000008,x2-0xc0000001", bools(true, "avx-vnni", "wbnoinvd", "xstore")},
	{"leaf-0xd.1-without-xsave,x-0x80000021", merge(bools(true, "xsaveopt", "xsavec", "lfence-always-serializing"),
		bools(false, "xsave"))},
	{"leaf-7.1.edx,x-0x80000001.edx", bools(true, "avx-vnni-int8", "syscall", "nx")},
	{"leaf-7.2.edx,svm", bools(true, "intel-psfd", "svm")},
	{"intel-pt", bools(true, "intel-pt", "intel-pt-lip")},
	{"sgx", bools(true, "sgx", "sgx1")},
	// 11.1: without a PMU, arch-lbr goes (and pdcm on machine types
	// newer than 10.0); with one, both stay.
	{"pmu-words", bools(true, "arch-lbr", "pdcm", "full-width-write")},
	{"pmu-on", bools(true, "pmu", "arch-lbr", "pdcm", "full-width-write")},
	// 11.1: CPUID[7,1].ECX, APX (level 0x29), AVX10.2's word.
	{"leaf-7.1.ecx,apx", bools(true, "msr-imm", "apxf", "apx-nci-ndd-nf")},
	{"apx-off,avx10-off,fred-off", merge(bools(true, "apx-nci-ndd-nf", "avx10-vnni-int", "vmx-entry-load-fred", "vmx-mbec", "lkgs", "wrmsrns"),
		bools(false, "apxf", "avx10", "fred", "vmx-ept"))},
	{"full-cpuid-auto-level-off", merge(bools(true, "avx512f", "arat", "avx512vbmi", "svm", "xstore", "intel-pt"),
		bools(false, "full-cpuid-auto-level"))},
	{"intel-pt-auto-level-off", merge(bools(true, "intel-pt", "intel-pt-lip"), bools(false, "x-intel-pt-auto-level"))},
	{"intel-pt-auto-level-off-forced", merge(bools(true, "intel-pt", "x-force-features"), bools(false, "x-intel-pt-auto-level"))},
}

// filter returns the props this QEMU has.
func (m modSet) filter(px *propIndex) map[string]any {
	out := map[string]any{}
	for k, v := range m.props {
		if px.keys[k] {
			out[k] = v
		}
	}
	return out
}

func numProp(v any) uint32 {
	switch n := v.(type) {
	case int:
		return uint32(n)
	case uint32:
		return n
	}
	panic(fmt.Sprintf("not a number: %v", v))
}

// expected computes, from a model's definition (features and minimum
// levels before expansion) and the request's props, what
// x86_cpu_from_model + x86_cpu_expand_features produce: the props are
// applied to the unexpanded model (object_apply_props), then the
// dependencies and the levels.
func expected(reg *feature.Registry, qemu string, px *propIndex, def feature.FeatureSet, in LevelInput, props map[string]any) (feature.FeatureSet, cpuidLevels) {
	s := def
	for k, v := range props {
		if id, ok := px.feat[k]; ok {
			if v.(bool) {
				s = s.Add(id)
			} else {
				s = s.Remove(id)
			}
			continue
		}
		switch k {
		case "full-cpuid-auto-level":
			in.FullCPUIDAutoLevel = v.(bool)
		case "x-intel-pt-auto-level":
			in.IntelPTAutoLevel = v.(bool)
		case "x-force-features":
			in.ForceFeatures = v.(bool)
		case "pmu":
			in.PMU = v.(bool)
			in.PDCMNeedsPMU = in.PDCMNeedsPMU && !in.PMU
		case "min-level":
			in.MinLevel = numProp(v)
		case "min-xlevel":
			in.MinXLevel = numProp(v)
		case "min-xlevel2":
			in.MinXLevel2 = numProp(v)
		case "level":
			n := numProp(v)
			in.Level = &n
		case "xlevel":
			n := numProp(v)
			in.XLevel = &n
		case "xlevel2":
			n := numProp(v)
			in.XLevel2 = &n
		case "level-func7":
			n := numProp(v)
			in.LevelFunc7 = &n
		default:
			panic("unhandled prop " + k)
		}
	}
	f, l, _ := expandCPU(reg, s, mustRelease(qemu), in)
	return f, l
}

func levelsOfExpansion(e expansion) cpuidLevels {
	return cpuidLevels{e.level, e.xlevel, e.xlevel2, e.func7}
}

// levelSentinel is a min-level no rule reaches: in a probe, a level that
// is not the sentinel was set explicitly.
const levelSentinel = 0xfffffff0

// comboResult counts what one QEMU process checked.
type comboResult struct {
	models, unique, probes, sets, compared, knockouts int
	mismatches                                        int
}

// TestExpandMatchesQEMU holds expandCPU (applyDependencies, then the
// levels and the intel-pt rule of levelsOf) to
// QEMU's own query-cpu-model-expansion, for every named
// model, on the release's newest q35 machine and its oldest i440fx one
// (full-cpuid-auto-level and x-intel-pt-auto-level off), under tcg and,
// when /dev/kvm is usable, kvm.
//
// QEMU applies request props to the *unexpanded* model and then expands
// (qmp_query_cpu_model_expansion → x86_cpu_from_model →
// object_apply_props → x86_cpu_expand_features), so the expected result
// is computed from the model's definition, not from its full expansion:
// a full expansion has lost the bits its own dependencies cleared (every
// Intel model defines VMX words but not vmx), and its min-level is
// already raised. The definition is recovered from QEMU too:
//
//   - features: the expansion with every dependency's from feature on (P),
//     where no dependency fires, is definition ∪ from features; a from
//     feature is in the definition if it is in the full expansion (E), or,
//     for the from features that are also dependents (vmx-secondary-ctls,
//     vmx-ept, vmx-vpid, vmx-vmfunc, avx10, avx10-128/256/512) and absent
//     from E, if it survives in a probe with the other from features on
//     (ProbeGroups);
//   - explicit levels: P also sets the min levels to a sentinel; a level
//     that does not follow was set explicitly (machine compat properties
//     set EPYC's xlevel on 2.12 and older);
//   - min levels: the expansion with every feature a level rule reads off
//     (Z), which raises nothing.
//
// Then: the definition must expand to E (for every name, aliases too),
// and each modSet applied to the definition must give QEMU's answer for
// the model with those props. Separately, on model "base" under tcg,
// groups of features are knocked out of an all-on set (checkKnockouts),
// which would expose a dependency missing from the table whichever
// features it joins.
func TestExpandMatchesQEMU(t *testing.T) {
	bins := findQEMUBinaries(t)
	if len(bins) == 0 {
		testenv.Missing(t, testenv.QEMU, "no qemu-system-x86_64 of a known release (7.2, 10.0) found")
	}
	accels := []core.Accel{core.TCG}
	if testenv.Want(t, testenv.KVM, "tcg only") {
		accels = append(accels, core.KVM)
	}
	var mu sync.Mutex
	var summary []string
	t.Cleanup(func() {
		sort.Strings(summary)
		for _, s := range summary {
			t.Log(s)
		}
	})
	for _, b := range bins {
		newest := "pc-q35-" + b.rel.String()
		oldest := ""
		// pc-i440fx-2.3, or the oldest i440fx up to 2.7 (10.0 dropped 2.3):
		// full-cpuid-auto-level and x-intel-pt-auto-level off.
		// 11.1 has neither (its oldest is pc-i440fx-5.2): its oldest
		// machine type sets x-arch-cap-always-on and
		// x-pdcm-on-even-without-pmu (pc_compat_10_0) instead.
		for _, m := range []string{"pc-i440fx-2.3", "pc-i440fx-2.4", "pc-i440fx-2.5", "pc-i440fx-2.6", "pc-i440fx-2.7", "pc-i440fx-5.2"} {
			if b.machines[m] {
				oldest = m
				break
			}
		}
		machines := []string{newest}
		if oldest != "" {
			machines = append(machines, oldest)
		}
		for _, machine := range machines {
			for _, accel := range accels {
				b, machine, accel := b, machine, accel
				t.Run(fmt.Sprintf("%s/%s/%s", b.rel, machine, accel), func(t *testing.T) {
					t.Parallel()
					if !b.machines[machine] {
						t.Skipf("QEMU %s has no machine %s", b.version, machine)
					}
					res := checkAgainstQEMU(t, b, machine, accel, machine == newest && accel == core.TCG)
					mu.Lock()
					summary = append(summary, fmt.Sprintf("QEMU %s %s %s: %d models (%d distinct definitions, %d definition probes), %d modification sets, %d expansions compared, %d knock-outs, %d mismatches",
						b.version, machine, accel, res.models, res.unique, res.probes, res.sets, res.compared, res.knockouts, res.mismatches))
					mu.Unlock()
				})
			}
		}
	}
}

func checkAgainstQEMU(t *testing.T, b qemuBinary, machine string, accel core.Accel, knockout bool) comboResult {
	var res comboResult
	reg := feature.Builtin()
	q, err := startQMP(b.path, machine, string(accel))
	if err != nil {
		if accel == core.KVM {
			testenv.Missing(t, testenv.KVM, "QEMU with kvm: %v", err)
		}
		t.Fatal(err)
	}
	defer q.close()
	qemu := b.version
	rules := rulesFor(reg, b.rel)
	errorf := func(format string, args ...any) {
		t.Helper()
		res.mismatches++
		if res.mismatches <= 25 {
			t.Errorf(format, args...)
		}
	}

	// The models.
	defsResp, err := q.run([][]byte{[]byte(`{"execute":"query-cpu-definitions"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Return []struct{ Name string } `json:"return"`
	}
	if err := json.Unmarshal(defsResp[0], &defs); err != nil {
		t.Fatal(err)
	}
	var models []string
	for _, d := range defs.Return {
		if d.Name != "host" && d.Name != "max" && d.Name != "base" {
			models = append(models, d.Name)
		}
	}
	sort.Strings(models)
	res.models = len(models)

	// Phase 1: the full expansion of every model, and the property index.
	reqs := make([][]byte, len(models))
	for i, m := range models {
		reqs[i] = expansionReq(m, nil)
	}
	lines, err := q.run(reqs)
	if err != nil {
		t.Fatal(err)
	}
	px, err := newPropIndex(reg, lines[0])
	if err != nil {
		t.Fatal(err)
	}
	parseAll := func(lines [][]byte) []expansion {
		t.Helper()
		out := make([]expansion, len(lines))
		for i, l := range lines {
			e, err := px.parse(l)
			if err != nil {
				t.Fatalf("answer %d: %v", i, err)
			}
			out[i] = e
		}
		return out
	}
	full := parseAll(lines)

	// The dependencies' from features, and those that are also dependents.
	var fromAll, toAll feature.FeatureSet
	for _, d := range rules.deps {
		fromAll = fromAll.Union(d.From)
		toAll = toAll.Union(d.To)
	}
	if !fromAll.SubsetOf(px.known) {
		t.Fatalf("QEMU %s lacks from features %v", qemu, reg.Names(fromAll.Difference(px.known)))
	}
	chained := fromAll.Intersect(toAll)
	// The features any level rule reads.
	levelFeatures := rules.always.set.Union(rules.w80000021)
	for _, w := range rules.words {
		levelFeatures = levelFeatures.Union(w.set)
	}
	levelFeatures = levelFeatures.Add(rules.intelPT).Add(rules.svm).Add(rules.sgx)
	if b.rel.Compare(qemu100) >= 0 {
		levelFeatures = levelFeatures.Add(rules.avx10)
	}
	if b.rel.Compare(qemu111) >= 0 {
		levelFeatures = levelFeatures.Add(rules.apxf)
	}
	propsOf := func(s feature.FeatureSet, v bool) map[string]any {
		m := map[string]any{}
		for id := range s.All() {
			m[reg.Name(id)] = v
		}
		return m
	}

	// Phase 2: P, every from feature on (and the min levels at a
	// sentinel, to tell explicit levels).
	reqs = reqs[:0]
	for i, m := range models {
		// From features the model already has are on in its definition.
		p := propsOf(fromAll.Difference(full[i].features), true)
		for _, k := range []string{"min-level", "min-xlevel", "min-xlevel2"} {
			p[k] = levelSentinel
		}
		reqs = append(reqs, expansionReq(m, p))
	}
	lines, err = q.run(reqs)
	if err != nil {
		t.Fatal(err)
	}
	ps := parseAll(lines)

	// Distinct definitions: unversioned names are aliases of a version.
	type defn struct {
		model    string
		e, p     expansion
		zProps   map[string]any
		groups   []feature.FeatureSet // chained from features probed together
		def      feature.FeatureSet
		in       LevelInput
		firstReq int
	}
	var uniq []*defn
	byKey := map[string]*defn{}
	owner := make([]*defn, len(models))
	for i, m := range models {
		d := &defn{model: m, e: full[i], p: ps[i]}
		k := fmt.Sprintf("%v|%v", d.e, d.p)
		if o, ok := byKey[k]; ok {
			owner[i] = o
			continue
		}
		byKey[k] = d
		owner[i] = d
		uniq = append(uniq, d)
	}
	res.unique = len(uniq)

	// Phase 3: Z (every feature of P that a level rule reads off: nothing
	// raises a level, so the min levels are the definition's), the probes for the chained from
	// features, and every modSet.
	var sets []modSet
	seen := map[string]bool{}
	for _, m := range modSets {
		p := m.filter(px)
		k := fmt.Sprint(p)
		if len(p) == 0 || seen[k] {
			continue
		}
		seen[k] = true
		sets = append(sets, modSet{m.name, p})
	}
	res.sets = len(sets)
	reqs = reqs[:0]
	for _, d := range uniq {
		d.firstReq = len(reqs)
		// P's and the expansion's: in 11.1, P's from features can clear
		// one the model defines (mpx on clears apxf with it).
		d.zProps = propsOf(d.p.features.Union(d.e.features).Intersect(levelFeatures), false)
		reqs = append(reqs, expansionReq(d.model, d.zProps))
		d.groups = ProbeGroups(rules.deps, chained.Difference(d.e.features))
		for _, g := range d.groups {
			reqs = append(reqs, expansionReq(d.model, propsOf(fromAll.Difference(d.e.features).Difference(g), true)))
		}
		res.probes += len(d.groups)
		for _, m := range sets {
			reqs = append(reqs, expansionReq(d.model, m.props))
		}
	}
	lines, err = q.run(reqs)
	if err != nil {
		t.Fatal(err)
	}
	answers := parseAll(lines)

	for _, d := range uniq {
		a := answers[d.firstReq:]
		z := a[0]
		a = a[1:]
		defFrom := d.e.features.Intersect(fromAll)
		for i, g := range d.groups {
			defFrom = defFrom.Union(a[i].features.Intersect(g))
		}
		a = a[len(d.groups):]
		d.def = d.p.features.Difference(fromAll).Union(defFrom)
		d.in = LevelInput{
			MinLevel: z.minLevel, MinXLevel: z.minX, MinXLevel2: z.minX2,
			FullCPUIDAutoLevel: d.e.fullAuto, IntelPTAutoLevel: d.e.ptAuto,
			Vendor: d.e.vendor, VendorCPUIDOnly: d.e.vendOnl, ForceFeatures: d.e.force,
			ForceCPUID0x1F: d.e.force1F, PMU: d.e.pmu, PDCMNeedsPMU: !d.e.pmu && !d.e.pdcmEven,
		}
		// A level that does not follow min-level in P was set explicitly
		// (machine compat properties: EPYC's xlevel on 2.12 and older).
		explicit := func(dst **uint32, v uint32) {
			if v != levelSentinel {
				*dst = &v
			}
		}
		explicit(&d.in.Level, d.p.level)
		explicit(&d.in.XLevel, d.p.xlevel)
		explicit(&d.in.XLevel2, d.p.xlevel2)
		if z.func7 != 0 {
			explicit(&d.in.LevelFunc7, z.func7)
		}
		res.compared++
		s, l := expected(reg, qemu, px, d.def, d.in, d.zProps)
		compare(t, reg, errorf, d.model+" with the level features off", s, l, z)
		for i, m := range sets {
			res.compared++
			s, l := expected(reg, qemu, px, d.def, d.in, m.props)
			compare(t, reg, errorf, fmt.Sprintf("%s + %s", d.model, m.name), s, l, a[i])
		}
	}
	// Every name (aliases too): the plain full expansion.
	for i, m := range models {
		d := owner[i]
		res.compared++
		s, l := expected(reg, qemu, px, d.def, d.in, nil)
		compare(t, reg, errorf, m, s, l, full[i])
	}

	if knockout {
		res.knockouts = checkKnockouts(t, q, reg, px, qemu, errorf)
	}
	return res
}

func compare(t *testing.T, reg *feature.Registry, errorf func(string, ...any), what string, s feature.FeatureSet, l cpuidLevels, got expansion) {
	t.Helper()
	if s != got.features {
		errorf("%s: QEMU has %v more, %v fewer than computed", what,
			reg.Names(got.features.Difference(s)), reg.Names(s.Difference(got.features)))
	}
	if g := levelsOfExpansion(got); g != l {
		errorf("%s: QEMU level/xlevel/xlevel2/level-func7 %#x, computed %#x", what,
			[4]uint32{g.level, g.xlevel, g.xlevel2, g.func7}, [4]uint32{l.level, l.xlevel, l.xlevel2, l.func7})
	}
}

// checkKnockouts expands "base" with every feature on (the KVM word
// aside: without kvm QEMU clears it whole) and then with groups of
// features knocked out: for each bit b of a feature's index in the list,
// the features whose bit b is 0, and those whose bit b is 1. For any two
// features X and Y some group holds X but not Y, so a dependency X → Y
// missing from the table shows, whichever features it joins — in 2·⌈log₂ n⌉
// expansions instead of n.
func checkKnockouts(t *testing.T, q *qmpConn, reg *feature.Registry, px *propIndex, qemu string, errorf func(string, ...any)) int {
	t.Helper()
	var ids []feature.ID
	for id := range px.known.All() {
		if l := reg.Feature(id).Loc; l.IsMSR() || l.Leaf != 0x40000001 {
			ids = append(ids, id)
		}
	}
	all := feature.SetOf(ids...)
	props := func(s feature.FeatureSet) map[string]any {
		m := map[string]any{}
		for id := range s.All() {
			m[reg.Name(id)] = true
		}
		return m
	}
	groups := []feature.FeatureSet{{}}
	for b := 0; 1<<b < len(ids); b++ {
		var g0, g1 feature.FeatureSet
		for i, id := range ids {
			if i>>b&1 == 0 {
				g0 = g0.Add(id)
			} else {
				g1 = g1.Add(id)
			}
		}
		groups = append(groups, g0, g1)
	}
	reqs := [][]byte{expansionReq("base", nil)}
	for _, g := range groups {
		reqs = append(reqs, expansionReq("base", props(all.Difference(g))))
	}
	lines, err := q.run(reqs)
	if err != nil {
		t.Fatal(err)
	}
	z, err := px.parse(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	if !z.features.IsEmpty() {
		t.Fatalf("model base has features %v", reg.Names(z.features))
	}
	in := LevelInput{MinLevel: z.minLevel, MinXLevel: z.minX, MinXLevel2: z.minX2,
		FullCPUIDAutoLevel: z.fullAuto, IntelPTAutoLevel: z.ptAuto, Vendor: z.vendor, VendorCPUIDOnly: z.vendOnl,
		ForceFeatures: z.force, ForceCPUID0x1F: z.force1F, PMU: z.pmu, PDCMNeedsPMU: !z.pmu && !z.pdcmEven}
	for i, g := range groups {
		got, err := px.parse(lines[i+1])
		if err != nil {
			t.Fatal(err)
		}
		s, l, _ := expandCPU(reg, all.Difference(g), mustRelease(qemu), in)
		compare(t, reg, errorf, fmt.Sprintf("base + all - knock-out group %d (%d features)", i, g.Count()), s, l, got)
	}
	return len(groups)
}

// mustRelease parses the version of a QEMU binary findQEMUBinaries
// accepted.
func mustRelease(version string) core.Release {
	r, err := core.ParseRelease(version)
	if err != nil {
		panic(err)
	}
	return r
}
