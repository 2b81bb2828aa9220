package check

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/qemurelease"
)

// This file is the release table of core/check: what differs between the
// QEMU releases cpupolicy knows, a row per release. Names are QEMU's
// feature names; where each bit lives is core/feature's table.
//
// Sources, read side by side with this file:
//
//   - QEMU 5.2: Debian's qemu 1:5.2+dfsg-11+deb11u3, i.e. upstream v5.2.0
//     (qemu_5.2+dfsg.orig.tar.xz) plus Debian's patches, none of which
//     touches a function mirrored here (spelling.diff only fixes an error
//     message in cpu.c). 5.2 has target/i386/kvm.c, not kvm/kvm.c.
//   - QEMU 7.2: Debian's qemu 1:7.2+dfsg-7+deb12u18, i.e. upstream v7.2.0
//     plus the stable releases v7.2.1 … v7.2.22 (the binary reports
//     7.2.22). Of the stable patches, only v7.2.10's touches a function
//     mirrored here (x86_cpu_enable_xsave_components masks XCR0_HI and
//     XSS), without changing any verdict.
//   - QEMU 10.0: upstream v10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1).
//     Later changes on master are deliberately not mirrored; the one met
//     while reading is noted where it would apply (fb-clear, in
//     kvmHost.msr).
//
// The functions are target/i386/cpu.c (feature_word_info and its TCG_*
// masks, x86_cpu_get_supported_feature_word, x86_cpu_filter_features,
// x86_cpu_expand_features, x86_cpu_enable_xsave_components,
// x86_cpu_feature_name, x86_cpu_post_initfn) and target/i386/kvm/kvm.c
// (kvm_arch_get_supported_cpuid, kvm_arch_get_supported_msr_feature).

// releaseRules is one QEMU release's rules: a row of the release table.
// Each field is one fact, named by QEMU's feature names; where the bits
// live is core/feature's table.
type releaseRules struct {
	rel core.Release

	// absent lists the built-in registry's names this release does not
	// have: the registry is the union of every known release's names
	// (TestTables holds known features to the release's own -cpu help).
	absent []string

	// kvm_arch_get_supported_cpuid's fixups that do not depend on the
	// host (see kvmHost.cpuid for those that do).

	// kvmAlways are the bits QEMU sets whatever KVM answers.
	kvmAlways []string
	// kvmFromHost are the "not new instructions, just an optimization"
	// bits QEMU copies from the host's own CPUID (the instruction, not
	// KVM).
	kvmFromHost []string

	// xsaveAllComponents: x86_cpu_enable_xsave_components requests every
	// XCR0 component a requested feature needs, and x86_cpu_filter_features
	// reports a missing component under the feature's name
	// (x86_cpu_feature_name). When false (10.0), x86_cpu_post_initfn has
	// already zeroed the size of every component above SSE that the
	// accelerator does not support, so such components are never
	// requested and only x87/SSE (reported as "xsave") can be missing.
	xsaveAllComponents bool

	// tcg is feature_word_info[].tcg_features, word by word; words not
	// listed have tcg_features 0.
	tcg []tcgWord
	// tcgXCR0 is the tcg_features of FEAT_XSAVE_XCR0_LO/HI: the XSAVE
	// components TCG supports.
	tcgXCR0 uint64

	// noXCompGuestSupp: kvm_arch_get_supported_cpuid takes [0xD,0].EAX/EDX
	// from KVM_GET_SUPPORTED_CPUID as is. From 7.0 on it asks
	// KVM_GET_DEVICE_ATTR(KVM_X86_XCOMP_GUEST_SUPP) instead (kvmHost.cpuid),
	// which adds the AMX tile components; 5.2 (target/i386/kvm.c) does not.
	noXCompGuestSupp bool
	// ptRefusesLIP: x86_cpu_filter_features filters intel-pt on a host
	// whose PT reports IP payloads as LIP (CPUID[0x14,0].ECX bit 31,
	// INTEL_PT_IP_LIP), whatever the model: 5.2 emulates only the other
	// kind. Later releases compare the bit with the model's intel-pt-lip
	// instead.
	ptRefusesLIP bool

	// archCapNotOnAMD: x86_cpu_get_supported_feature_word marks
	// arch-capabilities unavailable for a CPU whose vendor is AMD, unless
	// x-arch-cap-always-on (QEMU 10.1, commit d3a24134e37 "do not expose
	// ARCH_CAPABILITIES on AMD CPU" as reworked by "add
	// x-arch-cap-always-on"; pc_compat_10_0 sets the property, so machine
	// types 10.0 and older keep 10.0's behaviour). See kvmSupported.
	archCapNotOnAMD bool

	// fbClearIfNotAffected: kvm_arch_get_supported_msr_feature sets
	// fb-clear in MSR_IA32_ARCH_CAPABILITIES when the host has mds-no,
	// taa-no, sbdr-ssdp-no, fbsdp-no and psdp-no (qemu-devel, Jon
	// Kohler, 2025-10-08, "expose FB_CLEAR for MDS-invulnerable
	// systems"). Seen in the 11.1.3 binary: the function tests ~value
	// against 0xe120 and ORs in 0x20000 for MSR 0x10a; 10.0.2's has no
	// such test.
	fbClearIfNotAffected bool
}

