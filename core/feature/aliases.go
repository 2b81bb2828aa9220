package feature

import "sync"

// Other spellings of the canonical names in table.go, and a short
// description of each feature. Every key of every map here is a canonical
// QEMU name from table.go; table_test.go checks that, and that no spelling
// of one feature is a spelling of another.
//
// The joins to Linux and libvirt are BY LOCATION: a Linux or libvirt name
// belongs to a QEMU feature when it names the same CPUID leaf, subleaf,
// register and bit (or the same MSR bit), never because the spellings
// look alike.
//
// Each table is built on first use (the registry is), not at package
// initialisation: a command that never needs a feature name pays nothing.

// qemuAliases lists QEMU's own legacy spellings of a feature: the
// object_property_add_alias calls for feature properties in
// x86_cpu_initfn, target/i386/cpu.c (qemu/qemu commit
// 0048035a870312f2fd0f3dd28115398d26e419bb, QEMU 10.0 era; QEMU 7.2 has
// the same list). The two non-feature aliases there ("hv-apicv" for
// "hv-avic" and "lbr_fmt" for "lbr-fmt") are left out.
var qemuAliases = sync.OnceValue(func() map[string][]string {
	return map[string][]string{
		"pni":              {"sse3"},
		"pclmulqdq":        {"pclmuldq"},
		"sse4.1":           {"sse4-1", "sse4_1"},
		"sse4.2":           {"sse4-2", "sse4_2"},
		"nx":               {"xd"},
		"fxsr-opt":         {"ffxsr", "fxsr_opt"},
		"lm":               {"i64"},
		"ds-cpl":           {"ds_cpl"},
		"tsc-adjust":       {"tsc_adjust"},
		"lahf-lm":          {"lahf_lm"},
		"cmp-legacy":       {"cmp_legacy"},
		"nodeid-msr":       {"nodeid_msr"},
		"perfctr-core":     {"perfctr_core"},
		"perfctr-nb":       {"perfctr_nb"},
		"kvm-nopiodelay":   {"kvm_nopiodelay"},
		"kvm-mmu":          {"kvm_mmu"},
		"kvm-asyncpf":      {"kvm_asyncpf"},
		"kvm-asyncpf-int":  {"kvm_asyncpf_int"},
		"kvm-steal-time":   {"kvm_steal_time"},
		"kvm-pv-eoi":       {"kvm_pv_eoi"},
		"kvm-pv-unhalt":    {"kvm_pv_unhalt"},
		"kvm-poll-control": {"kvm_poll_control"},
		"svm-lock":         {"svm_lock"},
		"nrip-save":        {"nrip_save"},
		"tsc-scale":        {"tsc_scale"},
		"vmcb-clean":       {"vmcb_clean"},
		"pause-filter":     {"pause_filter"},
	}
})

