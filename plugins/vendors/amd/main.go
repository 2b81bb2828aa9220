// Command amd is cpupolicy's plugin for AMD Zen 5: the EPYC-Turin model as
// QEMU defines it after 10.0, and the CPUID bits it needs that QEMU 10.0
// does not name.
//
// Sources (public facts only):
//   - "[PATCH v7 6/6] target/i386: Add support for EPYC-Turin model"
//     (Babu Moger, qemu-devel, 2025-05-08), merged for QEMU 10.1: the
//     definition below, field by field;
//   - QEMU's feature_word_info after 10.0 and the patches that added the
//     names (fs-gs-base-ns with EPYC-Genoa-v2, prefetchi with EPYC-Turin,
//     verw-clear, tsa-sq-no and tsa-l1-no for the TSA mitigations);
//   - Linux arch/x86/include/asm/cpufeatures.h for the /proc/cpuinfo flags
//     (X86_FEATURE_WRMSR_XX_BASE_NS, VERW_CLEAR, PREFETCHI, TSA_SQ_NO,
//     TSA_L1_NO).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o amd.wasm ./plugins/vendors/amd
// (go generate ./plugins/vendors/ builds all three.)
package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

const amd = "AuthenticAMD"

// The extended leaves: 0x8000_0000 EAX is the highest; 0x8000_0021 holds
// the Zen 3+ "extended feature identification 2" bits.
const (
	leafExtMax = 0x80000000
	leaf21     = 0x80000021
)

// features are the bits of CPUID 0x8000_0021 that QEMU 10.0 does not name
// (it names bits 0, 2, 6, 8, 24, 27–30 of EAX).
var features = []sdk.Feature{
	{Name: "fs-gs-base-ns", Leaf: leaf21, Reg: sdk.EAX, Bit: 1, Linux: "wrmsr_xx_base_ns",
		Description: "WRMSR to FS_BASE, GS_BASE and KERNEL_GS_BASE is non-serializing"},
	{Name: "verw-clear", Leaf: leaf21, Reg: sdk.EAX, Bit: 5, Linux: "verw_clear",
		Description: "The memory form of VERW clears the microarchitectural buffers (TSA mitigation)"},
	{Name: "prefetchi", Leaf: leaf21, Reg: sdk.EAX, Bit: 20, Linux: "prefetchi",
		Description: "PREFETCHIT0/1: prefetch instructions into a cache level"},
	{Name: "tsa-sq-no", Leaf: leaf21, Reg: sdk.ECX, Bit: 1, Linux: "tsa_sq_no",
		Description: "Not vulnerable to transient scheduler attacks through the store queue"},
	{Name: "tsa-l1-no", Leaf: leaf21, Reg: sdk.ECX, Bit: 2, Linux: "tsa_l1_no",
		Description: "Not vulnerable to transient scheduler attacks through the L1 data cache"},
	// QEMU 11.1 names the five above (the registry then keeps its own
	// feature, feature.Registry.Extend); this one no QEMU release names.
	// Linux: X86_FEATURE_NO_SMM_CTL_MSR (20*32+9), which KVM always
	// reports (kvm_set_cpu_caps).
	{Name: "no-smm-ctl-msr", Leaf: leaf21, Reg: sdk.EAX, Bit: 9, Linux: "no_smm_ctl_msr",
		Description: "The SMM_CTL MSR is not present"},
}

func init() {
	sdk.Register(&sdk.Plugin{
		Name:        "amd",
		Version:     "1.0.0",
		Description: "AMD Zen 5: the EPYC-Turin model and the CPUID 0x80000021 bits QEMU 10.0 lacks",
		Vendors:     []string{amd},
		Leaves:      []sdk.LeafRange{{First: leafExtMax, Last: leafExtMax}, {First: leaf21, Last: leaf21}},
		Features:    features,
		Decode:      decode,
		Models:      models,
	})
}

var (
	table = sdk.NewTable(features)
	names []string // decode's result, reused: the SDK copies it out
)

// decode reports the plugin's bits of an AMD CPU whose extended leaves
// reach 0x8000_0021.
func decode(c sdk.CPUID) ([]string, error) {
	if !c.VendorIs(amd) || c.MaxLeaf(leafExtMax) < leaf21 {
		return nil, nil
	}
	names = table.Decode(c, names[:0], nil)
	return names, nil
}

func main() {}
