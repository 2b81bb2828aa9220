package check

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const machineSnapshot = "../../testdata/hosts/this-machine.json"

var fixedTime = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

// loadMachine parses the recorded snapshot of the development machine (an
// AMD EPYC VM whose nested KVM hides most CPU bits from guests).
func loadMachine(t testing.TB) *host.HostSnapshot {
	t.Helper()
	data, err := os.ReadFile(machineSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	s, err := host.Parse(machineSnapshot, data, feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// render lists every built-in feature with its verdict: "+ name" when
// available, "- name layer" otherwise.
func render(reg *feature.Registry, a *Availability, source string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Compute(%s, QEMU %s, %s): %d of %d known features available\n",
		source, a.Release, a.Accel, a.Set.Count(), a.Known.Count())
	for _, f := range reg.Features() {
		if l := a.Layer(f.ID); l == "" {
			fmt.Fprintf(&b, "+ %s\n", f.Name)
		} else {
			fmt.Fprintf(&b, "- %s %s\n", f.Name, l)
		}
	}
	return b.String()
}

// TestGolden holds Compute on the recorded machine to the golden verdicts
// in testdata/this-machine.qemu-<version>.<accel>.txt (go test -update
// rewrites them; review the diff). The live test holds the same rules to
// QEMU itself.
func TestGolden(t *testing.T) {
	reg := feature.Builtin()
	s := loadMachine(t)
	for _, v := range core.Releases() {
		for _, accel := range []core.Accel{core.KVM, core.TCG} {
			t.Run(v.String()+"/"+string(accel), func(t *testing.T) {
				a, err := Compute(reg, s, v, accel)
				if err != nil {
					t.Fatal(err)
				}
				got := render(reg, a, "testdata/hosts/this-machine.json")
				path := filepath.Join("testdata", fmt.Sprintf("this-machine.qemu-%s.%s.txt", v, accel))
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("verdicts differ from %s (go test -update rewrites it):\n%s", path, lineDiff(string(want), got))
				}
			})
		}
	}
}

// lineDiff lists the lines only in want ("-") and only in got ("+").
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for _, l := range w {
		if !slices.Contains(g, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// snapEdit changes a copy of the recorded snapshot.
type snapEdit func(s *host.HostSnapshot)

// kvmEntry edits KVM's supported CPUID entry (leaf, subleaf), adding it if
// absent.
func kvmEntry(leaf, subleaf uint32, fn func(e *host.CPUIDEntry)) snapEdit {
	return func(s *host.HostSnapshot) { editEntry(&s.KVM.SupportedCPUID, leaf, subleaf, fn) }
}

// rawEntry edits the host's own CPUID entry (leaf, subleaf).
func rawEntry(leaf, subleaf uint32, fn func(e *host.CPUIDEntry)) snapEdit {
	return func(s *host.HostSnapshot) { editEntry(&s.CPUID, leaf, subleaf, fn) }
}

func editEntry(es *[]host.CPUIDEntry, leaf, subleaf uint32, fn func(e *host.CPUIDEntry)) {
	for i := range *es {
		if (*es)[i].Leaf == leaf && (*es)[i].Subleaf == subleaf {
			fn(&(*es)[i])
			return
		}
	}
	*es = append(*es, host.CPUIDEntry{Leaf: leaf, Subleaf: subleaf})
	fn(&(*es)[len(*es)-1])
}

func dropCap(n int) snapEdit {
	return func(s *host.HostSnapshot) { delete(s.KVM.Capabilities, n) }
}

func setCap(n int) snapEdit {
	return func(s *host.HostSnapshot) { s.KVM.Capabilities[n] = 1 }
}

func setMSR(index uint32, v uint64) snapEdit {
	return func(s *host.HostSnapshot) { s.KVM.FeatureMSRs[index] = v }
}

func dropMSR(index uint32) snapEdit {
	return func(s *host.HostSnapshot) { delete(s.KVM.FeatureMSRs, index) }
}

func setXCR0(v uint64) snapEdit {
	return func(s *host.HostSnapshot) { s.XCR0 = &v }
}

// reprobe re-derives the layers from the edited raw data, as a probe of
// that host would.
func reprobe(t *testing.T, reg *feature.Registry, s *host.HostSnapshot) *host.HostSnapshot {
	t.Helper()
	p, err := host.Probe(host.Replay(s), reg, fixedTime)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Bits of the registers the cases below edit.
const (
	bitAVX512F     = 1 << 16 // [7,0].EBX
	bitHLE         = 1 << 4  // [7,0].EBX
	bitRTM         = 1 << 11 // [7,0].EBX
	bitIntelPT     = 1 << 25 // [7,0].EBX
	bitAMXTile     = 1 << 24 // [7,0].EDX
	bitVMX         = 1 << 5  // [1].ECX
	bitTSCDeadline = 1 << 24 // [1].ECX
	archCapMDS     = 1 << 5  // ARCH_CAPABILITIES MDS_NO
	archCapTAA     = 1 << 8  // TAA_NO
	archCapSBDR    = 1 << 13 // SBDR_SSDP_NO
	archCapFBSD    = 1 << 14 // FBSDP_NO
	archCapPSDP    = 1 << 15 // PSDP_NO
)

// TestRules exercises each rule of kvm_arch_get_supported_cpuid,
// kvm_arch_get_supported_msr_feature and the filter on edited copies of
// the recorded machine: want lists features that must be available and
// wantNot ones that must not (with the layer, when given as "name:layer").
func TestRules(t *testing.T) {
	reg := feature.Builtin()
	intel := []snapEdit{
		rawEntry(0, 0, func(e *host.CPUIDEntry) { e.EBX, e.EDX, e.ECX = 0x756e6547, 0x49656e69, 0x6c65746e }),
	}
	cases := []struct {
		name    string
		qemu    string
		edits   []snapEdit
		want    []string
		wantNot []string
	}{
		{name: "as recorded, 7.2", qemu: "7.2",
			want:    []string{"hypervisor", "x2apic", "tsc-deadline", "arat", "topoext", "mtrr", "pat", "mce", "mca", "kvm-pv-unhalt", "kvm-hint-dedicated", "arch-capabilities", "mds-no"},
			wantNot: []string{"ht:kvm", "erms:kvm", "fsrm:kvm", "rdseed:os", "avx:kvm", "mpx:hw", "pku:hw", "kvm-msi-ext-dest-id:kvm", "ssb-no:hw", "vmx-ept:hw", "gds-no:qemu", "overflow-recov:qemu", "monitor:hw"}},
		{name: "as recorded, 10.0", qemu: "10.0",
			want:    []string{"ht", "erms", "fsrm", "overflow-recov", "succor", "gds-no", "kvm-asyncpf-vmexit"},
			wantNot: []string{"rdseed:os", "avx:kvm", "fb-clear:hw", "fzrm:hw", "mcdt-no:hw"}},
		// The recorded machine is AMD: 11.1 withholds arch-capabilities
		// (KVM's emulated one, which 10.0 passes on) and knows the TSA
		// bits, which this host has; its-no is TCG's no more.
		{name: "as recorded, 11.1", qemu: "11.1",
			want:    []string{"tsa-sq-no", "tsa-l1-no", "its-no", "mds-no", "ht", "erms"},
			wantNot: []string{"arch-capabilities:kvm", "apxf:hw"}},
		{name: "11.1 on an Intel host keeps arch-capabilities", qemu: "11.1",
			edits: append(slices.Clone(intel), func(s *host.HostSnapshot) { s.Vendor = "GenuineIntel" }),
			want:  []string{"arch-capabilities", "mds-no"}},
		// This kernel reports tsc-deadline itself; QEMU only ever adds it.
		{name: "no in-kernel irqchip", qemu: "10.0", edits: []snapEdit{dropCap(capIRQChip)},
			want:    []string{"hypervisor", "kvmclock", "tsc-deadline"},
			wantNot: []string{"x2apic:kvm", "kvm-pv-unhalt:kvm"}},
		{name: "no in-kernel irqchip, KVM without tsc-deadline", qemu: "10.0",
			edits:   []snapEdit{dropCap(capIRQChip), kvmEntry(1, 0, func(e *host.CPUIDEntry) { e.ECX &^= bitTSCDeadline })},
			wantNot: []string{"x2apic:kvm", "tsc-deadline:kvm"}},
		{name: "KVM without tsc-deadline, but KVM_CAP_TSC_DEADLINE_TIMER", qemu: "7.2",
			edits: []snapEdit{kvmEntry(1, 0, func(e *host.CPUIDEntry) { e.ECX &^= bitTSCDeadline })},
			want:  []string{"tsc-deadline"}},
		{name: "KVM without tsc-deadline nor KVM_CAP_TSC_DEADLINE_TIMER", qemu: "7.2",
			edits:   []snapEdit{dropCap(capTSCDeadlineTimer), kvmEntry(1, 0, func(e *host.CPUIDEntry) { e.ECX &^= bitTSCDeadline })},
			want:    []string{"x2apic"},
			wantNot: []string{"tsc-deadline:kvm"}},
		{name: "ARCH_CAPABILITIES not a feature MSR", qemu: "10.0", edits: []snapEdit{dropMSR(msrOf(t, "FEAT_ARCH_CAPABILITIES"))},
			wantNot: []string{"arch-capabilities:hw", "mds-no:hw", "rdctl-no:hw"}},
		{name: "fb-clear is not synthesized by 10.0.2", qemu: "10.0",
			edits:   []snapEdit{setMSR(msrOf(t, "FEAT_ARCH_CAPABILITIES"), archCapMDS|archCapTAA|archCapSBDR|archCapFBSD|archCapPSDP)},
			want:    []string{"mds-no", "taa-no", "sbdr-ssdp-no", "fbsdp-no", "psdp-no"},
			wantNot: []string{"fb-clear", "rdctl-no"}},
		{name: "fb-clear is synthesized by 11.1", qemu: "11.1",
			edits:   []snapEdit{setMSR(msrOf(t, "FEAT_ARCH_CAPABILITIES"), archCapMDS|archCapTAA|archCapSBDR|archCapFBSD|archCapPSDP)},
			want:    []string{"mds-no", "taa-no", "sbdr-ssdp-no", "fbsdp-no", "psdp-no", "fb-clear"},
			wantNot: []string{"rdctl-no"}},
		{name: "11.1: no fb-clear without psdp-no", qemu: "11.1",
			edits:   []snapEdit{setMSR(msrOf(t, "FEAT_ARCH_CAPABILITIES"), archCapMDS|archCapTAA|archCapSBDR|archCapFBSD)},
			wantNot: []string{"fb-clear", "psdp-no"}},
		{name: "Haswell with broken TSX", qemu: "7.2", edits: append(slices.Clone(intel),
			rawEntry(1, 0, func(e *host.CPUIDEntry) { e.EAX = 0x306c3 }), // family 6 model 60
			kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitHLE | bitRTM })),
			wantNot: []string{"hle", "rtm"}},
		{name: "Haswell-EP stepping 4, TSX fine", qemu: "10.0", edits: append(slices.Clone(intel),
			rawEntry(1, 0, func(e *host.CPUIDEntry) { e.EAX = 0x306f4 }), // family 6 model 63 stepping 4
			kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitHLE | bitRTM })),
			want: []string{"hle", "rtm"}},
		{name: "AMD host: TSX kept", qemu: "7.2",
			edits: []snapEdit{kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitHLE | bitRTM })},
			want:  []string{"hle", "rtm"}},
		{name: "7.2: AVX-512 bit without its XSAVE components", qemu: "7.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitAVX512F }),
				kvmEntry(0xd, 0, func(e *host.CPUIDEntry) { e.EAX = 0x7 })},
			wantNot: []string{"avx512f:kvm"}},
		{name: "10.0: AVX-512 bit without its XSAVE components", qemu: "10.0",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitAVX512F }),
				kvmEntry(0xd, 0, func(e *host.CPUIDEntry) { e.EAX = 0x7 })},
			want: []string{"avx512f"}},
		{name: "10.0: no x87/SSE XSAVE component", qemu: "10.0",
			edits: []snapEdit{
				kvmEntry(1, 0, func(e *host.CPUIDEntry) { e.ECX |= 1 << 26 }), // xsave
				kvmEntry(0xd, 0, func(e *host.CPUIDEntry) { e.EAX = 0x4 })},
			wantNot: []string{"xsave"}},
		{name: "7.2: AMX tiles from XCOMP_GUEST_SUPP (host XCR0)", qemu: "7.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EDX |= bitAMXTile }),
				setXCR0(0xe7 | 1<<17 | 1<<18)},
			want: []string{"amx-tile"}},
		{name: "7.2: AMX tiles without KVM_CAP_SYS_ATTRIBUTES", qemu: "7.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EDX |= bitAMXTile }),
				setXCR0(0xe7 | 1<<17 | 1<<18), dropCap(capSysAttributes)},
			wantNot: []string{"amx-tile:hw"}},
		{name: "intel-pt without KVM leaf 0x14", qemu: "10.0",
			edits:   []snapEdit{kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitIntelPT })},
			wantNot: []string{"intel-pt:hw"}},
		{name: "intel-pt with QEMU's minimal leaf 0x14", qemu: "7.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitIntelPT }),
				kvmEntry(0x14, 0, func(e *host.CPUIDEntry) { e.EAX, e.EBX, e.ECX = 1, 0xf, 0x7 }),
				kvmEntry(0x14, 1, func(e *host.CPUIDEntry) { e.EAX, e.EBX = 0x02490002, 0x003f1fff })},
			want: []string{"intel-pt"}},
		{name: "as recorded, 5.2", qemu: "5.2",
			want:    []string{"hypervisor", "x2apic", "tsc-deadline", "arat", "topoext", "mtrr", "pat", "mce", "mca", "kvm-pv-unhalt", "kvm-hint-dedicated", "arch-capabilities", "mds-no"},
			wantNot: []string{"ht:kvm", "erms:kvm", "rdseed:os", "avx:kvm", "mpx:hw", "pku:hw", "kvm-msi-ext-dest-id:qemu", "pks:qemu", "ibrs:qemu", "intel-pt-lip:qemu"}},
		// 5.2 emulates only PT whose IP payloads are not LIP; 7.2 leaves
		// the bit to the model's intel-pt-lip.
		{name: "5.2: intel-pt on a host whose PT reports LIP", qemu: "5.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitIntelPT }),
				kvmEntry(0x14, 0, func(e *host.CPUIDEntry) { e.EAX, e.EBX, e.ECX = 1, 0xf, 0x7|1<<31 }),
				kvmEntry(0x14, 1, func(e *host.CPUIDEntry) { e.EAX, e.EBX = 0x02490002, 0x003f1fff })},
			wantNot: []string{"intel-pt"}},
		{name: "7.2: intel-pt on a host whose PT reports LIP", qemu: "7.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitIntelPT }),
				kvmEntry(0x14, 0, func(e *host.CPUIDEntry) { e.EAX, e.EBX, e.ECX = 1, 0xf, 0x7|1<<31 }),
				kvmEntry(0x14, 1, func(e *host.CPUIDEntry) { e.EAX, e.EBX = 0x02490002, 0x003f1fff })},
			want: []string{"intel-pt"}},
		{name: "5.2: intel-pt with QEMU's minimal leaf 0x14", qemu: "5.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitIntelPT }),
				kvmEntry(0x14, 0, func(e *host.CPUIDEntry) { e.EAX, e.EBX, e.ECX = 1, 0xf, 0x7 }),
				kvmEntry(0x14, 1, func(e *host.CPUIDEntry) { e.EAX, e.EBX = 0x02490002, 0x003f1fff })},
			want: []string{"intel-pt"}},
		{name: "5.2: AVX-512 bit without its XSAVE components", qemu: "5.2",
			edits: []snapEdit{
				kvmEntry(7, 0, func(e *host.CPUIDEntry) { e.EBX |= bitAVX512F }),
				kvmEntry(0xd, 0, func(e *host.CPUIDEntry) { e.EAX = 0x7 })},
			wantNot: []string{"avx512f:kvm"}},
		{name: "VMX controls: may be 1 but need not be", qemu: "10.0",
			edits: []snapEdit{
				rawEntry(1, 0, func(e *host.CPUIDEntry) { e.ECX |= bitVMX }),
				func(s *host.HostSnapshot) { s.CPUInfoFlags = append(s.CPUInfoFlags, "vmx") },
				// TRUE_PINBASED: bit 0 must be 1 (not a feature), bit 3 may be 1.
				setMSR(msrOf(t, "FEAT_VMX_PINBASED_CTLS"), (1|1<<3)<<32|1),
				// PROCBASED_CTLS2: EPT (bit 1) may be 1.
				setMSR(msrOf(t, "FEAT_VMX_SECONDARY_CTLS"), 1<<1<<32),
				// EPT_VPID_CAP bit 25 only: "vmx-invept-single-context" also
				// needs bit 41.
				setMSR(msrOf(t, "FEAT_VMX_EPT_VPID_CAPS"), 1<<25|1<<20)},
			want:    []string{"vmx-nmi-exit", "vmx-ept", "vmx-invept"},
			wantNot: []string{"vmx-intr-exit:kvm", "vmx-vpid:kvm", "vmx-invept-single-context:kvm", "vmx:kvm"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := loadMachine(t)
			for _, e := range c.edits {
				e(s)
			}
			s = reprobe(t, reg, s)
			a, err := Compute(reg, s, rel(t, c.qemu), core.KVM)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range c.want {
				id, err := reg.Lookup(n)
				if err != nil {
					t.Fatal(err)
				}
				if l := a.Layer(id); l != "" {
					t.Errorf("%s: missing (%s), want available", n, l)
				}
			}
			for _, nl := range c.wantNot {
				n, layer, _ := strings.Cut(nl, ":")
				id, err := reg.Lookup(n)
				if err != nil {
					t.Fatal(err)
				}
				l := a.Layer(id)
				if l == "" {
					t.Errorf("%s: available, want missing", n)
				} else if layer != "" && l != layer {
					t.Errorf("%s: layer %q, want %q", n, l, layer)
				}
			}
		})
	}
}