// tcgWord is the tcg_features mask of one feature word.
type tcgWord struct {
	word  string   // QEMU's FeatureWord, e.g. "FEAT_7_0_EBX"
	macro string   // the macro QEMU spells the mask with
	names []string // the named bits the mask sets
	// all says the mask is ~0U: every bit QEMU names in the word.
	all bool
}

// xsaveAreas is the XCR0 part of QEMU's x86_ext_save_areas (the same in
// 7.2 and 10.0; 5.2's lacks the AMX tile components, whose feature it does
// not name): the feature that makes QEMU request each component, and
// under whose name x86_cpu_feature_name reports it when it is missing.
// ARCH_LBR (component 15) is a supervisor (XSS) component; QEMU reports a
// missing XSS component under no name, so it is left out.
var xsaveAreas = []struct {
	component uint
	feature   string
}{
	{feature.XStateFP, "xsave"}, {feature.XStateSSE, "xsave"},
	{feature.XStateYMM, "avx"},
	{feature.XStateBNDREGS, "mpx"}, {feature.XStateBNDCSR, "mpx"},
	{feature.XStateOpmask, "avx512f"}, {feature.XStateZMMHi256, "avx512f"}, {feature.XStateHi16ZMM, "avx512f"},
	{feature.XStatePKRU, "pku"},
	{feature.XStateTileCfg, "amx-tile"}, {feature.XStateTileData, "amx-tile"},
}

// kvmAlways72 is what both releases set in kvm_arch_get_supported_cpuid
// whatever KVM answers: MTRR, PAT, MCE and MCA ("KVM before 2.6.30
// misreports"), hypervisor, ARAT ("safe because of emulated APIC"),
// TOPOEXT, and KVM_HINTS_REALTIME.
var kvmAlways72 = []string{"mtrr", "pat", "mce", "mca", "hypervisor", "arat", "topoext", "kvm-hint-dedicated"}

