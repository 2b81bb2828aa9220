package starlib

import (
	"fmt"
	"strconv"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/site"
)

// Config is the Starlark value of a site configuration: a CPU in QEMU's
// -cpu syntax on a machine type under an accelerator, resolved.
//
//	cfg.cpu                     the -cpu spec as written
//	cfg.model                   model
//	cfg.machine                 machine_type
//	cfg.accel                   "kvm" or "tcg"
//	cfg.explicit                feature_set the spec turns on by name
//	                            (+feat, feat=on)
//	cfg.explicit_off            feature_set the spec turns off by name
//	cfg.resolved                feature_set the guest gets
//	cfg.implicit                feature_set the accelerator and machine type
//	                            add on their own, unasked: in resolved, not
//	                            in the model's definition, not explicit.
//	                            The definition is QEMU's expansion on the
//	                            newest machine type under tcg (model.definition),
//	                            so under kvm this holds KVM's paravirtual bits
//	                            and also vme, which TCG cannot emulate
//	cfg.implicit_off            feature_set they take away unasked
//	cfg.resolution              resolution (the CPUID properties too)
//
// Configs are equal when they have the same spec text, machine type,
// accelerator and catalog. Its type is "config".
type Config struct {
	cat   *Catalog
	spec  *catalog.CPUSpec
	model *Model
	mt    *MachineType
	accel string
	res   *Resolution

	explicit, explicitOff, implicit, implicitOff feature.FeatureSet
}

var (
	_ starlark.HasAttrs   = (*Config)(nil)
	_ starlark.Comparable = (*Config)(nil)
)

// NewConfig resolves the -cpu spec cpu on machine ("" for the newest
// pc-q35) under accel ("" for kvm) with catalog c.
func NewConfig(c *Catalog, cpu, machine, accel string) (*Config, error) {
	var m starlark.Value = starlark.None
	if machine != "" {
		m = starlark.String(machine)
	}
	if accel == "" {
		accel = string(core.KVM)
	}
	return c.newConfig("config", DefaultMaxLen, cpu, m, accel)
}

func (c *Catalog) newConfig(fn string, maxLen int, cpu string, machine starlark.Value, accel string) (*Config, error) {
	if len(cpu) > maxLen {
		return nil, fmt.Errorf("%s: cpu spec length %d exceeds the limit of %d: %w", fn, len(cpu), maxLen, ErrLimit)
	}
	spec, err := c.c.ParseCPU(cpu)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	m, err := c.modelArg(fn, starlark.String(spec.Model))
	if err != nil {
		return nil, err
	}
	mt, err := c.machineAccelArgs(fn, machine, accel)
	if err != nil {
		return nil, err
	}
	if catalog.IsPerHost(spec.Model) {
		// What host and max give depends on the host: the config holds
		// what the spec asks of every host, site.Judge the rest.
		sc, err := site.PerHostConfig(c.c, spec, mt.mt.Name, accel)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
		on, off := spec.Explicit()
		res := &catalog.Resolution{Model: spec.Text, Machine: mt.mt.Name, Accel: core.Accel(accel), Features: sc.Features}
		return &Config{cat: c, spec: spec, model: m, mt: mt, accel: accel,
			res:      &Resolution{res: res, features: FeatureSet{c.reg, sc.Features}},
			explicit: on, explicitOff: off}, nil
	}
	res, err := c.c.ResolveSpec(spec, mt.mt.Name, core.Accel(accel), "")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	res.Model = spec.Text
	added, removed, err := c.c.Implicit(m.m.Name, mt.mt.Name, core.Accel(accel))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	on, off := spec.Explicit()
	f := res.Features
	return &Config{cat: c, spec: spec, model: m, mt: mt, accel: accel,
		res:      &Resolution{res: res, features: FeatureSet{c.reg, f}},
		explicit: on, explicitOff: off,
		implicit:    added.Intersect(f).Difference(on),
		implicitOff: removed.Difference(f).Difference(off),
	}, nil
}

// Resolved returns the features the guest gets.
func (c *Config) Resolved() feature.FeatureSet { return c.res.features.set }

func (c *Config) String() string {
	return fmt.Sprintf("config(cpu=%s, machine=%s, accel=%s)", strconv.Quote(c.spec.Text), strconv.Quote(c.mt.mt.Name), strconv.Quote(c.accel))
}
func (c *Config) Type() string          { return "config" }
func (c *Config) Freeze()               {} // immutable
func (c *Config) Truth() starlark.Bool  { return true }
func (c *Config) Hash() (uint32, error) { return starlark.String(c.spec.Text).Hash() }