// TestXCompGuestSupp: 7.2 and 10.0 take [0xD,0] from
// KVM_X86_XCOMP_GUEST_SUPP when KVM has KVM_CAP_SYS_ATTRIBUTES (the
// snapshot's XCR0 stands in for the tile components); 5.2 takes KVM's
// KVM_GET_SUPPORTED_CPUID answer as is.
func TestXCompGuestSupp(t *testing.T) {
	s := loadMachine(t)
	setCap(capSysAttributes)(s)
	setXCR0(0xe7 | 1<<feature.XStateTileCfg | 1<<feature.XStateTileData)(s)
	tiles := uint64(1<<feature.XStateTileCfg | 1<<feature.XStateTileData)
	for _, c := range []struct {
		qemu      string
		wantTiles bool
	}{{"5.2", false}, {"7.2", true}, {"10.0", true}} {
		got := newKVMHost(s, rulesOf(rel(t, c.qemu))).supportedXCR0()&tiles == tiles
		if got != c.wantTiles {
			t.Errorf("QEMU %s: tile components supported = %v, want %v", c.qemu, got, c.wantTiles)
		}
	}
}

// TestPlugin: a plugin's vendor feature is judged by the host's layers
// as its decoder filled them (the registry's own reading of its bit does
// not count), and TCG never offers it.
func TestPlugin(t *testing.T) {
	reg, err := feature.Builtin().Extend("acme", feature.Feature{
		Name: "acme-widget", Loc: feature.Location{Leaf: 0x40000100, Reg: cpuid.EAX, Bit: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := reg.Lookup("acme-widget")
	layer := func(s *host.HostSnapshot, accel core.Accel) string {
		t.Helper()
		a, err := Compute(reg, s, rel(t, "10.0"), accel)
		if err != nil {
			t.Fatal(err)
		}
		return a.Layer(id)
	}
	s := loadMachine(t)
	// The bit is set in KVM's answer, but no decoder said so.
	editEntry(&s.KVM.SupportedCPUID, 0x40000100, 0, func(e *host.CPUIDEntry) { e.EAX = 1 })
	if l := layer(s, core.KVM); l != LayerHW {
		t.Errorf("undecoded: layer %q, want %q", l, LayerHW)
	}
	s.Features.HW = append(s.Features.HW, "acme-widget")
	s.Features.OS = append(s.Features.OS, "acme-widget")
	if l := layer(s, core.KVM); l != LayerKVM {
		t.Errorf("in hw and os, not kvm: layer %q, want %q", l, LayerKVM)
	}
	s.Features.KVM = append(s.Features.KVM, "acme-widget")
	if l := layer(s, core.KVM); l != "" {
		t.Errorf("decoded in every layer: layer %q, want available", l)
	}
	if l := layer(s, core.TCG); l != LayerTCG {
		t.Errorf("tcg: layer %q, want %q", l, LayerTCG)
	}
}

// TestErrors covers the arguments Compute refuses.
func TestErrors(t *testing.T) {
	reg := feature.Builtin()
	s := loadMachine(t)
	noKVM := *s
	noKVM.KVM, noKVM.KVMError = nil, "open /dev/kvm: no such file or directory"
	cases := []struct {
		name  string
		s     *host.HostSnapshot
		rel   core.Release
		accel core.Accel
		want  error
	}{
		{"unknown release", s, core.Release{Major: 8, Minor: 2}, core.KVM, core.ErrUnknownRelease},
		{"no release", s, core.Release{}, core.KVM, core.ErrUnknownRelease},
		{"unknown accelerator", s, rel(t, "7.2"), "hvf", core.ErrUnknownAccel},
		{"kvm without KVM data", &noKVM, rel(t, "10.0"), core.KVM, ErrNoKVM},
		{"kvm without a snapshot", nil, rel(t, "10.0"), core.KVM, ErrNoKVM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Compute(reg, c.s, c.rel, c.accel)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if a != nil {
				t.Errorf("Compute returned %+v with its error", a)
			}
		})
	}
	// TCG needs no host at all.
	if _, err := Available(reg, nil, rel(t, "7.2"), core.TCG); err != nil {
		t.Errorf("tcg without a snapshot: %v", err)
	}
}

// TestNoRawCPUID: a snapshot without raw CPUID (built from QEMU's host
// expansion, say, but with KVM data) cannot tell hw from kvm: every
// missing feature is blamed on KVM.
func TestNoRawCPUID(t *testing.T) {
	reg := feature.Builtin()
	s := loadMachine(t)
	s.CPUID = []host.CPUIDEntry{}
	s.Features.HW, s.Features.OS = []string{}, []string{}
	a, err := Compute(reg, s, rel(t, "7.2"), core.KVM)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"mpx", "rdseed", "avx"} {
		id, _ := reg.Lookup(n)
		if l := a.Layer(id); l != LayerKVM {
			t.Errorf("%s: layer %q, want kvm", n, l)
		}
	}
}

// TestMissing: Missing partitions the known, unavailable features by
// layer.
func TestMissing(t *testing.T) {
	reg := feature.Builtin()
	s := loadMachine(t)
	for _, accel := range []core.Accel{core.KVM, core.TCG} {
		a, err := Compute(reg, s, rel(t, "7.2"), accel)
		if err != nil {
			t.Fatal(err)
		}
		var union feature.FeatureSet
		for l, set := range a.Missing() {
			if !union.Intersect(set).IsEmpty() {
				t.Errorf("%s: layer %s overlaps another", accel, l)
			}
			union = union.Union(set)
		}
		if want := a.Known.Difference(a.Set); union != want {
			t.Errorf("%s: Missing covers %d features, want %d", accel, union.Count(), want.Count())
		}
	}
}

// TestTables checks this package's data against the registry and QEMU's
// own name lists: every name is a built-in feature; each TCG mask's names
// lie in the word it is declared for; and each release's known features
// are exactly what that release's `-cpu help` prints
// (core/feature/testdata).
func TestTables(t *testing.T) {
	reg := feature.Builtin()
	mustLookup := func(what, n string) *feature.Feature {
		id, err := reg.Lookup(n)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return nil
		}
		if f := reg.Feature(id); f.Name == n {
			return f
		}
		t.Errorf("%s: %q is an alias of %q; tables use canonical names", what, n, reg.Name(id))
		return nil
	}
	for _, v := range releases {
		for _, n := range v.absent {
			mustLookup(v.rel.String()+" absent", n)
		}
		for _, n := range append(slices.Clone(v.kvmAlways), v.kvmFromHost...) {
			if f := mustLookup(v.rel.String()+" kvm", n); f != nil && f.Loc.IsMSR() {
				t.Errorf("%s kvm: %s is an MSR bit", v.rel, n)
			}
		}
		for _, w := range v.tcg {
			word, ok := feature.LookupWord(w.word)
			if !ok {
				t.Errorf("%s %s: no feature word %s", v.rel, w.macro, w.word)
				continue
			}
			if w.all && len(w.names) > 0 {
				t.Errorf("%s %s: all bits, and names too", v.rel, w.macro)
			}
			loc := word.Loc
			for _, n := range w.names {
				f := mustLookup(v.rel.String()+" "+w.macro, n)
				if f == nil {
					continue
				}
				got := f.Loc
				got.Bit = 0
				if got != loc {
					t.Errorf("%s %s: %s is at %s, not in %s", v.rel.String(), w.macro, n, f.Loc, w.word)
				}
				if slices.Contains(v.absent, n) {
					t.Errorf("%s %s: %s is a name %s lacks", v.rel.String(), w.macro, n, v.rel.String())
				}
			}
		}
		file := fmt.Sprintf("../feature/testdata/qemu-%s-cpu-flags.txt", v.rel.String())
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Fields(string(data))
		slices.Sort(want)
		got := reg.Names(known(reg, v))
		if !slices.Equal(got, want) {
			t.Errorf("QEMU %s: known features differ from %s", v.rel.String(), file)
		}
	}
	for _, a := range xsaveAreas {
		mustLookup("xsaveAreas", a.feature)
	}
	for _, n := range []string{"x2apic", "tsc-deadline", "hypervisor"} {
		if f := mustLookup("kvmEmulated", n); f != nil && !kvmEmulated(f.Name) {
			t.Errorf("kvmEmulated(%q) = false", n)
		}
	}
	if len(kvmMasksOf()) != len(releases) {
		t.Errorf("kvm masks compiled for %d of %d releases", len(kvmMasksOf()), len(releases))
	}
}

