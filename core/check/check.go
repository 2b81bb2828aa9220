// Package check decides which CPU features a guest can get on a host, the
// way a given QEMU release decides it, and which layer lacks each feature
// the guest cannot get.
//
// QEMU calls a model's feature "unavailable" (query-cpu-definitions'
// unavailable-features, the "host doesn't support requested feature"
// warnings) when x86_cpu_filter_features finds it outside
// x86_cpu_get_supported_feature_word (target/i386/cpu.c). Under KVM that
// is KVM's answer as QEMU adjusts it (kvm_arch_get_supported_cpuid and
// kvm_arch_get_supported_msr_feature, target/i386/kvm/kvm.c); under TCG it
// is the fixed tcg_features mask of each feature word. [Compute] mirrors
// both for every known QEMU release (core.Releases) from a
// [host.HostSnapshot]'s raw KVM answers, so that a model is runnable
// exactly when its features are a subset of
// [Availability.Set]. The rules, per release, are documented on the
// functions that apply them and in versions.go.
//
// The result assumes what a plain `qemu-system-x86_64 -machine pc-q35-*
// -accel kvm` gets by default: the in-kernel irqchip (not split), no
// -overcommit cpu-pm=on, no confidential guest.
//
// Where QEMU's verdict depends on the model as well as the host, a set
// cannot say it exactly; these corners are resolved as follows:
//
//   - 7.2 requests a feature's XSAVE components only when the model also
//     has xsave; Set assumes it does (every built-in model with AVX, MPX,
//     AVX-512, PKU or AMX does).
//   - QEMU filters intel-pt when the host's intel-pt-lip differs from the
//     model's; Set leaves that to intel-pt-lip itself.
//   - 10.0 withholds overflow-recov and succor from non-AMD CPUs only when
//     it expands host or max, not when it filters a model; Set has them.
//   - 10.0 also lowers a model's AVX10 version to the host's; versions are
//     not features.
//   - 11.1 (since 10.1) withholds arch-capabilities from a CPU whose
//     vendor is AMD, on machine types newer than 10.0 (older ones set
//     x-arch-cap-always-on); Set takes the guest's vendor to be the
//     host's, as it is for host and for the models of the host's own
//     vendor, and the machine type to be the release's own.
//
// Two inputs QEMU reads are not in a snapshot and are derived: whether
// KVM_GET_MSR_INDEX_LIST has MSR_IA32_ARCH_CAPABILITIES (taken from the
// feature-MSR list) and KVM_X86_XCOMP_GUEST_SUPP (taken from
// KVM_GET_SUPPORTED_CPUID leaf 0xD plus the host's AMX tile components).
//
// On top of Compute, a [Judge] gives the verdicts of a catalog's models on
// one host ([Judge.Models], [Judge.Why]); [HostAvailability] is the one
// place that decides what a host without KVM data under kvm is (an error
// wrapping [ErrNoKVM]), and [Accelerator] the one default accelerator
// (kvm) of every command.
package check

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Layers that can lack a feature; see [Availability.Layer].
const (
	// LayerHW: the CPU lacks the feature (its CPUID bit is clear in the
	// host's raw CPUID).
	LayerHW = "hw"
	// LayerOS: the CPU has it, but the host kernel disabled it (it is not
	// in the snapshot's os layer).
	LayerOS = "os"
	// LayerKVM: the CPU and kernel have it, but KVM (as QEMU adjusts
	// KVM's answer) will not give it to a guest.
	LayerKVM = "kvm"
	// LayerTCG: QEMU's TCG does not emulate it.
	LayerTCG = "tcg"
	// LayerQEMU: this QEMU release does not know the feature at all
	// (a name added in a later release, or a plugin's vendor feature).
	LayerQEMU = "qemu"
)

