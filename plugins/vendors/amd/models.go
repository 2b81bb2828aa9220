package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

// models holds EPYC-Turin exactly as the patch that added it to QEMU
// defines it (its cache_info is not part of a model's feature set), QEMU's
// constants spelled as QEMU's feature names. It has no versions list, so
// it has the single version 1.
var models = []sdk.Model{{
	Name:     "EPYC-Turin",
	Vendor:   amd,
	Family:   26,
	Model:    0,
	Stepping: 0,
	Level:    0xd,
	XLevel:   0x80000022,
	ModelID:  "AMD EPYC-Turin Processor",
	Note:     "QEMU 10.1: [PATCH v7 6/6] target/i386: Add support for EPYC-Turin model",
	Features: []string{
		// FEAT_1_ECX
		"rdrand", "f16c", "avx", "xsave", "aes", "popcnt", "movbe", "sse4.2", "sse4.1",
		"pcid", "cx16", "fma", "ssse3", "monitor", "pclmulqdq", "pni",
		// FEAT_1_EDX
		"sse2", "sse", "fxsr", "mmx", "clflush", "pse36", "pat", "cmov", "mca", "pge",
		"mtrr", "sep", "apic", "cx8", "mce", "pae", "msr", "tsc", "pse", "de", "vme", "fpu",
		// FEAT_6_EAX
		"arat",
		// FEAT_7_0_EBX
		"fsgsbase", "bmi1", "avx2", "smep", "bmi2", "erms", "invpcid", "avx512f",
		"avx512dq", "rdseed", "adx", "smap", "avx512ifma", "clflushopt", "clwb",
		"avx512cd", "sha-ni", "avx512bw", "avx512vl",
		// FEAT_7_0_ECX
		"avx512vbmi", "umip", "pku", "avx512vbmi2", "gfni", "vaes", "vpclmulqdq",
		"avx512vnni", "avx512bitalg", "avx512-vpopcntdq", "la57", "rdpid", "movdiri",
		"movdir64b",
		// FEAT_7_0_EDX
		"fsrm", "avx512-vp2intersect",
		// FEAT_7_1_EAX
		"avx-vnni", "avx512-bf16",
		// FEAT_8000_0001_ECX
		"osvw", "3dnowprefetch", "misalignsse", "sse4a", "abm", "cr8legacy", "svm",
		"lahf-lm", "topoext", "perfctr-core",
		// FEAT_8000_0001_EDX
		"lm", "rdtscp", "pdpe1gb", "fxsr-opt", "mmxext", "nx", "syscall",
		// FEAT_8000_0007_EBX
		"overflow-recov", "succor",
		// FEAT_8000_0008_EBX
		"clzero", "xsaveerptr", "wbnoinvd", "ibpb", "ibrs", "amd-stibp",
		"stibp-always-on", "amd-ssbd", "amd-psfd",
		// FEAT_8000_0021_EAX (fs-gs-base-ns and prefetchi are this
		// plugin's)
		"no-nested-data-bp", "fs-gs-base-ns", "lfence-always-serializing",
		"null-sel-clr-base", "auto-ibrs", "prefetchi", "sbpb", "ibpb-brtype",
		"srso-user-kernel-no",
		// FEAT_8000_0022_EAX
		"perfmon-v2",
		// FEAT_XSAVE
		"xsaveopt", "xsavec", "xgetbv1", "xsaves",
		// FEAT_SVM
		"npt", "lbrv", "nrip-save", "tsc-scale", "vmcb-clean", "flushbyasid",
		"pause-filter", "pfthreshold", "v-vmsave-vmload", "vgif", "vnmi", "svme-addr-chk",
	},
}}
