package feature

import "github.com/cpupolicy/cpupolicy/core/cpuid"

// This file is the built-in table of QEMU's named x86 feature bits.
//
// Source: QEMU's feature_word_info[] in target/i386/cpu.c and the
// FeatureWord enum and MSR_* indices in target/i386/cpu.h (qemu/qemu,
// commit 0048035a870312f2fd0f3dd28115398d26e419bb, QEMU 10.0 era), and
// kvm_arch_get_supported_msr_feature in target/i386/kvm/kvm.c for how each
// feature MSR becomes a word. Only names, bit numbers, leaves and MSR
// indices are carried over.
//
// QEMU 11.1's additions (five words, 25 names) were read from the 11.1.3
// binary itself (Debian 1:11.1.3+ds-2~bpo13+1, unpacked by
// scripts/qemu-release.sh): its feature_word_info[] array, decoded from
// the executable's data and relocations, gives every word's names, CPUID
// leaf, subleaf and register or MSR index in enum order; the FeatureWord
// names of the new words are those of the QEMU patches that added them
// (qemu-devel threads adding FEAT_8000_0021_ECX for tsa-sq-no/tsa-l1-no,
// FEAT_7_1_ECX for msr-imm, FEAT_29_0_EBX for APX, FEAT_1E_1_EAX for
// AMX and FEAT_24_1_ECX for AVX10.2). Decoding 10.0's binary the same way
// gives this table's 10.0 words exactly.
//
// The words are in QEMU's FeatureWord enum order (not the order in which
// cpu.c happens to list its initialisers). Every word QEMU declares is
// here, including the ones that name no bit (the XSAVE component words
// and FEAT_8000_0021_EBX), so that the table mirrors QEMU one to one.
//
// Names are QEMU's canonical property names, exactly as QEMU spells them
// ("" where QEMU names no feature). The set of names is the union of what
// QEMU 5.2, 7.2, 10.0 and 11.1 print under "Recognized CPUID flags"
// (testdata/qemu-{5.2,7.2,10.0,11.1}-cpu-flags.txt); each is a superset of
// the one before, and no name moved between them (QEMU 5.2's feature_word_info
// names every bit it has where 10.0 does, vmx-ins-outs and vmx-true-ctls
// at 54 and 55 of FEAT_VMX_BASIC included). 5.2 also declares five words
// for Hyper-V's leaves 0x40000003/4/A (FEAT_HYPERV_EAX … FEAT_HV_NESTED_EAX)
// that name no bit and that 7.2 no longer has; they are not here.
//
// Two names occur twice, because QEMU's table has them twice:
//
//   - "kvmclock" is bit 0 (KVM_FEATURE_CLOCKSOURCE) and bit 3
//     (KVM_FEATURE_CLOCKSOURCE2) of FEAT_KVM.
//   - "vmx-invept-single-context" is bit 25 (INVEPT single-context) and
//     bit 41 of FEAT_VMX_EPT_VPID_CAPS. Bit 41 is really "INVVPID
//     single-context"; QEMU misnames it.
//
// QEMU registers one boolean property per name and, when a name repeats
// within a word, that property covers every bit with the name: setting it
// sets all of them, and it reads true only when all of them are set
// (x86_cpu_register_bit_prop). Both repeats are within one word.
//
// MSR words and their view (see msrView):
//
//   - FEAT_VMX_PROCBASED_CTLS, _SECONDARY_CTLS, _PINBASED_CTLS, _EXIT_CTLS
//     and _ENTRY_CTLS are viewCanBeOne: kvm_arch_get_supported_msr_feature
//     returns (uint32)(value>>32) & ~(uint32)value for
//     MSR_IA32_VMX_PROCBASED_CTLS2 as well as for the four TRUE_*_CTLS
//     MSRs (the secondary controls have no must-be-one bits, so for a real
//     CPU this equals value>>32, but QEMU computes it the same way for all
//     five).
//   - Every other MSR word is viewPlain (kvm.c returns the MSR value as
//     is). Quirk, not expressible as a view: for MSR_IA32_ARCH_CAPABILITIES
//     QEMU also sets fb-clear (bit 17) when mds-no, taa-no, sbdr-ssdp-no,
//     fbsdp-no and psdp-no are all set, even if the host MSR lacks it.
//   - FEAT_VMX_EPT_VPID_CAPS and FEAT_VMX_BASIC name bits above 31; their
//     names are at the MSR bit numbers (0..63).
//   - Each MSR word's gate is the CPUID feature that enumerates its MSR
//     (Word.Gate): the Intel SDM's "if CPUID.(EAX=07H,ECX=0):EDX[29]"
//     and the like, which QEMU's feature_dependencies mirror.
//
// CPUID words without a subleaf in QEMU (no .needs_ecx) have subleaf 0
// here. KVM_CPUID_FEATURES is leaf 0x40000001.
var words = [...]word{
	// FEAT_1_EDX: CPUID[1].EDX
	{qemu: "FEAT_1_EDX", leaf: 0x1, reg: cpuid.EDX, names: [64]string{
		"fpu", "vme", "de", "pse",
		"tsc", "msr", "pae", "mce",
		"cx8", "apic", "", "sep",
		"mtrr", "pge", "mca", "cmov",
		"pat", "pse36", "pn", "clflush",
		"", "ds", "acpi", "mmx",
		"fxsr", "sse", "sse2", "ss",
		"ht", "tm", "ia64", "pbe",
	}},
	// FEAT_1_ECX: CPUID[1].ECX ("pni" is SSE3; bit 27, OSXSAVE, is unnamed)
	{qemu: "FEAT_1_ECX", leaf: 0x1, reg: cpuid.ECX, names: [64]string{
		"pni", "pclmulqdq", "dtes64", "monitor",
		"ds-cpl", "vmx", "smx", "est",
		"tm2", "ssse3", "cid", "",
		"fma", "cx16", "xtpr", "pdcm",
		"", "pcid", "dca", "sse4.1",
		"sse4.2", "x2apic", "movbe", "popcnt",
		"tsc-deadline", "aes", "xsave", "",
		"avx", "f16c", "rdrand", "hypervisor",
	}},
	// FEAT_7_0_EBX: CPUID[EAX=7,ECX=0].EBX
	{qemu: "FEAT_7_0_EBX", leaf: 0x7, subleaf: 0, reg: cpuid.EBX, names: [64]string{
		"fsgsbase", "tsc-adjust", "sgx", "bmi1",
		"hle", "avx2", "fdp-excptn-only", "smep",
		"bmi2", "erms", "invpcid", "rtm",
		"", "zero-fcs-fds", "mpx", "",
		"avx512f", "avx512dq", "rdseed", "adx",
		"smap", "avx512ifma", "pcommit", "clflushopt",
		"clwb", "intel-pt", "avx512pf", "avx512er",
		"avx512cd", "sha-ni", "avx512bw", "avx512vl",
	}},
	// FEAT_7_0_ECX: CPUID[EAX=7,ECX=0].ECX (bit 4, OSPKE, is unnamed)
	{qemu: "FEAT_7_0_ECX", leaf: 0x7, subleaf: 0, reg: cpuid.ECX, names: [64]string{
		"", "avx512vbmi", "umip", "pku",
		"", "waitpkg", "avx512vbmi2", "cet-ss",
		"gfni", "vaes", "vpclmulqdq", "avx512vnni",
		"avx512bitalg", "", "avx512-vpopcntdq", "",
		"la57", "", "", "",
		"", "", "rdpid", "",
		"bus-lock-detect", "cldemote", "", "movdiri",
		"movdir64b", "", "sgxlc", "pks",
	}},
	// FEAT_7_0_EDX: CPUID[EAX=7,ECX=0].EDX (bit 18, PCONFIG, is unnamed)
	{qemu: "FEAT_7_0_EDX", leaf: 0x7, subleaf: 0, reg: cpuid.EDX, names: [64]string{
		"", "", "avx512-4vnniw", "avx512-4fmaps",
		"fsrm", "", "", "",
		"avx512-vp2intersect", "", "md-clear", "",
		"", "", "serialize", "",
		"tsx-ldtrk", "", "", "arch-lbr",
		"cet-ibt", "", "amx-bf16", "avx512-fp16",
		"amx-tile", "amx-int8", "spec-ctrl", "stibp",
		"flush-l1d", "arch-capabilities", "core-capability", "ssbd",
	}},
	// FEAT_7_1_EAX: CPUID[EAX=7,ECX=1].EAX
	{qemu: "FEAT_7_1_EAX", leaf: 0x7, subleaf: 1, reg: cpuid.EAX, names: [64]string{
		"sha512", "sm3", "sm4", "",
		"avx-vnni", "avx512-bf16", "", "cmpccxadd",
		"", "", "fzrm", "fsrs",
		"fsrc", "", "", "",
		"", "fred", "lkgs", "wrmsrns",
		"", "amx-fp16", "", "avx-ifma",
		"", "", "lam", "",
		"", "", "", "movrs",
	}},
	// FEAT_8000_0001_EDX: CPUID[8000_0001].EDX (the bits that alias
	// CPUID[1].EDX on AMD are unnamed; QEMU copies them from FEAT_1_EDX)
	{qemu: "FEAT_8000_0001_EDX", leaf: 0x80000001, reg: cpuid.EDX, names: [64]string{
		"", "", "", "",
		"", "", "", "",
		"", "", "", "syscall",
		"", "", "", "",
		"", "", "", "",
		"nx", "", "mmxext", "",
		"", "fxsr-opt", "pdpe1gb", "rdtscp",
		"", "lm", "3dnowext", "3dnow",
	}},
	// FEAT_8000_0001_ECX: CPUID[8000_0001].ECX
	{qemu: "FEAT_8000_0001_ECX", leaf: 0x80000001, reg: cpuid.ECX, names: [64]string{
		"lahf-lm", "cmp-legacy", "svm", "extapic",
		"cr8legacy", "abm", "sse4a", "misalignsse",
		"3dnowprefetch", "osvw", "ibs", "xop",
		"skinit", "wdt", "", "lwp",
		"fma4", "tce", "", "nodeid-msr",
		"", "tbm", "topoext", "perfctr-core",
		"perfctr-nb", "", "", "",
	}},
	// FEAT_8000_0007_EBX: CPUID[8000_0007].EBX (RAS features)
	{qemu: "FEAT_8000_0007_EBX", leaf: 0x80000007, reg: cpuid.EBX, names: [64]string{
		"overflow-recov", "succor",
	}},
	// FEAT_8000_0007_EDX: CPUID[8000_0007].EDX (advanced power management)
	{qemu: "FEAT_8000_0007_EDX", leaf: 0x80000007, reg: cpuid.EDX, names: [64]string{
		8: "invtsc",
	}},
	// FEAT_8000_0008_EBX: CPUID[8000_0008].EBX
	{qemu: "FEAT_8000_0008_EBX", leaf: 0x80000008, reg: cpuid.EBX, names: [64]string{
		"clzero", "", "xsaveerptr", "",
		"", "", "", "",
		"", "wbnoinvd", "", "",
		"ibpb", "", "ibrs", "amd-stibp",
		"", "stibp-always-on", "", "",
		"", "", "", "",
		"amd-ssbd", "virt-ssbd", "amd-no-ssb", "",
		"amd-psfd", "", "", "",
	}},
	// FEAT_8000_0021_EAX: CPUID[8000_0021].EAX
	{qemu: "FEAT_8000_0021_EAX", leaf: 0x80000021, reg: cpuid.EAX, names: [64]string{
		"no-nested-data-bp", "fs-gs-base-ns", "lfence-always-serializing", "",
		"", "verw-clear", "null-sel-clr-base", "",
		"auto-ibrs", "", "", "",
		"", "", "", "",
		"", "", "", "",
		"prefetchi", "", "", "",
		"eraps", "", "", "sbpb",
		"ibpb-brtype", "srso-no", "srso-user-kernel-no", "",
	}},
	// FEAT_8000_0021_EBX: CPUID[8000_0021].EBX (no named bits)
	{qemu: "FEAT_8000_0021_EBX", leaf: 0x80000021, reg: cpuid.EBX},
	// FEAT_8000_0021_ECX: CPUID[8000_0021].ECX (QEMU 11.1: transient
	// scheduler attacks)
	{qemu: "FEAT_8000_0021_ECX", leaf: 0x80000021, reg: cpuid.ECX, names: [64]string{
		1: "tsa-sq-no",
		2: "tsa-l1-no",
	}},
	// FEAT_8000_0022_EAX: CPUID[8000_0022].EAX
	{qemu: "FEAT_8000_0022_EAX", leaf: 0x80000022, reg: cpuid.EAX, names: [64]string{
		"perfmon-v2",
	}},
	// FEAT_C000_0001_EDX: CPUID[C000_0001].EDX (VIA/Zhaoxin PadLock)
	{qemu: "FEAT_C000_0001_EDX", leaf: 0xC0000001, reg: cpuid.EDX, names: [64]string{
		"", "", "xstore", "xstore-en",
		"", "", "xcrypt", "xcrypt-en",
		"ace2", "ace2-en", "phe", "phe-en",
		"pmm", "pmm-en",
	}},
	// FEAT_KVM: CPUID[4000_0001].EAX (KVM_CPUID_FEATURES). "kvmclock" is
	// both bit 0 and bit 3.
	{qemu: "FEAT_KVM", leaf: 0x40000001, reg: cpuid.EAX, names: [64]string{
		"kvmclock", "kvm-nopiodelay", "kvm-mmu", "kvmclock",
		"kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi", "kvm-pv-unhalt",
		"", "kvm-pv-tlb-flush", "kvm-asyncpf-vmexit", "kvm-pv-ipi",
		"kvm-poll-control", "kvm-pv-sched-yield", "kvm-asyncpf-int", "kvm-msi-ext-dest-id",
		"", "", "", "",
		"", "", "", "",
		"kvmclock-stable-bit",
	}},
	// FEAT_KVM_HINTS: CPUID[4000_0001].EDX
	{qemu: "FEAT_KVM_HINTS", leaf: 0x40000001, reg: cpuid.EDX, names: [64]string{
		"kvm-hint-dedicated",
	}},
	// FEAT_SVM: CPUID[8000_000A].EDX
	{qemu: "FEAT_SVM", leaf: 0x8000000A, reg: cpuid.EDX, names: [64]string{
		"npt", "lbrv", "svm-lock", "nrip-save",
		"tsc-scale", "vmcb-clean", "flushbyasid", "decodeassists",
		"", "", "pause-filter", "",
		"pfthreshold", "avic", "", "v-vmsave-vmload",
		"vgif", "gmet", "", "",
		"", "", "", "",
		"", "vnmi", "", "",
		"svme-addr-chk", "", "", "",
	}},
	// FEAT_XSAVE: CPUID[EAX=0xd,ECX=1].EAX
	{qemu: "FEAT_XSAVE", leaf: 0xD, subleaf: 1, reg: cpuid.EAX, names: [64]string{
		"xsaveopt", "xsavec", "xgetbv1", "xsaves",
		"xfd",
	}},
	// FEAT_6_EAX: CPUID[6].EAX
	{qemu: "FEAT_6_EAX", leaf: 0x6, reg: cpuid.EAX, names: [64]string{
		"", "", "arat",
	}},
	// FEAT_XSAVE_XCR0_LO: CPUID[EAX=0xd,ECX=0].EAX (no named bits)
	{qemu: "FEAT_XSAVE_XCR0_LO", leaf: 0xD, subleaf: 0, reg: cpuid.EAX},
	// FEAT_XSAVE_XCR0_HI: CPUID[EAX=0xd,ECX=0].EDX (no named bits)
	{qemu: "FEAT_XSAVE_XCR0_HI", leaf: 0xD, subleaf: 0, reg: cpuid.EDX},
	// FEAT_ARCH_CAPABILITIES: MSR_IA32_ARCH_CAPABILITIES (0x10a), plain.
	// QEMU also reports fb-clear when the host is not affected (see above).
	{qemu: "FEAT_ARCH_CAPABILITIES", msr: 0x10a, view: viewPlain, gate: "arch-capabilities", names: [64]string{
		"rdctl-no", "ibrs-all", "rsba", "skip-l1dfl-vmentry",
		"ssb-no", "mds-no", "pschange-mc-no", "tsx-ctrl",
		"taa-no", "", "", "",
		"", "sbdr-ssdp-no", "fbsdp-no", "psdp-no",
		"", "fb-clear", "", "",
		"bhi-no", "", "", "",
		"pbrsb-no", "", "gds-no", "rfds-no",
		"rfds-clear", "", "", "",
		62: "its-no",
	}},
	// FEAT_CORE_CAPABILITY: MSR_IA32_CORE_CAPABILITY (0xcf), plain
	{qemu: "FEAT_CORE_CAPABILITY", msr: 0xcf, view: viewPlain, gate: "core-capability", names: [64]string{
		5: "split-lock-detect",
	}},
	// FEAT_PERF_CAPABILITIES: MSR_IA32_PERF_CAPABILITIES (0x345), plain
	{qemu: "FEAT_PERF_CAPABILITIES", msr: 0x345, view: viewPlain, gate: "pdcm", names: [64]string{
		13: "full-width-write",
	}},
	// FEAT_VMX_PROCBASED_CTLS: MSR_IA32_VMX_TRUE_PROCBASED_CTLS (0x48e),
	// may-be-one controls
	{qemu: "FEAT_VMX_PROCBASED_CTLS", msr: 0x48e, view: viewCanBeOne, gate: "vmx", names: [64]string{
		"", "", "vmx-vintr-pending", "vmx-tsc-offset",
		"", "", "", "vmx-hlt-exit",
		"", "vmx-invlpg-exit", "vmx-mwait-exit", "vmx-rdpmc-exit",
		"vmx-rdtsc-exit", "", "", "vmx-cr3-load-noexit",
		"vmx-cr3-store-noexit", "", "", "vmx-cr8-load-exit",
		"vmx-cr8-store-exit", "vmx-flexpriority", "vmx-vnmi-pending", "vmx-movdr-exit",
		"vmx-io-exit", "vmx-io-bitmap", "", "vmx-mtf",
		"vmx-msr-bitmap", "vmx-monitor-exit", "vmx-pause-exit", "vmx-secondary-ctls",
	}},
	// FEAT_VMX_SECONDARY_CTLS: MSR_IA32_VMX_PROCBASED_CTLS2 (0x48b),
	// may-be-one controls (QEMU applies the same formula as for TRUE_*)
	{qemu: "FEAT_VMX_SECONDARY_CTLS", msr: 0x48b, view: viewCanBeOne, gate: "vmx", names: [64]string{
		"vmx-apicv-xapic", "vmx-ept", "vmx-desc-exit", "vmx-rdtscp-exit",
		"vmx-apicv-x2apic", "vmx-vpid", "vmx-wbinvd-exit", "vmx-unrestricted-guest",
		"vmx-apicv-register", "vmx-apicv-vid", "vmx-ple", "vmx-rdrand-exit",
		"vmx-invpcid-exit", "vmx-vmfunc", "vmx-shadow-vmcs", "vmx-encls-exit",
		"vmx-rdseed-exit", "vmx-pml", "", "",
		"vmx-xsaves", "", "vmx-mbec", "",
		"", "vmx-tsc-scaling", "vmx-enable-user-wait-pause", "",
	}},
	// FEAT_VMX_PINBASED_CTLS: MSR_IA32_VMX_TRUE_PINBASED_CTLS (0x48d),
	// may-be-one controls
	{qemu: "FEAT_VMX_PINBASED_CTLS", msr: 0x48d, view: viewCanBeOne, gate: "vmx", names: [64]string{
		"vmx-intr-exit", "", "", "vmx-nmi-exit",
		"", "vmx-vnmi", "vmx-preemption-timer", "vmx-posted-intr",
	}},
	// FEAT_VMX_EXIT_CTLS: MSR_IA32_VMX_TRUE_EXIT_CTLS (0x48f), may-be-one
	// controls (bit 9, host address-space size, is unnamed: QEMU copies it
	// from "lm")
	{qemu: "FEAT_VMX_EXIT_CTLS", msr: 0x48f, view: viewCanBeOne, gate: "vmx", names: [64]string{
		"", "", "vmx-exit-nosave-debugctl", "",
		"", "", "", "",
		"", "", "", "",
		"vmx-exit-load-perf-global-ctrl", "", "", "vmx-exit-ack-intr",
		"", "", "vmx-exit-save-pat", "vmx-exit-load-pat",
		"vmx-exit-save-efer", "vmx-exit-load-efer", "vmx-exit-save-preemption-timer", "vmx-exit-clear-bndcfgs",
		"", "vmx-exit-clear-rtit-ctl", "", "",
		"vmx-exit-save-cet", "vmx-exit-load-pkrs", "", "vmx-exit-secondary-ctls",
	}},
	// FEAT_VMX_ENTRY_CTLS: MSR_IA32_VMX_TRUE_ENTRY_CTLS (0x490), may-be-one
	// controls
	{qemu: "FEAT_VMX_ENTRY_CTLS", msr: 0x490, view: viewCanBeOne, gate: "vmx", names: [64]string{
		"", "", "vmx-entry-noload-debugctl", "",
		"", "", "", "",
		"", "vmx-entry-ia32e-mode", "", "",
		"", "vmx-entry-load-perf-global-ctrl", "vmx-entry-load-pat", "vmx-entry-load-efer",
		"vmx-entry-load-bndcfgs", "", "vmx-entry-load-rtit-ctl", "",
		"vmx-entry-load-cet", "", "vmx-entry-load-pkrs", "vmx-entry-load-fred",
	}},
	// FEAT_VMX_MISC: MSR_IA32_VMX_MISC (0x485), plain
	{qemu: "FEAT_VMX_MISC", msr: 0x485, view: viewPlain, gate: "vmx", names: [64]string{
		5:  "vmx-store-lma",
		6:  "vmx-activity-hlt",
		7:  "vmx-activity-shutdown",
		8:  "vmx-activity-wait-sipi",
		29: "vmx-vmwrite-vmexit-fields",
		30: "vmx-zero-len-inject",
	}},
	// FEAT_VMX_EPT_VPID_CAPS: MSR_IA32_VMX_EPT_VPID_CAP (0x48c), plain,
	// 64 bits. "vmx-invept-single-context" is both bit 25 and bit 41
	// (bit 41 is INVVPID single-context; QEMU's name is a misnomer), and
	// bit 43 is INVVPID single-context-retaining-globals.
	{qemu: "FEAT_VMX_EPT_VPID_CAPS", msr: 0x48c, view: viewPlain, gate: "vmx", names: [64]string{
		0:  "vmx-ept-execonly",
		6:  "vmx-page-walk-4",
		7:  "vmx-page-walk-5",
		16: "vmx-ept-2mb",
		17: "vmx-ept-1gb",
		20: "vmx-invept",
		21: "vmx-eptad",
		22: "vmx-ept-advanced-exitinfo",
		25: "vmx-invept-single-context",
		26: "vmx-invept-all-context",
		32: "vmx-invvpid",
		40: "vmx-invvpid-single-addr",
		41: "vmx-invept-single-context",
		42: "vmx-invvpid-all-context",
		43: "vmx-invept-single-context-noglobals",
	}},
	// FEAT_VMX_BASIC: MSR_IA32_VMX_BASIC (0x480), plain, 64 bits
	{qemu: "FEAT_VMX_BASIC", msr: 0x480, view: viewPlain, gate: "vmx", names: [64]string{
		54: "vmx-ins-outs",
		55: "vmx-true-ctls",
		56: "vmx-any-errcode",
		58: "vmx-nested-exception",
	}},
	// FEAT_VMX_VMFUNC: MSR_IA32_VMX_VMFUNC (0x491), plain
	{qemu: "FEAT_VMX_VMFUNC", msr: 0x491, view: viewPlain, gate: "vmx", names: [64]string{
		0: "vmx-eptp-switching",
	}},
	// FEAT_14_0_ECX: CPUID[EAX=0x14,ECX=0].ECX (Intel PT)
	{qemu: "FEAT_14_0_ECX", leaf: 0x14, subleaf: 0, reg: cpuid.ECX, names: [64]string{
		31: "intel-pt-lip",
	}},
	// FEAT_SGX_12_0_EAX: CPUID[EAX=0x12,ECX=0].EAX (SGX)
	{qemu: "FEAT_SGX_12_0_EAX", leaf: 0x12, subleaf: 0, reg: cpuid.EAX, names: [64]string{
		0:  "sgx1",
		1:  "sgx2",
		11: "sgx-edeccssa",
	}},
	// FEAT_SGX_12_0_EBX: CPUID[EAX=0x12,ECX=0].EBX (SGX MISCSELECT[31:0])
	{qemu: "FEAT_SGX_12_0_EBX", leaf: 0x12, subleaf: 0, reg: cpuid.EBX, names: [64]string{
		0: "sgx-exinfo",
	}},
	// FEAT_SGX_12_1_EAX: CPUID[EAX=0x12,ECX=1].EAX (SGX ATTRIBUTES[31:0])
	{qemu: "FEAT_SGX_12_1_EAX", leaf: 0x12, subleaf: 1, reg: cpuid.EAX, names: [64]string{
		"", "sgx-debug", "sgx-mode64", "",
		"sgx-provisionkey", "sgx-tokenkey", "", "sgx-kss",
		"", "", "sgx-aex-notify",
	}},
	// FEAT_XSAVE_XSS_LO: CPUID[EAX=0xd,ECX=1].ECX (no named bits)
	{qemu: "FEAT_XSAVE_XSS_LO", leaf: 0xD, subleaf: 1, reg: cpuid.ECX},
	// FEAT_XSAVE_XSS_HI: CPUID[EAX=0xd,ECX=1].EDX (no named bits)
	{qemu: "FEAT_XSAVE_XSS_HI", leaf: 0xD, subleaf: 1, reg: cpuid.EDX},
	// FEAT_7_1_ECX: CPUID[EAX=7,ECX=1].ECX (QEMU 11.1)
	{qemu: "FEAT_7_1_ECX", leaf: 0x7, subleaf: 1, reg: cpuid.ECX, names: [64]string{
		5: "msr-imm",
	}},
	// FEAT_7_1_EDX: CPUID[EAX=7,ECX=1].EDX
	{qemu: "FEAT_7_1_EDX", leaf: 0x7, subleaf: 1, reg: cpuid.EDX, names: [64]string{
		"", "", "", "",
		"avx-vnni-int8", "avx-ne-convert", "", "",
		"amx-complex", "", "avx-vnni-int16", "",
		"", "", "prefetchiti", "",
		"", "", "", "avx10",
		"", "apxf",
	}},
	// FEAT_7_2_EDX: CPUID[EAX=7,ECX=2].EDX
	{qemu: "FEAT_7_2_EDX", leaf: 0x7, subleaf: 2, reg: cpuid.EDX, names: [64]string{
		"intel-psfd", "ipred-ctrl", "rrsba-ctrl", "ddpd-u",
		"bhi-ctrl", "mcdt-no",
	}},
	// FEAT_24_0_EBX: CPUID[EAX=0x24,ECX=0].EBX (AVX10 vector lengths)
	{qemu: "FEAT_24_0_EBX", leaf: 0x24, subleaf: 0, reg: cpuid.EBX, names: [64]string{
		16: "avx10-128",
		17: "avx10-256",
		18: "avx10-512",
	}},
	// FEAT_29_0_EBX: CPUID[EAX=0x29,ECX=0].EBX (QEMU 11.1: APX)
	{qemu: "FEAT_29_0_EBX", leaf: 0x29, subleaf: 0, reg: cpuid.EBX, names: [64]string{
		0: "apx-nci-ndd-nf",
	}},
	// FEAT_1E_1_EAX: CPUID[EAX=0x1E,ECX=1].EAX (QEMU 11.1: AMX; bits 0-3
	// mirror amx-int8, amx-bf16, amx-complex and amx-fp16)
	{qemu: "FEAT_1E_1_EAX", leaf: 0x1E, subleaf: 1, reg: cpuid.EAX, names: [64]string{
		0: "amx-int8-alias",
		1: "amx-bf16-alias",
		2: "amx-complex-alias",
		3: "amx-fp16-alias",
		4: "amx-fp8",
		6: "amx-tf32",
		7: "amx-avx512",
		8: "amx-movrs",
	}},
	// FEAT_24_1_ECX: CPUID[EAX=0x24,ECX=1].ECX (QEMU 11.1: AVX10.2; QEMU's
	// enum comment says ECX=0, its table entry subleaf 1)
	{qemu: "FEAT_24_1_ECX", leaf: 0x24, subleaf: 1, reg: cpuid.ECX, names: [64]string{
		2: "avx10-vnni-int",
	}},
}