func (c *Config) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	d := y.(*Config)
	eq := c.cat.c == d.cat.c && c.spec.Text == d.spec.Text && c.mt.mt.Name == d.mt.mt.Name && c.accel == d.accel
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("%s %s %s not implemented", c.Type(), op, d.Type())
}

var configAttrs = []string{"accel", "cpu", "explicit", "explicit_off", "implicit", "implicit_off", "machine", "model", "per_host", "resolution", "resolved"}

func (c *Config) AttrNames() []string { return configAttrs }

func (c *Config) Attr(name string) (starlark.Value, error) {
	switch name {
	case "cpu":
		return starlark.String(c.spec.Text), nil
	case "model":
		return c.model, nil
	case "machine":
		return c.mt, nil
	case "accel":
		return starlark.String(c.accel), nil
	case "explicit":
		return FeatureSet{c.cat.reg, c.explicit}, nil
	case "explicit_off":
		return FeatureSet{c.cat.reg, c.explicitOff}, nil
	case "resolved":
		return c.res.features, nil
	case "per_host":
		return starlark.Bool(catalog.IsPerHost(c.spec.Model)), nil
	case "implicit":
		return FeatureSet{c.cat.reg, c.implicit}, nil
	case "implicit_off":
		return FeatureSet{c.cat.reg, c.implicitOff}, nil
	case "resolution":
		return c.res, nil
	}
	return nil, nil
}

// config(cpu, machine=None, accel="kvm", catalog=None)
func makeConfig(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var (
		cpu     starlark.Value
		machine starlark.Value = starlark.None
		accel                  = string(core.KVM)
		cat     *Catalog
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "cpu", &cpu, "machine?", &machine, "accel?", &accel, "catalog??", &cat); err != nil {
		return nil, err
	}
	if m, ok := cpu.(*Model); ok {
		cpu = starlark.String(m.m.Name)
		if cat == nil {
			cat = m.cat
		}
	}
	text, ok := starlark.AsString(cpu)
	if !ok {
		return nil, fmt.Errorf("%s: cpu: got %s, want string or model", b.Name(), cpu.Type())
	}
	if cat == nil {
		if cat, err = r.catalogValue(b.Name()); err != nil {
			return nil, err
		}
	}
	return cat.newConfig(b.Name(), r.maxLen, text, machine, accel)
}

// judge reads the (config_or_model, host, machine=None, accel=None)
// arguments of runnable and why and returns the verdict on the host (the
// one site.Judge gives every command).
func judge(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (*Catalog, *site.HostVerdict, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, nil, err
	}
	var (
		x, hv, machine, accelV starlark.Value = nil, nil, starlark.None, starlark.None
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "config", &x, "host", &hv, "machine?", &machine, "accel?", &accelV); err != nil {
		return nil, nil, err
	}
	accel := string(core.KVM)
	if accelV != starlark.None {
		s, ok := starlark.AsString(accelV)
		if !ok {
			return nil, nil, fmt.Errorf("%s: accel: got %s, want string", b.Name(), accelV.Type())
		}
		accel = s
	}
	var cfg *Config
	switch v := x.(type) {
	case *Config:
		if machine != starlark.None || accelV != starlark.None {
			return nil, nil, fmt.Errorf("%s: a config has its own machine type and accelerator; pass them to config() instead", b.Name())
		}
		cfg = v
	case *Model:
		if cfg, err = v.cat.newConfig(b.Name(), r.maxLen, v.m.Name, machine, accel); err != nil {
			return nil, nil, err
		}
	case starlark.String:
		cat, err := r.catalogValue(b.Name())
		if err != nil {
			return nil, nil, err
		}
		if cfg, err = cat.newConfig(b.Name(), r.maxLen, string(v), machine, accel); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("%s: config: got %s, want config, model or string", b.Name(), x.Type())
	}
	var h *Host
	switch v := hv.(type) {
	case *Host:
		h = v
	case starlark.NoneType:
	default:
		return nil, nil, fmt.Errorf("%s: host: got %s, want host", b.Name(), hv.Type())
	}
	v, err := judgeConfig(cfg, []*Host{h})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return cfg.cat, &v.Hosts[0], nil
}

// runnable(config_or_model, host, machine=None, accel=None) → (bool, missing)
func runnable(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	cat, v, err := judge(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return starlark.Tuple{starlark.Bool(v.Runnable()), FeatureSet{cat.reg, v.Missing}}, nil
}

// why(config_or_model, host, machine=None, accel=None) → {feature: layer}
func why(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	cat, v, err := judge(thread, b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return layersDict(cat.reg, v)
}
