package host

import (
	"fmt"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/kvm"
)

// Prober reads a host's raw facts. [Live] reads this machine; [Replay]
// replays a snapshot. Only CPUID is required: every other method may fail,
// and [Probe] records why.
type Prober interface {
	// CPUID enumerates every leaf and subleaf of one CPU.
	CPUID() (cpuid.Leaves, error)
	// XCR0 reads the OS-enabled XSAVE components.
	XCR0() (uint64, error)
	// CPUInfoFlags returns the flags /proc/cpuinfo prints for the first
	// processor.
	CPUInfoFlags() ([]string, error)
	// KVM reads the KVM system fd.
	KVM() (*kvm.Info, error)
	// Kernel returns the kernel release.
	Kernel() (string, error)
	// Hostname returns the host's name.
	Hostname() (string, error)
}

// Probe reads everything p offers and derives the feature layers with reg.
// now is the probe time to record (callers pass time.Now(); tests pass a
// fixed time so that output is reproducible).
func Probe(p Prober, reg *feature.Registry, now time.Time) (*HostSnapshot, error) {
	leaves, err := p.CPUID()
	if err != nil {
		return nil, err
	}
	s := newSnapshot(SourceLive, now, leaves)
	s.Hostname, _ = p.Hostname()
	s.Kernel, _ = p.Kernel()
	if x, err := p.XCR0(); err == nil {
		s.XCR0 = &x
	}
	if f, err := p.CPUInfoFlags(); err == nil {
		s.CPUInfoFlags = f
	}
	if k, err := p.KVM(); err != nil {
		s.KVMError = err.Error()
	} else {
		s.KVM = &KVMInfo{
			APIVersion:     k.APIVersion,
			SupportedCPUID: fromKVMEntries(k.SupportedCPUID),
			EmulatedCPUID:  fromKVMEntries(k.EmulatedCPUID),
			HyperVCPUID:    fromKVMEntries(k.HyperVCPUID),
			Capabilities:   k.Capabilities,
			FeatureMSRs:    k.FeatureMSRs,
		}
		if s.KVM.Capabilities == nil {
			s.KVM.Capabilities = map[int]int64{}
		}
		if s.KVM.FeatureMSRs == nil {
			s.KVM.FeatureMSRs = map[uint32]uint64{}
		}
	}
	s.setIdentity(leaves)
	hw := reg.Decode(leaves)
	osl := OSLayer(reg, hw, s.XCR0, s.CPUInfoFlags)
	var kv feature.FeatureSet
	if s.KVM != nil {
		kv = KVMLayer(reg, s.KVM)
	}
	s.Features = Layers{HW: reg.Names(hw), OS: reg.Names(osl), KVM: reg.Names(kv)}
	return s, nil
}

// OSLayer returns the features of hw that the kernel left usable: those
// whose XSAVE state XCR0 enables (when XCR0 is known) and, when the
// kernel's /proc/cpuinfo flags are known, those whose Linux flag the
// kernel prints. Bits Linux never prints (most VMX and MSR bits) are
// judged by XCR0 alone.
func OSLayer(reg *feature.Registry, hw feature.FeatureSet, xcr0 *uint64, cpuinfo []string) feature.FeatureSet {
	var printed map[string]bool
	if cpuinfo != nil {
		printed = make(map[string]bool, len(cpuinfo))
		for _, f := range cpuinfo {
			printed[f] = true
		}
	}
	out := hw
	for id := range hw.All() {
		f := reg.Feature(id)
		if xcr0 != nil && f.XCR0&^*xcr0 != 0 {
			out = out.Remove(id)
		}
		if printed != nil && f.Linux != "" && !printed[f.Linux] {
			out = out.Remove(id)
		}
	}
	return out
}

// KVMLayer returns what KVM reports it can give a guest, as KVM itself
// says it: KVM_GET_SUPPORTED_CPUID plus the feature MSRs. Emulated CPUID
// is left out: QEMU does not offer emulated bits unless asked. The
// adjustments QEMU makes on top (the hypervisor bit, its own x2apic and
// TSC-deadline rules, …) belong to runnability, not to the probe.
func KVMLayer(reg *feature.Registry, k *KVMInfo) feature.FeatureSet {
	s := reg.Decode(toLeaves(k.SupportedCPUID))
	return s.Union(reg.DecodeMSRs(k.FeatureMSRs))
}

