package catalog

// This file mirrors the two feature-set steps of QEMU's
// x86_cpu_expand_features() (target/i386/cpu.c) that run after a CPU model
// and the user's properties are applied: the feature dependencies
// (feature_dependencies[]) and the automatic CPUID levels
// (x86_cpu_adjust_feat_level and the special cases after it).
//
// Sources, read side by side with this file: each known release's
// target/i386/cpu.c, at the lines expandSources names — feature_dependencies
// first, then x86_cpu_adjust_level, x86_cpu_adjust_feat_level and
// x86_cpu_expand_features (7.2: Debian 1:7.2+dfsg-7+deb12u18, stable
// patches applied; 5.2: upstream v5.2.0, which Debian's 1:5.2+dfsg-11+deb11u3
// patches nowhere here). The tests in expand_test.go hold both functions to
// the real binaries' query-cpu-model-expansion answers. Where the words
// the tables name live is core/feature's table (feature.LookupWord).
//
// Steps of x86_cpu_expand_features that are not here, because they do not
// depend on the feature set alone:
//
//   - "max"/"host" models OR in the accelerator's supported features
//     (cpu->max_features); named models never do.
//   - 10.0 only: with more than one thread per package, ht is set, and
//     cmp-legacy too for non-Intel, non-Zhaoxin vendors (before the
//     dependencies). The topology is never set on the CPUs that
//     query-cpu-model-expansion creates.
//   - Without KVM, or with kvm=off, the whole KVM word (kvmclock,
//     kvm-*) is cleared, after the dependencies.
//   - The XSAVE component words (CPUID 0xD.0 EAX/EDX, 0xD.1 ECX/EDX) are
//     computed from the feature set; they name no feature.