// rules72 is QEMU 7.2.
var rules72 = releaseRules{
	rel:       core.Release{Major: 7, Minor: 2},
	kvmAlways: kvmAlways72,
	// QEMU 10.0's names that 7.2 lacks (qemu-system-x86_64 -cpu help of
	// each; core/feature/testdata/qemu-{7.2,10.0}-cpu-flags.txt).
	absent: slices.Concat([]string{
		"amd-psfd", "amx-complex", "amx-fp16", "auto-ibrs", "avx-ifma",
		"avx-ne-convert", "avx-vnni-int16", "avx-vnni-int8", "avx10",
		"avx10-128", "avx10-256", "avx10-512", "bhi-ctrl", "bhi-no",
		"cmpccxadd", "ddpd-u", "eraps", "fb-clear", "fbsdp-no",
		"fdp-excptn-only", "flush-l1d", "fred", "fsrc", "fsrs", "fzrm",
		"gds-no", "ibpb-brtype", "intel-psfd", "ipred-ctrl",
		"kvm-asyncpf-vmexit", "lam", "lfence-always-serializing", "lkgs",
		"mcdt-no", "no-nested-data-bp", "null-sel-clr-base",
		"overflow-recov", "pbrsb-no", "perfmon-v2", "prefetchiti",
		"psdp-no", "rfds-clear", "rfds-no", "rrsba-ctrl", "sbdr-ssdp-no",
		"sbpb", "sgx-aex-notify", "sgx-edeccssa", "sha512", "sm3", "sm4",
		"srso-no", "srso-user-kernel-no", "stibp-always-on", "succor",
		"vmx-any-errcode", "vmx-enable-user-wait-pause",
		"vmx-entry-load-fred", "vmx-exit-secondary-ctls",
		"vmx-nested-exception", "vnmi", "wrmsrns", "zero-fcs-fds",
	}, rules100.absent), // and QEMU 11.1's, which 10.0 lacks too
	xsaveAllComponents: true,
	tcg: []tcgWord{
		{word: "FEAT_1_EDX", macro: "TCG_FEATURES", names: []string{
			"fpu", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep",
			"mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "acpi",
			"mmx", "fxsr", "sse", "sse2", "ss", "de"}},
		{word: "FEAT_1_ECX", macro: "TCG_EXT_FEATURES", names: []string{
			"pni", "pclmulqdq", "monitor", "ssse3", "cx16", "sse4.1",
			"sse4.2", "popcnt", "xsave", "movbe", "aes", "hypervisor",
			"rdrand", "avx", "f16c", "fma"}},
		// The CPUID_EXT2_AMD_ALIASES copies of FEAT_1_EDX are unnamed
		// in FEAT_8000_0001_EDX.
		{word: "FEAT_8000_0001_EDX", macro: "TCG_EXT2_FEATURES", names: []string{
			"nx", "mmxext", "rdtscp", "3dnow", "3dnowext", "pdpe1gb",
			"syscall", "lm"}},
		{word: "FEAT_8000_0001_ECX", macro: "TCG_EXT3_FEATURES", names: []string{
			"lahf-lm", "svm", "cr8legacy", "abm", "sse4a"}},
		{word: "FEAT_SVM", macro: "TCG_SVM_FEATURES", names: []string{
			"npt", "vgif", "svme-addr-chk"}},
		{word: "FEAT_7_0_EBX", macro: "TCG_7_0_EBX_FEATURES", names: []string{
			"smep", "smap", "bmi1", "bmi2", "adx", "pcommit", "clflushopt",
			"clwb", "mpx", "fsgsbase", "erms", "avx2"}},
		{word: "FEAT_7_0_ECX", macro: "TCG_7_0_ECX_FEATURES", names: []string{
			"umip", "pku", "la57", "pks", "vaes"}},
		{word: "FEAT_6_EAX", macro: "TCG_6_EAX_FEATURES", names: []string{"arat"}},
		{word: "FEAT_XSAVE", macro: "TCG_XSAVE_FEATURES", names: []string{
			"xsaveopt", "xgetbv1"}},
	},
	tcgXCR0: ^uint64(0), // FEAT_XSAVE_XCR0_LO/HI: .tcg_features = ~0U
}

