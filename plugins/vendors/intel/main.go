// Command intel is cpupolicy's plugin for Intel Diamond Rapids: the
// DiamondRapids model as published for QEMU after 10.0, and the feature
// names it needs that QEMU 10.0 lacks.
//
// Sources (public facts only):
//   - "[PULL 145/153] i386/cpu: Add CPU model for Diamond Rapids" (Zhao
//     Liu, via Paolo Bonzini, qemu-devel, 2025-12-27): the definition
//     below, field by field, with the follow-up fix that joins the two
//     halves of its FEAT_VMX_EXIT_CTLS initialiser (a ',' where a '|' was
//     meant);
//   - the same pull request's feature words: "[PULL 137/153] i386/cpu: Add
//     CPUID.0x1E.0x1 subleaf for AMX instructions" (the amx-*-mirror,
//     amx-fp8, amx-tf32, amx-avx512 and amx-movrs names), and the CET,
//     MOVRS, APX and AVX10 patches for cet-ss, cet-ibt, movrs, apxf,
//     apx-nci-ndd-nf, avx10-vnni-int, vmx-entry-load-cet and
//     vmx-exit-save-cet;
//   - the Intel Architecture Instruction Set Extensions and Future
//     Features reference (rev. 059), which those patches cite, for the bit
//     positions.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o intel.wasm ./plugins/vendors/intel
// (go generate ./plugins/vendors/ builds all three.)
package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

const intel = "GenuineIntel"

// The VMX control MSRs whose may-be-1 half (bits 32–63) holds the
// controls: a control at bit n of the control word is at bit 32+n of the
// MSR, as in cpupolicy's registry.
const (
	msrVMXTrueExitCtls  = 0x48f
	msrVMXTrueEntryCtls = 0x490
)

// features are the names DiamondRapids uses that QEMU 10.0 does not have.
var features = []sdk.Feature{
	{Name: "cet-ss", Leaf: 7, Subleaf: 0, Reg: sdk.ECX, Bit: 7,
		Description: "CET shadow stack"},
	{Name: "cet-ibt", Leaf: 7, Subleaf: 0, Reg: sdk.EDX, Bit: 20, Linux: "ibt",
		Description: "CET indirect branch tracking"},
	{Name: "movrs", Leaf: 7, Subleaf: 1, Reg: sdk.EAX, Bit: 31,
		Description: "MOVRS and PREFETCHRST2: loads with a read-shared hint"},
	{Name: "apxf", Leaf: 7, Subleaf: 1, Reg: sdk.EDX, Bit: 21,
		Description: "Advanced Performance Extensions, foundation (APX_F)"},
	{Name: "amx-int8-mirror", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 0, Aliases: []string{"amx-int8-alias"},
		Description: "AMX-INT8, mirrored from CPUID.(7,0).EDX[25]"},
	{Name: "amx-bf16-mirror", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 1, Aliases: []string{"amx-bf16-alias"},
		Description: "AMX-BF16, mirrored from CPUID.(7,0).EDX[22]"},
	{Name: "amx-complex-mirror", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 2, Aliases: []string{"amx-complex-alias"},
		Description: "AMX-COMPLEX, mirrored from CPUID.(7,1).EDX[8]"},
	{Name: "amx-fp16-mirror", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 3, Aliases: []string{"amx-fp16-alias"},
		Description: "AMX-FP16, mirrored from CPUID.(7,1).EAX[21]"},
	{Name: "amx-fp8", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 4, Description: "AMX-FP8 instructions"},
	{Name: "amx-tf32", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 6, Description: "AMX-TF32 instructions"},
	{Name: "amx-avx512", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 7, Description: "AMX-AVX512 instructions"},
	{Name: "amx-movrs", Leaf: 0x1e, Subleaf: 1, Reg: sdk.EAX, Bit: 8, Description: "AMX-MOVRS instructions"},
	{Name: "avx10-vnni-int", Leaf: 0x24, Subleaf: 1, Reg: sdk.ECX, Bit: 2,
		Description: "AVX10 VNNI-INT instructions"},
	{Name: "apx-nci-ndd-nf", Leaf: 0x29, Subleaf: 0, Reg: sdk.EBX, Bit: 0,
		Description: "APX new conditional instructions, new data destination and no-flags forms"},
	{Name: "vmx-entry-load-cet", MSR: msrVMXTrueEntryCtls, Bit: 32 + 20,
		Description: "VM-entry control: load CET state"},
	{Name: "vmx-exit-save-cet", MSR: msrVMXTrueExitCtls, Bit: 32 + 28,
		Description: "VM-exit control: save (and load) CET state"},
}

func init() {
	sdk.Register(&sdk.Plugin{
		Name:        "intel",
		Version:     "1.0.0",
		Description: "Intel Diamond Rapids: the DiamondRapids model and the features QEMU 10.0 lacks",
		Vendors:     []string{intel},
		Leaves:      []sdk.LeafRange{{First: 7, Last: 7}, {First: 0x1e, Last: 0x1e}, {First: 0x24, Last: 0x24}, {First: 0x29, Last: 0x29}},
		Features:    features,
		Decode:      decode,
		Models:      models,
	})
}

func main() {}