import (
	"fmt"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// expandSources names, for each QEMU release whose rules this file
// holds, the source its tables were read against. A release is known
// here only when it has a row: the tables below are append-only in QEMU
// (entries carry the release that added them), so without this row a
// new release would silently inherit its predecessor's rules.
var expandSources = map[core.Release]string{
	{Major: 5, Minor: 2}:  "QEMU 5.2.0 target/i386/cpu.c:1315-1400, 6239-6456",
	{Major: 7, Minor: 2}:  "QEMU 7.2.22 target/i386/cpu.c:1301-1398, 6071-6314",
	{Major: 10, Minor: 0}: "QEMU 10.0.2 target/i386/cpu.c:1668-1813, 7657-7931",
	// 11.1's source is not available here: its feature_dependencies[]
	// were decoded from the 11.1.3 binary's data (39 entries, each
	// compared with 10.0.2's decoded the same way: 36, equal to the
	// table below), and its x86_cpu_expand_features level rules were read
	// from the qemu-devel series that removed full-cpuid-auto-level
	// (Zhao Liu, v6, 2026-01-08, patch 22/27).
	{Major: 11, Minor: 1}: "QEMU 11.1.3 binary (feature_dependencies[]); qemu-devel v6 series removing full-cpuid-auto-level",
}

// Releases the tables below name.
var (
	qemu52  = core.Release{Major: 5, Minor: 2}
	qemu72  = core.Release{Major: 7, Minor: 2}
	qemu100 = core.Release{Major: 10, Minor: 0}
	qemu111 = core.Release{Major: 11, Minor: 1}
)

// release returns the release of c's QEMU, whose expansion rules
// ResolveSpec and WithModels apply.
func (c *Catalog) release() (core.Release, error) {
	return core.ParseRelease(c.qemuVersion)
}

// featWord names one of QEMU's feature words; core/feature's table says
// where it lives (feature.LookupWord).
type featWord string

// The feature words the rules below refer to as a whole.
const (
	featArchCapabilities featWord = "FEAT_ARCH_CAPABILITIES"
	featCoreCapability   featWord = "FEAT_CORE_CAPABILITY"
	featPerfCapabilities featWord = "FEAT_PERF_CAPABILITIES"
	featVMXBasic         featWord = "FEAT_VMX_BASIC"
	featVMXMisc          featWord = "FEAT_VMX_MISC"
	featVMXSecondary     featWord = "FEAT_VMX_SECONDARY_CTLS"
	featVMXEPTVPIDCaps   featWord = "FEAT_VMX_EPT_VPID_CAPS"
	featVMXPinbased      featWord = "FEAT_VMX_PINBASED_CTLS"
	featVMXProcbased     featWord = "FEAT_VMX_PROCBASED_CTLS"
	featVMXExit          featWord = "FEAT_VMX_EXIT_CTLS"
	featVMXEntry         featWord = "FEAT_VMX_ENTRY_CTLS"
	featVMXVMFunc        featWord = "FEAT_VMX_VMFUNC"

	feat1EDX        featWord = "FEAT_1_EDX"
	feat1ECX        featWord = "FEAT_1_ECX"
	feat6EAX        featWord = "FEAT_6_EAX"
	feat70EBX       featWord = "FEAT_7_0_EBX"
	feat70ECX       featWord = "FEAT_7_0_ECX"
	feat71EAX       featWord = "FEAT_7_1_EAX"
	feat71ECX       featWord = "FEAT_7_1_ECX"
	feat71EDX       featWord = "FEAT_7_1_EDX"
	feat72EDX       featWord = "FEAT_7_2_EDX"
	featXSAVE       featWord = "FEAT_XSAVE"
	featSGX120EAX   featWord = "FEAT_SGX_12_0_EAX"
	featSGX120EBX   featWord = "FEAT_SGX_12_0_EBX"
	featSGX121EAX   featWord = "FEAT_SGX_12_1_EAX"
	feat140ECX      featWord = "FEAT_14_0_ECX"
	feat240EBX      featWord = "FEAT_24_0_EBX"
	feat241ECX      featWord = "FEAT_24_1_ECX"
	feat290EBX      featWord = "FEAT_29_0_EBX"
	feat80000001EDX featWord = "FEAT_8000_0001_EDX"
	feat80000001ECX featWord = "FEAT_8000_0001_ECX"
	feat80000007EDX featWord = "FEAT_8000_0007_EDX"
	feat80000008EBX featWord = "FEAT_8000_0008_EBX"
	featSVM         featWord = "FEAT_SVM"
	feat80000021EAX featWord = "FEAT_8000_0021_EAX"
	featC0000001EDX featWord = "FEAT_C000_0001_EDX"
)

// bits selects bits of the feature set: the named features, or (names
// empty) every named bit of word whose bit number (core/feature's
// Location.Bit) is in lo..hi. A feature with several bits (Feature.Also)
// is selected when any of its bits is: QEMU clears that bit, and the
// feature's property then reads false.
type bits struct {
	names  []string
	word   featWord
	lo, hi uint8
}

func feats(names ...string) bits         { return bits{names: names} }
func whole(w featWord) bits              { return bits{word: w, lo: 0, hi: 63} }
func part(w featWord, lo, hi uint8) bits { return bits{word: w, lo: lo, hi: hi} }

// featureDep is one entry of QEMU's feature_dependencies[]: when none of
// the from features is set, the to bits are cleared.
type featureDep struct {
	from  []string // QEMU's from.mask; all but one entry have a single bit
	to    bits
	since core.Release // first release (of those known) with the entry; zero for all
	// until is the first release (of those known) without the entry;
	// zero while QEMU keeps it.
	until core.Release
}

// featureDependencies is QEMU's feature_dependencies[], entry by entry and
// in QEMU's order. x86_cpu_expand_features walks it once, in this order,
// clearing as it goes: a later entry sees what an earlier one cleared, so
// chains that run down the table (vmx → vmx-secondary-ctls → vmx-ept →
// EPT capabilities; avx10-128 → avx10-256 → avx10-512 → avx10 → leaf
// 0x24) resolve in one pass, and nothing is re-walked. Only one later
// entry clears an earlier entry's from: avx10 off clears the whole 0x24
// word, which holds the from bits of the three avx10-* entries before it,
// but those entries could only clear bits it has already cleared, so one
// pass is also the fixpoint.
//
// QEMU 7.2 has the first 24 entries; 10.0 keeps them unchanged and
// appends 12. 5.2 has 21 of 7.2's (no MPX → VMX BNDCFGS controls, and no
// FEAT_14_0_ECX word for intel-pt to clear), in the same order. 11.1
// inserts vmx-ept → vmx-mbec after the other vmx-ept entries, drops
// wrmsrns → fred, and appends three: 39 entries. No release has an entry
// for xsave: with xsave off the
// 0xD.1 word (xsaveopt, xsavec, xgetbv1, xsaves, xfd) keeps its bits;
// only the XSAVE component words, which name no feature, are zeroed.
var featureDependencies = [...]featureDep{
	// CPUID_7_0_EDX_ARCH_CAPABILITIES → FEAT_ARCH_CAPABILITIES, ~0
	{from: []string{"arch-capabilities"}, to: whole(featArchCapabilities)},
	// CPUID_7_0_EDX_CORE_CAPABILITY → FEAT_CORE_CAPABILITY, ~0
	{from: []string{"core-capability"}, to: whole(featCoreCapability)},
	// CPUID_EXT_PDCM → FEAT_PERF_CAPABILITIES, ~0
	{from: []string{"pdcm"}, to: whole(featPerfCapabilities)},
	// CPUID_EXT_VMX → each VMX word, ~0
	{from: []string{"vmx"}, to: whole(featVMXProcbased)},
	{from: []string{"vmx"}, to: whole(featVMXPinbased)},
	{from: []string{"vmx"}, to: whole(featVMXExit)},
	{from: []string{"vmx"}, to: whole(featVMXEntry)},
	{from: []string{"vmx"}, to: whole(featVMXMisc)},
	{from: []string{"vmx"}, to: whole(featVMXBasic)},
	// CPUID_EXT2_LM → VMX_VM_ENTRY_IA32E_MODE
	{from: []string{"lm"}, to: feats("vmx-entry-ia32e-mode")},
	// VMX_CPU_BASED_ACTIVATE_SECONDARY_CONTROLS → FEAT_VMX_SECONDARY_CTLS, ~0
	{from: []string{"vmx-secondary-ctls"}, to: whole(featVMXSecondary)},
	// CPUID_XSAVE_XSAVES → VMX_SECONDARY_EXEC_XSAVES
	{from: []string{"xsaves"}, to: feats("vmx-xsaves")},
	// CPUID_EXT_RDRAND → VMX_SECONDARY_EXEC_RDRAND_EXITING
	{from: []string{"rdrand"}, to: feats("vmx-rdrand-exit")},
	// CPUID_7_0_EBX_INVPCID → VMX_SECONDARY_EXEC_ENABLE_INVPCID
	{from: []string{"invpcid"}, to: feats("vmx-invpcid-exit")},
	// CPUID_7_0_EBX_MPX → VMX_VM_EXIT_CLEAR_BNDCFGS, VMX_VM_ENTRY_LOAD_BNDCFGS
	// (not in 5.2: its MPX-less models keep the two VMX controls)
	{from: []string{"mpx"}, to: feats("vmx-exit-clear-bndcfgs"), since: qemu72},
	{from: []string{"mpx"}, to: feats("vmx-entry-load-bndcfgs"), since: qemu72},
	// CPUID_7_0_EBX_RDSEED → VMX_SECONDARY_EXEC_RDSEED_EXITING
	{from: []string{"rdseed"}, to: feats("vmx-rdseed-exit")},
	// CPUID_7_0_EBX_INTEL_PT → FEAT_14_0_ECX, ~0 (5.2 has no such word)
	{from: []string{"intel-pt"}, to: whole(feat140ECX), since: qemu72},
	// CPUID_EXT2_RDTSCP → VMX_SECONDARY_EXEC_RDTSCP
	{from: []string{"rdtscp"}, to: feats("vmx-rdtscp-exit")},
	// VMX_SECONDARY_EXEC_ENABLE_EPT → FEAT_VMX_EPT_VPID_CAPS, 0xffffffff
	{from: []string{"vmx-ept"}, to: part(featVMXEPTVPIDCaps, 0, 31)},
	// VMX_SECONDARY_EXEC_ENABLE_EPT → VMX_SECONDARY_EXEC_UNRESTRICTED_GUEST
	{from: []string{"vmx-ept"}, to: feats("vmx-unrestricted-guest")},
	// VMX_SECONDARY_EXEC_ENABLE_EPT → VMX_SECONDARY_EXEC_MODE_BASED_EPT_EXEC
	{from: []string{"vmx-ept"}, to: feats("vmx-mbec"), since: qemu111},
	// VMX_SECONDARY_EXEC_ENABLE_VPID → FEAT_VMX_EPT_VPID_CAPS, 0xffffffff << 32
	{from: []string{"vmx-vpid"}, to: part(featVMXEPTVPIDCaps, 32, 63)},
	// VMX_SECONDARY_EXEC_ENABLE_VMFUNC → FEAT_VMX_VMFUNC, ~0
	{from: []string{"vmx-vmfunc"}, to: whole(featVMXVMFunc)},
	// CPUID_EXT3_SVM → FEAT_SVM, ~0
	{from: []string{"svm"}, to: whole(featSVM)},

	// QEMU 10.0 only, from here on.
	// CPUID_7_0_ECX_WAITPKG → VMX_SECONDARY_EXEC_ENABLE_USER_WAIT_PAUSE
	{from: []string{"waitpkg"}, to: feats("vmx-enable-user-wait-pause"), since: qemu100},
	// CPUID_EXT2_LM, CPUID_7_1_EAX_LKGS, CPUID_7_1_EAX_WRMSRNS → CPUID_7_1_EAX_FRED
	{from: []string{"lm"}, to: feats("fred"), since: qemu100},
	{from: []string{"lkgs"}, to: feats("fred"), since: qemu100},
	{from: []string{"wrmsrns"}, to: feats("fred"), since: qemu100, until: qemu111},
	// CPUID_7_0_EBX_SGX → CPUID_7_0_ECX_SGX_LC and the three SGX words, ~0
	{from: []string{"sgx"}, to: feats("sgxlc"), since: qemu100},
	{from: []string{"sgx"}, to: whole(featSGX120EAX), since: qemu100},
	{from: []string{"sgx"}, to: whole(featSGX120EBX), since: qemu100},
	{from: []string{"sgx"}, to: whole(featSGX121EAX), since: qemu100},
	// CPUID_24_0_EBX_AVX10_128 → _256 → _512
	{from: []string{"avx10-128"}, to: feats("avx10-256"), since: qemu100},
	{from: []string{"avx10-256"}, to: feats("avx10-512"), since: qemu100},
	// CPUID_24_0_EBX_AVX10_VL_MASK (any of the three) → CPUID_7_1_EDX_AVX10
	{from: []string{"avx10-128", "avx10-256", "avx10-512"}, to: feats("avx10"), since: qemu100},
	// CPUID_7_1_EDX_AVX10 → FEAT_24_0_EBX, ~0
	{from: []string{"avx10"}, to: whole(feat240EBX), since: qemu100},

	// QEMU 11.1, from here on.
	// CPUID_7_1_EDX_APXF → FEAT_29_0_EBX, ~0
	{from: []string{"apxf"}, to: whole(feat290EBX), since: qemu111},
	// CPUID_7_1_EDX_AVX10 → FEAT_24_1_ECX, ~0
	{from: []string{"avx10"}, to: whole(feat241ECX), since: qemu111},
	// CPUID_7_1_EAX_FRED → VMX_VM_ENTRY_LOAD_IA32_FRED
	{from: []string{"fred"}, to: feats("vmx-entry-load-fred"), since: qemu111},
}

// levelWord is a feature word that x86_cpu_adjust_feat_level is called
// for: when any bit of it is set, the level of its leaf's range
// (cpuid_min_level, _xlevel or _xlevel2) is raised to the leaf, and for
// leaf 7 cpuid_min_level_func7 to the subleaf.
type levelWord struct {
	word  featWord
	since core.Release
}

// alwaysLevelWord is adjusted whatever full-cpuid-auto-level says
// ("CPUID[EAX=7,ECX=0].EBX always increased level automatically").
var alwaysLevelWord = feat70EBX

// fullAutoLevelWords are adjusted only when full-cpuid-auto-level is on,
// in x86_cpu_expand_features' order. Words not listed never raise a level
// on their own: FEAT_7_0_EDX, FEAT_8000_0007_EBX, FEAT_8000_0021_EBX,
// FEAT_8000_0022_EAX, the leaf 0x12, 0x14 and 0x24 words, the KVM words
// and the MSR words (0x12, 0x14, 0x24 and 0x8000_0021 have the special
// rules in levelsOf).
var fullAutoLevelWords = [...]levelWord{
	{word: feat1EDX},
	{word: feat1ECX},
	{word: feat6EAX},
	{word: feat70ECX},
	{word: feat71EAX},
	{word: feat71ECX, since: qemu111},
	{word: feat71EDX, since: qemu100},
	{word: feat72EDX, since: qemu100},
	{word: feat80000001EDX},
	{word: feat80000001ECX},
	{word: feat80000007EDX},
	{word: feat80000008EBX},
	{word: featC0000001EDX},
	{word: featSVM},
	{word: featXSAVE},
}

// LevelInput is what, besides the feature set, decides a CPU's CPUID
// levels. Every field is a QOM property of the CPU, reported by
// query-cpu-model-expansion (type "full") under the name given.
type LevelInput struct {
	// MinLevel, MinXLevel and MinXLevel2 are "min-level", "min-xlevel"
	// and "min-xlevel2" as they stand *before* expansion: the model
	// definition's level and xlevel (min-xlevel2 is 0 for every model),
	// or what the user set. A full expansion reports them *after* the
	// automatic raise, so they are no lower bound once features are
	// removed.
	MinLevel, MinXLevel, MinXLevel2 uint32
	// FullCPUIDAutoLevel is "full-cpuid-auto-level": on by default, off
	// on machine types 2.7 and older (pc_compat_2_7).
	FullCPUIDAutoLevel bool
	// IntelPTAutoLevel is "x-intel-pt-auto-level": on by default, off on
	// machine types 3.1 and older (pc_compat_3_1).
	IntelPTAutoLevel bool
	// Vendor is "vendor" ("GenuineIntel", …). Only the leaf 0x1F rule
	// reads it.
	Vendor string
	// ExtendedTopology: the machine has a topology level CPUID 0xB cannot
	// describe (7.2: -smp dies>1, env->nr_dies; 10.0: dies>1 or
	// modules>1, x86_has_extended_topo). The machine sets it when it
	// plugs the CPU (x86_cpu_pre_plug), so it is never on in
	// query-cpu-model-expansion and this rule is untested against QEMU.
	ExtendedTopology bool
	// VendorCPUIDOnly is "x-vendor-cpuid-only": on by default, off on
	// machine types 6.0 and older (pc_compat_6_0). Read only together
	// with ExtendedTopology.
	VendorCPUIDOnly bool
	// ForceCPUID0x1F is "x-force-cpuid-0x1f" (11.1; models such as
	// ClearwaterForest set it): x86_has_cpuid_0x1f is true whatever the
	// topology, so it raises the level as ExtendedTopology does.
	ForceCPUID0x1F bool
	// PMU is "pmu" (off by default for named models). 11.1 clears
	// arch-lbr without it, on every machine type and even with
	// x-force-features (probed on the 11.1.3 binary under tcg; 10.0.2
	// and 7.2 keep arch-lbr).
	PMU bool
	// PDCMNeedsPMU: pdcm is cleared before the dependencies run (so the
	// PERF_CAPABILITIES word goes too). 11.1 (since 10.1) does so when
	// "pmu" is off and "x-pdcm-on-even-without-pmu" is off (it is on for
	// machine types 10.0 and older, pc_compat_10_0); the caller decides,
	// as neither property is in a catalog: false leaves pdcm alone.
	PDCMNeedsPMU bool
	// SEV: the machine has an AMD SEV confidential-guest-support object
	// (sev_enabled()); untested against QEMU, like ExtendedTopology.
	SEV bool
	// ForceFeatures is "x-force-features": features QEMU marks
	// unavailable stay set. Only the intel-pt rule reads it.
	ForceFeatures bool
	// Level, XLevel, XLevel2 and LevelFunc7 are "level", "xlevel",
	// "xlevel2" and "level-func7" when the user set them; nil leaves them
	// automatic (QEMU's UINT32_MAX default).
	Level, XLevel, XLevel2, LevelFunc7 *uint32
}

// applyDependencies returns s after QEMU release rel's feature
// dependencies: for each entry of
// featureDependencies, in order, when none of its from features is in the
// set, its to bits are removed. s is the set after the model and every
// user property are applied (QEMU applies QOM properties, "feat=on|off",
// at object creation and "+feat"/"-feat" at the start of expansion; the
// dependencies run after both). It panics for a release without a row in
// expandSources, and for a registry that lacks a feature the rules name.
//
// Mirrors the loop over feature_dependencies[] in x86_cpu_expand_features
// (7.2 cpu.c:6223, 10.0 cpu.c:7829).
func applyDependencies(reg *feature.Registry, s feature.FeatureSet, rel core.Release) feature.FeatureSet {
	r := rulesFor(reg, rel)
	for _, d := range r.deps {
		if s.Intersect(d.From).IsEmpty() {
			s = s.Difference(d.To)
		}
	}
	return s
}

// expandCPU is everything this file mirrors, in QEMU's order: the
// dependencies, then the levels. It also returns the feature set the
// level step leaves, which differs from applyDependencies' in one case:
// with full-cpuid-auto-level on and x-intel-pt-auto-level off (machine
// types 2.8 to 3.1, or the user), intel-pt is removed when the level is
// below 0x14 at that point (unless x-force-features). s is the set after
// the model and the user's properties are applied. See levelsOf for the
// two sets of levels.
func expandCPU(reg *feature.Registry, s feature.FeatureSet, rel core.Release, in LevelInput) (f feature.FeatureSet, levels, auto cpuidLevels) {
	r := rulesFor(reg, rel)
	if rel.Compare(qemu111) >= 0 {
		if in.PDCMNeedsPMU {
			s = s.Remove(r.pdcm)
		}
		if !in.PMU {
			s = s.Remove(r.archLBR)
		}
	}
	s = applyDependencies(reg, s, rel)
	if !in.ForceFeatures {
		for _, c := range r.conflicts {
			if s.Has(c[0]) && s.Has(c[1]) {
				s = s.Remove(c[0]).Remove(c[1])
			}
		}
	}
	return levelsOf(reg, s, rel, in)
}

// featureConflicts are pairs of features a release clears both of when
// both are set: after the dependencies (which still see them) and before
// the levels, unless x-force-features (mark_unavailable_features).
//
// 11.1: APX and MPX. The source was not available; the binary's
// behaviour, probed under tcg, is the evidence: it warns "this feature
// conflicts with APX: …mpx" and "…conflicts with MPX: …apxf", the two
// are off in the expansion while apx-nci-ndd-nf (which the apxf
// dependency would clear) stays, the level is not raised to 0x29, and
// with x-force-features both stay.
var featureConflicts = []struct {
	a, b  string
	since core.Release
}{
	{"apxf", "mpx", qemu111},
}

// FeatureConflicts returns the features that release rel clears in
// conflicting pairs (featureConflicts): a probe that turns one on can
// lose the other, which the model may define.
func FeatureConflicts(reg *feature.Registry, rel core.Release) (feature.FeatureSet, error) {
	r, err := compileRules(reg, rel)
	if err != nil {
		return feature.FeatureSet{}, err
	}
	var s feature.FeatureSet
	for _, c := range r.conflicts {
		s = s.Add(c[0]).Add(c[1])
	}
	return s, nil
}

// cpuidLevels are the "level", "xlevel", "xlevel2" and "level-func7"
// properties after expansion.
type cpuidLevels struct{ level, xlevel, xlevel2, func7 uint32 }

// levelsOf mirrors x86_cpu_expand_features from the
// x86_cpu_adjust_feat_level calls to the end (7.2 cpu.c:6243-6310, 10.0
// cpu.c:7849-7927):
//
//  1. min = in.MinLevel, in.MinXLevel, in.MinXLevel2; min-func7 = 0.
//  2. FEAT_7_0_EBX non-empty → min level ≥ 7 (always, even with
//     full-cpuid-auto-level off).
//  3. Only with full-cpuid-auto-level on (always in 11.1, which dropped
//     the property with the machine types that turned it off, and
//     x-intel-pt-auto-level likewise: the importer reads both as on):
//     a. each fullAutoLevelWords word that is non-empty raises the level
//     of its range to its leaf (0x0… → level, 0x8… → xlevel, 0xC… →
//     xlevel2) and, for leaf 7, min-func7 to its subleaf
//     (x86_cpu_adjust_feat_level);
//     b. intel-pt → level ≥ 0x14 when x-intel-pt-auto-level is on;
//     when it is off and the level so far is below 0x14, QEMU marks
//     intel-pt unavailable (mark_unavailable_features), which clears it
//     unless x-force-features is on — after the dependencies have run,
//     so the leaf 0x14 word (intel-pt-lip) stays;
//     c. extended topology and (Intel or not x-vendor-cpuid-only) →
//     level ≥ 0x1F (5.2, which has no x-vendor-cpuid-only: extended
//     topology alone, "env->nr_dies > 1"; 11.1: x-force-cpuid-0x1f as
//     well as extended topology);
//     d. 10.0: avx10 → level ≥ 0x24; 11.1: apxf → level ≥ 0x29;
//     e. svm → xlevel ≥ 0x8000000A;
//     f. SEV → xlevel ≥ 0x8000001F;
//     g. 10.0 and later: FEAT_8000_0021_EAX non-empty → xlevel ≥ 0x80000021;
//     h. 7.2 and later: sgx → level ≥ 0x12.
//  4. level, xlevel, xlevel2 and level-func7 are the user's value when
//     set ("if (env->cpuid_level == UINT32_MAX) env->cpuid_level =
//     env->cpuid_min_level;"), else the minimum — even when the user's
//     value is lower.
//
// Every raise is "min = max(min, value)" (x86_cpu_adjust_level), so the
// order of the raises does not matter; the order matters only for 3b,
// which reads the level raised by 2 and 3a but not by 3c-3h. A word
// counts as non-empty when any of its named bits is set: QEMU looks at
// the whole word, but no model of either release sets an unnamed bit in
// the words listed (the validation would show it as a level mismatch).
//
// levelsOf returns s, less intel-pt if 3b removed it, the levels (step
// 4), and the automatic levels before step 4 — what QEMU reports as
// min-level, min-xlevel and min-xlevel2, explicit levels or not.
func levelsOf(reg *feature.Registry, s feature.FeatureSet, rel core.Release, in LevelInput) (f feature.FeatureSet, levels, auto cpuidLevels) {
	r := rulesFor(reg, rel)
	l := cpuidLevels{level: in.MinLevel, xlevel: in.MinXLevel, xlevel2: in.MinXLevel2}
	adjust := func(w compiledWord) {
		if s.Intersect(w.set).IsEmpty() {
			return
		}
		switch w.leaf & 0xf0000000 {
		case 0x00000000:
			l.level = max(l.level, w.leaf)
		case 0x80000000:
			l.xlevel = max(l.xlevel, w.leaf)
		case 0xc0000000:
			l.xlevel2 = max(l.xlevel2, w.leaf)
		}
		if w.leaf == 7 {
			l.func7 = max(l.func7, w.subleaf)
		}
	}
	adjust(r.always)
	if in.FullCPUIDAutoLevel {
		for _, w := range r.words {
			adjust(w)
		}
		if s.Has(r.intelPT) {
			if in.IntelPTAutoLevel {
				l.level = max(l.level, 0x14)
			} else if l.level < 0x14 && !in.ForceFeatures {
				s = s.Remove(r.intelPT)
			}
		}
		if (in.ExtendedTopology || in.ForceCPUID0x1F) && (r.rel.Compare(qemu72) < 0 || in.Vendor == "GenuineIntel" || !in.VendorCPUIDOnly) {
			l.level = max(l.level, 0x1f)
		}
		if r.rel.Compare(qemu100) >= 0 && s.Has(r.avx10) {
			l.level = max(l.level, 0x24)
		}
		if r.rel.Compare(qemu111) >= 0 && s.Has(r.apxf) {
			l.level = max(l.level, 0x29)
		}
		if s.Has(r.svm) {
			l.xlevel = max(l.xlevel, 0x8000000a)
		}
		if in.SEV {
			l.xlevel = max(l.xlevel, 0x8000001f)
		}
		if r.rel.Compare(qemu100) >= 0 && !s.Intersect(r.w80000021).IsEmpty() {
			l.xlevel = max(l.xlevel, 0x80000021)
		}
		if r.rel.Compare(qemu72) >= 0 && s.Has(r.sgx) {
			l.level = max(l.level, 0x12)
		}
	}
	pick := func(user *uint32, auto uint32) uint32 {
		if user != nil {
			return *user
		}
		return auto
	}
	return s, cpuidLevels{
		level:   pick(in.Level, l.level),
		xlevel:  pick(in.XLevel, l.xlevel),
		xlevel2: pick(in.XLevel2, l.xlevel2),
		func7:   pick(in.LevelFunc7, l.func7),
	}, l
}

// expandRules is the rules of one release compiled against one registry.
type expandRules struct {
	rel    core.Release
	deps   []FeatureDependency
	always compiledWord
	words  []compiledWord
	// Features the special level rules test.
	intelPT, svm, sgx, avx10, apxf, pdcm, archLBR feature.ID
	conflicts                                     [][2]feature.ID
	w80000021                                     feature.FeatureSet
}

type compiledWord struct {
	set           feature.FeatureSet
	leaf, subleaf uint32
}

type rulesKey struct {
	reg *feature.Registry
	rel core.Release
}

var rulesCache sync.Map // rulesKey → *expandRules

// rulesFor returns the rules of rel compiled for reg, compiling them on
// first use.
func rulesFor(reg *feature.Registry, rel core.Release) *expandRules {
	k := rulesKey{reg, rel}
	if r, ok := rulesCache.Load(k); ok {
		return r.(*expandRules)
	}
	r, err := compileRules(reg, rel)
	if err != nil {
		panic("catalog: " + err.Error())
	}
	v, _ := rulesCache.LoadOrStore(k, r)
	return v.(*expandRules)
}

func compileRules(reg *feature.Registry, rel core.Release) (*expandRules, error) {
	if _, ok := expandSources[rel]; !ok {
		return nil, fmt.Errorf("%w %q: no feature dependencies or CPUID levels (known: %s)", core.ErrUnknownRelease, rel, core.KnownReleases())
	}
	var errs []string
	lookup := func(name string) feature.ID {
		id, err := reg.Lookup(name)
		if err != nil {
			errs = append(errs, err.Error())
			return 0
		}
		return id
	}
	sel := func(b bits) feature.FeatureSet {
		var s feature.FeatureSet
		if len(b.names) > 0 {
			for _, n := range b.names {
				s = s.Add(lookup(n))
			}
			return s
		}
		w, ok := feature.LookupWord(string(b.word))
		if !ok {
			errs = append(errs, fmt.Sprintf("no feature word %s", b.word))
			return s
		}
		s = reg.InWord(w, b.lo, b.hi)
		if s.IsEmpty() {
			errs = append(errs, fmt.Sprintf("no feature in %s bits %d-%d", b.word, b.lo, b.hi))
		}
		return s
	}
	r := &expandRules{rel: rel}
	for _, d := range featureDependencies {
		if d.since.Compare(rel) > 0 || d.until != (core.Release{}) && d.until.Compare(rel) <= 0 {
			continue
		}
		var from feature.FeatureSet
		for _, n := range d.from {
			from = from.Add(lookup(n))
		}
		r.deps = append(r.deps, FeatureDependency{From: from, To: sel(d.to)})
	}
	word := func(w featWord) compiledWord {
		loc, _ := feature.LookupWord(string(w)) // sel reports a missing word
		return compiledWord{set: sel(whole(w)), leaf: loc.Loc.Leaf, subleaf: loc.Loc.Subleaf}
	}
	r.always = word(alwaysLevelWord)
	for _, lw := range fullAutoLevelWords {
		if lw.since.Compare(rel) <= 0 {
			r.words = append(r.words, word(lw.word))
		}
	}
	r.intelPT = lookup("intel-pt")
	r.svm = lookup("svm")
	r.sgx = lookup("sgx")
	if rel.Compare(qemu100) >= 0 {
		r.avx10 = lookup("avx10")
		r.w80000021 = sel(whole(feat80000021EAX))
	}
	if rel.Compare(qemu111) >= 0 {
		r.apxf = lookup("apxf")
		r.pdcm = lookup("pdcm")
		r.archLBR = lookup("arch-lbr")
	}
	for _, c := range featureConflicts {
		if c.since.Compare(rel) <= 0 {
			r.conflicts = append(r.conflicts, [2]feature.ID{lookup(c.a), lookup(c.b)})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("QEMU %s expansion rules: %s", rel, strings.Join(errs, "; "))
	}
	return r, nil
}