// rules52 is QEMU 5.2 (target/i386/cpu.c and kvm.c of v5.2.0).
var rules52 = releaseRules{
	rel: core.Release{Major: 5, Minor: 2},
	// kvm_arch_get_supported_cpuid sets the same bits as 7.2's, and copies
	// none from the host.
	kvmAlways: kvmAlways72,
	// Every name 7.2 lacks, and the ones 7.2 added (-cpu help of each;
	// core/feature/testdata/qemu-{5.2,7.2}-cpu-flags.txt): no name of
	// 5.2's is missing from 7.2's list.
	absent: slices.Concat(rules72.absent, []string{
		"amx-bf16", "amx-int8", "amx-tile", "arch-lbr", "avic", "avx-vnni",
		"avx512-fp16", "bus-lock-detect", "ibrs", "intel-pt-lip",
		"kvm-msi-ext-dest-id", "pks", "sgx", "sgx-debug", "sgx-exinfo",
		"sgx-kss", "sgx-mode64", "sgx-provisionkey", "sgx-tokenkey", "sgx1",
		"sgx2", "sgxlc", "svme-addr-chk", "v-vmsave-vmload", "vgif",
		"vmx-entry-load-pkrs", "vmx-exit-load-pkrs", "vmx-tsc-scaling", "xfd",
	}),
	// As in 7.2, x86_cpu_enable_xsave_components requests every component
	// a feature needs, and x86_cpu_filter_features filters FEAT_XSAVE_COMP_LO
	// (5.2's name for XCR0_LO) like any word.
	xsaveAllComponents: true,
	// feature_word_info[].tcg_features: 7.2's, but that 5.2's TCG
	// emulates neither AVX (nor F16C, FMA, AVX2: 7.2 added them with its
	// AVX translator), nor UMIP, VAES, PKS, nor SVM's vgif and
	// svme-addr-chk.
	tcg: withTCGWords(rules72.tcg,
		tcgWord{word: "FEAT_1_ECX", macro: "TCG_EXT_FEATURES", names: []string{
			"pni", "pclmulqdq", "monitor", "ssse3", "cx16", "sse4.1",
			"sse4.2", "popcnt", "xsave", "movbe", "aes", "hypervisor",
			"rdrand"}},
		tcgWord{word: "FEAT_SVM", macro: "TCG_SVM_FEATURES", names: []string{"npt"}},
		tcgWord{word: "FEAT_7_0_EBX", macro: "TCG_7_0_EBX_FEATURES", names: []string{
			"smep", "smap", "bmi1", "bmi2", "adx", "pcommit", "clflushopt",
			"clwb", "mpx", "fsgsbase", "erms"}},
		tcgWord{word: "FEAT_7_0_ECX", macro: "TCG_7_0_ECX_FEATURES", names: []string{
			"pku", "la57"}}),
	tcgXCR0:          ^uint64(0), // FEAT_XSAVE_COMP_LO/HI: .tcg_features = ~0U
	noXCompGuestSupp: true,
	ptRefusesLIP:     true,
}