// linuxFlags gives, for every QEMU feature whose bit Linux prints in the
// "flags" line of /proc/cpuinfo, the name Linux prints (identical
// spellings included).
//
// Source: arch/x86/include/asm/cpufeatures.h and
// arch/x86/kernel/cpu/scattered.c, linux-next as of late 2024 (GitHub
// ColinIanKing/linux-next, commit 0fb0f9c9983c79bb71970eda5688ff3f7f5a7068;
// NCAPINTS 22), checked against later upstream patches to those files up
// to Linux 6.18 (none of them names another bit QEMU names). Rule, as that
// header states it since Linux 6.12: a bit is printed exactly when the
// comment after its X86_FEATURE_ define begins with a quoted name, and
// that name is what is printed. (Before 6.12 the rule was inverted: every
// bit was printed, under its lowercased macro suffix unless the comment
// began with a quoted name, and a comment beginning with "" hid it; the
// 6.12 change gave every previously printed bit an explicit name, so the
// printed set of the bits below did not change.)
//
// Join: the Linux capability words that are raw CPUID registers (word 0
// CPUID[1].EDX, 1 [8000_0001].EDX, 4 [1].ECX, 5 [C000_0001].EDX,
// 6 [8000_0001].ECX, 9 [7,0].EBX, 10 [D,1].EAX, 12 [7,1].EAX,
// 13 [8000_0008].EBX, 14 [6].EAX, 15 [8000_000A].EDX, 16 [7,0].ECX,
// 17 [8000_0007].EBX, 18 [7,0].EDX, 19 [8000_001F].EAX,
// 20 [8000_0021].EAX), bit for bit, plus the scattered.c entries, which
// copy one CPUID bit each into a Linux-defined word (only perfmon_v2,
// CPUID[8000_0022].EAX bit 0, is both named by Linux and by QEMU).
// Linux-defined words 3, 7, 8, 11 and 21 are otherwise synthetic and are
// ignored, even where a synthetic flag reflects a QEMU bit indirectly
// (e.g. "ibpb", "ibrs", "stibp", "ssbd" in word 7 are set from Intel or
// AMD bits alike, "ibrs_enhanced" from ARCH_CAPABILITIES or AutoIBRS,
// "split_lock_detect" from CORE_CAPABILITIES or a model list,
// "constant_tsc"/"nonstop_tsc" from invtsc). The "vmx flags" line
// (vmxfeatures.h) is not used either: Linux builds it from the non-TRUE
// VMX MSRs and scatters EPT/VPID bits, so it does not match QEMU's view
// bit for bit.
var linuxFlags = sync.OnceValue(func() map[string]string {
	return map[string]string{
		// CPUID[1].EDX, Linux word 0
		"fpu":     "fpu",
		"vme":     "vme",
		"de":      "de",
		"pse":     "pse",
		"tsc":     "tsc",
		"msr":     "msr",
		"pae":     "pae",
		"mce":     "mce",
		"cx8":     "cx8",
		"apic":    "apic",
		"sep":     "sep",
		"mtrr":    "mtrr",
		"pge":     "pge",
		"mca":     "mca",
		"cmov":    "cmov",
		"pat":     "pat",
		"pse36":   "pse36",
		"pn":      "pn",
		"clflush": "clflush",
		"ds":      "dts",
		"acpi":    "acpi",
		"mmx":     "mmx",
		"fxsr":    "fxsr",
		"sse":     "sse",
		"sse2":    "sse2",
		"ss":      "ss",
		"ht":      "ht",
		"tm":      "tm",
		"ia64":    "ia64",
		"pbe":     "pbe",

		// CPUID[1].ECX, Linux word 4
		"pni":          "pni",
		"pclmulqdq":    "pclmulqdq",
		"dtes64":       "dtes64",
		"monitor":      "monitor",
		"ds-cpl":       "ds_cpl",
		"vmx":          "vmx",
		"smx":          "smx",
		"est":          "est",
		"tm2":          "tm2",
		"ssse3":        "ssse3",
		"cid":          "cid",
		"fma":          "fma",
		"cx16":         "cx16",
		"xtpr":         "xtpr",
		"pdcm":         "pdcm",
		"pcid":         "pcid",
		"dca":          "dca",
		"sse4.1":       "sse4_1",
		"sse4.2":       "sse4_2",
		"x2apic":       "x2apic",
		"movbe":        "movbe",
		"popcnt":       "popcnt",
		"tsc-deadline": "tsc_deadline_timer",
		"aes":          "aes",
		"xsave":        "xsave",
		"avx":          "avx",
		"f16c":         "f16c",
		"rdrand":       "rdrand",
		"hypervisor":   "hypervisor",

		// CPUID[7,0].EBX, Linux word 9
		"fsgsbase":   "fsgsbase",
		"tsc-adjust": "tsc_adjust",
		"sgx":        "sgx",
		"bmi1":       "bmi1",
		"hle":        "hle",
		"avx2":       "avx2",
		"smep":       "smep",
		"bmi2":       "bmi2",
		"erms":       "erms",
		"invpcid":    "invpcid",
		"rtm":        "rtm",
		"mpx":        "mpx",
		"avx512f":    "avx512f",
		"avx512dq":   "avx512dq",
		"rdseed":     "rdseed",
		"adx":        "adx",
		"smap":       "smap",
		"avx512ifma": "avx512ifma",
		"clflushopt": "clflushopt",
		"clwb":       "clwb",
		"intel-pt":   "intel_pt",
		"avx512pf":   "avx512pf",
		"avx512er":   "avx512er",
		"avx512cd":   "avx512cd",
		"sha-ni":     "sha_ni",
		"avx512bw":   "avx512bw",
		"avx512vl":   "avx512vl",

		// CPUID[7,0].ECX, Linux word 16
		"avx512vbmi":       "avx512vbmi",
		"umip":             "umip",
		"pku":              "pku",
		"waitpkg":          "waitpkg",
		"avx512vbmi2":      "avx512_vbmi2",
		"gfni":             "gfni",
		"vaes":             "vaes",
		"vpclmulqdq":       "vpclmulqdq",
		"avx512vnni":       "avx512_vnni",
		"avx512bitalg":     "avx512_bitalg",
		"avx512-vpopcntdq": "avx512_vpopcntdq",
		"la57":             "la57",
		"rdpid":            "rdpid",
		"bus-lock-detect":  "bus_lock_detect",
		"cldemote":         "cldemote",
		"movdiri":          "movdiri",
		"movdir64b":        "movdir64b",
		"sgxlc":            "sgx_lc",

		// CPUID[7,0].EDX, Linux word 18
		"avx512-4vnniw":       "avx512_4vnniw",
		"avx512-4fmaps":       "avx512_4fmaps",
		"fsrm":                "fsrm",
		"avx512-vp2intersect": "avx512_vp2intersect",
		"md-clear":            "md_clear",
		"serialize":           "serialize",
		"tsx-ldtrk":           "tsxldtrk",
		"arch-lbr":            "arch_lbr",
		"amx-bf16":            "amx_bf16",
		"avx512-fp16":         "avx512_fp16",
		"amx-tile":            "amx_tile",
		"amx-int8":            "amx_int8",
		"flush-l1d":           "flush_l1d",
		"arch-capabilities":   "arch_capabilities",

		// CPUID[7,1].EAX, Linux word 12
		"avx-vnni":    "avx_vnni",
		"avx512-bf16": "avx512_bf16",
		"fred":        "fred",
		"lam":         "lam",

		// CPUID[8000_0001].EDX, Linux word 1
		"syscall":  "syscall",
		"nx":       "nx",
		"mmxext":   "mmxext",
		"fxsr-opt": "fxsr_opt",
		"pdpe1gb":  "pdpe1gb",
		"rdtscp":   "rdtscp",
		"lm":       "lm",
		"3dnowext": "3dnowext",
		"3dnow":    "3dnow",

		// CPUID[8000_0001].ECX, Linux word 6
		"lahf-lm":       "lahf_lm",
		"cmp-legacy":    "cmp_legacy",
		"svm":           "svm",
		"extapic":       "extapic",
		"cr8legacy":     "cr8_legacy",
		"abm":           "abm",
		"sse4a":         "sse4a",
		"misalignsse":   "misalignsse",
		"3dnowprefetch": "3dnowprefetch",
		"osvw":          "osvw",
		"ibs":           "ibs",
		"xop":           "xop",
		"skinit":        "skinit",
		"wdt":           "wdt",
		"lwp":           "lwp",
		"fma4":          "fma4",
		"tce":           "tce",
		"nodeid-msr":    "nodeid_msr",
		"tbm":           "tbm",
		"topoext":       "topoext",
		"perfctr-core":  "perfctr_core",
		"perfctr-nb":    "perfctr_nb",

		// CPUID[8000_0007].EBX, Linux word 17
		"overflow-recov": "overflow_recov",
		"succor":         "succor",

		// CPUID[8000_0008].EBX, Linux word 13
		"clzero":     "clzero",
		"xsaveerptr": "xsaveerptr",
		"wbnoinvd":   "wbnoinvd",
		"virt-ssbd":  "virt_ssbd",

		// CPUID[8000_0022].EAX bit 0, scattered into Linux word 7
		"perfmon-v2": "perfmon_v2",

		// CPUID[C000_0001].EDX, Linux word 5
		"xstore":    "rng",
		"xstore-en": "rng_en",
		"xcrypt":    "ace",
		"xcrypt-en": "ace_en",
		"ace2":      "ace2",
		"ace2-en":   "ace2_en",
		"phe":       "phe",
		"phe-en":    "phe_en",
		"pmm":       "pmm",
		"pmm-en":    "pmm_en",

		// CPUID[8000_000A].EDX, Linux word 15
		"npt":             "npt",
		"lbrv":            "lbrv",
		"svm-lock":        "svm_lock",
		"nrip-save":       "nrip_save",
		"tsc-scale":       "tsc_scale",
		"vmcb-clean":      "vmcb_clean",
		"flushbyasid":     "flushbyasid",
		"decodeassists":   "decodeassists",
		"pause-filter":    "pausefilter",
		"pfthreshold":     "pfthreshold",
		"avic":            "avic",
		"v-vmsave-vmload": "v_vmsave_vmload",
		"vgif":            "vgif",
		"vnmi":            "vnmi",

		// CPUID[D,1].EAX, Linux word 10
		"xsaveopt": "xsaveopt",
		"xsavec":   "xsavec",
		"xgetbv1":  "xgetbv1",
		"xsaves":   "xsaves",

		// CPUID[6].EAX, Linux word 14
		"arat": "arat",
	}
})