// Availability is what one QEMU release lets a guest have on one host
// under one accelerator.
type Availability struct {
	Release core.Release
	Accel   core.Accel
	// Set holds the features a guest can get: a model is runnable when
	// its features are a subset of Set.
	Set feature.FeatureSet
	// Known holds the features this QEMU release names; Set ⊆ Known.
	Known feature.FeatureSet
	// Source is the snapshot's source (host.Sources), "" without one.
	Source string
	// HyperV is what KVM offers Hyper-V enlightenments (under kvm; nil
	// under tcg, where QEMU checks none).
	HyperV *HyperV

	reg *feature.Registry
	// hw and os are the snapshot's layers; hasHW says whether the
	// snapshot has raw CPUID at all.
	hw, os feature.FeatureSet
	hasHW  bool
	// qemuWithheld are features QEMU itself withholds from a guest on
	// this host whatever the layers below say (11.1's arch-capabilities
	// on AMD hosts); Layer blames kvm, the layer of QEMU's adjustments.
	qemuWithheld feature.FeatureSet
	// xcr0 is the XSAVE components the accelerator supports.
	xcr0 uint64
}

// notInHostModel are bits kvm_arch_get_supported_cpuid always gives
// but QEMU's "host" model never turns on by itself (they are not
// auto-enabled: x86_cpu_expand_features skips them), so an expansion of
// "host" lacks them although every model may have them.
var notInHostModel = []string{"topoext", "kvm-hint-dedicated"}

// ErrNoKVM is the error, wrapped, of [Compute] under kvm for a snapshot
// without KVM's answers. Compute's other errors wrap
// core.ErrUnknownRelease and core.ErrUnknownAccel.
var ErrNoKVM = errors.New("snapshot has no KVM data")

// Compute returns what QEMU release rel lets a guest have on the host s
// under accel, with reg's features. Under kvm, s must carry KVM's raw
// answers (s.KVM); under tcg the result does not depend on the host.
func Compute(reg *feature.Registry, s *host.HostSnapshot, rel core.Release, accel core.Accel) (*Availability, error) {
	r := rulesOf(rel)
	if r == nil {
		return nil, fmt.Errorf("%w %q (known: %s)", core.ErrUnknownRelease, rel, core.KnownReleases())
	}
	a := &Availability{Release: rel, Accel: accel, reg: reg, Known: known(reg, r)}
	if s != nil {
		a.Source = s.Source
	}
	if accel == core.KVM {
		a.HyperV = hyperVOf(s)
	}
	switch accel {
	case core.KVM:
		if s != nil && s.KVM == nil && (s.Source == host.SourceQEMUExpansion || s.Source == host.SourceDomCapabilities) {
			// A snapshot made from QEMU's expansion of "host" already is
			// what QEMU and KVM together make available: QEMU's adjustments are in
			// it, made by the QEMU that answered. libvirt's host-model CPU
			// is that expansion in libvirt's words.
			names := append(append([]string{}, s.Features.KVM...), notInHostModel...)
			if s.Source == host.SourceDomCapabilities {
				// libvirt names no feature of KVM's paravirt leaf
				// 0x40000001 (it writes them as <features><kvm>), so its
				// host-model CPU never shows the ones QEMU switches on for
				// every model under KVM (kvm_default_props): taken as
				// given, as KVM has given them since Linux 3.6. Only x2apic
				// of those defaults is a CPU feature libvirt names, and the
				// host-model has it when the host does.
				names = append(names, kvmParavirtDefaults(reg)...)
			}
			set, err := reg.Set(names...)
			if err != nil {
				return nil, err
			}
			a.Set = set.Intersect(a.Known)
			return a, nil
		}
		if s == nil || s.KVM == nil {
			why := "nil snapshot"
			if s != nil {
				why = s.KVMError
			}
			return nil, fmt.Errorf("%w (%s)", ErrNoKVM, why)
		}
		a.Set, a.xcr0 = kvmSupported(reg, s, r)
		hw, os, kvm, err := s.Sets(reg)
		if err != nil {
			return nil, err
		}
		a.hw, a.os, a.hasHW = hw, os, len(s.CPUID) > 0
		a.qemuWithheld = qemuWithheld(reg, s, r)
		// A plugin's features are what its decoder found in KVM's
		// answer (the snapshot's kvm layer), not the registry's reading
		// of their bits: the decoder knows its vendor's leaves.
		plug := pluginFeatures(reg)
		a.Set = a.Set.Difference(plug).Union(kvm.Intersect(plug))
	case core.TCG:
		a.Set, a.xcr0 = tcgSupported(reg, r)
	default:
		_, err := core.ParseAccel(string(accel)) // refuses all but kvm and tcg
		return nil, err
	}
	a.Set = xsaveFilter(reg, a.Set, a.xcr0, r).Intersect(a.Known)
	return a, nil
}

