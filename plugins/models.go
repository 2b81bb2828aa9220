package plugins

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

// ModelDef is a CPU model as a plugin defines it: the SDK's [sdk.Model]
// (QEMU's X86CPUDefinition, the one schema of a plugin's model), read
// back from the plugin, with the host's Expand. The definition is
// version 1; Versions change it (each version is the definition with the
// props of every version up to it applied, in order, as QEMU applies
// them). A model without Versions has the single version 1. A version's
// props are a feature with "on"/"off", or "model-id", "family", "model",
// "stepping", "level", "xlevel", "xlevel2", "vendor" with a value; any
// other property is kept in the definition's Props.
type ModelDef sdk.Model

// Expand resolves d to the catalog definitions of each of its names
// under reg (which must hold the plugin's own features: extend the
// registry first): the unversioned name first (an alias of -v1, as QEMU
// resolves it on current machine types), then each version, then
// version aliases. Source is left for the caller. Unknown feature names
// are errors, with the nearest known name.
func (d *ModelDef) Expand(reg *feature.Registry) ([]catalog.ModelDefinition, error) {
	var errs []error
	set, err := reg.Set(d.Features...)
	if err != nil {
		errs = append(errs, fmt.Errorf("model %s: %w", d.Name, err))
	}
	cur := catalog.ModelDefinition{
		Vendor: d.Vendor, Family: d.Family, Model: d.Model, Stepping: d.Stepping,
		Level: d.Level, XLevel: d.XLevel, XLevel2: d.XLevel2,
		ModelID: d.ModelID, Features: set,
	}
	versions := d.Versions
	if len(versions) == 0 {
		versions = []sdk.Version{{Version: 1}}
	}
	var defs, aliases []catalog.ModelDefinition
	for _, v := range versions {
		for _, p := range v.Props {
			if err := apply(&cur, reg, p); err != nil {
				errs = append(errs, fmt.Errorf("model %s-v%d: %w", d.Name, v.Version, err))
			}
		}
		def := cur
		def.Props = cloneProps(cur.Props)
		def.Name = fmt.Sprintf("%s-v%d", d.Name, v.Version)
		defs = append(defs, def)
		if v.Alias != "" {
			a := def
			a.Name, a.AliasOf = v.Alias, def.Name
			aliases = append(aliases, a)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	unversioned := defs[0]
	unversioned.Name, unversioned.AliasOf = d.Name, defs[0].Name
	out := append([]catalog.ModelDefinition{unversioned}, defs...)
	return append(out, aliases...), nil
}

func cloneProps(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// apply applies one version prop to def.
func apply(def *catalog.ModelDefinition, reg *feature.Registry, p sdk.Prop) error {
	num := func(dst *int) error {
		n, err := strconv.ParseInt(p.Value, 0, 32)
		if err != nil {
			return fmt.Errorf("prop %s=%q: not a number", p.Name, p.Value)
		}
		*dst = int(n)
		return nil
	}
	level := func(dst *uint32) error {
		n, err := strconv.ParseUint(p.Value, 0, 32)
		if err != nil {
			return fmt.Errorf("prop %s=%q: not a number", p.Name, p.Value)
		}
		*dst = uint32(n)
		return nil
	}
	switch p.Name {
	case "model-id":
		def.ModelID = p.Value
		return nil
	case "vendor":
		def.Vendor = p.Value
		return nil
	case "family":
		return num(&def.Family)
	case "model":
		return num(&def.Model)
	case "stepping":
		return num(&def.Stepping)
	case "level":
		def.LevelExplicit = true
		return level(&def.Level)
	case "xlevel":
		def.XLevelExplicit = true
		return level(&def.XLevel)
	case "xlevel2":
		def.XLevel2Explicit = true
		return level(&def.XLevel2)
	}
	on, boolean := onOff(p.Value)
	id, err := reg.Lookup(p.Name)
	switch {
	case err != nil && (!boolean || strings.HasPrefix(p.Name, "x-")):
		// Not a feature: a property such as x-force-cpuid-0x1f.
		if def.Props == nil {
			def.Props = map[string]string{}
		}
		def.Props[p.Name] = p.Value
		return nil
	case err != nil:
		return err // an unknown feature, with the nearest name
	case !boolean:
		return fmt.Errorf("prop %s=%q: a feature is on or off", p.Name, p.Value)
	case on:
		def.Features = def.Features.Add(id)
	default:
		def.Features = def.Features.Remove(id)
	}
	return nil
}

// onOff reads QEMU's boolean property values.
func onOff(v string) (on, ok bool) {
	switch strings.ToLower(v) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// modelsFrom converts and validates a decoded model list.
func modelsFrom(ws []wire.Model) ([]ModelDef, error) {
	var probs []string
	names := map[string]bool{}
	ms := make([]ModelDef, 0, len(ws))
	for _, w := range ws {
		m := ModelDef{
			Name: w.Name, Vendor: w.Vendor, Family: w.Family, Model: w.Model, Stepping: w.Stepping,
			Level: w.Level, XLevel: w.XLevel, XLevel2: w.XLevel2,
			ModelID: w.ModelID, Note: w.Note, Features: w.Features,
		}
		if m.Name == "" || strings.ContainsAny(m.Name, " ,=") {
			probs = append(probs, fmt.Sprintf("model name %q is not a QEMU model name", m.Name))
		} else if names[m.Name] {
			probs = append(probs, fmt.Sprintf("model %s defined twice", m.Name))
		}
		names[m.Name] = true
		last := 0
		for _, v := range w.Versions {
			mv := sdk.Version{Version: v.Version, Alias: v.Alias, Note: v.Note}
			if mv.Version <= last {
				probs = append(probs, fmt.Sprintf("model %s: version %d after version %d (want 1, 2, … in order)", m.Name, mv.Version, last))
			}
			last = mv.Version
			for _, p := range v.Props {
				mv.Props = append(mv.Props, sdk.Prop(p))
			}
			m.Versions = append(m.Versions, mv)
		}
		if len(m.Versions) > 0 && m.Versions[0].Version != 1 {
			probs = append(probs, fmt.Sprintf("model %s: versions start at %d, want 1", m.Name, m.Versions[0].Version))
		}
		ms = append(ms, m)
	}
	if len(probs) > 0 {
		sort.Strings(probs)
		return nil, fmt.Errorf("bad model list: %s", strings.Join(probs, "; "))
	}
	return ms, nil
}
