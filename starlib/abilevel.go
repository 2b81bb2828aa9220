package starlib

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/psabi"
)

// This file adapts core/psabi (the x86-64 psABI level of a feature set,
// of what a host gives a guest, and of a model) and core/fleet's
// best-model rule.

// levelOf is the level set reaches, as a Starlark int.
func levelOf(fn string, s FeatureSet) (starlark.Value, error) {
	sets, err := psabi.NewSets(s.reg)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	return starlark.MakeInt(int(sets.Of(s.set))), nil
}

// abi_level(features)
func abiLevel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s FeatureSet
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	return levelOf(b.Name(), s)
}

// host.abi_level(accel="kvm", catalog=None)
func (h *Host) abiLevel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := h.available(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return levelOf(b.Name(), v.(FeatureSet))
}

// model.abi_level(machine=None, accel="kvm")
func (m *Model) abiLevel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := m.featuresFn(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return levelOf(b.Name(), v.(FeatureSet))
}

// abi_level_features(level)
func abiLevelFeatures(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var l int
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l); err != nil {
		return nil, err
	}
	if l < 0 || l > int(psabi.Max) {
		return nil, fmt.Errorf("%s: got level %d, want 0 … %d", b.Name(), l, psabi.Max)
	}
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	set, err := r.reg.Set(psabi.Requires(psabi.Level(l))...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return FeatureSet{r.reg, set}, nil
}

// catalog.best_model(hosts, machine=None, accel="kvm"): fleet.Baseline's
// choice among the catalog's models for a pool of hosts, the model
// `baseline`, `fleet` and `labels` name; None when no model runs on all.
func (c *Catalog) bestModelFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var hosts starlark.Iterable
	var machine starlark.Value = starlark.None
	accel := string(core.KVM)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "hosts", &hosts, "machine?", &machine, "accel?", &accel); err != nil {
		return nil, err
	}
	mt, err := c.machineAccelArgs(b.Name(), machine, accel)
	if err != nil {
		return nil, err
	}
	var sets []feature.FeatureSet
	it := hosts.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		h, ok := x.(*Host)
		if !ok {
			return nil, fmt.Errorf("%s: hosts: got %s, want host", b.Name(), x.Type())
		}
		a, err := h.availability(c, accel)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		sets = append(sets, a.Set)
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("%s: hosts: got none, want at least one", b.Name())
	}
	cands, err := fleet.Candidates(c.c, mt.mt.Name, core.Accel(accel))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	best, _ := fleet.Baseline(cands, sets)
	if best < 0 {
		return starlark.None, nil
	}
	return c.byModel[cands[best].Name], nil
}
