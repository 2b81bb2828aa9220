package plugins

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// This file joins loaded plugins to the core: their features to a
// registry, their models to a catalog, their decoders to host snapshots.
// The order is always: Registry first (the other two need its names).

// Registry returns reg extended with the features of every plugin in ps,
// in order. A feature name (or alias, or CPUID location) that clashes with
// a built-in feature or another plugin's is an error naming both.
func Registry(reg *feature.Registry, ps []*Plugin) (*feature.Registry, error) {
	files := map[string]string{}
	for _, p := range ps {
		if prev, dup := files[p.manifest.Name]; dup {
			return nil, &Error{File: p.file, Op: "join", Kind: ErrPlugin,
				Detail: fmt.Sprintf("plugin %s is already loaded from %s", p.manifest.Name, prev)}
		}
		files[p.manifest.Name] = p.file
		fs := p.Features()
		if len(fs) == 0 {
			continue
		}
		n, err := reg.Extend(p.manifest.Name, fs...)
		if err != nil {
			return nil, &Error{File: p.file, Op: "join", Kind: ErrPlugin, Detail: err.Error()}
		}
		reg = n
	}
	return reg, nil
}

// definitions returns the models of every plugin in ps as catalog model
// definitions over reg (which Registry extended with their features),
// each with Source "plugin NAME". Every name of a model is a definition:
// the unversioned name, each -vN and each version alias.
func definitions(ctx context.Context, reg *feature.Registry, ps []*Plugin) ([]catalog.ModelDefinition, error) {
	var out []catalog.ModelDefinition
	for _, p := range ps {
		ms, err := p.Models(ctx)
		if err != nil {
			return nil, err
		}
		for i := range ms {
			defs, err := ms[i].Expand(reg)
			if err != nil {
				return nil, &Error{File: p.file, Op: "models", Kind: ErrPlugin, Detail: oneLine(err)}
			}
			for _, d := range defs {
				d.Source = "plugin " + p.manifest.Name
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// Catalog returns cat with the models of ps added (catalog.WithModels),
// and the notices WithModels gives for models cat already has. reg is
// Registry's result.
func Catalog(ctx context.Context, cat *catalog.Catalog, reg *feature.Registry, ps []*Plugin) (*catalog.Catalog, []string, error) {
	defs, err := definitions(ctx, reg, ps)
	if err != nil {
		return nil, nil, err
	}
	if len(defs) == 0 && reg == cat.Registry() {
		return cat, nil, nil
	}
	return cat.WithModels(reg, defs)
}

// DecodeSnapshot adds to s what each plugin's decoder finds: in the hw
// layer the features the raw CPUID shows, in the os layer those of them
// the kernel did not hide (a feature whose Linux flag /proc/cpuinfo
// would show must be there; others cannot be told apart and count as
// kept), and in the kvm layer what KVM_GET_SUPPORTED_CPUID shows. A
// plugin is asked only about hosts of its vendors (all hosts when it
// names none). Names must be in reg. s is changed in place; its layers
// stay sorted, and s records each plugin that decoded it (name, version,
// module hash): a plugin whose module s records already is not run again,
// since what it finds is in the layers. So a snapshot saved after
// decoding (probe -o) is read later without starting any plugin.
//
// A record of another module of the same plugin is replaced; the names it
// found stay in the layers, with the new module's added.
func DecodeSnapshot(ctx context.Context, reg *feature.Registry, ps []*Plugin, s *host.HostSnapshot) error {
	if len(s.CPUID) == 0 && s.KVM == nil {
		return nil
	}
	cpuinfo := map[string]bool{}
	for _, f := range s.CPUInfoFlags {
		cpuinfo[f] = true
	}
	var hw, os, kvm feature.FeatureSet
	var decoded []*Plugin
	for _, p := range ps {
		if !p.handles(s.Vendor) || s.DecodedBy(p.manifest.Name, p.hash) {
			continue
		}
		decoded = append(decoded, p)
		if len(s.CPUID) > 0 {
			found, err := p.decodeSet(ctx, reg, s.Leaves())
			if err != nil {
				return err
			}
			hw = hw.Union(found)
			for id := range found.All() {
				f := reg.Feature(id)
				if s.CPUInfoFlags == nil || f.Linux == "" || cpuinfo[f.Linux] {
					os = os.Add(id)
				}
			}
		}
		if s.KVM != nil {
			found, err := p.decodeSet(ctx, reg, s.SupportedLeaves())
			if err != nil {
				return err
			}
			kvm = kvm.Union(found)
		}
	}
	var err error
	if s.Features.HW, err = addNames(reg, s.Features.HW, hw); err != nil {
		return err
	}
	if s.Features.OS, err = addNames(reg, s.Features.OS, os); err != nil {
		return err
	}
	if s.KVM != nil {
		if s.Features.KVM, err = addNames(reg, s.Features.KVM, kvm); err != nil {
			return err
		}
	}
	for _, p := range decoded {
		s.RecordPlugin(host.PluginRecord{Name: p.manifest.Name, Version: p.manifest.Version, Module: p.hash})
	}
	return nil
}

// decodeSet is Decode's answer as a set of reg's features; a name reg
// does not know is the plugin's fault.
func (p *Plugin) decodeSet(ctx context.Context, reg *feature.Registry, leaves cpuid.Leaves) (feature.FeatureSet, error) {
	var set feature.FeatureSet
	names, err := p.Decode(ctx, leaves)
	if err != nil {
		return set, err
	}
	for _, n := range names {
		id, err := reg.Lookup(n)
		if err != nil {
			return set, &Error{File: p.file, Op: "decode", Kind: ErrABI, Detail: "reply names " + oneLine(err)}
		}
		set = set.Add(id)
	}
	return set, nil
}

// handles reports whether the plugin decodes hosts of vendor.
func (p *Plugin) handles(vendor string) bool {
	if len(p.manifest.Vendors) == 0 {
		return true
	}
	for _, v := range p.manifest.Vendors {
		if v == vendor {
			return true
		}
	}
	return false
}

// addNames returns the names of layer with the features of add, in the
// registry's canonical order (a snapshot's layers are).
func addNames(reg *feature.Registry, layer []string, add feature.FeatureSet) ([]string, error) {
	if add.IsEmpty() {
		return layer, nil
	}
	set, err := reg.Set(layer...)
	if err != nil {
		return nil, err
	}
	return reg.Names(set.Union(add)), nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// Checks are the checks of loaded plugins, called by "<plugin>.<check>"
// name: what Starlark's plugins.call reaches (it satisfies
// starlib.Plugins).
type Checks []*Plugin

// Checks returns every "<plugin>.<check>" name, sorted.
func (cs Checks) Checks() []string {
	var out []string
	for _, p := range cs {
		for _, c := range p.manifest.Checks {
			out = append(out, p.manifest.Name+"."+c.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Call runs the check name ("<plugin>.<check>") with a JSON input.
func (cs Checks) Call(ctx context.Context, name string, input []byte) ([]byte, error) {
	plugin, check, ok := strings.Cut(name, ".")
	if !ok {
		return nil, fmt.Errorf("check name %q: want PLUGIN.CHECK", name)
	}
	for _, p := range cs {
		if p.manifest.Name == plugin {
			return p.Check(ctx, check, input)
		}
	}
	return nil, fmt.Errorf("no plugin %q is loaded", plugin)
}
