package check

import (
	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// This file predicts how QEMU's "host" (KVM) and "max" (TCG) models differ
// from what is available, so that the live test can assert the
// differences exactly rather than eyeball them. Both models are
// x86_cpu_expand_features with max_features: every word gets
// x86_cpu_get_supported_feature_word(cpu, w) minus no_autoenable_flags
// (and, the models being migratable, minus unmigratable bits); then
// feature_dependencies drops features whose prerequisite is off; and the
// XSAVE components are requested without being filtered. The feature
// dependencies are core/catalog's table (catalog.FeatureDependencies),
// which core/catalog's tests hold to QEMU's own expansions.

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
var noAutoenable = map[core.Release][]string{
	{Major: 7, Minor: 2}:  {"topoext", "kvm-hint-dedicated"},
	{Major: 10, Minor: 0}: {"topoext", "kvm-hint-dedicated", "ht"},
	// 11.1: as 10.0 (no_autoenable_flags as decoded from the binary's
	// feature_word_info[]).
	{Major: 11, Minor: 1}: {"topoext", "kvm-hint-dedicated", "ht"},
}

// unmigratable lists the features in unmigratable_flags (both releases).
var unmigratable = []string{"invtsc"}

// predictExpansion returns QEMU's expansion of host (kvm) or max (tcg) as
// a's rules predict it, and the reason for each feature on which the
// prediction and a.Set differ. vendor is the model's CPUID vendor (the
// host's under kvm, AuthenticAMD for max under tcg).
func predictExpansion(reg *feature.Registry, a *Availability, bits feature.FeatureSet, vendor string) (feature.FeatureSet, map[feature.ID]diffReason, error) {
	deps, err := catalog.FeatureDependencies(reg, a.Release)
	if err != nil {
		return feature.FeatureSet{}, nil, err
	}
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
	// 10.0's rule; taken to hold in 11.1 too (not confirmed from 11.1's
	// source; only the kvm path, which this machine cannot run, sees it).
	if a.Release.Compare(core.Release{Major: 10, Minor: 0}) >= 0 && vendor != "AuthenticAMD" {
		drop(mustSet(reg, "overflow-recov", "succor"), reasonVendor)
	}
	drop(mustSet(reg, noAutoenable[a.Release]...), reasonNoAutoenable)
	drop(mustSet(reg, unmigratable...), reasonUnmigratable)
	for _, d := range deps {
		if e.Intersect(d.From).IsEmpty() {
			drop(d.To, reasonDependency)
		}
	}
	diff := a.Set.SymmetricDifference(e)
	for id := range why {
		if !diff.Has(id) {
			delete(why, id)
		}
	}
	return e, why, nil
}
