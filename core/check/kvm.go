package check

import (
	"slices"

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

// regKey is one CPUID register: a leaf, a subleaf and a register.
type regKey struct {
	leaf, subleaf uint32
	reg           cpuid.Reg
}

// regBits are bits of one CPUID register.
type regBits struct {
	key  regKey
	mask uint32
}

// in returns b's mask when b is in register k, else 0.
func (b regBits) in(k regKey) uint32 {
	if b.key == k {
		return b.mask
	}
	return 0
}

// kvmMasks is what kvm_arch_get_supported_cpuid does to KVM's answer,
// as register masks compiled from feature names (core/feature's table
// says where each bit lives).
type kvmMasks struct {
	// fixed: a release's kvmAlways and kvmFromHost, by register. A short
	// slice, not a map: cpuid looks it up for every register of every
	// host, and a scan of a handful of keys is cheaper than hashing one.
	fixed []regFix
	// The bits of the host-dependent fixups (see kvmHost.cpuid).
	tscDeadline, x2apic, tsx, archCapabilities, pvUnhalt regBits
	// xcr0Lo and xcr0Hi are CPUID[0xD,0].EAX and EDX, the supported
	// XSAVE components (FEAT_XSAVE_XCR0_LO and _HI).
	xcr0Lo, xcr0Hi regKey
	// archCapabilitiesMSR is the MSR arch-capabilities enumerates.
	archCapabilitiesMSR uint32
	// fbClear: the release sets fb-clear in ARCH_CAPABILITIES for a
	// host not affected by MDS (releaseRules.fbClearIfNotAffected), at
	// fbClearBit when every bit of fbClearNotAffected is set.
	fbClear            bool
	fbClearBit         uint64
	fbClearNotAffected uint64
}

// regFix is what a release sets in one register whatever KVM answers
// (always), and what it copies there from the host's CPUID (fromHost).
type regFix struct {
	key              regKey
	always, fromHost uint32
}

// fix returns the regFix of register k (zero when there is none).
func (m *kvmMasks) fix(k regKey) regFix {
	for _, f := range m.fixed {
		if f.key == k {
			return f
		}
	}
	return regFix{}
}

// compileKVM compiles release r's kvm fixups against reg, the built-in
// registry. It panics on a name that is not a built-in CPUID feature, or
// (for the host-dependent fixups) on names in two registers: the tables
// are compiled in, and TestReleaseTables compiles every row.
func compileKVM(reg *feature.Registry, r *releaseRules) *kvmMasks {
	loc := func(name string) feature.Location {
		id, err := reg.Lookup(name)
		if err != nil {
			panic("check: " + err.Error())
		}
		l := reg.Feature(id).Loc
		if l.IsMSR() {
			panic("check: " + name + " is not a CPUID bit")
		}
		return l
	}
	key := func(l feature.Location) regKey { return regKey{l.Leaf, l.Subleaf, l.Reg} }
	// msrBits are the ARCH_CAPABILITIES bits of names.
	msrBits := func(names ...string) uint64 {
		var m uint64
		for _, n := range names {
			id, err := reg.Lookup(n)
			if err != nil {
				panic("check: " + err.Error())
			}
			m |= 1 << reg.Feature(id).Loc.Bit
		}
		return m
	}
	var fixed []regFix
	add := func(n string, host bool) {
		l := loc(n)
		i := slices.IndexFunc(fixed, func(f regFix) bool { return f.key == key(l) })
		if i < 0 {
			i = len(fixed)
			fixed = append(fixed, regFix{key: key(l)})
		}
		if host {
			fixed[i].fromHost |= 1 << l.Bit
		} else {
			fixed[i].always |= 1 << l.Bit
		}
	}
	for _, n := range r.kvmAlways {
		add(n, false)
	}
	for _, n := range r.kvmFromHost {
		add(n, true)
	}
	bits := func(names ...string) regBits {
		var b regBits
		for i, n := range names {
			l := loc(n)
			if i > 0 && key(l) != b.key {
				panic("check: " + n + " is not in " + names[0] + "'s register")
			}
			b.key, b.mask = key(l), b.mask|1<<l.Bit
		}
		return b
	}
	word := func(name string) feature.Word {
		w, ok := feature.LookupWord(name)
		if !ok {
			panic("check: no feature word " + name)
		}
		return w
	}
	arch := word("FEAT_ARCH_CAPABILITIES")
	if arch.Gate != "arch-capabilities" {
		panic("check: FEAT_ARCH_CAPABILITIES is not enumerated by arch-capabilities")
	}
	return &kvmMasks{
		fixed:               fixed,
		tscDeadline:         bits("tsc-deadline"),
		x2apic:              bits("x2apic"),
		tsx:                 bits("rtm", "hle"),
		archCapabilities:    bits("arch-capabilities"),
		pvUnhalt:            bits("kvm-pv-unhalt"),
		xcr0Lo:              key(word("FEAT_XSAVE_XCR0_LO").Loc),
		xcr0Hi:              key(word("FEAT_XSAVE_XCR0_HI").Loc),
		archCapabilitiesMSR: arch.Loc.MSR,
		fbClear:             r.fbClearIfNotAffected,
		fbClearBit:          msrBits("fb-clear"),
		fbClearNotAffected:  msrBits("mds-no", "taa-no", "sbdr-ssdp-no", "fbsdp-no", "psdp-no"),
	}
}

// kvmHost answers the questions QEMU asks KVM, from a snapshot.
type kvmHost struct {
	r         *releaseRules
	m         *kvmMasks
	supported map[[2]uint32]host.CPUIDEntry // KVM_GET_SUPPORTED_CPUID
	raw       cpuid.Leaves                  // the host's own CPUID
	caps      map[int]int64
	msrs      map[uint32]uint64
	xcr0      *uint64 // the host's XCR0, nil if not recorded
	irqchip   bool    // kvm_irqchip_in_kernel()
	tsxBroken bool    // host_tsx_broken()
}

func newKVMHost(s *host.HostSnapshot, r *releaseRules) *kvmHost {
	k := &kvmHost{
		r:         r,
		m:         kvmMasksOf()[r],
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
// answer plus QEMU's fixups, for one register of one leaf. The fixups
// that do not depend on the host are the release table's kvmAlways and
// kvmFromHost (versions.go); those that do:
//
//   - tsc-deadline is set when the irqchip is in the kernel and KVM has
//     KVM_CAP_TSC_DEADLINE_TIMER; x2apic and kvm-pv-unhalt are dropped
//     without the in-kernel irqchip (kvm-msi-ext-dest-id would be added
//     with a split irqchip, which pc-q35 machines do not use by default;
//     monitor with -overcommit cpu-pm=on is not modelled: it is off by
//     default).
//   - rtm and hle are dropped on Haswell hosts with broken TSX.
//   - arch-capabilities is dropped when KVM's MSR list lacks
//     MSR_IA32_ARCH_CAPABILITIES (Linux 4.17–4.20 on SVM); the snapshot's
//     feature-MSR list stands in for KVM_GET_MSR_INDEX_LIST.
//   - [0xD,0].EAX/EDX: with KVM_CAP_SYS_ATTRIBUTES, QEMU replaces KVM's
//     answer by KVM_GET_DEVICE_ATTR(KVM_X86_XCOMP_GUEST_SUPP), which the
//     snapshot does not record; it differs from KVM_GET_SUPPORTED_CPUID
//     only by the dynamic AMX tile components, which KVM leaves out until
//     the process asks for them (arch_prctl), so they are taken from the
//     host's XCR0. 5.2 has no such replacement (the row's
//     noXCompGuestSupp).
//
// ([8000_0001].EDX gets the AMD aliases of [1].EDX, which QEMU does not
// name in that word.)
func (k *kvmHost) cpuid(leaf, subleaf uint32, r cpuid.Reg) uint32 {
	ret := k.entry(leaf, subleaf, r)
	key := regKey{leaf, subleaf, r}
	m := k.m
	fix := m.fix(key)
	ret |= fix.always
	if fix.fromHost != 0 {
		ret |= k.hostCPUID(leaf, subleaf, r) & fix.fromHost
	}
	if k.irqchip && k.caps[capTSCDeadlineTimer] != 0 {
		ret |= m.tscDeadline.in(key)
	}
	if !k.irqchip {
		ret &^= m.x2apic.in(key) | m.pvUnhalt.in(key)
	}
	if k.tsxBroken {
		ret &^= m.tsx.in(key)
	}
	if _, ok := k.msrs[m.archCapabilitiesMSR]; !ok {
		ret &^= m.archCapabilities.in(key)
	}
	if (key == m.xcr0Lo || key == m.xcr0Hi) && !k.r.noXCompGuestSupp && k.caps[capSysAttributes] != 0 && k.xcr0 != nil {
		tiles := *k.xcr0 & (1<<feature.XStateTileCfg | 1<<feature.XStateTileData)
		if key == m.xcr0Lo {
			ret |= uint32(tiles)
		} else {
			ret |= uint32(tiles >> 32)
		}
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
//
// Mirrored for 11.1 only (releaseRules.fbClearIfNotAffected): fb-clear
// set in ARCH_CAPABILITIES when mds-no, taa-no, sbdr-ssdp-no, fbsdp-no
// and psdp-no are, which 10.0.2 and 7.2 do not do.
func (k *kvmHost) msr(index uint32) (uint64, bool) {
	v, ok := k.msrs[index]
	if ok && k.m.fbClear && index == k.m.archCapabilitiesMSR && v&k.m.fbClearNotAffected == k.m.fbClearNotAffected {
		v |= k.m.fbClearBit
	}
	return v, ok
}

// supportedXCR0 is the XSAVE components KVM lets a guest have: FEAT_XSAVE_XCR0_LO
// and _HI as x86_cpu_get_supported_feature_word returns them.
func (k *kvmHost) supportedXCR0() uint64 {
	lo, hi := k.m.xcr0Lo, k.m.xcr0Hi
	return uint64(k.cpuid(lo.leaf, lo.subleaf, lo.reg)) | uint64(k.cpuid(hi.leaf, hi.subleaf, hi.reg))<<32
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
	intelPTIPLIP             = 1 << 31 // CPUID[0x14,0].ECX: IP payloads are LIP
)

// intelPTUsable mirrors the Intel PT check at the end of
// x86_cpu_filter_features: intel-pt is filtered, even when KVM reports
// it, unless KVM's leaf 0x14 gives what QEMU's CPUID leaf 0x14 promises.
// From 7.2 on QEMU also filters intel-pt when the host's intel-pt-lip
// differs from the model's; that depends on the model, and is left to the
// model's own intel-pt-lip (which is unavailable when the host lacks it).
// 5.2 names no intel-pt-lip and filters intel-pt whenever the host's PT
// reports LIP (the row's ptRefusesLIP; 5.2's cpu.c INTEL_PT_IP_LIP).
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
		ebx1&(intelPTPSBBitmap|intelPTCycleBitmap) == intelPTPSBBitmap|intelPTCycleBitmap &&
		!(k.r.ptRefusesLIP && ecx0&intelPTIPLIP != 0)
}

// kvmSupported mirrors x86_cpu_get_supported_feature_word under KVM for
// every feature word, plus x86_cpu_filter_features' Intel PT check. It
// also returns the XSAVE components KVM supports, for xsaveFilter.
func kvmSupported(reg *feature.Registry, s *host.HostSnapshot, r *releaseRules) (feature.FeatureSet, uint64) {
	k := newKVMHost(s, r)
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
	return set.Difference(qemuWithheld(reg, s, r)), k.supportedXCR0()
}

// qemuWithheld are the features QEMU withholds from a guest on host s
// whatever KVM supports. 10.1 and later: arch-capabilities from a CPU of
// AMD's vendor (x86_cpu_get_supported_feature_word, FEAT_7_0_EDX). The
// vendor is the guest's; Set takes it to be the host's (see the package
// comment).
func qemuWithheld(reg *feature.Registry, s *host.HostSnapshot, r *releaseRules) feature.FeatureSet {
	if r.archCapNotOnAMD && s.Vendor == "AuthenticAMD" {
		return mustSet(reg, "arch-capabilities")
	}
	return feature.FeatureSet{}
}

// xsaveFilter removes from set the features QEMU reports unavailable
// because an XSAVE component they need is missing from supported
// (x86_cpu_enable_xsave_components requests the component for the
// feature, x86_cpu_filter_features filters it, x86_cpu_feature_name names
// it after the feature). In 7.2 any component can be missing; in 10.0
// x86_cpu_post_initfn zeroes the size of the components above SSE that
// the accelerator does not support, cpuid_has_xsave_feature then never
// requests them, and only x87 and SSE (both reported as "xsave") remain.
func xsaveFilter(reg *feature.Registry, set feature.FeatureSet, supported uint64, r *releaseRules) feature.FeatureSet {
	for _, a := range xsaveAreas {
		if !r.xsaveAllComponents && a.component > feature.XStateSSE {
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
func tcgSupported(reg *feature.Registry, r *releaseRules) (feature.FeatureSet, uint64) {
	var set feature.FeatureSet
	for _, w := range r.tcg {
		set = set.Union(mustSet(reg, w.names...))
		// ~0U is 32 bits: a 64-bit MSR word's bits 32-63 (11.1's its-no,
		// bit 62 of ARCH_CAPABILITIES) are not in it.
		if word, ok := feature.LookupWord(w.word); ok && w.all {
			set = set.Union(reg.InWord(word, 0, 31).Difference(pluginFeatures(reg)))
		}
	}
	return set, r.tcgXCR0
}
