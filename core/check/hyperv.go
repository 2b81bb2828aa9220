package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Hyper-V CPUID leaves (target/i386/kvm/hyperv-proto.h): what KVM
// reports with KVM_GET_SUPPORTED_HV_CPUID, in the leaves a Hyper-V
// guest reads.
const (
	hvCPUIDFeatures       = 0x40000003 // HV_CPUID_FEATURES
	hvCPUIDEnlightenment  = 0x40000004 // HV_CPUID_ENLIGHTMENT_INFO
	hvCPUIDNestedFeatures = 0x4000000A // HV_CPUID_NESTED_FEATURES
)

// capHyperV is KVM_CAP_HYPERV: KVM emulates Hyper-V at all. Since Linux
// 6.8 a kernel built without CONFIG_KVM_HYPERV answers 0, and then no
// enlightenment is supported.
const capHyperV = 44

// hvFlag is one test of QEMU's kvm_hyperv_properties: the register of
// the Hyper-V leaf KVM reports must hold all of bits.
type hvFlag struct {
	leaf uint32
	reg  byte // 'a', 'b', 'c' or 'd'
	bits uint32
}

// hvEnlightenment is one entry of QEMU's kvm_hyperv_properties
// (target/i386/kvm/kvm.c, identical in 7.2.0 and 10.0.2): the -cpu
// property, QEMU's description, the bits KVM must offer, and the
// enlightenments it needs on too. flags52 are 5.2.0's bits where they
// differ (target/i386/kvm.c: relaxed, vapic and time also asked for
// HV_HYPERCALL_AVAILABLE, vapic for HV_APIC_ACCESS_RECOMMENDED).
type hvEnlightenment struct {
	prop, desc string
	flags      []hvFlag
	flags52    []hvFlag
	deps       []string
}

// Bit values of hyperv-proto.h.
const (
	hvVPRuntime          = 1 << 0  // HV_VP_RUNTIME_AVAILABLE
	hvTimeRefCount       = 1 << 1  // HV_TIME_REF_COUNT_AVAILABLE
	hvSynIC              = 1 << 2  // HV_SYNIC_AVAILABLE
	hvSynTimers          = 1 << 3  // HV_SYNTIMERS_AVAILABLE
	hvAPICAccess         = 1 << 4  // HV_APIC_ACCESS_AVAILABLE
	hvHypercall          = 1 << 5  // HV_HYPERCALL_AVAILABLE
	hvVPIndex            = 1 << 6  // HV_VP_INDEX_AVAILABLE
	hvReset              = 1 << 7  // HV_RESET_AVAILABLE
	hvReferenceTSC       = 1 << 9  // HV_REFERENCE_TSC_AVAILABLE
	hvAccessFrequency    = 1 << 11 // HV_ACCESS_FREQUENCY_MSRS
	hvReenlightenment    = 1 << 13 // HV_ACCESS_REENLIGHTENMENTS_CONTROL
	hvXMMInput           = 1 << 4  // HV_HYPERCALL_XMM_INPUT_AVAILABLE (EDX)
	hvFrequencyMSRs      = 1 << 8  // HV_FREQUENCY_MSRS_AVAILABLE (EDX)
	hvCrashMSR           = 1 << 10 // HV_GUEST_CRASH_MSR_AVAILABLE (EDX)
	hvDebugMSRs          = 1 << 11 // HV_FEATURE_DEBUG_MSRS_AVAILABLE (EDX)
	hvExtGVARangesFlush  = 1 << 14 // HV_EXT_GVA_RANGES_FLUSH_AVAILABLE (EDX)
	hvSTimerDirect       = 1 << 19 // HV_STIMER_DIRECT_MODE_AVAILABLE (EDX)
	hvRemoteTLBFlush     = 1 << 2  // HV_REMOTE_TLB_FLUSH_RECOMMENDED
	hvAPICAccessRecomm   = 1 << 3  // HV_APIC_ACCESS_RECOMMENDED
	hvRelaxedTiming      = 1 << 5  // HV_RELAXED_TIMING_RECOMMENDED
	hvDeprecatingAEOI    = 1 << 9  // HV_DEPRECATING_AEOI_RECOMMENDED
	hvClusterIPI         = 1 << 10 // HV_CLUSTER_IPI_RECOMMENDED
	hvExProcessorMasks   = 1 << 11 // HV_EX_PROCESSOR_MASKS_RECOMMENDED
	hvEnlightenedVMCS    = 1 << 14 // HV_ENLIGHTENED_VMCS_RECOMMENDED
	hvNestedDirectFlush  = 1 << 17 // HV_NESTED_DIRECT_FLUSH
	hvNestedMSRBitmap    = 1 << 19 // HV_NESTED_MSR_BITMAP
	hvFeaturesEAX        = 'a'
	hvFeaturesEDX        = 'd'
	hvEnlightenmentEAX   = 'a'
	hvNestedFeaturesEAX  = 'a'
	hvPropPassthrough    = "hv-passthrough"
	hvPropSynICKVMOnly   = "x-hv-synic-kvm-only"
	hvSynICDescription   = "synthetic interrupt controller (hv-synic)"
	hvVPIndexDescription = "VP_INDEX MSR (hv-vpindex)"
)

