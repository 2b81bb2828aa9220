package libvirt

import (
	"fmt"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// DomainCaps is the CPU part of `virsh domcapabilities`: libvirt's
// host-model CPU for one QEMU binary, machine type and virt type, and
// the verdict QEMU gave each named model there (usable='yes|no'). It is
// what KubeVirt's node-labeller and Nova's libvirt driver read of a
// host.
type DomainCaps struct {
	// Path is the QEMU binary, Domain the virt type ("kvm" or "qemu"),
	// Machine the machine type the answers are for.
	Path, Domain, Machine, Arch string
	// HostModel is the host-model CPU, nil when libvirt reports none
	// (mode host-model supported='no', or a TCG domain).
	HostModel *HostModel
	// Models are the named models of mode custom, in file order.
	Models []UsableModel
}

// HostModel is <mode name='host-model'>: a model of libvirt's CPU map
// and the features libvirt adds (policy require) or removes (policy
// disable) to match what QEMU and KVM give a guest on the host.
type HostModel struct {
	Model string
	// Vendor is the vendor's name in the CPU map ("Intel", "AMD").
	Vendor   string
	Features []CPUFeature
	// Unknown are the features neither the CPU map nor the registry
	// knows (a newer libvirt's; ID unset). They are left out of Set.
	Unknown []CPUFeature
	// Pos is the line of its <model> element.
	Pos Pos
}

// UsableModel is one <model usable='…'> of mode custom: QEMU's verdict
// (query-cpu-definitions' unavailable-features) on the host.
type UsableModel struct {
	Name string
	// Usable is "yes", "no" or "unknown" as libvirt writes it.
	Usable string
	// Vendor is the model's vendor as libvirt names it ("Intel",
	// "unknown"); Canonical the versioned model an alias stands for.
	Vendor, Canonical string
	Deprecated        bool
	// Blockers are the libvirt names of the features QEMU could not
	// give (<blockers model='…'>), for usable='no'.
	Blockers []string
	Pos      Pos
}

// ParseDomainCaps reads `virsh domcapabilities` output. Feature names in
// the host-model CPU are resolved with m (libvirt's CPU map) first and
// the registry's libvirt names second.
func ParseDomainCaps(file string, data []byte, m *Map, reg *feature.Registry) (*DomainCaps, error) {
	root, err := parseXML(file, data)
	if err != nil {
		return nil, err
	}
	if root.name != "domainCapabilities" {
		return nil, errorf(root.pos, "root element is <%s>, want <domainCapabilities>", root.name)
	}
	dc := &DomainCaps{}
	var cpu *node
	for _, k := range root.kids {
		text := strings.TrimSpace(k.text.String())
		switch k.name {
		case "path":
			dc.Path = text
		case "domain":
			dc.Domain = text
		case "machine":
			dc.Machine = text
		case "arch":
			dc.Arch = text
		case "cpu":
			if cpu != nil {
				return nil, errorf(k.pos, "a second <cpu> (the first is at line %d)", cpu.pos.Line)
			}
			cpu = k
		}
	}
	if dc.Arch != "" && dc.Arch != "x86_64" && dc.Arch != "i686" {
		return nil, errorf(root.pos, "arch %q: only x86 is read", dc.Arch)
	}
	if cpu == nil {
		return nil, errorf(root.pos, "no <cpu> element")
	}
	seenModels := map[string]Pos{}
	for _, mode := range cpu.kids {
		if mode.name != "mode" {
			continue
		}
		name, _ := mode.attr("name")
		supported, _ := mode.attr("supported")
		switch name {
		case "host-model":
			if supported != "yes" {
				continue
			}
			if dc.HostModel != nil {
				return nil, errorf(mode.pos, "a second host-model mode (its model at line %d)", dc.HostModel.Pos.Line)
			}
			h, err := hostModel(mode, m, reg)
			if err != nil {
				return nil, err
			}
			dc.HostModel = h
		case "custom":
			if supported != "yes" {
				continue
			}
			models, err := usableModels(mode, seenModels)
			if err != nil {
				return nil, err
			}
			dc.Models = append(dc.Models, models...)
		}
	}
	return dc, nil
}

func hostModel(mode *node, m *Map, reg *feature.Registry) (*HostModel, error) {
	h := &HostModel{Pos: mode.pos}
	lv := libvirtNames(reg)
	seen := map[string]Pos{}
	for _, k := range mode.kids {
		switch k.name {
		case "model":
			if h.Model != "" {
				return nil, errorf(k.pos, "a second <model> in host-model")
			}
			h.Model, h.Pos = strings.TrimSpace(k.text.String()), k.pos
			if h.Model == "" {
				return nil, errorf(k.pos, "<model> names no model")
			}
		case "vendor":
			h.Vendor = strings.TrimSpace(k.text.String())
		case "feature":
			name, _ := k.attr("name")
			if name == "" {
				return nil, errorf(k.pos, "<feature> without a name")
			}
			policy, _ := k.attr("policy")
			if policy != "require" && policy != "disable" {
				return nil, errorf(k.pos, "feature %s: policy=%q, want require or disable", name, policy)
			}
			if first, dup := seen[name]; dup {
				return nil, errorf(k.pos, "feature %s given twice (first at line %d)", name, first.Line)
			}
			seen[name] = k.pos
			ids, ok := featureIDs(name, m, lv, reg)
			if !ok {
				h.Unknown = append(h.Unknown, CPUFeature{Policy: policy, Name: name, Pos: k.pos})
				continue
			}
			for id := range ids.All() {
				h.Features = append(h.Features, CPUFeature{Policy: policy, Name: name, ID: id, Pos: k.pos})
			}
		}
	}
	if h.Model == "" {
		return nil, errorf(mode.pos, "host-model names no model")
	}
	return h, nil
}

// featureIDs resolves a libvirt feature name: the CPU map's bits, else
// the registry's libvirt name, else QEMU's name: features libvirt added
// after the map and registry were written (gds-no and rfds-no, newer
// than libvirt 9.0) are spelled as QEMU spells them.
func featureIDs(name string, m *Map, lv *lvNames, reg *feature.Registry) (feature.FeatureSet, bool) {
	var s feature.FeatureSet
	if m != nil {
		if f, ok := m.Feature(name); ok && !f.IDs.IsEmpty() {
			return f.IDs, true
		}
	}
	if id, ok := lv.ids[name]; ok {
		return s.Add(id), true
	}
	if id, err := reg.Lookup(name); err == nil {
		return s.Add(id), true
	}
	return s, false
}

func usableModels(mode *node, seen map[string]Pos) ([]UsableModel, error) {
	var out []UsableModel
	index := map[string]int{}
	for _, k := range mode.kids {
		switch k.name {
		case "model":
			u := UsableModel{Name: strings.TrimSpace(k.text.String()), Pos: k.pos}
			if u.Name == "" {
				return nil, errorf(k.pos, "<model> names no model")
			}
			if first, dup := seen[u.Name]; dup {
				return nil, errorf(k.pos, "model %s listed twice (first at line %d)", u.Name, first.Line)
			}
			seen[u.Name] = k.pos
			u.Usable, _ = k.attr("usable")
			switch u.Usable {
			case "yes", "no", "unknown":
			default:
				return nil, errorf(k.pos, "model %s: usable=%q, want yes, no or unknown", u.Name, u.Usable)
			}
			u.Vendor, _ = k.attr("vendor")
			u.Canonical, _ = k.attr("canonical")
			d, _ := k.attr("deprecated")
			u.Deprecated = d == "yes"
			index[u.Name] = len(out)
			out = append(out, u)
		case "blockers":
			name, _ := k.attr("model")
			i, ok := index[name]
			if !ok {
				return nil, errorf(k.pos, "blockers of model %q, which is not listed before them", name)
			}
			for _, f := range k.kids {
				if f.name != "feature" {
					continue
				}
				fn, _ := f.attr("name")
				if fn == "" {
					return nil, errorf(f.pos, "<feature> without a name")
				}
				out[i].Blockers = append(out[i].Blockers, fn)
			}
		}
	}
	return out, nil
}

// Set returns the features of the host-model CPU: its model's in the CPU
// map m (inherited ones included, removed='yes' ones not), plus the
// required ones, minus the disabled ones — what `virsh
// hypervisor-cpu-baseline --features` expands it to.
func (h *HostModel) Set(m *Map) (feature.FeatureSet, error) {
	mo, ok := m.Model(h.Model)
	if !ok {
		return feature.FeatureSet{}, errorf(h.Pos, "host-model %s is not a model of libvirt's CPU map (a newer libvirt's map has it)", h.Model)
	}
	s := mo.Set
	for _, f := range h.Features {
		if f.Policy == "require" {
			s = s.Add(f.ID)
		}
	}
	for _, f := range h.Features {
		if f.Policy == "disable" {
			s = s.Remove(f.ID)
		}
	}
	return s, nil
}

// VendorString is the CPUID vendor string of the host-model's vendor in
// m ("GenuineIntel"), or "" when m does not name it.
func (h *HostModel) VendorString(m *Map) string {
	if v, ok := m.Vendor(h.Vendor); ok {
		return v.String
	}
	return ""
}

// String is the model with its required and disabled features, as a
// one-line summary.
func (h *HostModel) String() string {
	var b strings.Builder
	b.WriteString(h.Model)
	for _, f := range h.Features {
		sign := "+"
		if f.Policy == "disable" {
			sign = "-"
		}
		fmt.Fprintf(&b, ",%s%s", sign, f.Name)
	}
	return b.String()
}
