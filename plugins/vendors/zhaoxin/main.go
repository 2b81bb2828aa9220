// Command zhaoxin is cpupolicy's plugin for Zhaoxin (and VIA/Centaur)
// CPUs. It decodes the Centaur leaves 0xC000_0000 and 0xC000_0001,
// including the bits QEMU does not name, and defines the YongFeng model
// (QEMU 10.0 has it, QEMU 7.2 does not).
//
// Sources (public facts only):
//   - Linux arch/x86/include/asm/cpufeatures.h, word 5 ("VIA/Cyrix/Centaur-
//     defined CPU features, CPUID level 0xC0000001"): bits 2, 3, 6–13, the
//     bits QEMU also names (FEAT_C000_0001_EDX);
//   - the kernel's x86-cpuid-db (leaf_c0000001.yaml) and the Zhaoxin patch
//     adding "phe2"/"phe2_en" to cpufeatures.h: the CCS (SM2, SM3/SM4),
//     Parallax, TM3, PHE2 and RSA bits QEMU does not name;
//   - QEMU's target/i386/cpu.c (commit 0048035a, the 10.0 release): the
//     YongFeng definition.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o zhaoxin.wasm ./plugins/vendors/zhaoxin
// (go generate ./plugins/vendors/ builds all three.)
package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

// Vendor strings of Zhaoxin CPUs (QEMU's CPUID_VENDOR_ZHAOXIN1 and 2);
// VIA's are "CentaurHauls" too.
const (
	centaur  = "CentaurHauls"
	shanghai = "  Shanghai  "
)

func init() {
	sdk.Register(&sdk.Plugin{
		Name:        "zhaoxin",
		Version:     "1.0.0",
		Description: "Zhaoxin/Centaur leaves 0xC0000000-0xC0000001 and the YongFeng model",
		Vendors:     []string{centaur, shanghai},
		Leaves:      []sdk.LeafRange{{First: 0xC0000000, Last: 0xC0000001}},
		Features:    features,
		Decode:      decode,
		Models:      models,
		Checks: []sdk.Check{{
			Name:        "padlock",
			Description: `PadLock/CCS units present but not enabled. Input: a JSON array of feature names (as decode or a snapshot lists them). Result: {"ok": bool, "disabled": [unit, ...]}.`,
			Run:         padlock,
		}},
	})
}

func main() {}