// TestReleaseTables: the release table has exactly one row per release
// core knows, in core's order.
func TestReleaseTables(t *testing.T) {
	known := core.Releases()
	if len(releases) != len(known) {
		t.Fatalf("%d rows for %d releases (see RATIONALE.md, \"How to add a QEMU release\")", len(releases), len(known))
	}
	for i, r := range releases {
		if r.rel != known[i] {
			t.Errorf("row %d is QEMU %s, want %s", i, r.rel, known[i])
		}
		if rulesOf(r.rel) != r {
			t.Errorf("rulesOf(%s) is not its row", r.rel)
		}
	}
}

// TestReleaseFor: a catalog is judged by its own release's rules; one of
// no release by 7.2's (not the oldest known, 5.2); one of an unknown
// release not at all.
func TestReleaseFor(t *testing.T) {
	for v, want := range map[string]string{"5.2.0": "5.2", "7.2.22": "7.2", "7.2": "7.2", "10.0.2": "10.0", "10.0": "10.0", "11.1.3": "11.1", "": "7.2"} {
		got, none, err := ReleaseFor(v)
		if err != nil || got.String() != want || none != (v == "") {
			t.Errorf("ReleaseFor(%q) = %v, %v, %v; want %s", v, got, none, err, want)
		}
		if rulesOf(got) == nil {
			t.Errorf("ReleaseFor(%q) = %s, which Compute does not know", v, got)
		}
	}
	for _, v := range []string{"8.2.2", "9.2.0", "6.2.0", "10.1.0", "11.0", "x.y"} {
		_, _, err := ReleaseFor(v)
		if !errors.Is(err, core.ErrUnknownRelease) || !strings.Contains(err.Error(), core.KnownReleases()) {
			t.Errorf("ReleaseFor(%q): %v, want an unknown-release error naming %s", v, err, core.KnownReleases())
		}
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

// msrOf returns the MSR of feature word name, from core/feature's table.
func msrOf(t *testing.T, name string) uint32 {
	t.Helper()
	w, ok := feature.LookupWord(name)
	if !ok || !w.Loc.IsMSR() {
		t.Fatalf("no MSR word %s", name)
	}
	return w.Loc.MSR
}
