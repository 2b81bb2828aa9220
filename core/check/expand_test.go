package check

import (
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// This file predicts how QEMU's "host" (KVM) and "max" (TCG) models differ
// from what is available, so that the live test can assert the
// differences exactly rather than eyeball them. Both models are
// x86_cpu_expand_features with max_features: every word gets
// x86_cpu_get_supported_feature_word(cpu, w) minus no_autoenable_flags
// (and, the models being migratable, minus unmigratable bits); then
// feature_dependencies drops features whose prerequisite is off; and the
// XSAVE components are requested without being filtered.

// A diffReason says why a feature is in the expansion of host/max but not
// available, or the other way round.
type diffReason string

const (
	reasonNoAutoenable diffReason = "no_autoenable_flags: available, never switched on by host/max"
	reasonUnmigratable diffReason = "unmigratable_flags: host/max are migratable=on"
	reasonDependency   diffReason = "feature_dependencies: its prerequisite is off"
	reasonVendor       diffReason = "x86_cpu_get_supported_feature_word(cpu): not an AMD CPU"
	reasonXSAVE        diffReason = "x86_cpu_filter_features: an XSAVE component it needs is unsupported (expansion does not filter)"
)

// noAutoenable lists each release's features in no_autoenable_flags.
var noAutoenable = map[string][]string{
	"7.2":  {"topoext", "kvm-hint-dedicated"},
	"10.0": {"topoext", "kvm-hint-dedicated", "ht"},
}

// unmigratable lists the features in unmigratable_flags (both releases).
var unmigratable = []string{"invtsc"}

// selector picks the features a dependency drops.
type selector func(f *feature.Feature) bool

func names(ns ...string) selector {
	return func(f *feature.Feature) bool {
		for _, n := range ns {
			if f.Name == n {
				return true
			}
		}
		return false
	}
}

func msrWord(msr uint32) selector {
	return func(f *feature.Feature) bool { return f.Loc.MSR == msr }
}

func msrHalf(msr uint32, high bool) selector {
	return func(f *feature.Feature) bool { return f.Loc.MSR == msr && (f.Loc.Bit >= 32) == high }
}

func cpuidWord(leaf, subleaf uint32, r cpuid.Reg) selector {
	return func(f *feature.Feature) bool {
		return !f.Loc.IsMSR() && f.Loc.Leaf == leaf && f.Loc.Subleaf == subleaf && f.Loc.Reg == r
	}
}

// dependency is one feature_dependencies entry: when none of from is on,
// the features to selects are dropped.
type dependency struct {
	from []string
	to   selector
}

// Feature MSR indexes of the VMX words.
const (
	msrVMXMisc        = 0x485
	msrVMXProcbased2  = 0x48b
	msrVMXEPTVPIDCap  = 0x48c
	msrVMXTruePinbase = 0x48d
	msrVMXTrueProcbas = 0x48e
	msrVMXTrueExit    = 0x48f
	msrVMXTrueEntry   = 0x490
)

// dependencies72 is QEMU 7.2's feature_dependencies, in order.
var dependencies72 = []dependency{
	{[]string{"arch-capabilities"}, msrWord(msrArchCapabilities)},
	{[]string{"core-capability"}, msrWord(msrCoreCapability)},
	{[]string{"pdcm"}, msrWord(msrPerfCapabilities)},
	{[]string{"vmx"}, msrWord(msrVMXTrueProcbas)},
	{[]string{"vmx"}, msrWord(msrVMXTruePinbase)},
	{[]string{"vmx"}, msrWord(msrVMXTrueExit)},
	{[]string{"vmx"}, msrWord(msrVMXTrueEntry)},
	{[]string{"vmx"}, msrWord(msrVMXMisc)},
	{[]string{"vmx"}, msrWord(msrVMXBasic)},
	{[]string{"lm"}, names("vmx-entry-ia32e-mode")},
	{[]string{"vmx-secondary-ctls"}, msrWord(msrVMXProcbased2)},
	{[]string{"xsaves"}, names("vmx-xsaves")},
	{[]string{"rdrand"}, names("vmx-rdrand-exit")},
	{[]string{"invpcid"}, names("vmx-invpcid-exit")},
	{[]string{"mpx"}, names("vmx-exit-clear-bndcfgs")},
	{[]string{"mpx"}, names("vmx-entry-load-bndcfgs")},
	{[]string{"rdseed"}, names("vmx-rdseed-exit")},
	{[]string{"intel-pt"}, cpuidWord(0x14, 0, cpuid.ECX)},
	{[]string{"rdtscp"}, names("vmx-rdtscp-exit")},
	{[]string{"vmx-ept"}, msrHalf(msrVMXEPTVPIDCap, false)},
	{[]string{"vmx-ept"}, names("vmx-unrestricted-guest")},
	{[]string{"vmx-vpid"}, msrHalf(msrVMXEPTVPIDCap, true)},
	{[]string{"vmx-vmfunc"}, msrWord(msrVMXVMFunc)},
	{[]string{"svm"}, cpuidWord(0x8000000A, 0, cpuid.EDX)},
}

// dependencies100 is QEMU 10.0's: 7.2's plus these, in order.
var dependencies100 = append(dependencies72[:len(dependencies72):len(dependencies72)],
	dependency{[]string{"waitpkg"}, names("vmx-enable-user-wait-pause")},
	dependency{[]string{"lm"}, names("fred")},
	dependency{[]string{"lkgs"}, names("fred")},
	dependency{[]string{"wrmsrns"}, names("fred")},
	dependency{[]string{"sgx"}, names("sgxlc")},
	dependency{[]string{"sgx"}, cpuidWord(0x12, 0, cpuid.EAX)},
	dependency{[]string{"sgx"}, cpuidWord(0x12, 0, cpuid.EBX)},
	dependency{[]string{"sgx"}, cpuidWord(0x12, 1, cpuid.EAX)},
	dependency{[]string{"avx10-128"}, names("avx10-256")},
	dependency{[]string{"avx10-256"}, names("avx10-512")},
	dependency{[]string{"avx10-128", "avx10-256", "avx10-512"}, names("avx10")},
	dependency{[]string{"avx10"}, cpuidWord(0x24, 0, cpuid.EBX)},
)

// predictExpansion returns QEMU's expansion of host (kvm) or max (tcg) as
// a's rules predict it, and the reason for each feature on which the
// prediction and a.Set differ. vendor is the model's CPUID vendor (the
// host's under kvm, AuthenticAMD for max under tcg).
func predictExpansion(reg *feature.Registry, a *Availability, bits feature.FeatureSet, vendor string) (feature.FeatureSet, map[feature.ID]diffReason) {
	why := map[feature.ID]diffReason{}
	// x86_cpu_get_supported_feature_word(cpu, w): the bits, without the
	// component filter, which expansion does not apply.
	e := bits.Intersect(a.Known)
	for id := range a.Set.SymmetricDifference(e).All() {
		why[id] = reasonXSAVE
	}
	drop := func(s feature.FeatureSet, r diffReason) {
		for id := range e.Intersect(s).All() {
			e = e.Remove(id)
			why[id] = r
		}
	}
	if a.QEMU == "10.0" && vendor != "AuthenticAMD" {
		drop(mustSet(reg, "overflow-recov", "succor"), reasonVendor)
	}
	drop(mustSet(reg, noAutoenable[a.QEMU]...), reasonNoAutoenable)
	drop(mustSet(reg, unmigratable...), reasonUnmigratable)
	deps := dependencies72
	if a.QEMU == "10.0" {
		deps = dependencies100
	}
	for _, d := range deps {
		if !e.Intersect(mustSet(reg, d.from...)).IsEmpty() {
			continue
		}
		var to feature.FeatureSet
		for _, f := range reg.Features() {
			if d.to(&f) {
				to = to.Add(f.ID)
			}
		}
		drop(to, reasonDependency)
	}
	diff := a.Set.SymmetricDifference(e)
	for id := range why {
		if !diff.Has(id) {
			delete(why, id)
		}
	}
	return e, why
}
