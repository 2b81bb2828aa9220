package check

import (
	"fmt"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// unmigratableFeatures are the features QEMU's feature_word_info marks
// unmigratable_flags (FEAT_8000_0007_EDX: CPUID_APM_INVTSC): host and
// max leave them out unless migratable=off.
var unmigratableFeatures = []string{"invtsc"}

// HostCPU is what QEMU's host and max models start from on the host of a
// (s, nil under tcg without one): the availability less the features
// QEMU never auto-enables, and the host's identity.
func HostCPU(a *Availability, s *host.HostSnapshot) (*catalog.HostCPU, error) {
	h, err := HostCPUOf(a.reg, a.Set, "")
	if err != nil {
		return nil, err
	}
	if s != nil {
		h.Vendor, h.Family, h.Model, h.Stepping, h.ModelID = s.Vendor, s.Family, s.Model, s.Stepping, s.Brand
	}
	return h, nil
}

// HostCPUOf is HostCPU from an availability set alone (a fleet keeps
// only the set and the vendor of each host): the identity other than
// the vendor is unknown, which changes no feature.
func HostCPUOf(reg *feature.Registry, set feature.FeatureSet, vendor string) (*catalog.HostCPU, error) {
	h := &catalog.HostCPU{Features: set, Vendor: vendor}
	for _, n := range notInHostModel {
		if id, err := reg.Lookup(n); err == nil {
			h.Features = h.Features.Remove(id)
		}
	}
	u, err := reg.Set(unmigratableFeatures...)
	if err != nil {
		return nil, err
	}
	h.Unmigratable = u
	return h, nil
}

// ResolveConfig parses a QEMU -cpu spec for cat's release and resolves
// it on machine under accel for the host s (nil: none, with vendor the
// kvm host's CPU vendor or ""; host and max then resolve under tcg only,
// and enforce is judged under tcg only): the one entry point every command, the
// site, Starlark and libvirt/command-line importers resolve a
// configuration through. The warnings are QEMU's while parsing.
func ResolveConfig(cat *catalog.Catalog, spec, machine string, accel core.Accel, s *host.HostSnapshot, vendor string) (*catalog.Resolution, *catalog.CPUSpec, error) {
	cs, err := cat.ParseCPU(spec)
	if err != nil {
		return nil, nil, err
	}
	h := &catalog.HostCPU{Vendor: vendor}
	if s != nil {
		h.Vendor = s.Vendor
	}
	// The host's availability: what host and max start from, and what
	// enforce holds the CPU to. Under tcg it needs no host; under kvm
	// without a snapshot only named models resolve, enforce unjudged.
	var a *Availability
	needHost := catalog.IsHostModel(cs.Model) && cs.Model != "base"
	if err := cs.AccelError(accel); err != nil {
		return nil, nil, err
	}
	if needHost || cs.Enforce() && (accel == core.TCG || s != nil) {
		rel, _, err := CatalogRelease(cat)
		if err != nil {
			return nil, nil, err
		}
		if a, err = HostAvailability(HostLabel(s, ""), cat.Registry(), s, rel, accel); err != nil {
			return nil, nil, err
		}
	}
	r, err := resolveConfig(cat, cs, machine, accel, a, h, s)
	if err != nil {
		return nil, nil, err
	}
	if err := realizeChecks(cat, cs, r, a); err != nil {
		return nil, nil, err
	}
	return r, cs, nil
}

// resolveConfig resolves the parsed spec cs with the host's availability
// a (nil: unknown) and identity h; host and max start from a.
func resolveConfig(cat *catalog.Catalog, cs *catalog.CPUSpec, machine string, accel core.Accel, a *Availability, h *catalog.HostCPU, s *host.HostSnapshot) (*catalog.Resolution, error) {
	if catalog.IsHostModel(cs.Model) && cs.Model != "base" {
		if err := cs.AccelError(accel); err != nil {
			return nil, err
		}
		if a == nil {
			return nil, fmt.Errorf("cpu spec %q: model %s needs the host's availability under %s", cs.Text, cs.Model, accel)
		}
		vendor := h.Vendor
		var err error
		if h, err = HostCPU(a, s); err != nil {
			return nil, err
		}
		if h.Vendor == "" {
			h.Vendor = vendor
		}
	}
	r, err := cat.ResolveCPU(cs, machine, accel, h)
	if err != nil {
		return nil, err
	}
	r.Model = cs.Text
	return r, nil
}

// realizeChecks are the checks QEMU makes when it realizes the CPU, after
// parsing: with enforce=on, every feature the CPU has must be available
// (x86_cpu_realizefn: "TCG doesn't support requested features", or
// "Host doesn't support …" under kvm), and QEMU 7.2 refuses hv-vpindex
// without KVM ("kernel doesn't allow setting HyperV VP_INDEX", found
// by running it; 10.0 accepts it). a is nil when no availability is
// known (kvm without a host snapshot): enforce is then not judged here,
// but by the verdict against a host.
func realizeChecks(cat *catalog.Catalog, cs *catalog.CPUSpec, r *catalog.Resolution, a *Availability) error {
	if r.Accel != core.KVM && cs.Release == (core.Release{Major: 7, Minor: 2}) && cs.Prop("hv-vpindex", "off") == "on" {
		return fmt.Errorf("cpu spec %q: QEMU %s: kernel doesn't allow setting HyperV VP_INDEX (hv-vpindex needs kvm)", cs.Text, cs.Release)
	}
	if a == nil || !cs.Enforce() {
		return nil
	}
	missing := r.Features.Difference(a.Set).Intersect(a.Known)
	if missing.IsEmpty() {
		return nil
	}
	who := "TCG"
	if r.Accel == core.KVM {
		who = "Host"
	}
	return fmt.Errorf("cpu spec %q: %s doesn't support requested features (enforce): %s", cs.Text, who,
		strings.Join(cat.Registry().Names(missing), ", "))
}
