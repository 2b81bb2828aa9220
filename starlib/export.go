package starlib

import (
	"encoding/json"
	"fmt"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/cpupolicy/cpupolicy/export"
	"github.com/cpupolicy/cpupolicy/site"
)

// export(platform, hosts, pool="pool", machine=None, catalog=None) →
// struct(platform, pool, text, best_model, reasons, data): package
// export's configuration for a pool, as `cpupolicy export` writes it.
func exportBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var platform string
	var hv, machine starlark.Value
	pool := "pool"
	var cat *Catalog
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "platform", &platform, "hosts", &hv, "pool?", &pool,
		"machine?", &machine, "catalog??", &cat); err != nil {
		return nil, err
	}
	if cat == nil {
		if cat, err = r.catalogValue(b.Name()); err != nil {
			return nil, err
		}
	}
	if cat.relErr != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), cat.relErr)
	}
	mt, err := cat.machineArg(b.Name(), machine)
	if err != nil {
		return nil, err
	}
	list, err := r.listArg(b.Name(), "hosts", hv, "a list of hosts")
	if err != nil {
		return nil, err
	}
	in := export.Input{Catalog: cat.c, Release: cat.rel, Machine: mt.mt.Name, Pool: site.Pool{Name: pool}}
	for i := range list.Len() {
		h, ok := list.Index(i).(*Host)
		if !ok {
			return nil, fmt.Errorf("%s: hosts[%d]: got %s, want host", b.Name(), i, list.Index(i).Type())
		}
		in.Pool.Hosts = append(in.Pool.Hosts, h.site)
	}
	switch platform {
	case "nova", "proxmox", "libvirt", "kubevirt":
	default:
		return nil, fmt.Errorf("%s: platform: got %q, want nova, proxmox, libvirt or kubevirt", b.Name(), platform)
	}
	if platform != "proxmox" {
		if r.libvirtMap == nil {
			return nil, fmt.Errorf("%s: %s: libvirt's CPU map was not given to this script", b.Name(), platform)
		}
		if in.Map, err = r.libvirtMap(); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", b.Name(), platform, err)
		}
	}
	j, err := export.Judge(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	var v interface{ Text() []byte }
	var reasons []string
	switch platform {
	case "nova":
		c, e := export.Nova(j)
		v, err = c, e
		if e == nil {
			reasons = c.Reasons
		}
	case "proxmox":
		c, e := export.Proxmox(j)
		v, err = c, e
		if e == nil {
			reasons = c.Reasons
		}
	case "libvirt":
		c, e := export.Libvirt(j)
		v, err = c, e
		if e == nil {
			reasons = c.Reasons
		}
	default:
		c, e := export.KubeVirt(j, nil)
		v, err = c, e
		if e == nil {
			reasons = c.Reasons
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	d, err := starlark.Call(thread, starjson.Module.Members["decode"], starlark.Tuple{starlark.String(data)}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	rs := make(starlark.Tuple, len(reasons))
	for i, s := range reasons {
		rs[i] = starlark.String(s)
	}
	return starlarkstruct.FromStringDict(starlark.String("export"), starlark.StringDict{
		"platform": starlark.String(platform), "pool": starlark.String(pool), "text": starlark.String(v.Text()),
		"best_model": starlark.String(j.Best), "reasons": rs, "data": d}), nil
}
