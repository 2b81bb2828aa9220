package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

// models holds DiamondRapids exactly as the pull request defines it
// (QEMU's constants spelled as QEMU's feature names; "missing" comments
// are QEMU's). QEMU also sets .avx10_version = 2, which this definition
// carries as the avx10-version property of version 1, and .cpuid_0x1f =
// true (always expose the 0x1F topology leaf), which decides no feature.
var models = []sdk.Model{{
	Name:     "DiamondRapids",
	Vendor:   intel,
	Family:   0x13, // family 0xf, extended family 0x4
	Model:    0x1,
	Stepping: 0,
	Level:    0x29,
	XLevel:   0x80000008,
	ModelID:  "Intel Xeon Processor (DiamondRapids)",
	Note:     "QEMU after 10.0: [PULL 145/153] i386/cpu: Add CPU model for Diamond Rapids (2025-12-27)",
	Features: []string{
		// FEAT_1_ECX (missing: DTES64, MONITOR, DSCPL, VMX, SMX, EST,
		// TM2, XTPR, PDCM, DCA, OSXSAVE)
		"pni", "pclmulqdq", "ssse3", "fma", "cx16", "pcid", "sse4.1", "sse4.2",
		"x2apic", "movbe", "popcnt", "tsc-deadline", "aes", "xsave", "avx", "f16c", "rdrand",
		// FEAT_1_EDX (missing: DTS, ACPI, HT, TM, PBE)
		"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep",
		"mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr",
		"sse", "sse2", "ss",
		// FEAT_6_EAX
		"arat",
		// FEAT_7_0_EBX (missing: SGX, CQM, RDT-A, INTEL_PT)
		"fsgsbase", "tsc-adjust", "bmi1", "hle", "avx2", "fdp-excptn-only", "smep",
		"bmi2", "erms", "invpcid", "rtm", "zero-fcs-fds", "avx512f", "avx512dq",
		"rdseed", "adx", "smap", "avx512ifma", "clflushopt", "clwb", "avx512cd",
		"sha-ni", "avx512bw", "avx512vl",
		// FEAT_7_0_ECX (missing: OSPKE, WAITPKG, TME, ENQCMD, SGX_LC, PKS)
		"avx512vbmi", "umip", "pku", "avx512vbmi2", "cet-ss", "gfni", "vaes",
		"vpclmulqdq", "avx512vnni", "avx512bitalg", "avx512-vpopcntdq", "la57",
		"rdpid", "bus-lock-detect", "cldemote", "movdiri", "movdir64b",
		// FEAT_7_0_EDX (missing: SGX-KEYS, UINTR, PCONFIG, ARCH LBR,
		// CORE_CAPABILITY)
		"fsrm", "md-clear", "serialize", "tsx-ldtrk", "cet-ibt", "amx-bf16",
		"avx512-fp16", "amx-tile", "amx-int8", "spec-ctrl", "stibp", "flush-l1d",
		"arch-capabilities", "ssbd",
		// FEAT_7_1_EAX (missing: LASS, ArchPerfmonExt, MSRLIST)
		"avx-vnni", "avx512-bf16", "cmpccxadd", "fzrm", "fsrs", "fsrc", "fred",
		"lkgs", "wrmsrns", "amx-fp16", "avx-ifma", "lam", "movrs",
		// FEAT_7_1_EDX (missing: CET_SSS)
		"avx-vnni-int8", "avx-ne-convert", "amx-complex", "prefetchiti", "avx10", "apxf",
		// FEAT_7_2_EDX (missing: UC-lock disable)
		"intel-psfd", "ipred-ctrl", "rrsba-ctrl", "ddpd-u", "bhi-ctrl", "mcdt-no",
		// FEAT_XSAVE
		"xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd",
		// FEAT_1E_1_EAX
		"amx-int8-mirror", "amx-bf16-mirror", "amx-complex-mirror", "amx-fp16-mirror",
		"amx-fp8", "amx-tf32", "amx-avx512", "amx-movrs",
		// FEAT_29_0_EBX
		"apx-nci-ndd-nf",
		// FEAT_24_0_EBX: QEMU 11.1's DiamondRapids (as its binary expands
		// it) also sets the three vector-length bits, without which
		// avx10 and the rest of leaf 0x24 fall by QEMU's dependency
		// CPUID_24_0_EBX_AVX10_VL_MASK → CPUID_7_1_EDX_AVX10.
		"avx10-128", "avx10-256", "avx10-512",
		// FEAT_24_1_ECX ("set by avx10_version=2 anyway")
		"avx10-vnni-int",
		// FEAT_8000_0001_ECX, _EDX
		"lahf-lm", "abm", "3dnowprefetch",
		"syscall", "nx", "pdpe1gb", "rdtscp", "lm",
		// FEAT_8000_0008_EBX
		"wbnoinvd",
		// FEAT_ARCH_CAPABILITIES (missing: RRSBA, RFDS_CLEAR, MCU_CONTROL,
		// MISC_PACKAGE_CTLS, ENERGY_FILTERING_CTL, DOITM, MCU_ENUMERATION,
		// XAPIC_DISABLE_STATUS, OVERCLOCKING_STATUS)
		"rdctl-no", "ibrs-all", "skip-l1dfl-vmentry", "mds-no", "pschange-mc-no",
		"taa-no", "sbdr-ssdp-no", "fbsdp-no", "psdp-no", "bhi-no", "pbrsb-no",
		"gds-no", "rfds-no",
		// FEAT_VMX_BASIC
		"vmx-ins-outs", "vmx-true-ctls", "vmx-nested-exception",
		// FEAT_VMX_ENTRY_CTLS
		"vmx-entry-noload-debugctl", "vmx-entry-ia32e-mode",
		"vmx-entry-load-perf-global-ctrl", "vmx-entry-load-pat", "vmx-entry-load-efer",
		"vmx-entry-load-cet", "vmx-entry-load-fred",
		// FEAT_VMX_EPT_VPID_CAPS (WB is unnamed; QEMU names INVVPID
		// single-context "vmx-invept-single-context", like bit 25)
		"vmx-ept-execonly", "vmx-page-walk-4", "vmx-page-walk-5", "vmx-ept-2mb",
		"vmx-ept-1gb", "vmx-invept", "vmx-eptad", "vmx-invept-single-context",
		"vmx-invept-all-context", "vmx-invvpid", "vmx-invvpid-single-addr",
		"vmx-invvpid-all-context", "vmx-invept-single-context-noglobals",
		// FEAT_VMX_EXIT_CTLS (HOST_ADDR_SPACE_SIZE is unnamed: QEMU
		// derives it from lm)
		"vmx-exit-nosave-debugctl", "vmx-exit-load-perf-global-ctrl",
		"vmx-exit-ack-intr", "vmx-exit-save-pat", "vmx-exit-load-pat",
		"vmx-exit-save-efer", "vmx-exit-load-efer", "vmx-exit-save-preemption-timer",
		"vmx-exit-save-cet", "vmx-exit-secondary-ctls",
		// FEAT_VMX_MISC
		"vmx-store-lma", "vmx-activity-hlt", "vmx-activity-shutdown",
		"vmx-activity-wait-sipi", "vmx-vmwrite-vmexit-fields",
		// FEAT_VMX_PINBASED_CTLS
		"vmx-intr-exit", "vmx-nmi-exit", "vmx-vnmi", "vmx-preemption-timer",
		"vmx-posted-intr",
		// FEAT_VMX_PROCBASED_CTLS
		"vmx-vintr-pending", "vmx-tsc-offset", "vmx-hlt-exit", "vmx-invlpg-exit",
		"vmx-mwait-exit", "vmx-rdpmc-exit", "vmx-rdtsc-exit", "vmx-cr3-load-noexit",
		"vmx-cr3-store-noexit", "vmx-cr8-load-exit", "vmx-cr8-store-exit",
		"vmx-flexpriority", "vmx-vnmi-pending", "vmx-movdr-exit", "vmx-io-exit",
		"vmx-io-bitmap", "vmx-mtf", "vmx-msr-bitmap", "vmx-monitor-exit",
		"vmx-pause-exit", "vmx-secondary-ctls",
		// FEAT_VMX_SECONDARY_CTLS
		"vmx-apicv-xapic", "vmx-ept", "vmx-desc-exit", "vmx-rdtscp-exit",
		"vmx-apicv-x2apic", "vmx-vpid", "vmx-wbinvd-exit", "vmx-unrestricted-guest",
		"vmx-apicv-register", "vmx-apicv-vid", "vmx-rdrand-exit", "vmx-invpcid-exit",
		"vmx-vmfunc", "vmx-shadow-vmcs", "vmx-rdseed-exit", "vmx-pml", "vmx-xsaves",
		"vmx-tsc-scaling", "vmx-enable-user-wait-pause",
		// FEAT_VMX_VMFUNC
		"vmx-eptp-switching",
	},
	Versions: []sdk.Version{{
		Version: 1,
		Props:   []sdk.Prop{{Name: "avx10-version", Value: "2"}},
	}},
}}
