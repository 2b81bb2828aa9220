package check

import (
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// KVM capability numbers (<linux/kvm.h> KVM_CAP_*) QEMU consults.
const (
	capIRQChip          = 0   // KVM_CAP_IRQCHIP
	capTSCDeadlineTimer = 72  // KVM_CAP_TSC_DEADLINE_TIMER
	capSysAttributes    = 209 // KVM_CAP_SYS_ATTRIBUTES
)

// Feature MSR indexes (QEMU's MSR_IA32_*).
const (
	msrCoreCapability   = 0xcf
	msrArchCapabilities = 0x10a
	msrPerfCapabilities = 0x345
	msrVMXBasic         = 0x480
	msrVMXVMFunc        = 0x491
)

// kvmCPUIDFeatures is KVM_CPUID_FEATURES, the KVM paravirtual feature leaf.
const kvmCPUIDFeatures = 0x40000001

// CPUID bits kvm_arch_get_supported_cpuid adjusts, named as in QEMU's
// target/i386/cpu.h.
const (
	cpuidMCE  = 1 << 7  // CPUID_MCE, [1].EDX
	cpuidMTRR = 1 << 12 // CPUID_MTRR
	cpuidMCA  = 1 << 14 // CPUID_MCA
	cpuidPAT  = 1 << 16 // CPUID_PAT
	cpuidHT   = 1 << 28 // CPUID_HT

	cpuidExtX2APIC           = 1 << 21 // CPUID_EXT_X2APIC, [1].ECX
	cpuidExtTSCDeadlineTimer = 1 << 24 // CPUID_EXT_TSC_DEADLINE_TIMER
	cpuidExtHypervisor       = 1 << 31 // CPUID_EXT_HYPERVISOR

	cpuid6EAXARAT = 1 << 2 // CPUID_6_EAX_ARAT

	cpuid70EBXHLE  = 1 << 4  // CPUID_7_0_EBX_HLE
	cpuid70EBXERMS = 1 << 9  // CPUID_7_0_EBX_ERMS
	cpuid70EBXRTM  = 1 << 11 // CPUID_7_0_EBX_RTM

	cpuid70EDXFSRM             = 1 << 4  // CPUID_7_0_EDX_FSRM
	cpuid70EDXArchCapabilities = 1 << 29 // CPUID_7_0_EDX_ARCH_CAPABILITIES

	cpuid71EAXFZRM = 1 << 10 // CPUID_7_1_EAX_FZRM
	cpuid71EAXFSRS = 1 << 11 // CPUID_7_1_EAX_FSRS
	cpuid71EAXFSRC = 1 << 12 // CPUID_7_1_EAX_FSRC

	cpuid72EDXMCDTNo = 1 << 5 // CPUID_7_2_EDX_MCDT_NO

	cpuidExt3TopoExt = 1 << 22 // CPUID_EXT3_TOPOEXT, [8000_0001].ECX

	cpuid80000007EBXOverflowRecov = 1 << 0 // CPUID_8000_0007_EBX_OVERFLOW_RECOV
	cpuid80000007EBXSuccor        = 1 << 1 // CPUID_8000_0007_EBX_SUCCOR

	cpuidKVMPVUnhalt = 1 << 7 // KVM_FEATURE_PV_UNHALT, [4000_0001].EAX
	// KVM_FEATURE_MSI_EXT_DEST_ID (bit 15) is added only with a split
	// irqchip, which pc-q35 machines do not use by default.
	cpuidKVMHintsRealtime = 1 << 0 // KVM_HINTS_REALTIME, [4000_0001].EDX
)

// kvmHost answers the questions QEMU asks KVM, from a snapshot.
type kvmHost struct {
	v         *version
	supported map[[2]uint32]host.CPUIDEntry // KVM_GET_SUPPORTED_CPUID
	raw       cpuid.Leaves                  // the host's own CPUID
	caps      map[int]int64
	msrs      map[uint32]uint64
	xcr0      *uint64 // the host's XCR0, nil if not recorded
	irqchip   bool    // kvm_irqchip_in_kernel()
	tsxBroken bool    // host_tsx_broken()
}

func newKVMHost(s *host.HostSnapshot, v *version) *kvmHost {
	k := &kvmHost{
		v:         v,
		supported: make(map[[2]uint32]host.CPUIDEntry, len(s.KVM.SupportedCPUID)),
		raw:       s.Leaves(),
		caps:      s.KVM.Capabilities,
		msrs:      s.KVM.FeatureMSRs,
		xcr0:      s.XCR0,
	}
	for _, e := range s.KVM.SupportedCPUID {
		k.supported[[2]uint32{e.Leaf, e.Subleaf}] = e
	}
	// kvm_irqchip_create: with the default kernel-irqchip=on QEMU creates
	// the in-kernel irqchip whenever KVM has KVM_CAP_IRQCHIP.
	k.irqchip = k.caps[capIRQChip] != 0
	k.tsxBroken = hostTSXBroken(k.raw)
	return k
}

// hostTSXBroken mirrors kvm.c's host_tsx_broken: Haswell parts whose TSX
// is known to be broken, identified from the host's own CPUID the way
// host_cpu_vendor_fms does.
func hostTSXBroken(raw cpuid.Leaves) bool {
	l0, ok0 := raw.Find(0, 0)
	l1, ok1 := raw.Find(1, 0)
	if !ok0 || !ok1 {
		return false
	}
	vendor := string([]byte{
		byte(l0.EBX), byte(l0.EBX >> 8), byte(l0.EBX >> 16), byte(l0.EBX >> 24),
		byte(l0.EDX), byte(l0.EDX >> 8), byte(l0.EDX >> 16), byte(l0.EDX >> 24),
		byte(l0.ECX), byte(l0.ECX >> 8), byte(l0.ECX >> 16), byte(l0.ECX >> 24),
	})
	family := (l1.EAX>>8)&0xf + (l1.EAX>>20)&0xff
	model := (l1.EAX>>4)&0xf | (l1.EAX&0xf0000)>>12
	stepping := l1.EAX & 0xf
	return vendor == "GenuineIntel" && family == 6 &&
		(model == 63 && stepping < 4 || model == 60 || model == 69 || model == 70)
}

// hostCPUID is QEMU's host_cpuid: the CPUID instruction on the host.
func (k *kvmHost) hostCPUID(leaf, subleaf uint32, r cpuid.Reg) uint32 {
	l, ok := k.raw.Find(leaf, subleaf)
	if !ok {
		return 0
	}
	return l.Reg(r)
}

// entry is cpuid_find_entry + cpuid_entry_get_reg: KVM's raw answer for
// exactly (function, index), 0 when KVM has no such entry.
func (k *kvmHost) entry(leaf, subleaf uint32, r cpuid.Reg) uint32 {
	e, ok := k.supported[[2]uint32{leaf, subleaf}]
	if !ok {
		return 0
	}
	switch r {
	case cpuid.EAX:
		return e.EAX
	case cpuid.EBX:
		return e.EBX
	case cpuid.ECX:
		return e.ECX
	}
	return e.EDX
}

// cpuid mirrors kvm_arch_get_supported_cpuid (target/i386/kvm/kvm.c): KVM's
// answer plus QEMU's fixups, for one register of one leaf. The fixups of
// both releases:
//
//   - [1].EDX: MTRR, PAT, MCE and MCA always ("KVM before 2.6.30
//     misreports"); 10.0 also HT.
//   - [1].ECX: hypervisor always; tsc-deadline when the irqchip is in the
//     kernel and KVM has KVM_CAP_TSC_DEADLINE_TIMER; x2apic dropped without
//     the in-kernel irqchip. (monitor with -overcommit cpu-pm=on is not
//     modelled: it is off by default.)
//   - [6].EAX: ARAT always ("safe because of emulated APIC").
//   - [7,0].EBX: RTM and HLE dropped on Haswell hosts with broken TSX;
//     10.0 also adds the host's own ERMS.
//   - [7,0].EDX: arch-capabilities dropped when KVM's MSR list lacks
//     MSR_IA32_ARCH_CAPABILITIES (Linux 4.17–4.20 on SVM); the snapshot's
//     feature-MSR list stands in for KVM_GET_MSR_INDEX_LIST. 10.0 also
//     adds the host's own FSRM.
//   - 10.0: [7,1].EAX gets the host's FZRM, FSRS, FSRC and [7,2].EDX the
//     host's MCDT_NO.
//   - [0xD,0].EAX/EDX: with KVM_CAP_SYS_ATTRIBUTES, QEMU replaces KVM's
//     answer by KVM_GET_DEVICE_ATTR(KVM_X86_XCOMP_GUEST_SUPP), which the
//     snapshot does not record; it differs from KVM_GET_SUPPORTED_CPUID
//     only by the dynamic AMX tile components, which KVM leaves out until
//     the process asks for them (arch_prctl), so they are taken from the
//     host's XCR0.
//   - [8000_0001].ECX: TOPOEXT always. ([8000_0001].EDX gets the AMD
//     aliases of [1].EDX, which QEMU does not name in that word.)
//   - 10.0: [8000_0007].EBX: overflow-recov and succor always.
//   - [4000_0001].EAX: kvm-pv-unhalt dropped without the in-kernel
//     irqchip (kvm-msi-ext-dest-id would be added with a split irqchip).
//   - [4000_0001].EDX: kvm-hint-dedicated (KVM_HINTS_REALTIME) always.
func (k *kvmHost) cpuid(leaf, subleaf uint32, r cpuid.Reg) uint32 {
	ret := k.entry(leaf, subleaf, r)
	switch {
	case leaf == 1 && r == cpuid.EDX:
		ret |= cpuidMTRR | cpuidPAT | cpuidMCE | cpuidMCA
		if k.v.kvmHT {
			ret |= cpuidHT
		}
	case leaf == 1 && r == cpuid.ECX:
		ret |= cpuidExtHypervisor
		if k.irqchip && k.caps[capTSCDeadlineTimer] != 0 {
			ret |= cpuidExtTSCDeadlineTimer
		}
		if !k.irqchip {
			ret &^= cpuidExtX2APIC
		}
	case leaf == 6 && r == cpuid.EAX:
		ret |= cpuid6EAXARAT
	case leaf == 7 && subleaf == 0 && r == cpuid.EBX:
		if k.v.kvmHostOptimizations {
			ret |= k.hostCPUID(7, 0, cpuid.EBX) & cpuid70EBXERMS
		}
		if k.tsxBroken {
			ret &^= cpuid70EBXRTM | cpuid70EBXHLE
		}
	case leaf == 7 && subleaf == 0 && r == cpuid.EDX:
		if k.v.kvmHostOptimizations {
			ret |= k.hostCPUID(7, 0, cpuid.EDX) & cpuid70EDXFSRM
		}
		if _, ok := k.msrs[msrArchCapabilities]; !ok {
			ret &^= cpuid70EDXArchCapabilities
		}
	case leaf == 7 && subleaf == 1 && r == cpuid.EAX && k.v.kvmHostOptimizations:
		ret |= k.hostCPUID(7, 1, cpuid.EAX) & (cpuid71EAXFZRM | cpuid71EAXFSRS | cpuid71EAXFSRC)
	case leaf == 7 && subleaf == 2 && r == cpuid.EDX && k.v.kvmHostOptimizations:
		ret |= k.hostCPUID(7, 2, cpuid.EDX) & cpuid72EDXMCDTNo
	case leaf == 0xd && subleaf == 0 && (r == cpuid.EAX || r == cpuid.EDX):
		if k.caps[capSysAttributes] != 0 && k.xcr0 != nil {
			tiles := *k.xcr0 & (1<<xstateTileCfg | 1<<xstateTileData)
			if r == cpuid.EAX {
				ret |= uint32(tiles)
			} else {
				ret |= uint32(tiles >> 32)
			}
		}
	case leaf == 0x80000001 && r == cpuid.ECX:
		ret |= cpuidExt3TopoExt
	case leaf == 0x80000007 && r == cpuid.EBX && k.v.kvmMCARecovery:
		ret |= cpuid80000007EBXOverflowRecov | cpuid80000007EBXSuccor
	case leaf == kvmCPUIDFeatures && r == cpuid.EAX:
		if !k.irqchip {
			ret &^= cpuidKVMPVUnhalt
		}
	case leaf == kvmCPUIDFeatures && r == cpuid.EDX:
		ret |= cpuidKVMHintsRealtime
	}
	return ret
}

// msr mirrors kvm_arch_get_supported_msr_feature: 0 for an MSR KVM does
// not list as a feature MSR, the value otherwise. (Decoding the VMX
// control MSRs as "may be 1 but need not be" is feature.DecodeMSRs's
// job.) Not mirrored, both deliberately:
//
//   - The MSR_IA32_VMX_PROCBASED_CTLS2 workaround for kernels whose
//     KVM_GET_MSR_INDEX_LIST lacks the MSR ("KVM forgot to add these
//     bits"): a kernel that lists it as a feature MSR also lists it there.
//   - fb-clear set when mds-no, taa-no, sbdr-ssdp-no, fbsdp-no and
//     psdp-no are: that is in QEMU master after 10.0, not in 10.0.2 nor 7.2
//     (which does not even name those bits).
func (k *kvmHost) msr(index uint32) (uint64, bool) {
	v, ok := k.msrs[index]
	return v, ok
}

// supportedXCR0 is the XSAVE components KVM lets a guest have: FEAT_XSAVE_XCR0_LO
// and _HI as x86_cpu_get_supported_feature_word returns them.
func (k *kvmHost) supportedXCR0() uint64 {
	return uint64(k.cpuid(0xd, 0, cpuid.EAX)) | uint64(k.cpuid(0xd, 0, cpuid.EDX))<<32
}

// Intel PT requirements (target/i386/cpu.c INTEL_PT_*).
const (
	intelPTMinimalEBX        = 0xf
	intelPTMinimalECX        = 0x7
	intelPTAddrRangesNum     = 0x2
	intelPTAddrRangesNumMask = 0x3
	intelPTMTCBitmap         = 0x0249 << 16
	intelPTCycleBitmap       = 0x1fff
	intelPTPSBBitmap         = 0x003f << 16
)

// intelPTUsable mirrors the Intel PT check at the end of
// x86_cpu_filter_features: intel-pt is filtered, even when KVM reports
// it, unless KVM's leaf 0x14 offers what QEMU's CPUID leaf 0x14 promises.
// QEMU also filters intel-pt when the host's intel-pt-lip differs from
// the model's; that depends on the model, and is left to the model's own
// intel-pt-lip (which is unavailable when the host lacks it).
func (k *kvmHost) intelPTUsable() bool {
	eax0 := k.cpuid(0x14, 0, cpuid.EAX)
	ebx0 := k.cpuid(0x14, 0, cpuid.EBX)
	ecx0 := k.cpuid(0x14, 0, cpuid.ECX)
	eax1 := k.cpuid(0x14, 1, cpuid.EAX)
	ebx1 := k.cpuid(0x14, 1, cpuid.EBX)
	return eax0 != 0 &&
		ebx0&intelPTMinimalEBX == intelPTMinimalEBX &&
		ecx0&intelPTMinimalECX == intelPTMinimalECX &&
		eax1&intelPTMTCBitmap == intelPTMTCBitmap &&
		eax1&intelPTAddrRangesNumMask >= intelPTAddrRangesNum &&
		ebx1&(intelPTPSBBitmap|intelPTCycleBitmap) == intelPTPSBBitmap|intelPTCycleBitmap
}

// kvmSupported mirrors x86_cpu_get_supported_feature_word under KVM for
// every feature word, plus x86_cpu_filter_features' Intel PT check. It
// also returns the XSAVE components KVM supports, for xsaveFilter.
func kvmSupported(reg *feature.Registry, s *host.HostSnapshot, v *version) (feature.FeatureSet, uint64) {
	k := newKVMHost(s, v)
	// Every CPUID word: kvm_arch_get_supported_cpuid(eax, ecx, reg).
	var ls cpuid.Leaves
	for _, key := range reg.CPUIDLeaves() {
		l := cpuid.Leaf{Leaf: key[0], Subleaf: key[1]}
		for r := cpuid.EAX; r <= cpuid.EDX; r++ {
			l.SetReg(r, k.cpuid(key[0], key[1], r))
		}
		ls = append(ls, l)
	}
	set := reg.Decode(ls)
	// Every MSR word: kvm_arch_get_supported_msr_feature(index).
	msrs := map[uint32]uint64{}
	for _, m := range reg.MSRs() {
		if val, ok := k.msr(m); ok {
			msrs[m] = val
		}
	}
	set = set.Union(reg.DecodeMSRs(msrs))
	// 10.0's x86_cpu_get_supported_feature_word also drops sgx and sgxlc
	// when check_sgx_support() fails, which it does only on machines
	// that are not PC machines; pc-q35 is one.
	if id, err := reg.Lookup("intel-pt"); err == nil && set.Has(id) && !k.intelPTUsable() {
		set = set.Remove(id)
	}
	return set, k.supportedXCR0()
}

// xsaveFilter removes from set the features QEMU reports unavailable
// because an XSAVE component they need is missing from supported
// (x86_cpu_enable_xsave_components requests the component for the
// feature, x86_cpu_filter_features filters it, x86_cpu_feature_name names
// it after the feature). In 7.2 any component can be missing; in 10.0
// x86_cpu_post_initfn zeroes the size of the components above SSE that
// the accelerator does not support, cpuid_has_xsave_feature then never
// requests them, and only x87 and SSE (both reported as "xsave") remain.
func xsaveFilter(reg *feature.Registry, set feature.FeatureSet, supported uint64, v *version) feature.FeatureSet {
	for _, a := range xsaveAreas {
		if !v.xsaveAllComponents && a.component > xstateSSE {
			continue
		}
		if supported>>a.component&1 != 0 {
			continue
		}
		if id, err := reg.Lookup(a.feature); err == nil {
			set = set.Remove(id)
		}
	}
	return set
}

// tcgSupported is x86_cpu_get_supported_feature_word under TCG: the union
// of every word's tcg_features (host-independent; the KVM paravirtual
// words have TCG_KVM_FEATURES, 0), and the XSAVE components TCG supports.
func tcgSupported(reg *feature.Registry, v *version) (feature.FeatureSet, uint64) {
	var set feature.FeatureSet
	for _, w := range v.tcg {
		set = set.Union(mustSet(reg, w.names...))
		if w.allMSR != 0 {
			for _, f := range reg.Features() {
				if f.Loc.MSR == w.allMSR && f.Source == "" {
					set = set.Add(f.ID)
				}
			}
		}
	}
	return set, v.tcgXCR0
}