// libvirtNames gives libvirt's name for every QEMU feature that libvirt's
// CPU map defines at the same location (identical spellings included).
//
// Source: src/cpu_map/x86_features.xml, libvirt/libvirt commit
// a2c6000c728e92f021f18dcd2e96ad609c500baa (the newest copy at hand; it
// predates libvirt's VMX, AVX10 and SHA512/SM3/SM4 entries, so those QEMU
// features have no libvirt name here yet). Join: a <feature> whose
// <cpuid eax_in ecx_in reg='mask'/> or <msr index edx eax/> has the same
// leaf, subleaf, register and single bit as the QEMU bit. libvirt
// features at bits QEMU leaves unnamed (osxsave, ospke, pconfig, cmt,
// cvt16, mbm_total, mbm_local) are left out. libvirt's KVM paravirt
// features live in cpu_x86.c, not in the map, and are not used.
var libvirtNames = sync.OnceValue(func() map[string]string {
	return map[string]string{
		// CPUID[1].EDX
		"fpu":     "fpu",
		"vme":     "vme",
		"de":      "de",
		"pse":     "pse",
		"tsc":     "tsc",
		"msr":     "msr",
		"pae":     "pae",
		"mce":     "mce",
		"cx8":     "cx8",
		"apic":    "apic",
		"sep":     "sep",
		"mtrr":    "mtrr",
		"pge":     "pge",
		"mca":     "mca",
		"cmov":    "cmov",
		"pat":     "pat",
		"pse36":   "pse36",
		"pn":      "pn",
		"clflush": "clflush",
		"ds":      "ds",
		"acpi":    "acpi",
		"mmx":     "mmx",
		"fxsr":    "fxsr",
		"sse":     "sse",
		"sse2":    "sse2",
		"ss":      "ss",
		"ht":      "ht",
		"tm":      "tm",
		"ia64":    "ia64",
		"pbe":     "pbe",

		// CPUID[1].ECX
		"pni":          "pni",
		"pclmulqdq":    "pclmuldq",
		"dtes64":       "dtes64",
		"monitor":      "monitor",
		"ds-cpl":       "ds_cpl",
		"vmx":          "vmx",
		"smx":          "smx",
		"est":          "est",
		"tm2":          "tm2",
		"ssse3":        "ssse3",
		"cid":          "cid",
		"fma":          "fma",
		"cx16":         "cx16",
		"xtpr":         "xtpr",
		"pdcm":         "pdcm",
		"pcid":         "pcid",
		"dca":          "dca",
		"sse4.1":       "sse4.1",
		"sse4.2":       "sse4.2",
		"x2apic":       "x2apic",
		"movbe":        "movbe",
		"popcnt":       "popcnt",
		"tsc-deadline": "tsc-deadline",
		"aes":          "aes",
		"xsave":        "xsave",
		"avx":          "avx",
		"f16c":         "f16c",
		"rdrand":       "rdrand",
		"hypervisor":   "hypervisor",

		// CPUID[6].EAX
		"arat": "arat",

		// CPUID[7,0].EBX
		"fsgsbase":   "fsgsbase",
		"tsc-adjust": "tsc_adjust",
		"sgx":        "sgx",
		"bmi1":       "bmi1",
		"hle":        "hle",
		"avx2":       "avx2",
		"smep":       "smep",
		"bmi2":       "bmi2",
		"erms":       "erms",
		"invpcid":    "invpcid",
		"rtm":        "rtm",
		"mpx":        "mpx",
		"avx512f":    "avx512f",
		"avx512dq":   "avx512dq",
		"rdseed":     "rdseed",
		"adx":        "adx",
		"smap":       "smap",
		"avx512ifma": "avx512ifma",
		"pcommit":    "pcommit",
		"clflushopt": "clflushopt",
		"clwb":       "clwb",
		"intel-pt":   "intel-pt",
		"avx512pf":   "avx512pf",
		"avx512er":   "avx512er",
		"avx512cd":   "avx512cd",
		"sha-ni":     "sha-ni",
		"avx512bw":   "avx512bw",
		"avx512vl":   "avx512vl",

		// CPUID[7,0].ECX
		"avx512vbmi":       "avx512vbmi",
		"umip":             "umip",
		"pku":              "pku",
		"waitpkg":          "waitpkg",
		"avx512vbmi2":      "avx512vbmi2",
		"gfni":             "gfni",
		"vaes":             "vaes",
		"vpclmulqdq":       "vpclmulqdq",
		"avx512vnni":       "avx512vnni",
		"avx512bitalg":     "avx512bitalg",
		"avx512-vpopcntdq": "avx512-vpopcntdq",
		"la57":             "la57",
		"rdpid":            "rdpid",
		"bus-lock-detect":  "bus-lock-detect",
		"cldemote":         "cldemote",
		"movdiri":          "movdiri",
		"movdir64b":        "movdir64b",
		"sgxlc":            "sgxlc",
		"pks":              "pks",

		// CPUID[7,0].EDX
		"avx512-4vnniw":       "avx512-4vnniw",
		"avx512-4fmaps":       "avx512-4fmaps",
		"fsrm":                "fsrm",
		"avx512-vp2intersect": "avx512-vp2intersect",
		"md-clear":            "md-clear",
		"serialize":           "serialize",
		"tsx-ldtrk":           "tsx-ldtrk",
		"arch-lbr":            "arch-lbr",
		"amx-bf16":            "amx-bf16",
		"avx512-fp16":         "avx512-fp16",
		"amx-tile":            "amx-tile",
		"amx-int8":            "amx-int8",
		"spec-ctrl":           "spec-ctrl",
		"stibp":               "stibp",
		"flush-l1d":           "flush-l1d",
		"arch-capabilities":   "arch-capabilities",
		"core-capability":     "core-capability",
		"ssbd":                "ssbd",

		// CPUID[7,1].EAX
		"avx-vnni":    "avx-vnni",
		"avx512-bf16": "avx512-bf16",
		"cmpccxadd":   "cmpccxadd",
		"fzrm":        "fzrm",
		"fsrs":        "fsrs",
		"fsrc":        "fsrc",
		"amx-fp16":    "amx-fp16",
		"avx-ifma":    "avx-ifma",

		// CPUID[7,1].EDX
		"avx-vnni-int8":  "avx-vnni-int8",
		"avx-ne-convert": "avx-ne-convert",
		"prefetchiti":    "prefetchiti",

		// CPUID[7,2].EDX
		"mcdt-no": "mcdt-no",

		// CPUID[D,1].EAX
		"xsaveopt": "xsaveopt",
		"xsavec":   "xsavec",
		"xgetbv1":  "xgetbv1",
		"xsaves":   "xsaves",
		"xfd":      "xfd",

		// CPUID[12,0].EAX, [12,0].EBX, [12,1].EAX (SGX)
		"sgx1":             "sgx1",
		"sgx2":             "sgx2",
		"sgx-edeccssa":     "sgx-edeccssa",
		"sgx-exinfo":       "sgx-exinfo",
		"sgx-debug":        "sgx-debug",
		"sgx-mode64":       "sgx-mode64",
		"sgx-provisionkey": "sgx-provisionkey",
		"sgx-tokenkey":     "sgx-tokenkey",
		"sgx-kss":          "sgx-kss",
		"sgx-aex-notify":   "sgx-aex-notify",

		// CPUID[14,0].ECX
		"intel-pt-lip": "intel-pt-lip",

		// CPUID[8000_0001].EDX
		"syscall":  "syscall",
		"nx":       "nx",
		"mmxext":   "mmxext",
		"fxsr-opt": "fxsr_opt",
		"pdpe1gb":  "pdpe1gb",
		"rdtscp":   "rdtscp",
		"lm":       "lm",
		"3dnowext": "3dnowext",
		"3dnow":    "3dnow",

		// CPUID[8000_0001].ECX
		"lahf-lm":       "lahf_lm",
		"cmp-legacy":    "cmp_legacy",
		"svm":           "svm",
		"extapic":       "extapic",
		"cr8legacy":     "cr8legacy",
		"abm":           "abm",
		"sse4a":         "sse4a",
		"misalignsse":   "misalignsse",
		"3dnowprefetch": "3dnowprefetch",
		"osvw":          "osvw",
		"ibs":           "ibs",
		"xop":           "xop",
		"skinit":        "skinit",
		"wdt":           "wdt",
		"lwp":           "lwp",
		"fma4":          "fma4",
		"tce":           "tce",
		"nodeid-msr":    "nodeid_msr",
		"tbm":           "tbm",
		"topoext":       "topoext",
		"perfctr-core":  "perfctr_core",
		"perfctr-nb":    "perfctr_nb",

		// CPUID[8000_0007].EDX
		"invtsc": "invtsc",

		// CPUID[8000_0008].EBX
		"clzero":          "clzero",
		"xsaveerptr":      "xsaveerptr",
		"wbnoinvd":        "wbnoinvd",
		"ibpb":            "ibpb",
		"ibrs":            "ibrs",
		"amd-stibp":       "amd-stibp",
		"stibp-always-on": "stibp-always-on",
		"amd-ssbd":        "amd-ssbd",
		"virt-ssbd":       "virt-ssbd",
		"amd-no-ssb":      "amd-no-ssb",
		"amd-psfd":        "amd-psfd",

		// CPUID[8000_000A].EDX
		"npt":             "npt",
		"lbrv":            "lbrv",
		"svm-lock":        "svm-lock",
		"nrip-save":       "nrip-save",
		"tsc-scale":       "tsc-scale",
		"vmcb-clean":      "vmcb-clean",
		"flushbyasid":     "flushbyasid",
		"decodeassists":   "decodeassists",
		"pause-filter":    "pause-filter",
		"pfthreshold":     "pfthreshold",
		"avic":            "avic",
		"v-vmsave-vmload": "v-vmsave-vmload",
		"vgif":            "vgif",
		"vnmi":            "vnmi",
		"svme-addr-chk":   "svme-addr-chk",

		// CPUID[8000_0021].EAX
		"no-nested-data-bp":         "no-nested-data-bp",
		"lfence-always-serializing": "lfence-always-serializing",
		"null-sel-clr-base":         "null-sel-clr-base",
		"auto-ibrs":                 "auto-ibrs",

		// MSR 0x10a (IA32_ARCH_CAPABILITIES)
		"rdctl-no":           "rdctl-no",
		"ibrs-all":           "ibrs-all",
		"rsba":               "rsba",
		"skip-l1dfl-vmentry": "skip-l1dfl-vmentry",
		"ssb-no":             "ssb-no",
		"mds-no":             "mds-no",
		"pschange-mc-no":     "pschange-mc-no",
		"tsx-ctrl":           "tsx-ctrl",
		"taa-no":             "taa-no",
		"sbdr-ssdp-no":       "sbdr-ssdp-no",
		"fbsdp-no":           "fbsdp-no",
		"psdp-no":            "psdp-no",
		"fb-clear":           "fb-clear",
		"pbrsb-no":           "pbrsb-no",

		// MSR 0xcf (IA32_CORE_CAPABILITIES)
		"split-lock-detect": "split-lock-detect",
	}
})

