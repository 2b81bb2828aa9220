package starlib

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/site"
)

// siteConfig is c as package site judges it.
func (c *Config) siteConfig() *site.Config {
	return &site.Config{Catalog: c.cat.c, Spec: c.spec, Machine: c.mt.mt.Name, Accel: c.accel, Features: c.Resolved(), PerHost: catalog.IsPerHost(c.spec.Model)}
}

// judgeConfig is site.Judge over hosts (nil entries: no host, only under
// tcg, whose availability does not depend on the host): the one verdict
// of `fleet`, `labels` and the policies.
func judgeConfig(cfg *Config, hosts []*Host) (*site.Verdict, error) {
	avail := make([]site.Availability, len(hosts))
	for i, h := range hosts {
		var a *check.Availability
		var err error
		if h == nil {
			if cfg.accel != string(core.TCG) {
				return nil, fmt.Errorf("host: None is only allowed under tcg")
			}
			a, err = cfg.cat.compute(nil, string(core.TCG))
		} else {
			a, err = h.availability(cfg.cat, cfg.accel)
		}
		if err != nil {
			return nil, err
		}
		avail[i] = site.Availability{Set: a.Set, Layers: a}
		if h != nil {
			avail[i].Host, avail[i].Vendor = h.name, h.snap.Vendor
		}
	}
	return site.Judge(cfg.siteConfig(), avail)
}

// layersDict is {feature: layer} for what hv lacks, in canonical order.
func layersDict(reg *feature.Registry, hv *site.HostVerdict) (*starlark.Dict, error) {
	d := starlark.NewDict(hv.Missing.Count())
	for id := range hv.Missing.All() { // canonical order, so the dict's order is too
		if err := d.SetKey(starlark.String(reg.Name(id)), starlark.String(hv.Layer(id))); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// verdict(config, hosts) → struct(runnable, migration_safe,
// model_migration_safe, hosts)
func verdictBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var cfg *Config
	var hv starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "config", &cfg, "hosts", &hv); err != nil {
		return nil, err
	}
	list, err := r.listArg(b.Name(), "hosts", hv, "a list of hosts")
	if err != nil {
		return nil, err
	}
	hosts := make([]*Host, list.Len())
	for i := range hosts {
		var ok bool
		if hosts[i], ok = list.Index(i).(*Host); !ok {
			return nil, fmt.Errorf("%s: hosts[%d]: got %s, want host", b.Name(), i, list.Index(i).Type())
		}
	}
	v, err := judgeConfig(cfg, hosts)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	reg := cfg.cat.reg
	out := make(starlark.Tuple, len(v.Hosts))
	for i := range v.Hosts {
		h := &v.Hosts[i]
		layers, err := layersDict(reg, h)
		if err != nil {
			return nil, err
		}
		layers.Freeze()
		out[i] = starlarkstruct.FromStringDict(starlark.String("host_verdict"), starlark.StringDict{
			"host": hosts[i], "runnable": starlark.Bool(h.Runnable()), "missing": FeatureSet{reg, h.Missing},
			"layers": layers, "vendor": starlark.String(h.Vendor), "guest": FeatureSet{reg, h.Guest}})
	}
	return starlarkstruct.FromStringDict(starlark.String("verdict"), starlark.StringDict{
		"runnable": starlark.Bool(v.Runnable()), "migration_safe": starlark.Bool(v.MigrationSafe()),
		"model_migration_safe": starlark.Bool(v.ModelMigrationSafe()), "hosts": out}), nil
}