// setIdentity fills vendor, family/model/stepping and brand from CPUID.
func (s *HostSnapshot) setIdentity(ls cpuid.Leaves) {
	if l, ok := ls.Find(0, 0); ok {
		s.Vendor = cpuid.Vendor(l)
	}
	if l, ok := ls.Find(1, 0); ok {
		s.Family, s.Model, s.Stepping = Signature(l.EAX)
	}
	var brand []byte
	for leaf := uint32(0x80000002); leaf <= 0x80000004; leaf++ {
		l, ok := ls.Find(leaf, 0)
		if !ok {
			brand = nil
			break
		}
		brand = append(brand, regString(l.EAX, l.EBX, l.ECX, l.EDX)...)
	}
	s.Brand = trimBrand(string(brand))
}

// Signature decodes CPUID.1:EAX into the display family, model and
// stepping (Intel SDM vol. 2A, CPUID "Feature Information"; AMD uses the
// same rule for family 0xF and up).
func Signature(eax uint32) (family, model, stepping int) {
	stepping = int(eax & 0xf)
	model = int(eax >> 4 & 0xf)
	family = int(eax >> 8 & 0xf)
	if family == 0xf {
		family += int(eax >> 20 & 0xff)
	}
	if family >= 6 {
		model += int(eax>>16&0xf) << 4
	}
	return
}

func regString(regs ...uint32) string {
	b := make([]byte, 0, 4*len(regs))
	for _, r := range regs {
		b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	return string(b)
}

// trimBrand drops the NULs and the padding spaces CPUs put around the
// brand string.
func trimBrand(b string) string {
	for len(b) > 0 && (b[len(b)-1] == 0 || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// replay is a Prober over a recorded snapshot.
type replay struct{ s *HostSnapshot }

// Replay returns a Prober that answers with what s recorded, so that code
// written against a live host runs unchanged on a recorded one.
func Replay(s *HostSnapshot) Prober { return replay{s} }

func (r replay) CPUID() (cpuid.Leaves, error) {
	if len(r.s.CPUID) == 0 {
		return nil, fmt.Errorf("snapshot of %s has no raw CPUID (source %s)", r.s.Hostname, r.s.Source)
	}
	return r.s.Leaves(), nil
}

func (r replay) XCR0() (uint64, error) {
	if r.s.XCR0 == nil {
		return 0, fmt.Errorf("xcr0 not recorded")
	}
	return *r.s.XCR0, nil
}

func (r replay) CPUInfoFlags() ([]string, error) {
	if r.s.CPUInfoFlags == nil {
		return nil, fmt.Errorf("cpuinfo flags not recorded")
	}
	return r.s.CPUInfoFlags, nil
}

func (r replay) KVM() (*kvm.Info, error) {
	k := r.s.KVM
	if k == nil {
		return nil, fmt.Errorf("%s", r.s.KVMError)
	}
	conv := func(es []CPUIDEntry) []kvm.Entry {
		out := make([]kvm.Entry, len(es))
		for i, e := range es {
			out[i] = kvm.Entry{Leaf: cpuid.Leaf{Leaf: e.Leaf, Subleaf: e.Subleaf, EAX: e.EAX, EBX: e.EBX, ECX: e.ECX, EDX: e.EDX}}
			if e.Flags != nil {
				out[i].Flags = *e.Flags
			}
		}
		return out
	}
	return &kvm.Info{
		APIVersion:     k.APIVersion,
		Capabilities:   k.Capabilities,
		SupportedCPUID: conv(k.SupportedCPUID),
		EmulatedCPUID:  conv(k.EmulatedCPUID),
		HyperVCPUID:    conv(k.HyperVCPUID),
		FeatureMSRs:    k.FeatureMSRs,
	}, nil
}

func (r replay) Kernel() (string, error)   { return r.s.Kernel, nil }
func (r replay) Hostname() (string, error) { return r.s.Hostname, nil }