// rules100 is QEMU 10.0.
var rules100 = releaseRules{
	rel: core.Release{Major: 10, Minor: 0},
	// QEMU 11.1's names that 10.0 lacks
	// (core/feature/testdata/qemu-{10.0,11.1}-cpu-flags.txt).
	absent: []string{
		"amx-avx512", "amx-bf16-alias", "amx-complex-alias",
		"amx-fp16-alias", "amx-fp8", "amx-int8-alias", "amx-movrs",
		"amx-tf32", "apx-nci-ndd-nf", "apxf", "avx10-vnni-int",
		"cet-ibt", "cet-ss", "fs-gs-base-ns", "gmet", "its-no",
		"movrs", "msr-imm", "prefetchi", "tsa-l1-no", "tsa-sq-no",
		"verw-clear", "vmx-entry-load-cet", "vmx-exit-save-cet",
		"vmx-mbec",
	},
	// 7.2's, plus CPUID_HT ("KVM never reports CPUID_HT but QEMU can
	// support when vcpus > 1") and the MCA recovery bits of 0x80000007.
	kvmAlways: append(kvmAlways72[:len(kvmAlways72):len(kvmAlways72)], "ht", "overflow-recov", "succor"),
	// ERMS, FSRM, FZRM, FSRS, FSRC and MCDT_NO.
	kvmFromHost: []string{"erms", "fsrm", "fzrm", "fsrs", "fsrc", "mcdt-no"},
	tcg: []tcgWord{
		{word: "FEAT_1_EDX", macro: "TCG_FEATURES", names: []string{
			"fpu", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep",
			"mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "acpi",
			"mmx", "fxsr", "sse", "sse2", "ss", "de", "ht"}},
		// CPUID_EXT_KERNEL_FEATURES is 0 outside user-mode emulation.
		{word: "FEAT_1_ECX", macro: "TCG_EXT_FEATURES", names: []string{
			"pni", "pclmulqdq", "monitor", "ssse3", "cx16", "sse4.1",
			"sse4.2", "popcnt", "xsave", "movbe", "aes", "hypervisor",
			"rdrand", "avx", "f16c", "fma", "x2apic"}},
		{word: "FEAT_8000_0001_EDX", macro: "TCG_EXT2_FEATURES", names: []string{
			"nx", "mmxext", "rdtscp", "3dnow", "3dnowext", "pdpe1gb",
			"syscall", "lm"}},
		{word: "FEAT_8000_0001_ECX", macro: "TCG_EXT3_FEATURES", names: []string{
			"lahf-lm", "svm", "cr8legacy", "abm", "sse4a", "3dnowprefetch",
			"cmp-legacy"}},
		{word: "FEAT_SVM", macro: "TCG_SVM_FEATURES", names: []string{
			"npt", "vgif", "svme-addr-chk"}},
		{word: "FEAT_7_0_EBX", macro: "TCG_7_0_EBX_FEATURES", names: []string{
			"smep", "smap", "bmi1", "bmi2", "adx", "clflushopt", "clwb",
			"mpx", "fsgsbase", "erms", "avx2", "rdseed", "sha-ni"}},
		{word: "FEAT_7_0_ECX", macro: "TCG_7_0_ECX_FEATURES", names: []string{
			"umip", "pku", "la57", "pks", "vaes", "rdpid"}},
		{word: "FEAT_7_0_EDX", macro: "TCG_7_0_EDX_FEATURES", names: []string{"fsrm"}},
		{word: "FEAT_7_1_EAX", macro: "TCG_7_1_EAX_FEATURES", names: []string{
			"fzrm", "fsrs", "fsrc", "cmpccxadd"}},
		{word: "FEAT_6_EAX", macro: "TCG_6_EAX_FEATURES", names: []string{"arat"}},
		{word: "FEAT_XSAVE", macro: "TCG_XSAVE_FEATURES", names: []string{
			"xsaveopt", "xgetbv1"}},
		{word: "FEAT_8000_0008_EBX", macro: "TCG_8000_0008_EBX", names: []string{
			"xsaveerptr", "wbnoinvd"}},
		// "FEAT_ARCH_CAPABILITIES only affects a read-only MSR, which
		// cannot be read from user mode" (.tcg_features = ~0U).
		{word: "FEAT_ARCH_CAPABILITIES", macro: "~0U", all: true},
	},
	tcgXCR0: 1<<feature.XStateFP | 1<<feature.XStateSSE | 1<<feature.XStateYMM | 1<<feature.XStateBNDREGS |
		1<<feature.XStateBNDCSR | 1<<feature.XStatePKRU,
}

// rules111 is QEMU 11.1 (Debian 1:11.1.3+ds-2~bpo13+1). Its tcg_features
// were read from the 11.1.3 binary's feature_word_info[] (decoded from
// the executable, see core/feature's table.go); they are 10.0's plus two
// bits of CPUID[8000_0021].EAX. Its kvm_arch_get_supported_cpuid fixups
// are taken to be 10.0's. 11.1's kvm.c was not available, but a 2026
// tree of the 11.0 cycle (a maintainer's, carrying patches posted in
// February 2026) has the same fixups as 10.0.2, branch by branch, and no
// patch adding or removing one was found on the list up to 11.1: the
// ARCH_CAPABILITIES change of 10.1 ("do not expose ARCH_CAPABILITIES on
// AMD CPU", then "add compatibility property for arch_capabilities")
// ended in cpu.c's x86_cpu_get_supported_feature_word, not in kvm.c. It
// is archCapNotOnAMD here. (The 10.0 stable releases 10.0.4 and 10.0.5
// took that change too; the 10.0.2 of the embedded catalog has neither.)
var rules111 = releaseRules{
	rel:         core.Release{Major: 11, Minor: 1},
	kvmAlways:   rules100.kvmAlways,
	kvmFromHost: rules100.kvmFromHost,
	tcg: append(rules100.tcg[:len(rules100.tcg):len(rules100.tcg)],
		// TCG_8000_0021_EAX_FEATURES (0x41 in the binary).
		tcgWord{word: "FEAT_8000_0021_EAX", macro: "TCG_8000_0021_EAX_FEATURES", names: []string{
			"no-nested-data-bp", "null-sel-clr-base"}}),
	tcgXCR0:              rules100.tcgXCR0,
	archCapNotOnAMD:      true,
	fbClearIfNotAffected: true,
}