var hvEnlightenments = []hvEnlightenment{
	{prop: "hv-relaxed", desc: "relaxed timing (hv-relaxed)",
		flags:   []hvFlag{{hvCPUIDEnlightenment, hvEnlightenmentEAX, hvRelaxedTiming}},
		flags52: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvHypercall}, {hvCPUIDEnlightenment, hvEnlightenmentEAX, hvRelaxedTiming}}},
	{prop: "hv-vapic", desc: "virtual APIC (hv-vapic)",
		flags:   []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvAPICAccess}},
		flags52: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvHypercall | hvAPICAccess}, {hvCPUIDEnlightenment, hvEnlightenmentEAX, hvAPICAccessRecomm}}},
	{prop: "hv-time", desc: "clocksources (hv-time)",
		flags:   []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvTimeRefCount | hvReferenceTSC}},
		flags52: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvHypercall | hvTimeRefCount | hvReferenceTSC}}},
	{prop: "hv-crash", desc: "crash MSRs (hv-crash)", flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEDX, hvCrashMSR}}},
	{prop: "hv-reset", desc: "reset MSR (hv-reset)", flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvReset}}},
	{prop: "hv-vpindex", desc: hvVPIndexDescription, flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvVPIndex}}},
	{prop: "hv-runtime", desc: "VP_RUNTIME MSR (hv-runtime)", flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvVPRuntime}}},
	{prop: "hv-synic", desc: hvSynICDescription, flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvSynIC}}},
	{prop: "hv-stimer", desc: "synthetic timers (hv-stimer)", flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvSynTimers}},
		deps: []string{"hv-synic", "hv-time"}},
	{prop: "hv-frequencies", desc: "frequency MSRs (hv-frequencies)",
		flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvAccessFrequency}, {hvCPUIDFeatures, hvFeaturesEDX, hvFrequencyMSRs}}},
	{prop: "hv-reenlightenment", desc: "reenlightenment MSRs (hv-reenlightenment)", flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEAX, hvReenlightenment}}},
	{prop: "hv-tlbflush", desc: "paravirtualized TLB flush (hv-tlbflush)",
		flags: []hvFlag{{hvCPUIDEnlightenment, hvEnlightenmentEAX, hvRemoteTLBFlush | hvExProcessorMasks}}, deps: []string{"hv-vpindex"}},
	{prop: "hv-evmcs", desc: "enlightened VMCS (hv-evmcs)",
		flags: []hvFlag{{hvCPUIDEnlightenment, hvEnlightenmentEAX, hvEnlightenedVMCS}}, deps: []string{"hv-vapic"}},
	{prop: "hv-ipi", desc: "paravirtualized IPI (hv-ipi)",
		flags: []hvFlag{{hvCPUIDEnlightenment, hvEnlightenmentEAX, hvClusterIPI | hvExProcessorMasks}}, deps: []string{"hv-vpindex"}},
	{prop: "hv-stimer-direct", desc: "direct mode synthetic timers (hv-stimer-direct)",
		flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEDX, hvSTimerDirect}}, deps: []string{"hv-stimer"}},
	// hv-apicv is hv-avic's other name (an alias property).
	{prop: "hv-avic", desc: "AVIC/APICv support (hv-avic/hv-apicv)", flags: []hvFlag{{hvCPUIDEnlightenment, hvEnlightenmentEAX, hvDeprecatingAEOI}}},
	{prop: "hv-syndbg", desc: "Enable synthetic kernel debugger channel (hv-syndbg)",
		flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEDX, hvDebugMSRs}}, deps: []string{"hv-synic", "hv-relaxed"}},
	{prop: "hv-emsr-bitmap", desc: "enlightened MSR-Bitmap (hv-emsr-bitmap)", flags: []hvFlag{{hvCPUIDNestedFeatures, hvNestedFeaturesEAX, hvNestedMSRBitmap}}},
	{prop: "hv-xmm-input", desc: "XMM fast hypercall input (hv-xmm-input)", flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEDX, hvXMMInput}}},
	{prop: "hv-tlbflush-ext", desc: "Extended gva ranges for TLB flush hypercalls (hv-tlbflush-ext)",
		flags: []hvFlag{{hvCPUIDFeatures, hvFeaturesEDX, hvExtGVARangesFlush}}, deps: []string{"hv-tlbflush"}},
	{prop: "hv-tlbflush-direct", desc: "direct TLB flush (hv-tlbflush-direct)",
		flags: []hvFlag{{hvCPUIDNestedFeatures, hvNestedFeaturesEAX, hvNestedDirectFlush}}, deps: []string{"hv-vapic"}},
}