// descriptions holds one short phrase per feature. The phrases paraphrase
// the comments next to the bit in Linux's cpufeatures.h and vmxfeatures.h
// and QEMU's target/i386/cpu.h (same commits as above), joined by
// location; where neither comments the bit (most VMX and
// IA32_ARCH_CAPABILITIES bits, the KVM paravirt bits), the phrase follows
// the field's name in the Intel SDM, AMD APM or KVM's CPUID documentation.
var descriptions = sync.OnceValue(func() map[string]string {
	return map[string]string{
		// CPUID[1].EDX
		"fpu":     "Onboard x87 FPU",
		"vme":     "Virtual 8086 mode extensions",
		"de":      "Debugging extensions",
		"pse":     "Page size extensions",
		"tsc":     "Time stamp counter",
		"msr":     "Model-specific registers (RDMSR/WRMSR)",
		"pae":     "Physical address extensions",
		"mce":     "Machine check exception",
		"cx8":     "CMPXCHG8B instruction",
		"apic":    "Onboard APIC",
		"sep":     "SYSENTER/SYSEXIT",
		"mtrr":    "Memory type range registers",
		"pge":     "Page global enable",
		"mca":     "Machine check architecture",
		"cmov":    "CMOV instructions (plus FCMOVcc, FCOMI with FPU)",
		"pat":     "Page attribute table",
		"pse36":   "36-bit page size extensions",
		"pn":      "Processor serial number",
		"clflush": "CLFLUSH instruction",
		"ds":      "Debug store",
		"acpi":    "ACPI via MSR (thermal monitor and clock control)",
		"mmx":     "MMX instructions",
		"fxsr":    "FXSAVE/FXRSTOR, CR4.OSFXSR",
		"sse":     "SSE instructions",
		"sse2":    "SSE2 instructions",
		"ss":      "CPU self snoop",
		"ht":      "Hyper-threading (multiple logical processors)",
		"tm":      "Thermal monitor (automatic clock control)",
		"ia64":    "IA-64 processor",
		"pbe":     "Pending break enable",

		// CPUID[1].ECX
		"pni":          "SSE3 instructions",
		"pclmulqdq":    "PCLMULQDQ instruction",
		"dtes64":       "64-bit debug store",
		"monitor":      "MONITOR/MWAIT instructions",
		"ds-cpl":       "CPL-qualified (filtered) debug store",
		"vmx":          "Intel VT-x hardware virtualization",
		"smx":          "Safer mode extensions",
		"est":          "Enhanced SpeedStep",
		"tm2":          "Thermal monitor 2",
		"ssse3":        "Supplemental SSE3 instructions",
		"cid":          "L1 context ID",
		"fma":          "Fused multiply-add (FMA3)",
		"cx16":         "CMPXCHG16B instruction",
		"xtpr":         "Send task priority messages",
		"pdcm":         "Perf/debug capabilities MSR",
		"pcid":         "Process-context identifiers",
		"dca":          "Direct cache access",
		"sse4.1":       "SSE4.1 instructions",
		"sse4.2":       "SSE4.2 instructions",
		"x2apic":       "x2APIC",
		"movbe":        "MOVBE instruction",
		"popcnt":       "POPCNT instruction",
		"tsc-deadline": "APIC timer TSC-deadline mode",
		"aes":          "AES instructions",
		"xsave":        "XSAVE/XRSTOR/XSETBV/XGETBV instructions",
		"avx":          "Advanced vector extensions",
		"f16c":         "16-bit floating-point conversions",
		"rdrand":       "RDRAND instruction",
		"hypervisor":   "Running on a hypervisor",

		// CPUID[7,0].EBX
		"fsgsbase":        "RDFSBASE/WRFSBASE/RDGSBASE/WRGSBASE instructions",
		"tsc-adjust":      "TSC adjust MSR (0x3b)",
		"sgx":             "Software guard extensions",
		"bmi1":            "1st group of bit manipulation instructions",
		"hle":             "Hardware lock elision",
		"avx2":            "AVX2 instructions",
		"fdp-excptn-only": "FPU data pointer updated only on x87 exceptions",
		"smep":            "Supervisor-mode execution prevention",
		"bmi2":            "2nd group of bit manipulation instructions",
		"erms":            "Enhanced REP MOVSB/STOSB",
		"invpcid":         "INVPCID instruction",
		"rtm":             "Restricted transactional memory",
		"zero-fcs-fds":    "FPU CS and FPU DS deprecated (stored as zero)",
		"mpx":             "Memory protection extensions",
		"avx512f":         "AVX-512 foundation",
		"avx512dq":        "AVX-512 doubleword and quadword instructions",
		"rdseed":          "RDSEED instruction",
		"adx":             "ADCX and ADOX instructions",
		"smap":            "Supervisor-mode access prevention",
		"avx512ifma":      "AVX-512 integer fused multiply-add",
		"pcommit":         "PCOMMIT instruction (deprecated)",
		"clflushopt":      "CLFLUSHOPT instruction",
		"clwb":            "CLWB instruction",
		"intel-pt":        "Intel processor trace",
		"avx512pf":        "AVX-512 prefetch",
		"avx512er":        "AVX-512 exponential and reciprocal",
		"avx512cd":        "AVX-512 conflict detection",
		"sha-ni":          "SHA1/SHA256 instructions",
		"avx512bw":        "AVX-512 byte and word instructions",
		"avx512vl":        "AVX-512 vector length extensions",

		// CPUID[7,0].ECX
		"avx512vbmi":       "AVX-512 vector byte manipulation instructions",
		"umip":             "User-mode instruction prevention",
		"pku":              "Protection keys for user-mode pages",
		"waitpkg":          "UMONITOR/UMWAIT/TPAUSE instructions",
		"avx512vbmi2":      "Additional AVX-512 vector byte manipulation instructions",
		"gfni":             "Galois field new instructions",
		"vaes":             "Vector AES instructions",
		"vpclmulqdq":       "Carry-less multiplication of vectors of quadwords",
		"avx512vnni":       "AVX-512 vector neural network instructions",
		"avx512bitalg":     "AVX-512 VPOPCNT[B,W] and VPSHUFBITQMB",
		"avx512-vpopcntdq": "AVX-512 POPCNT for vectors of doublewords and quadwords",
		"la57":             "5-level page tables",
		"rdpid":            "RDPID instruction",
		"bus-lock-detect":  "Bus lock debug exception",
		"cldemote":         "CLDEMOTE instruction",
		"movdiri":          "MOVDIRI instruction",
		"movdir64b":        "MOVDIR64B instruction",
		"sgxlc":            "SGX launch control",
		"pks":              "Protection keys for supervisor-mode pages",

		// CPUID[7,0].EDX
		"avx512-4vnniw":       "AVX-512 neural network instructions (4VNNIW)",
		"avx512-4fmaps":       "AVX-512 multiply accumulation single precision (4FMAPS)",
		"fsrm":                "Fast short REP MOV",
		"avx512-vp2intersect": "AVX-512 intersect for doublewords and quadwords",
		"md-clear":            "VERW clears CPU buffers",
		"serialize":           "SERIALIZE instruction",
		"tsx-ldtrk":           "TSX suspend load address tracking",
		"arch-lbr":            "Architectural last branch records",
		"amx-bf16":            "AMX BF16 instructions",
		"avx512-fp16":         "AVX-512 FP16 instructions",
		"amx-tile":            "AMX tile architecture",
		"amx-int8":            "AMX INT8 instructions",
		"spec-ctrl":           "Speculation control (IBRS and IBPB)",
		"stibp":               "Single thread indirect branch predictors",
		"flush-l1d":           "Flush L1D cache (IA32_FLUSH_CMD)",
		"arch-capabilities":   "IA32_ARCH_CAPABILITIES MSR",
		"core-capability":     "IA32_CORE_CAPABILITIES MSR",
		"ssbd":                "Speculative store bypass disable",

		// CPUID[7,1].EAX
		"sha512":      "SHA512 instructions",
		"sm3":         "SM3 instructions",
		"sm4":         "SM4 instructions",
		"avx-vnni":    "AVX (VEX-encoded) vector neural network instructions",
		"avx512-bf16": "AVX-512 BFLOAT16 instructions",
		"cmpccxadd":   "CMPccXADD instructions",
		"fzrm":        "Fast zero-length REP MOVSB",
		"fsrs":        "Fast short REP STOSB",
		"fsrc":        "Fast short REP CMPSB/SCASB",
		"fred":        "Flexible return and event delivery",
		"lkgs":        "LKGS instruction (load into IA32_KERNEL_GS_BASE)",
		"wrmsrns":     "Non-serializing WRMSR (WRMSRNS)",
		"amx-fp16":    "AMX tile operations on FP16 numbers",
		"avx-ifma":    "AVX integer fused multiply-add (VPMADD52[H,L]UQ)",
		"lam":         "Linear address masking",

		// CPUID[7,1].EDX
		"avx-vnni-int8":  "AVX VNNI INT8 instructions (VPDPB[SU,UU,SS]D[,S])",
		"avx-ne-convert": "AVX no-exception FP conversion instructions",
		"amx-complex":    "AMX complex-number instructions",
		"avx-vnni-int16": "AVX VNNI INT16 instructions",
		"prefetchiti":    "PREFETCHIT0/1 instructions",
		"avx10":          "Advanced vector extensions 10",

		// CPUID[7,2].EDX
		"intel-psfd": "IA32_SPEC_CTRL bit 7 (PSFD) supported",
		"ipred-ctrl": "IA32_SPEC_CTRL bits 3 and 4 (IPRED_DIS) supported",
		"rrsba-ctrl": "IA32_SPEC_CTRL bits 5 and 6 (RRSBA_DIS) supported",
		"ddpd-u":     "IA32_SPEC_CTRL bit 8 (DDPD_U) supported",
		"bhi-ctrl":   "IA32_SPEC_CTRL bit 10 (BHI_DIS_S) supported",
		"mcdt-no":    "No MXCSR configuration dependent timing",

		// CPUID[24,0].EBX
		"avx10-128": "AVX10 128-bit vector support",
		"avx10-256": "AVX10 256-bit vector support",
		"avx10-512": "AVX10 512-bit vector support",

		// CPUID[8000_0001].EDX
		"syscall":  "SYSCALL/SYSRET",
		"nx":       "No-execute page protection",
		"mmxext":   "AMD MMX extensions",
		"fxsr-opt": "FXSAVE/FXRSTOR optimizations",
		"pdpe1gb":  "1 GB pages",
		"rdtscp":   "RDTSCP instruction",
		"lm":       "Long mode (x86-64)",
		"3dnowext": "AMD 3DNow! extensions",
		"3dnow":    "3DNow! instructions",

		// CPUID[8000_0001].ECX
		"lahf-lm":       "LAHF/SAHF in long mode",
		"cmp-legacy":    "Core multi-processing legacy mode",
		"svm":           "AMD secure virtual machine",
		"extapic":       "Extended APIC space",
		"cr8legacy":     "CR8 in 32-bit mode",
		"abm":           "Advanced bit manipulation (LZCNT)",
		"sse4a":         "SSE4A instructions",
		"misalignsse":   "Misaligned SSE mode",
		"3dnowprefetch": "PREFETCH/PREFETCHW instructions",
		"osvw":          "OS visible workaround",
		"ibs":           "Instruction based sampling",
		"xop":           "Extended operation (XOP) instructions",
		"skinit":        "SKINIT/STGI instructions",
		"wdt":           "Watchdog timer",
		"lwp":           "Lightweight profiling",
		"fma4":          "4-operand fused multiply-add",
		"tce":           "Translation cache extension",
		"nodeid-msr":    "NodeId MSR",
		"tbm":           "Trailing bit manipulation",
		"topoext":       "Topology extensions CPUID leaves",
		"perfctr-core":  "Core performance counter extensions",
		"perfctr-nb":    "Northbridge performance counter extensions",

		// CPUID[8000_0007]
		"overflow-recov": "MCA overflow recovery",
		"succor":         "Software uncorrectable error containment and recovery",
		"invtsc":         "Invariant TSC",

		// CPUID[8000_0008].EBX
		"clzero":          "CLZERO instruction",
		"xsaveerptr":      "Always save/restore FP error pointers",
		"wbnoinvd":        "WBNOINVD instruction",
		"ibpb":            "Indirect branch prediction barrier",
		"ibrs":            "Indirect branch restricted speculation",
		"amd-stibp":       "Single thread indirect branch predictors",
		"stibp-always-on": "STIBP may be left always on",
		"amd-ssbd":        "Speculative store bypass disable",
		"virt-ssbd":       "Virtualized speculative store bypass disable",
		"amd-no-ssb":      "Not affected by speculative store bypass",
		"amd-psfd":        "Predictive store forwarding disable",

		// CPUID[8000_0021].EAX
		"no-nested-data-bp":         "Processor ignores nested data breakpoints",
		"lfence-always-serializing": "LFENCE is always serializing",
		"null-sel-clr-base":         "Null selector clears base",
		"auto-ibrs":                 "Automatic IBRS",
		"eraps":                     "Enhanced return address predictor security",
		"sbpb":                      "Selective branch predictor barrier",
		"ibpb-brtype":               "IBPB flushes all branch type predictions",
		"srso-no":                   "Not vulnerable to speculative return stack overflow",
		"srso-user-kernel-no":       "Not vulnerable to SRSO at the user-kernel boundary",

		// CPUID[8000_0022].EAX
		"perfmon-v2": "AMD performance monitoring version 2",

		// CPUID[C000_0001].EDX
		"xstore":    "PadLock random number generator (XSTORE)",
		"xstore-en": "PadLock RNG enabled",
		"xcrypt":    "PadLock advanced cryptography engine (XCRYPT)",
		"xcrypt-en": "PadLock ACE enabled",
		"ace2":      "PadLock advanced cryptography engine v2",
		"ace2-en":   "PadLock ACE v2 enabled",
		"phe":       "PadLock hash engine",
		"phe-en":    "PadLock hash engine enabled",
		"pmm":       "PadLock Montgomery multiplier",
		"pmm-en":    "PadLock Montgomery multiplier enabled",

		// CPUID[4000_0001].EAX and EDX (KVM)
		"kvmclock":            "KVM paravirtual clock (old and new MSRs)",
		"kvm-nopiodelay":      "KVM: no delay needed on I/O port accesses",
		"kvm-mmu":             "KVM paravirtual MMU (obsolete)",
		"kvm-asyncpf":         "KVM asynchronous page faults",
		"kvm-steal-time":      "KVM steal time accounting",
		"kvm-pv-eoi":          "KVM paravirtual end-of-interrupt",
		"kvm-pv-unhalt":       "KVM paravirtual spinlock unhalt (kick)",
		"kvm-pv-tlb-flush":    "KVM paravirtual TLB flush",
		"kvm-asyncpf-vmexit":  "KVM asynchronous page faults delivered as VM exits",
		"kvm-pv-ipi":          "KVM paravirtual IPIs",
		"kvm-poll-control":    "KVM host-side halt polling control",
		"kvm-pv-sched-yield":  "KVM paravirtual sched yield",
		"kvm-asyncpf-int":     "KVM interrupt-based asynchronous page faults",
		"kvm-msi-ext-dest-id": "KVM extended destination ID for MSIs",
		"kvmclock-stable-bit": "KVM clock stable bit is honoured",
		"kvm-hint-dedicated":  "KVM hint: vCPUs are never preempted",

		// CPUID[8000_000A].EDX (SVM)
		"npt":             "Nested page tables",
		"lbrv":            "LBR virtualization",
		"svm-lock":        "SVM locking MSR",
		"nrip-save":       "SVM next RIP save",
		"tsc-scale":       "TSC rate MSR (TSC scaling)",
		"vmcb-clean":      "VMCB clean bits",
		"flushbyasid":     "Flush by ASID",
		"decodeassists":   "Decode assists",
		"pause-filter":    "Filtered PAUSE intercept",
		"pfthreshold":     "PAUSE filter threshold",
		"avic":            "AMD virtual interrupt controller",
		"v-vmsave-vmload": "Virtual VMSAVE/VMLOAD",
		"vgif":            "Virtual GIF",
		"vnmi":            "Virtual NMI",
		"svme-addr-chk":   "SVME address check",

		// CPUID[D,1].EAX
		"xsaveopt": "XSAVEOPT instruction",
		"xsavec":   "XSAVEC instruction",
		"xgetbv1":  "XGETBV with ECX=1",
		"xsaves":   "XSAVES/XRSTORS instructions",
		"xfd":      "Extended feature disable",

		// CPUID[6].EAX
		"arat": "Always running APIC timer",

		// MSR 0x10a (IA32_ARCH_CAPABILITIES)
		"rdctl-no":           "Not vulnerable to rogue data cache load (Meltdown)",
		"ibrs-all":           "Enhanced IBRS",
		"rsba":               "RET may use alternate branch predictors",
		"skip-l1dfl-vmentry": "No L1D flush needed on VM entry",
		"ssb-no":             "Not vulnerable to speculative store bypass",
		"mds-no":             "Not vulnerable to microarchitectural data sampling",
		"pschange-mc-no":     "No machine check on page size change",
		"tsx-ctrl":           "IA32_TSX_CTRL MSR",
		"taa-no":             "Not vulnerable to TSX asynchronous abort",
		"sbdr-ssdp-no":       "Not vulnerable to SBDR or SSDP (MMIO stale data)",
		"fbsdp-no":           "Not vulnerable to fill buffer stale data propagation",
		"psdp-no":            "Not vulnerable to primary stale data propagation",
		"fb-clear":           "VERW clears fill buffers",
		"bhi-no":             "Not vulnerable to branch history injection",
		"pbrsb-no":           "Not vulnerable to post-barrier RSB predictions",
		"gds-no":             "Not vulnerable to gather data sampling",
		"rfds-no":            "Not vulnerable to register file data sampling",
		"rfds-clear":         "VERW clears register files",

		// MSR 0xcf (IA32_CORE_CAPABILITIES) and 0x345 (IA32_PERF_CAPABILITIES)
		"split-lock-detect": "#AC on split locks",
		"full-width-write":  "Full-width writes to performance counters",

		// MSR 0x48e (IA32_VMX_TRUE_PROCBASED_CTLS)
		"vmx-vintr-pending":    "VM exit when interrupts are unblocked (interrupt window)",
		"vmx-tsc-offset":       "Offset the TSC when read in the guest",
		"vmx-hlt-exit":         "VM exit on HLT",
		"vmx-invlpg-exit":      "VM exit on INVLPG",
		"vmx-mwait-exit":       "VM exit on MWAIT",
		"vmx-rdpmc-exit":       "VM exit on RDPMC",
		"vmx-rdtsc-exit":       "VM exit on RDTSC",
		"vmx-cr3-load-noexit":  "CR3-load exiting may be turned off",
		"vmx-cr3-store-noexit": "CR3-store exiting may be turned off",
		"vmx-cr8-load-exit":    "VM exit on writes to CR8",
		"vmx-cr8-store-exit":   "VM exit on reads from CR8",
		"vmx-flexpriority":     "TPR shadow (TPR virtualization)",
		"vmx-vnmi-pending":     "VM exit when NMIs are unblocked (NMI window)",
		"vmx-movdr-exit":       "VM exit on debug register accesses",
		"vmx-io-exit":          "VM exit on all I/O instructions",
		"vmx-io-bitmap":        "I/O bitmaps",
		"vmx-mtf":              "Monitor trap flag (single-step VM exits)",
		"vmx-msr-bitmap":       "MSR bitmaps",
		"vmx-monitor-exit":     "VM exit on MONITOR",
		"vmx-pause-exit":       "VM exit on PAUSE",
		"vmx-secondary-ctls":   "Secondary processor-based controls",

		// MSR 0x48b (IA32_VMX_PROCBASED_CTLS2)
		"vmx-apicv-xapic":            "Virtualize APIC accesses",
		"vmx-ept":                    "Extended page tables",
		"vmx-desc-exit":              "VM exit on descriptor table instructions",
		"vmx-rdtscp-exit":            "Enable RDTSCP in the guest",
		"vmx-apicv-x2apic":           "Virtualize x2APIC mode",
		"vmx-vpid":                   "Virtual processor IDs",
		"vmx-wbinvd-exit":            "VM exit on WBINVD",
		"vmx-unrestricted-guest":     "Unrestricted guest (real mode and invalid states)",
		"vmx-apicv-register":         "APIC register virtualization",
		"vmx-apicv-vid":              "Virtual interrupt delivery",
		"vmx-ple":                    "PAUSE-loop exiting",
		"vmx-rdrand-exit":            "VM exit on RDRAND",
		"vmx-invpcid-exit":           "Enable INVPCID in the guest",
		"vmx-vmfunc":                 "VM functions",
		"vmx-shadow-vmcs":            "VMCS shadowing",
		"vmx-encls-exit":             "VM exit on ENCLS",
		"vmx-rdseed-exit":            "VM exit on RDSEED",
		"vmx-pml":                    "Page modification logging",
		"vmx-xsaves":                 "Enable XSAVES/XRSTORS in the guest",
		"vmx-tsc-scaling":            "TSC scaling",
		"vmx-enable-user-wait-pause": "Enable TPAUSE/UMONITOR/UMWAIT in the guest",

		// MSR 0x48d (IA32_VMX_TRUE_PINBASED_CTLS)
		"vmx-intr-exit":        "VM exit on external interrupts",
		"vmx-nmi-exit":         "VM exit on NMIs",
		"vmx-vnmi":             "Virtual NMIs",
		"vmx-preemption-timer": "VMX preemption timer",
		"vmx-posted-intr":      "Posted interrupts",

		// MSR 0x48f (IA32_VMX_TRUE_EXIT_CTLS)
		"vmx-exit-nosave-debugctl":       "Saving debug controls on VM exit may be turned off",
		"vmx-exit-load-perf-global-ctrl": "Load IA32_PERF_GLOBAL_CTRL on VM exit",
		"vmx-exit-ack-intr":              "Acknowledge interrupt on VM exit",
		"vmx-exit-save-pat":              "Save IA32_PAT on VM exit",
		"vmx-exit-load-pat":              "Load IA32_PAT on VM exit",
		"vmx-exit-save-efer":             "Save IA32_EFER on VM exit",
		"vmx-exit-load-efer":             "Load IA32_EFER on VM exit",
		"vmx-exit-save-preemption-timer": "Save VMX preemption timer value on VM exit",
		"vmx-exit-clear-bndcfgs":         "Clear IA32_BNDCFGS on VM exit",
		"vmx-exit-clear-rtit-ctl":        "Clear IA32_RTIT_CTL on VM exit",
		"vmx-exit-load-pkrs":             "Load IA32_PKRS on VM exit",
		"vmx-exit-secondary-ctls":        "Secondary VM-exit controls",

		// MSR 0x490 (IA32_VMX_TRUE_ENTRY_CTLS)
		"vmx-entry-noload-debugctl":       "Loading debug controls on VM entry may be turned off",
		"vmx-entry-ia32e-mode":            "IA-32e mode guest",
		"vmx-entry-load-perf-global-ctrl": "Load IA32_PERF_GLOBAL_CTRL on VM entry",
		"vmx-entry-load-pat":              "Load IA32_PAT on VM entry",
		"vmx-entry-load-efer":             "Load IA32_EFER on VM entry",
		"vmx-entry-load-bndcfgs":          "Load IA32_BNDCFGS on VM entry",
		"vmx-entry-load-rtit-ctl":         "Load IA32_RTIT_CTL on VM entry",
		"vmx-entry-load-pkrs":             "Load IA32_PKRS on VM entry",
		"vmx-entry-load-fred":             "Load FRED state on VM entry",

		// MSR 0x485 (IA32_VMX_MISC)
		"vmx-store-lma":             "VM exit stores EFER.LMA into the entry IA-32e mode control",
		"vmx-activity-hlt":          "HLT activity state",
		"vmx-activity-shutdown":     "Shutdown activity state",
		"vmx-activity-wait-sipi":    "Wait-for-SIPI activity state",
		"vmx-vmwrite-vmexit-fields": "VMWRITE to VM-exit information fields",
		"vmx-zero-len-inject":       "Inject events with zero instruction length",

		// MSR 0x48c (IA32_VMX_EPT_VPID_CAP)
		"vmx-ept-execonly":                    "EPT execute-only pages",
		"vmx-page-walk-4":                     "EPT 4-level page walk",
		"vmx-page-walk-5":                     "EPT 5-level page walk",
		"vmx-ept-2mb":                         "EPT 2 MB pages",
		"vmx-ept-1gb":                         "EPT 1 GB pages",
		"vmx-invept":                          "INVEPT instruction",
		"vmx-eptad":                           "EPT accessed and dirty flags",
		"vmx-ept-advanced-exitinfo":           "Advanced VM-exit information for EPT violations",
		"vmx-invept-single-context":           "INVEPT single-context (and, at bit 41, INVVPID single-context)",
		"vmx-invept-all-context":              "INVEPT all-context",
		"vmx-invvpid":                         "INVVPID instruction",
		"vmx-invvpid-single-addr":             "INVVPID individual-address",
		"vmx-invvpid-all-context":             "INVVPID all-context",
		"vmx-invept-single-context-noglobals": "INVVPID single-context retaining globals",

		// MSR 0x480 (IA32_VMX_BASIC)
		"vmx-ins-outs":         "INS/OUTS VM-exit instruction information",
		"vmx-true-ctls":        "IA32_VMX_TRUE_*_CTLS MSRs",
		"vmx-any-errcode":      "Any exception may be delivered with or without an error code",
		"vmx-nested-exception": "Nested exception support",

		// MSR 0x491 (IA32_VMX_VMFUNC)
		"vmx-eptp-switching": "EPTP switching VM function",

		// CPUID[14,0].ECX
		"intel-pt-lip": "Intel PT packets with IP payloads have LIP values",

		// CPUID[12,*] (SGX)
		"sgx1":             "SGX1 leaf functions",
		"sgx2":             "SGX2 leaf functions (enclave dynamic memory management)",
		"sgx-edeccssa":     "SGX EDECCSSA user leaf function",
		"sgx-exinfo":       "SGX MISCSELECT.EXINFO",
		"sgx-debug":        "SGX ATTRIBUTES.DEBUG",
		"sgx-mode64":       "SGX ATTRIBUTES.MODE64BIT",
		"sgx-provisionkey": "SGX ATTRIBUTES.PROVISIONKEY",
		"sgx-tokenkey":     "SGX ATTRIBUTES.EINITTOKENKEY",
		"sgx-kss":          "SGX ATTRIBUTES.KSS (key separation and sharing)",
		"sgx-aex-notify":   "SGX ATTRIBUTES.AEXNOTIFY",

		// QEMU 11.1's names, from the QEMU patches that added them (their
		// cpu.h comments) and the Intel SDM / ISE and AMD APM fields.
		"cet-ss":             "CET shadow stack",
		"cet-ibt":            "CET indirect branch tracking",
		"movrs":              "MOVRS and PREFETCHRST2 (read-shared loads)",
		"msr-imm":            "RDMSR/WRMSRNS with an immediate MSR index",
		"apxf":               "Advanced performance extensions foundation",
		"apx-nci-ndd-nf":     "APX NCI, NDD and NF instruction forms",
		"amx-int8-alias":     "AMX-INT8 (mirrored in CPUID leaf 0x1E)",
		"amx-bf16-alias":     "AMX-BF16 (mirrored in CPUID leaf 0x1E)",
		"amx-complex-alias":  "AMX-COMPLEX (mirrored in CPUID leaf 0x1E)",
		"amx-fp16-alias":     "AMX-FP16 (mirrored in CPUID leaf 0x1E)",
		"amx-fp8":            "AMX FP8 tile computations",
		"amx-tf32":           "AMX TF32 tile computations",
		"amx-avx512":         "AMX-AVX512 tile-to-vector instructions",
		"amx-movrs":          "AMX read-shared tile loads",
		"avx10-vnni-int":     "AVX10.2 VNNI integer instructions",
		"fs-gs-base-ns":      "WRMSR to FS/GS base MSRs is non-serializing",
		"verw-clear":         "VERW clears CPU buffers (TSA mitigation)",
		"prefetchi":          "PREFETCHIT0/1 instruction prefetch",
		"tsa-sq-no":          "Not vulnerable to TSA-SQ (transient scheduler attack, store queue)",
		"tsa-l1-no":          "Not vulnerable to TSA-L1 (transient scheduler attack, L1)",
		"gmet":               "Guest mode execute trap",
		"its-no":             "Not vulnerable to indirect target selection",
		"vmx-mbec":           "Mode-based execute control for EPT",
		"vmx-exit-save-cet":  "Save CET state on VM exit",
		"vmx-entry-load-cet": "Load CET state on VM entry",
	}
})