// withTCGWords returns base with the words of replace in place of
// base's words of the same name: a release's tcg_features written as
// another's where they differ.
func withTCGWords(base []tcgWord, replace ...tcgWord) []tcgWord {
	out := slices.Clone(base)
	for _, w := range replace {
		i := slices.IndexFunc(out, func(b tcgWord) bool { return b.word == w.word })
		if i < 0 {
			panic("check: no tcg word " + w.word + " to replace")
		}
		out[i] = w
	}
	return out
}

// releases is the release table: a row per release core knows
// (TestReleaseTables).
var releases = []*releaseRules{&rules52, &rules72, &rules100, &rules111}

// kvmMasksOf holds each row's kvm fixups as register masks, compiled
// from the names on first use.
var kvmMasksOf = sync.OnceValue(func() map[*releaseRules]*kvmMasks {
	m := map[*releaseRules]*kvmMasks{}
	for _, r := range releases {
		m[r] = compileKVM(feature.Builtin(), r)
	}
	return m
})

// rulesOf returns the row of release rel, or nil.
func rulesOf(rel core.Release) *releaseRules {
	for _, r := range releases {
		if r.rel == rel {
			return r
		}
	}
	return nil
}

// ReleaseWarning says why verdicts on snapshot s (read from path, for
// its name) may differ from what the
// QEMU that captured it would say, when s was made from a QEMU expansion
// of another release than catalogVersion's ("10.0.2"): "" when s names no
// release (a live probe, a cpuid dump) or the same one. The reasons are
// the host-visible differences between the two releases that cpupolicy
// knows of.
func ReleaseWarning(s *host.HostSnapshot, path, catalogVersion string) string {
	if s == nil || s.QEMURelease == "" || catalogVersion == "" {
		return ""
	}
	d, err := qemurelease.ParseCode(s.QEMURelease)
	if err != nil {
		return ""
	}
	major, rest, _ := strings.Cut(catalogVersion, ".")
	minor, _, _ := strings.Cut(rest, ".")
	catRel := major + "." + minor
	if d.Exact && d.Release == catRel {
		return ""
	}
	captured := "QEMU " + d.Release
	if !d.Exact {
		captured = map[string]string{"pre": "a QEMU older than ", "post": "a QEMU newer than ", "near": "a QEMU near "}[strings.SplitN(s.QEMURelease, "-", 2)[0]] + d.Release
	}
	var why []string
	newer := compareRelease(d.Release, catRel)
	switch {
	case newer > 0 || newer == 0 && strings.HasPrefix(s.QEMURelease, "post-"):
		why = append(why, "features the capturing QEMU knows and "+catRel+" does not are not in the snapshot")
	case newer < 0:
		why = append(why, "features added after "+d.Release+" read as absent from the host, although the capturing QEMU never offered them")
	}
	// QEMU 10.1 stopped exposing ARCH_CAPABILITIES to guests on AMD hosts
	// (unless x-arch-cap-always-on, which machine types 10.0 and older
	// set): a capture on either side of 10.1 lists arch-capabilities and
	// its MSR bits differently.
	if s.Vendor == "AuthenticAMD" && (compareRelease(d.Release, "10.1") < 0) != (compareRelease(catRel, "10.1") < 0) {
		why = append(why, "QEMU 10.1 stopped exposing ARCH_CAPABILITIES on AMD hosts unless x-arch-cap-always-on")
	}
	msg := fmt.Sprintf("%s was captured by %s (its property names) and is judged with catalog QEMU %s: verdicts may differ", HostLabel(s, path), captured, catRel)
	if len(why) > 0 {
		msg += ": " + strings.Join(why, "; ")
	}
	return msg
}

// compareRelease orders "5.2" < "10.0" < "10.1" < "11.1".
func compareRelease(a, b string) int {
	num := func(s string) int {
		ma, mi, _ := strings.Cut(s, ".")
		x, _ := strconv.Atoi(ma)
		y, _ := strconv.Atoi(mi)
		return x*1000 + y
	}
	return num(a) - num(b)
}