// HyperV is what KVM on a host offers a guest's Hyper-V enlightenments.
type HyperV struct {
	// Known is false when the snapshot cannot tell (no KVM data, or KVM
	// emulates Hyper-V but its KVM_GET_SUPPORTED_HV_CPUID answer was not
	// recorded).
	Known bool
	// None is true when KVM emulates no Hyper-V at all (KVM_CAP_HYPERV
	// is 0).
	None bool
	// leaves maps a Hyper-V leaf to its EAX, EBX, ECX, EDX.
	leaves map[uint32][4]uint32
}

// hyperVOf reads what KVM on the snapshot's host offers Hyper-V guests.
func hyperVOf(s *host.HostSnapshot) *HyperV {
	if s == nil || s.KVM == nil {
		return &HyperV{}
	}
	if len(s.KVM.HyperVCPUID) > 0 {
		h := &HyperV{Known: true, leaves: map[uint32][4]uint32{}}
		for _, e := range s.KVM.HyperVCPUID {
			h.leaves[e.Leaf] = [4]uint32{e.EAX, e.EBX, e.ECX, e.EDX}
		}
		return h
	}
	if s.KVM.Capabilities[capHyperV] == 0 {
		return &HyperV{Known: true, None: true}
	}
	return &HyperV{}
}

// supported is QEMU's hyperv_feature_supported: every flag's bits are in
// KVM's answer.
func (h *HyperV) supported(flags []hvFlag) bool {
	if h.None {
		return false
	}
	for _, f := range flags {
		r := h.leaves[f.leaf]
		v := r[strings.IndexByte("abcd", f.reg)]
		if v&f.bits != f.bits {
			return false
		}
	}
	return true
}

// HyperVProblem is a Hyper-V enlightenment QEMU will not start a kvm
// guest with: KVM on the host lacks it (Missing, with the Hyper-V CPUID
// bits), or another one it needs is off (Message only).
type HyperVProblem struct {
	Prop     string // the -cpu property, "hv-relaxed"
	Location string // "HV_CPUID[0x40000004].EAX bit 5", or ""
	Message  string // QEMU's error
	Missing  bool
}

// HyperVProblems returns what QEMU's kvm_hyperv_expand_features refuses
// in cs on a host whose KVM offers h, under kvm (enforce or not: QEMU
// exits, "Hyper-V … is not supported by kernel"). hv-passthrough turns on
// what KVM offers and never fails. judged is false when cs turns an
// enlightenment on and h does not tell whether KVM has it.
func HyperVProblems(cs *catalog.CPUSpec, rel core.Release, h *HyperV) (out []HyperVProblem, judged bool) {
	judged = true
	if cs.Prop(hvPropPassthrough, "off") == "on" {
		return nil, true
	}
	on := func(prop string) bool {
		v := cs.Prop(prop, "off")
		if prop == "hv-avic" && v == "off" {
			v = cs.Prop("hv-apicv", "off")
		}
		return v == "on"
	}
	for _, e := range hvEnlightenments {
		if !on(e.prop) {
			continue
		}
		flags := e.flags
		if rel == (core.Release{Major: 5, Minor: 2}) && e.flags52 != nil {
			flags = e.flags52
		}
		switch {
		case !h.Known:
			judged = false
		case !h.supported(flags):
			out = append(out, HyperVProblem{Prop: e.prop, Location: hvLocation(flags), Missing: true,
				Message: fmt.Sprintf("Hyper-V %s is not supported by kernel", e.desc)})
			continue
		}
		for _, d := range e.deps {
			if !on(d) {
				i := slices.IndexFunc(hvEnlightenments, func(o hvEnlightenment) bool { return o.prop == d })
				out = append(out, HyperVProblem{Prop: e.prop,
					Message: fmt.Sprintf("Hyper-V %s requires Hyper-V %s", e.desc, hvEnlightenments[i].desc)})
			}
		}
	}
	// Beyond the table: hv-synic needs hv-vpindex unless
	// x-hv-synic-kvm-only (kvm_hyperv_expand_features).
	if on("hv-synic") && cs.Prop(hvPropSynICKVMOnly, "off") != "on" && !on("hv-vpindex") {
		out = append(out, HyperVProblem{Prop: "hv-synic", Message: fmt.Sprintf("Hyper-V %s requires Hyper-V %s", hvSynICDescription, hvVPIndexDescription)})
	}
	return out, judged
}

// hvLocation names the Hyper-V CPUID bits of flags.
func hvLocation(flags []hvFlag) string {
	var parts []string
	for _, f := range flags {
		var bits []string
		for b := 0; b < 32; b++ {
			if f.bits&(1<<b) != 0 {
				bits = append(bits, fmt.Sprint(b))
			}
		}
		parts = append(parts, fmt.Sprintf("CPUID[%#x].E%cX[%s]", f.leaf, f.reg-'a'+'A', strings.Join(bits, ",")))
	}
	return strings.Join(parts, " ")
}
