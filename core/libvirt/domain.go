package libvirt

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// CPU is a domain's <cpu mode='custom'> element: a named model and
// features switched on or off, which libvirt turns into QEMU's -cpu
// option ([CPU.Spec]).
type CPU struct {
	// Match is the match attribute: "exact" (the default) or "strict".
	Match string
	Model string
	// Fallback is the model's fallback attribute ("allow", the default,
	// or "forbid"); VendorID its vendor_id, "" when absent.
	Fallback, VendorID string
	// Vendor is the <vendor> element: the host CPU vendor libvirt
	// requires ("Intel", "AMD"), or "".
	Vendor   string
	Features []CPUFeature // in document order
	Pos      Pos          // of the <cpu> element
}

// CPUFeature is a <feature policy='require' name='vmx'/>.
type CPUFeature struct {
	// Policy is "require", "force", "disable" or "forbid".
	Policy string
	Name   string // libvirt's name
	ID     feature.ID
	Pos    Pos
}

// The policies libvirt accepts in a domain's <cpu mode='custom'>, and
// whether each switches the feature on for the guest. ("optional" is
// resolved by libvirt against the host when the domain starts, so it
// names no fixed -cpu option; it is refused.)
var policies = map[string]bool{"require": true, "force": true, "disable": false, "forbid": false}

// ParseCPU reads a <cpu> element, alone or inside a <domain>, from
// file's data. Feature names are libvirt's (the registry's libvirt
// names); an unknown one is an error that suggests the nearest.
func ParseCPU(file string, data []byte, reg *feature.Registry) (*CPU, error) {
	root, err := parseXML(file, data)
	if err != nil {
		return nil, err
	}
	n := root
	switch root.name {
	case "cpu":
	case "domain":
		n = nil
		for _, k := range root.kids {
			if k.name != "cpu" {
				continue
			}
			if n != nil {
				return nil, errorf(k.pos, "a second <cpu> in the domain (the first is at line %d)", n.pos.Line)
			}
			n = k
		}
		if n == nil {
			return nil, errorf(root.pos, "the domain has no <cpu> element")
		}
	default:
		return nil, errorf(root.pos, "root element is <%s>, want <cpu> or <domain>", root.name)
	}
	c := &CPU{Pos: n.pos, Match: "exact"}
	if mode, ok := n.attr("mode"); ok && mode != "custom" {
		return nil, errorf(n.pos, "cpu mode %q names no CPU model: only mode='custom' is an offer of a model", mode)
	}
	if v, ok := n.attr("match"); ok {
		switch v {
		case "exact", "strict":
			c.Match = v
		case "minimum":
			return nil, errorf(n.pos, "cpu match='minimum' lets libvirt give the guest more than it names; only exact and strict are offers")
		default:
			return nil, errorf(n.pos, "cpu match=%q, want exact or strict", v)
		}
	}
	lv := libvirtNames(reg)
	seen := map[string]Pos{}
	var model *node
	for _, k := range n.kids {
		switch k.name {
		case "model":
			if model != nil {
				return nil, errorf(k.pos, "a second <model> (the first is at line %d)", model.pos.Line)
			}
			model = k
			c.Model = strings.TrimSpace(k.text.String())
			if c.Model == "" {
				return nil, errorf(k.pos, "<model> names no model")
			}
			if strings.ContainsAny(c.Model, ",= \t\n") {
				return nil, errorf(k.pos, "model name %q: not a CPU model name", c.Model)
			}
			c.Fallback = "allow"
			if v, ok := k.attr("fallback"); ok {
				if v != "allow" && v != "forbid" {
					return nil, errorf(k.pos, "model fallback=%q, want allow or forbid", v)
				}
				c.Fallback = v
			}
			if v, ok := k.attr("vendor_id"); ok {
				if len(v) != 12 || strings.ContainsAny(v, ",") {
					return nil, errorf(k.pos, "model vendor_id=%q: want 12 characters, no comma", v)
				}
				c.VendorID = v
			}
		case "vendor":
			c.Vendor = strings.TrimSpace(k.text.String())
		case "feature":
			name, _ := k.attr("name")
			if name == "" {
				return nil, errorf(k.pos, "<feature> without a name")
			}
			// A guest CPU's feature without a policy is required.
			policy := "require"
			if v, ok := k.attr("policy"); ok {
				if _, known := policies[v]; !known {
					return nil, errorf(k.pos, "feature %s: policy=%q, want require, force, disable or forbid", name, v)
				}
				policy = v
			}
			id, ok := lv.ids[name]
			if !ok {
				hint := ""
				if s := suggest.Nearest(name, lv.names); s != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", s)
				}
				return nil, errorf(k.pos, "unknown libvirt feature %q%s", name, hint)
			}
			if first, dup := seen[name]; dup {
				return nil, errorf(k.pos, "feature %s given twice (first at line %d)", name, first.Line)
			}
			seen[name] = k.pos
			c.Features = append(c.Features, CPUFeature{Policy: policy, Name: name, ID: id, Pos: k.pos})
		}
	}
	if model == nil {
		return nil, errorf(n.pos, "<cpu> has no <model>")
	}
	return c, nil
}

// Spec returns the QEMU -cpu option libvirt builds for c: the model,
// then, in document order, +NAME for each required or forced feature and
// -NAME for each disabled or forbidden one, NAME being QEMU's canonical
// name; then vendor=VENDOR_ID when the model sets one.
func (c *CPU) Spec(reg *feature.Registry) string {
	parts := []string{c.Model}
	for _, f := range c.Features {
		sign := "-"
		if policies[f.Policy] {
			sign = "+"
		}
		parts = append(parts, sign+reg.Name(f.ID))
	}
	if c.VendorID != "" {
		parts = append(parts, "vendor="+c.VendorID)
	}
	return strings.Join(parts, ",")
}

// Forbidden returns the features with policy forbid: libvirt refuses to
// start the domain on a host whose CPU has one, whatever the guest gets.
func (c *CPU) Forbidden() feature.FeatureSet {
	var s feature.FeatureSet
	for _, f := range c.Features {
		if f.Policy == "forbid" {
			s = s.Add(f.ID)
		}
	}
	return s
}

// lvNames is the registry's libvirt names.
type lvNames struct {
	ids   map[string]feature.ID
	names []string // sorted
}

var lvCache sync.Map // *feature.Registry → *lvNames

func libvirtNames(reg *feature.Registry) *lvNames {
	if v, ok := lvCache.Load(reg); ok {
		return v.(*lvNames)
	}
	lv := &lvNames{ids: map[string]feature.ID{}}
	for _, f := range reg.Features() {
		if f.Libvirt != "" {
			lv.ids[f.Libvirt] = f.ID
			lv.names = append(lv.names, f.Libvirt)
		}
	}
	sort.Strings(lv.names)
	v, _ := lvCache.LoadOrStore(reg, lv)
	return v.(*lvNames)
}
