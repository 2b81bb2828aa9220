package starlib

import (
	"fmt"
	"slices"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/site"
)

// Host is the Starlark value of a host snapshot, by layer:
//
//	host.name                     the name it is reported under
//	host.hw, host.os, host.kvm    feature_set: what the CPU has, what the
//	                              kernel enabled, what KVM reports
//	host.vendor, host.brand       CPUID vendor string and brand string
//	host.family, host.model, host.stepping
//	host.kernel                   kernel release ("" when unknown)
//	host.source                   "live", "cpuid-dump" or "qemu-expansion"
//	host.kvm_caps                 dict KVM_CAP_* number → value, None without KVM data
//	host.kvm_error                why KVM data is missing, or ""
//	host.available(accel="kvm", catalog=None)
//	                              feature_set a guest can get here, as the
//	                              catalog's QEMU release decides
//	host.abi_level(accel="kvm", catalog=None)
//	                              the x86-64 psABI level (0 … 4) of
//	                              available(): what a guest here can run
//
// Its type is "host". A Host is immutable and safe to share between
// threads; what available() computes is cached (in the site.Host).
type Host struct {
	site        *site.Host // computes and caches availability
	name        string
	snap        *host.HostSnapshot
	reg         *feature.Registry
	hw, os, kvm FeatureSet
	caps        starlark.Value
	availableFn *starlark.Builtin
	abiLevelFn  *starlark.Builtin
}

var _ starlark.HasAttrs = (*Host)(nil)

// NewHost returns the Starlark value of snapshot s, named name (the
// snapshot's hostname when name is ""), over registry reg (nil:
// feature.Builtin()).
func NewHost(name string, s *host.HostSnapshot, reg *feature.Registry) (*Host, error) {
	return WrapHost(site.NewHost(name, s), reg)
}

// WrapHost returns the Starlark value of the site's host h over registry
// reg (nil: feature.Builtin()); the value shares h's availability cache.
func WrapHost(h *site.Host, reg *feature.Registry) (*Host, error) {
	if reg == nil {
		reg = feature.Builtin()
	}
	name, s := h.Name, h.Snapshot
	hw, os, kvm, err := s.Sets(reg)
	if err != nil {
		return nil, fmt.Errorf("host %s: %v", name, err)
	}
	hv := &Host{site: h, name: name, snap: s, reg: reg,
		hw: FeatureSet{reg, hw}, os: FeatureSet{reg, os}, kvm: FeatureSet{reg, kvm},
		caps: starlark.None}
	hv.availableFn = starlark.NewBuiltin("available", hv.available).BindReceiver(hv)
	hv.abiLevelFn = starlark.NewBuiltin("abi_level", hv.abiLevel).BindReceiver(hv)
	if s.KVM != nil {
		caps := make([]int, 0, len(s.KVM.Capabilities))
		for c := range s.KVM.Capabilities {
			caps = append(caps, c)
		}
		slices.Sort(caps) // a dict iterates in insertion order: keep it numeric
		d := starlark.NewDict(len(caps))
		for _, c := range caps {
			_ = d.SetKey(starlark.MakeInt(c), starlark.MakeInt64(s.KVM.Capabilities[c]))
		}
		d.Freeze()
		hv.caps = d
	}
	return hv, nil
}

// Name returns the name the host is reported under.
func (h *Host) Name() string { return h.name }

// Snapshot returns the snapshot it wraps.
func (h *Host) Snapshot() *host.HostSnapshot { return h.snap }

// Site returns the site's host it wraps.
func (h *Host) Site() *site.Host { return h.site }

func (h *Host) String() string        { return fmt.Sprintf("<host %q>", h.name) }
func (h *Host) Type() string          { return "host" }
func (h *Host) Freeze()               {} // immutable
func (h *Host) Truth() starlark.Bool  { return true }
func (h *Host) Hash() (uint32, error) { return starlark.String(h.name).Hash() }

var hostAttrs = []string{"abi_level", "available", "brand", "family", "hw", "kernel", "kvm", "kvm_caps", "kvm_error", "model", "name", "os", "source", "stepping", "vendor"}

func (h *Host) AttrNames() []string { return hostAttrs }

func (h *Host) Attr(name string) (starlark.Value, error) {
	s := h.snap
	switch name {
	case "name":
		return starlark.String(h.name), nil
	case "hw":
		return h.hw, nil
	case "os":
		return h.os, nil
	case "kvm":
		return h.kvm, nil
	case "vendor":
		return starlark.String(s.Vendor), nil
	case "brand":
		return starlark.String(s.Brand), nil
	case "family":
		return starlark.MakeInt(s.Family), nil
	case "model":
		return starlark.MakeInt(s.Model), nil
	case "stepping":
		return starlark.MakeInt(s.Stepping), nil
	case "kernel":
		return starlark.String(s.Kernel), nil
	case "source":
		return starlark.String(s.Source), nil
	case "kvm_caps":
		return h.caps, nil
	case "kvm_error":
		return starlark.String(s.KVMError), nil
	case "available":
		return h.availableFn, nil
	case "abi_level":
		return h.abiLevelFn, nil
	}
	return nil, nil
}

// available(accel="kvm", catalog=None)
func (h *Host) available(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	accel := string(core.KVM)
	var cat *Catalog
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "accel?", &accel, "catalog?", &cat); err != nil {
		return nil, err
	}
	if cat == nil {
		if cat, err = r.catalogValue(b.Name()); err != nil {
			return nil, err
		}
	}
	a, err := h.availability(cat, accel)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return FeatureSet{h.reg, a.Set}, nil
}

// availability returns what cat's QEMU release lets a guest have on h
// under accel, computed once per (release, accelerator) by the site's
// host.
func (h *Host) availability(cat *Catalog, accel string) (*check.Availability, error) {
	if cat.reg != h.reg {
		return nil, fmt.Errorf("host %s and catalog %s are over different feature registries", h.name, cat.c.Name())
	}
	if cat.relErr != nil {
		return nil, cat.relErr
	}
	return h.site.Availability(h.reg, cat.rel, core.Accel(accel))
}