// Available returns what QEMU release rel would let a guest have on the
// host s under accel, as a set of reg's features. See [Compute].
func Available(reg *feature.Registry, s *host.HostSnapshot, rel core.Release, accel core.Accel) (feature.FeatureSet, error) {
	a, err := Compute(reg, s, rel, accel)
	if err != nil {
		return feature.FeatureSet{}, err
	}
	return a.Set, nil
}

// Layer returns "" when id is in a.Set, and otherwise the layer that
// lacks it:
//
//   - "qemu" when this QEMU release does not name the feature;
//   - under tcg, "tcg";
//   - under kvm, for a CPUID feature: "hw" when its bit is clear in the
//     host's raw CPUID, "os" when the CPU has it but the kernel disabled it
//     (it is not in the snapshot's os layer), and "kvm" otherwise;
//   - under kvm, for a feature-MSR bit (the ARCH_CAPABILITIES,
//     CORE_CAPABILITY and PERF_CAPABILITIES bits, vmx-*): the host's MSRs
//     are not recorded, so the CPUID bit that says the MSR exists decides:
//     "hw" when that bit is clear in raw CPUID (arch-capabilities,
//     core-capability, pdcm, vmx), "os" when the kernel disabled it, "kvm"
//     otherwise;
//   - under kvm, "kvm" for the features KVM implements itself whatever
//     the CPU has: the KVM paravirtual leaf 0x40000001, x2apic,
//     tsc-deadline and hypervisor;
//   - under kvm, "kvm" when the snapshot has no raw CPUID (the hw layer is
//     unknown), and for a feature QEMU withholds on this host whatever it
//     has (11.1's arch-capabilities on AMD hosts).
func (a *Availability) Layer(id feature.ID) string {
	if a.Set.Has(id) {
		return ""
	}
	if !a.Known.Has(id) {
		return LayerQEMU
	}
	if a.Accel == core.TCG {
		return LayerTCG
	}
	if !a.hasHW || a.qemuWithheld.Has(id) {
		return LayerKVM
	}
	f := a.reg.Feature(id)
	if f.Loc.IsMSR() {
		w, ok := feature.WordOfMSR(f.Loc.MSR)
		if !ok {
			return LayerKVM
		}
		gid, err := a.reg.Lookup(w.Gate)
		if err != nil {
			return LayerKVM
		}
		id = gid
	} else if kvmParavirt(f.Loc) || kvmEmulated(f.Name) {
		return LayerKVM
	}
	switch {
	case !a.hw.Has(id):
		return LayerHW
	case !a.os.Has(id):
		return LayerOS
	}
	return LayerKVM
}

// Missing returns the known features that are not available, grouped by
// the layer that lacks them.
func (a *Availability) Missing() map[string]feature.FeatureSet {
	out := map[string]feature.FeatureSet{}
	for _, f := range a.reg.Features() {
		if l := a.Layer(f.ID); l != "" && l != LayerQEMU {
			out[l] = out[l].Add(f.ID)
		}
	}
	return out
}

// kvmEmulated reports whether KVM implements CPUID feature name in
// software whatever the host CPU has, so that missing it is never the
// hardware's doing.
func kvmEmulated(name string) bool {
	switch name {
	case "x2apic", // the in-kernel local APIC
		"tsc-deadline", // the in-kernel local APIC's timer
		"hypervisor":   // QEMU sets it itself
		return true
	}
	return false
}

