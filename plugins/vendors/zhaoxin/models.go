package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

// models holds YongFeng exactly as QEMU 10.0 defines it
// (builtin_x86_defs in target/i386/cpu.c), QEMU's feature constants
// spelled as QEMU's feature names. QEMU 10.0 gives it no versions list,
// so it has the single version 1. The embedded qemu-10.0 catalog has the
// same model, and a test holds the two to agreement.
var models = []sdk.Model{{
	Name:     "YongFeng",
	Vendor:   centaur, // CPUID_VENDOR_ZHAOXIN1
	Family:   7,
	Model:    11,
	Stepping: 3,
	Level:    0x1F,
	XLevel:   0x80000008,
	ModelID:  "Zhaoxin YongFeng Processor",
	Note:     "QEMU 10.0 target/i386/cpu.c (commit 0048035a)",
	Features: []string{
		// FEAT_1_EDX (missing: CPUID_HT, CPUID_TM, CPUID_PBE)
		"ss", "sse2", "sse", "fxsr", "mmx", "acpi", "clflush", "pse36", "pat", "cmov",
		"mca", "pge", "mtrr", "sep", "apic", "cx8", "mce", "pae", "msr", "tsc",
		"pse", "de", "vme", "fpu",
		// FEAT_1_ECX (missing: OSXSAVE, XTPR, TM2, EST, SMX, VMX)
		"rdrand", "f16c", "avx", "xsave", "aes", "tsc-deadline", "popcnt", "movbe",
		"x2apic", "sse4.2", "sse4.1", "pcid", "cx16", "fma", "ssse3", "monitor",
		"pclmulqdq", "pni",
		// FEAT_7_0_EBX
		"sha-ni", "smap", "adx", "rdseed", "invpcid", "bmi2", "smep", "avx2", "bmi1", "fsgsbase",
		// FEAT_7_0_ECX (missing: OSPKE)
		"rdpid", "pku", "umip",
		// FEAT_7_0_EDX
		"arch-capabilities", "spec-ctrl",
		// FEAT_8000_0001_EDX, _ECX
		"lm", "rdtscp", "pdpe1gb", "nx", "syscall",
		"3dnowprefetch", "abm", "lahf-lm",
		// FEAT_8000_0007_EDX
		"invtsc",
		// FEAT_C000_0001_EDX
		"pmm-en", "pmm", "phe-en", "phe", "ace2", "xcrypt-en", "xcrypt", "xstore-en", "xstore",
		// FEAT_XSAVE
		"xsaveopt",
		// FEAT_ARCH_CAPABILITIES
		"rdctl-no", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no", "ssb-no",
		// FEAT_VMX_PROCBASED_CTLS
		"vmx-vintr-pending", "vmx-hlt-exit", "vmx-tsc-offset", "vmx-invlpg-exit",
		"vmx-mwait-exit", "vmx-rdpmc-exit", "vmx-rdtsc-exit", "vmx-cr3-load-noexit",
		"vmx-cr3-store-noexit", "vmx-cr8-load-exit", "vmx-cr8-store-exit", "vmx-flexpriority",
		"vmx-vnmi-pending", "vmx-movdr-exit", "vmx-io-exit", "vmx-io-bitmap",
		"vmx-mtf", "vmx-msr-bitmap", "vmx-monitor-exit", "vmx-pause-exit",
		"vmx-secondary-ctls",
		// FEAT_VMX_SECONDARY_CTLS (missing: PAUSE_LOOP_EXITING, TSC_SCALING)
		"vmx-apicv-xapic", "vmx-ept", "vmx-desc-exit", "vmx-rdtscp-exit", "vmx-vpid",
		"vmx-apicv-x2apic", "vmx-wbinvd-exit", "vmx-unrestricted-guest", "vmx-apicv-register",
		"vmx-apicv-vid", "vmx-rdrand-exit", "vmx-invpcid-exit", "vmx-vmfunc",
		"vmx-shadow-vmcs", "vmx-pml",
		// FEAT_VMX_PINBASED_CTLS
		"vmx-intr-exit", "vmx-nmi-exit", "vmx-vnmi", "vmx-preemption-timer", "vmx-posted-intr",
		// FEAT_VMX_EXIT_CTLS (HOST_ADDR_SPACE_SIZE is unnamed: QEMU
		// derives it from lm)
		"vmx-exit-nosave-debugctl", "vmx-exit-load-perf-global-ctrl", "vmx-exit-ack-intr",
		"vmx-exit-save-pat", "vmx-exit-load-pat", "vmx-exit-save-efer", "vmx-exit-load-efer",
		"vmx-exit-save-preemption-timer",
		// FEAT_VMX_ENTRY_CTLS (missing: SMM, DEACT_DUAL_MONITOR)
		"vmx-entry-noload-debugctl", "vmx-entry-ia32e-mode", "vmx-entry-load-perf-global-ctrl",
		"vmx-entry-load-pat", "vmx-entry-load-efer",
		// FEAT_VMX_MISC (missing: ACTIVITY_SHUTDOWN, ACTIVITY_WAIT_SIPI)
		"vmx-store-lma", "vmx-activity-hlt", "vmx-vmwrite-vmexit-fields",
		// FEAT_VMX_EPT_VPID_CAPS (missing: UC; WB is unnamed; QEMU names
		// INVVPID single-context "vmx-invept-single-context", like bit 25)
		"vmx-ept-execonly", "vmx-page-walk-4", "vmx-ept-2mb", "vmx-ept-1gb",
		"vmx-invept", "vmx-eptad", "vmx-invept-single-context", "vmx-invept-all-context",
		"vmx-invvpid", "vmx-invvpid-all-context", "vmx-invvpid-single-addr",
		"vmx-invept-single-context-noglobals",
		// FEAT_VMX_BASIC
		"vmx-ins-outs", "vmx-true-ctls",
		// FEAT_VMX_VMFUNC
		"vmx-eptp-switching",
	},
}}