// kvmParavirt reports whether l is in KVM's paravirtual leaf
// (KVM_CPUID_FEATURES: FEAT_KVM and FEAT_KVM_HINTS), which KVM
// implements itself whatever the CPU has.
func kvmParavirt(l feature.Location) bool {
	return !l.IsMSR() && l.Leaf == kvmLeaf()
}

var kvmLeaf = sync.OnceValue(func() uint32 {
	w, _ := feature.LookupWord("FEAT_KVM")
	return w.Loc.Leaf
})

// known returns the features release r names: the built-in ones minus
// those r lacks, and every plugin's.
//
// A plugin's features count as known: a plugin stands for the QEMU that
// defines its models (EPYC-Turin is QEMU 10.1's), so its features are
// judged by the host's layers like any other. Under tcg they are never
// available (TCG emulates no vendor plugin's feature).
func known(reg *feature.Registry, r *releaseRules) feature.FeatureSet {
	var s feature.FeatureSet
	for _, f := range reg.Features() {
		s = s.Add(f.ID)
	}
	return s.Difference(mustSet(reg, r.absent...))
}

// pluginFeatures returns the features of reg that plugins added.
func pluginFeatures(reg *feature.Registry) feature.FeatureSet {
	var s feature.FeatureSet
	for _, f := range reg.Features()[feature.Builtin().Len():] {
		if f.Source != "" {
			s = s.Add(f.ID)
		}
	}
	return s
}

// mustSet returns the set of the named built-in features. Names the
// registry lacks are skipped: every name in this package's tables is
// checked against feature.Builtin by the tests, and a registry built some
// other way simply has fewer features.
func mustSet(reg *feature.Registry, names ...string) feature.FeatureSet {
	var s feature.FeatureSet
	for _, n := range names {
		if id, err := reg.Lookup(n); err == nil {
			s = s.Add(id)
		}
	}
	return s
}

// ReleaseFor returns the QEMU release whose availability rules judge
// hosts for a catalog of QEMU version v ("7.2.22"): v's own release
// (core.ParseRelease), or an error naming the known releases. A catalog
// that names no release (v is "": libvirt's CPU map, whose models run on
// whichever QEMU the site has) is judged by noReleaseRules' release, and
// noRelease says so.
func ReleaseFor(v string) (rel core.Release, noRelease bool, err error) {
	if v == "" {
		return noReleaseRules.rel, true, nil
	}
	rel, err = core.ParseRelease(v)
	return rel, false, err
}

// noReleaseRules judge a catalog that names no QEMU release: QEMU 7.2,
// the release Debian 12 pairs with the libvirt 9.0 whose CPU map the
// libvirt importer reads. It was the oldest release known until 5.2 came;
// 5.2 would not do, for libvirt 9.0's models name features 5.2 lacks
// (amx-tile, avx512-fp16 of Sapphire Rapids), which would read as
// missing from every host.
var noReleaseRules = &rules72

// kvmParavirtDefaults are the features of KVM's paravirt leaf
// (0x40000001) that QEMU switches on for every model under kvm.
func kvmParavirtDefaults(reg *feature.Registry) []string {
	var out []string
	for _, n := range catalog.AccelDefaultsOn(string(core.KVM)) {
		if id, err := reg.Lookup(n); err == nil && !reg.Feature(id).Loc.IsMSR() && reg.Feature(id).Loc.Leaf == 0x40000001 {
			out = append(out, n)
		}
	}
	return out
}

// HostModel returns what QEMU's "host" CPU model gives a guest under
// kvm: Set without the bits KVM offers but "host" never turns on by
// itself (topoext, kvm-hint-dedicated). libvirt's host-model CPU is made
// from it.
func (a *Availability) HostModel() feature.FeatureSet {
	s := a.Set
	for _, n := range notInHostModel {
		if id, err := a.reg.Lookup(n); err == nil {
			s = s.Remove(id)
		}
	}
	return s
}
