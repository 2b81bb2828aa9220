package libvirt

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// CPU is a domain's <cpu> element in any of libvirt's modes, which
// libvirt turns into QEMU's -cpu option ([CPU.Spec]):
//
//   - custom: a named model and features switched on or off;
//   - host-model: the libvirt model closest to the host CPU, and the
//     features that make up the difference ([Map.HostModel]);
//   - host-passthrough: QEMU's "host" model;
//   - maximum: QEMU's "max" model.
type CPU struct {
	// Mode is "custom" (the default), "host-model", "host-passthrough"
	// or "maximum".
	Mode string
	// Match is custom's match attribute: "exact" (the default),
	// "strict" or "minimum" (the model is what the guest needs at
	// least: libvirt gives it the host-model CPU, and refuses to start
	// the domain on a host that lacks one of the model's features).
	Match string
	// Check is the check attribute: "none", "partial" or "full", or ""
	// when absent (libvirt then picks partial for custom and
	// host-model, none for host-passthrough and maximum). It says what
	// libvirt itself verifies before or after starting QEMU.
	Check string
	// Migratable is host-passthrough's and maximum's migratable
	// attribute, "on" or "off"; libvirt sets "on" when it is absent
	// (its QEMU driver does so for every QEMU that has the property,
	// 2.12 and later).
	Migratable string
	// Model is the <model> text: the model for custom, "" otherwise.
	Model string
	// Fallback is the model's fallback attribute ("allow", the default,
	// or "forbid"); VendorID its vendor_id, "" when absent.
	Fallback, VendorID string
	// Translated is the model the domain named when Translate replaced
	// it by one QEMU has, else "".
	Translated string
	// Vendor is the <vendor> element: the host CPU vendor libvirt
	// requires ("Intel", "AMD"), or "".
	Vendor   string
	Features []CPUFeature // in document order
	Pos      Pos          // of the <cpu> element
	// DomainType is the <domain type=…> around the <cpu> ("kvm",
	// "qemu", …), "" for a <cpu> alone; Machine its <os><type
	// machine=…>, "" when absent.
	DomainType, Machine string
	// Extra are the -cpu options libvirt makes of the domain's
	// <features> ([domainFeatures]), in libvirt's order: kvm-pv-eoi
	// (<apic eoi>), kvm-pv-unhalt (<pvspinlock>), the <hyperv>
	// enlightenments, <kvm>'s kvm=off, kvm-hint-dedicated and
	// kvm-poll-control, and <pmu>'s pmu.
	Extra []string
	// Cache is the <cache mode=…> ("emulate", "passthrough",
	// "disable") or ""; PhysAddr the -cpu options of <maxphysaddr>
	// (host-phys-bits=on[,host-phys-bits-limit=N] or phys-bits=N).
	Cache    string
	PhysAddr []string
	// DefaultModel is set when the domain names no model (no <cpu>,
	// or one with only a topology): the guest gets QEMU's default,
	// qemu64.
	DefaultModel bool
}

// Accel is the accelerator of the domain's type: kvm for "kvm", tcg for
// "qemu" (libvirt's name for emulation); "" for a <cpu> alone or another
// hypervisor.
func (c *CPU) Accel() core.Accel {
	switch c.DomainType {
	case "kvm":
		return core.KVM
	case "qemu":
		return core.TCG
	}
	return ""
}

// Notes says what of c the -cpu option does not carry: libvirt's own
// checks when it starts the domain.
func (c *CPU) Notes() []string {
	var out []string
	check := c.Check
	if check == "" && (c.Mode == "host-passthrough" || c.Mode == "maximum") {
		check = "none"
	}
	if check == "none" {
		out = append(out, "check='none': libvirt leaves the CPU to QEMU, which starts the guest without the features it cannot give (a warning each)")
	}
	if c.DefaultModel {
		out = append(out, "the domain names no CPU model: QEMU's default, qemu64")
	}

	if c.Vendor != "" {
		out = append(out, fmt.Sprintf("<vendor>%s</vendor>: libvirt also requires the host CPU's vendor to be %s; not judged here", c.Vendor, c.Vendor))
	}
	return out
}

// NeedsHost reports whether c's -cpu option depends on the host
// (host-model, match='minimum', optional features): [CPU.Spec] then
// needs a Host.
func (c *CPU) NeedsHost() bool {
	if c.Mode == "host-model" || c.Match == "minimum" {
		return true
	}
	for _, f := range c.Features {
		if f.Policy == "optional" {
			return true
		}
	}
	return false
}

// CPUFeature is a <feature policy='require' name='vmx'/>.
type CPUFeature struct {
	// Policy is "require", "force", "optional", "disable" or "forbid".
	Policy string
	Name   string // libvirt's name
	ID     feature.ID
	Pos    Pos
}

// The policies libvirt accepts, and whether each switches the feature on
// for the guest. "optional" is on when the host can give the guest the
// feature and off otherwise: libvirt decides it when the domain starts
// ([CPU.Spec] with a host).
var policies = map[string]bool{"require": true, "force": true, "optional": true, "disable": false, "forbid": false}

// ErrNeedsHost is returned by [CPU.Spec] for a <cpu> whose -cpu option
// depends on the host (host-model, match='minimum', optional features)
// when no host is given.
var ErrNeedsHost = errors.New("the -cpu option depends on the host")

// ParseCPU reads a <cpu> element, alone or inside a <domain>, from
// file's data. Feature names are libvirt's (the registry's libvirt
// names); an unknown one is an error that suggests the nearest.
func ParseCPU(file string, data []byte, reg *feature.Registry) (*CPU, error) {
	root, err := parseXML(file, data)
	if err != nil {
		return nil, err
	}
	n := root
	var domainType, machine string
	var extra []string
	switch root.name {
	case "cpu":
	case "domain":
		domainType, _ = root.attr("type")
		n = nil
		for _, k := range root.kids {
			if k.name == "os" {
				for _, o := range k.kids {
					if o.name == "type" {
						machine, _ = o.attr("machine")
					}
				}
			}
			if k.name == "features" {
				if extra, err = domainFeatures(k); err != nil {
					return nil, err
				}
			}
			if k.name != "cpu" {
				continue
			}
			if n != nil {
				return nil, errorf(k.pos, "a second <cpu> in the domain (the first is at line %d)", n.pos.Line)
			}
			n = k
		}
		if n == nil {
			// No <cpu>: QEMU's default model, with what the
			// domain's <features> add.
			return &CPU{Pos: root.pos, Mode: "custom", Match: "exact", Model: "qemu64", Fallback: "allow", DefaultModel: true,
				DomainType: domainType, Machine: machine, Extra: extra}, nil
		}
	default:
		return nil, errorf(root.pos, "root element is <%s>, want <cpu> or <domain>", root.name)
	}
	c := &CPU{Pos: n.pos, Mode: "custom", DomainType: domainType, Machine: machine, Extra: extra}
	if v, ok := n.attr("mode"); ok {
		switch v {
		case "custom", "host-model", "host-passthrough", "maximum":
			c.Mode = v
		default:
			return nil, errorf(n.pos, "cpu mode=%q, want custom, host-model, host-passthrough or maximum", v)
		}
	}
	if v, ok := n.attr("match"); ok {
		if c.Mode != "custom" {
			return nil, errorf(n.pos, "cpu match=%q: only mode='custom' takes match", v)
		}
		switch v {
		case "exact", "strict", "minimum":
			c.Match = v
		default:
			return nil, errorf(n.pos, "cpu match=%q, want exact, strict or minimum", v)
		}
	} else if c.Mode == "custom" {
		c.Match = "exact"
	}
	if v, ok := n.attr("check"); ok {
		switch v {
		case "none", "partial", "full":
			c.Check = v
		default:
			return nil, errorf(n.pos, "cpu check=%q, want none, partial or full", v)
		}
	}
	if v, ok := n.attr("migratable"); ok {
		if c.Mode != "host-passthrough" && c.Mode != "maximum" {
			return nil, errorf(n.pos, "cpu migratable=%q: only host-passthrough and maximum take migratable", v)
		}
		switch v {
		case "on", "off":
			c.Migratable = v
		default:
			return nil, errorf(n.pos, "cpu migratable=%q, want on or off", v)
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
			if c.Model != "" && c.Mode != "custom" {
				// libvirt ignores the model name of the other
				// modes; an offer that names one is misread.
				return nil, errorf(k.pos, "<model>%s</model>: mode=%q takes no model name", c.Model, c.Mode)
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
		case "cache":
			v, _ := k.attr("mode")
			if v != "emulate" && v != "passthrough" && v != "disable" {
				return nil, errorf(k.pos, "<cache mode=%q>, want emulate, passthrough or disable", v)
			}
			if l, ok := k.attr("level"); ok && l != "3" {
				return nil, errorf(k.pos, "<cache level=%q>: QEMU emulates level 3 only", l)
			}
			c.Cache = v
		case "maxphysaddr":
			num := func(attr string) (string, bool, error) {
				v, ok := k.attr(attr)
				if !ok {
					return "", false, nil
				}
				if b, err := strconv.ParseUint(v, 10, 8); err != nil || b == 0 || b > 52 {
					return "", true, errorf(k.pos, "<maxphysaddr %s=%q>: want 1 to 52 bits", attr, v)
				}
				return v, true, nil
			}
			bits, hasBits, err := num("bits")
			if err != nil {
				return nil, err
			}
			limit, hasLimit, err := num("limit")
			if err != nil {
				return nil, err
			}
			switch v, _ := k.attr("mode"); v {
			case "passthrough":
				c.PhysAddr = []string{"host-phys-bits=on"}
				if hasLimit {
					c.PhysAddr = append(c.PhysAddr, "host-phys-bits-limit="+limit)
				}
			case "emulate":
				if !hasBits {
					return nil, errorf(k.pos, "<maxphysaddr mode='emulate'> without bits")
				}
				c.PhysAddr = []string{"phys-bits=" + bits}
			default:
				return nil, errorf(k.pos, "<maxphysaddr mode=%q>, want passthrough or emulate", v)
			}
		case "feature":
			name, _ := k.attr("name")
			if name == "" {
				return nil, errorf(k.pos, "<feature> without a name")
			}
			// A guest CPU's feature without a policy is required.
			policy := "require"
			if v, ok := k.attr("policy"); ok {
				if _, known := policies[v]; !known {
					return nil, errorf(k.pos, "feature %s: policy=%q, want force, require, optional, disable or forbid", name, v)
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
	if c.Migratable == "" && (c.Mode == "host-passthrough" || c.Mode == "maximum") {
		c.Migratable = "on"
	}
	if c.Mode == "custom" && c.Model == "" {
		if model != nil {
			return nil, errorf(model.pos, "<model> names no model")
		}
		if len(c.Features) > 0 {
			return nil, errorf(n.pos, "<cpu> has features but no <model>")
		}
		// A <cpu> with only a topology: QEMU's default model.
		c.Model, c.Fallback, c.DefaultModel = "qemu64", "allow", true
	}
	return c, nil
}

// Host is what a <cpu> whose -cpu option depends on the host needs to
// know of it: what it can give a guest, and who made its CPU.
type Host struct {
	// Features is the host's availability: what QEMU can give a guest
	// on it ("-cpu host"), as check.Availability's Set.
	Features feature.FeatureSet
	// Vendor is the CPUID vendor string ("GenuineIntel").
	Vendor string
	// Family, Model and Stepping are the CPU's signature (0, 0, 0 when
	// unknown): libvirt prefers a model whose signature it is.
	Family, Model, Stepping int
	// Map is libvirt's CPU map (host-model and match='minimum' need
	// it).
	Map *Map
	// Usable, when not nil, says which models QEMU has: libvirt names
	// a host CPU only by a model the hypervisor knows.
	Usable func(model string) bool
}

// Spec returns the QEMU -cpu option libvirt builds for c, the way
// libvirt's qemuBuildCpuModelArgStr writes it: the model (custom's own,
// host-model's from the host, "host" for host-passthrough, "max" for
// maximum), then vendor=VENDOR_ID when the model sets one, then
// migratable=on|off when set, then NAME=on for each forced, required
// or (host permitting) optional feature and NAME=off for each disabled
// or forbidden one, in document order, NAME being QEMU's canonical name.
//
// host may be nil unless the option depends on the host: host-model,
// match='minimum' and optional features; then it is [ErrNeedsHost]
// (wrapped).
func (c *CPU) Spec(reg *feature.Registry, host *Host) (string, error) {
	parts := []string{c.Model}
	var hostFeatures feature.FeatureSet
	if c.NeedsHost() {
		if host == nil {
			return "", fmt.Errorf("%s: %w: give a host", c.Pos, ErrNeedsHost)
		}
		hostFeatures = host.Features
	}
	var model []string
	switch c.Mode {
	case "host-passthrough":
		parts[0] = "host"
	case "maximum":
		parts[0] = "max"
	case "host-model":
		hm, err := host.hostModel(reg)
		if err != nil {
			return "", fmt.Errorf("%s: host-model: %w", c.Pos, err)
		}
		parts[0], model = hm[0], hm[1:]
	}
	if c.Match == "minimum" {
		// libvirt gives the guest the host-model CPU, the
		// domain's model and features being a floor it checks: the
		// model's features are required on top of it, so that a
		// host without one is not runnable.
		hm, err := host.hostModel(reg)
		if err != nil {
			return "", fmt.Errorf("%s: match='minimum': %w", c.Pos, err)
		}
		lm, ok := host.Map.Model(c.Model)
		if !ok {
			return "", fmt.Errorf("%s: match='minimum': libvirt's CPU map has no model %q", c.Pos, c.Model)
		}
		parts[0], model = hm[0], hm[1:]
		for id := range lm.Set.Difference(hostFeatures).All() {
			model = append(model, reg.Name(id)+"=on")
		}
	}
	if c.VendorID != "" {
		parts = append(parts, "vendor="+c.VendorID)
	}
	if c.Migratable != "" {
		parts = append(parts, "migratable="+c.Migratable)
	}
	parts = append(parts, model...)
	for _, f := range c.Features {
		on := policies[f.Policy]
		if f.Policy == "optional" {
			on = hostFeatures.Has(f.ID)
		}
		parts = append(parts, reg.Name(f.ID)+map[bool]string{true: "=on", false: "=off"}[on])
	}
	parts = append(parts, c.Extra...)
	// <cache> (libvirt's cpu-cache-* tests): emulate turns QEMU's
	// emulated L3 on and the host's cache info off, passthrough the
	// other way round, disable both off; host-cache-info exists only
	// for host-passthrough and maximum.
	hostModel := c.Mode == "host-passthrough" || c.Mode == "maximum"
	switch c.Cache {
	case "emulate":
		parts = append(parts, "l3-cache=on")
		if hostModel {
			parts = append(parts, "host-cache-info=off")
		}
	case "passthrough":
		parts = append(parts, "host-cache-info=on", "l3-cache=off")
	case "disable":
		if hostModel {
			parts = append(parts, "host-cache-info=off")
		}
		parts = append(parts, "l3-cache=off")
	}
	parts = append(parts, c.PhysAddr...)
	return strings.Join(parts, ","), nil
}

// hypervOptions are libvirt's <hyperv> enlightenments in the order
// libvirt writes them (its enum order), each as QEMU's hv- property.
var hypervOptions = []struct{ elem, prop string }{
	{"relaxed", "hv-relaxed"}, {"vapic", "hv-vapic"}, {"spinlocks", "hv-spinlocks"},
	{"vpindex", "hv-vpindex"}, {"runtime", "hv-runtime"}, {"synic", "hv-synic"},
	{"stimer", "hv-stimer"}, {"reset", "hv-reset"}, {"vendor_id", "hv-vendor-id"},
	{"frequencies", "hv-frequencies"}, {"reenlightenment", "hv-reenlightenment"},
	{"tlbflush", "hv-tlbflush"}, {"ipi", "hv-ipi"}, {"evmcs", "hv-evmcs"},
	{"avic", "hv-avic"}, {"emsr_bitmap", "hv-emsr-bitmap"}, {"xmm_input", "hv-xmm-input"},
}

// kvmOptions are <kvm>'s elements libvirt writes into -cpu, in its order,
// with the option each state='on' gives.
var kvmOptions = []struct{ elem, on string }{
	{"hidden", "kvm=off"}, {"hint-dedicated", "kvm-hint-dedicated=on"}, {"poll-control", "kvm-poll-control=on"},
}

// domainFeatures returns the -cpu options libvirt makes of a domain's
// <features> (libvirt's cpu-translation, hyperv and kvm-features tests):
// <apic eoi='on|off'> is kvm-pv-eoi, <pvspinlock state='on|off'>
// kvm-pv-unhalt; of <hyperv> (mode custom), each enlightenment with
// state='on' is hv-NAME=on (spinlocks: hv-spinlocks=0xRETRIES; vendor_id:
// hv-vendor-id=VALUE), and mode='passthrough' is hv-passthrough=on; of
// <kvm>, hidden is kvm=off, hint-dedicated and poll-control =on;
// <pmu state='on|off'> is pmu. The rest of <features> does not reach
// -cpu.
func domainFeatures(n *node) ([]string, error) {
	var out []string
	kids := map[string]*node{}
	for _, k := range n.kids {
		kids[k.name] = k
	}
	if k := kids["apic"]; k != nil {
		v, err := onOff(k, "eoi")
		if err != nil {
			return nil, err
		}
		if v != "" {
			out = append(out, "kvm-pv-eoi="+v)
		}
	}
	if k := kids["pvspinlock"]; k != nil {
		v, err := onOff(k, "state")
		if err != nil {
			return nil, err
		}
		if v != "" {
			out = append(out, "kvm-pv-unhalt="+v)
		}
	}
	if hv := kids["hyperv"]; hv != nil {
		switch mode, _ := hv.attr("mode"); mode {
		case "passthrough":
			out = append(out, "hv-passthrough=on")
		case "", "custom":
			on := stateOn(hv)
			for _, o := range hypervOptions {
				k, err := on(o.elem)
				if err != nil {
					return nil, err
				}
				if k == nil {
					continue
				}
				switch o.elem {
				case "spinlocks":
					r, ok := k.attr("retries")
					retries, err := strconv.ParseUint(r, 10, 32)
					if !ok || err != nil || retries < 4095 {
						return nil, errorf(k.pos, "<spinlocks retries=%q>: want a number of at least 4095", r)
					}
					out = append(out, fmt.Sprintf("%s=0x%x", o.prop, retries))
				case "vendor_id":
					v, _ := k.attr("value")
					if v == "" || len(v) > 12 || strings.Contains(v, ",") {
						return nil, errorf(k.pos, "<vendor_id value=%q>: want 1 to 12 characters, no comma", v)
					}
					out = append(out, o.prop+"="+v)
				default:
					out = append(out, o.prop+"=on")
				}
			}
		default:
			return nil, errorf(hv.pos, "<hyperv mode=%q>, want custom or passthrough", mode)
		}
	}
	if kvm := kids["kvm"]; kvm != nil {
		on := stateOn(kvm)
		for _, o := range kvmOptions {
			k, err := on(o.elem)
			if err != nil {
				return nil, err
			}
			if k != nil {
				out = append(out, o.on)
			}
		}
	}
	if k := kids["pmu"]; k != nil {
		v, err := onOff(k, "state")
		if err != nil {
			return nil, err
		}
		if v != "" {
			out = append(out, "pmu="+v)
		}
	}
	return out, nil
}

// stateOn indexes n's children by element name, and returns the lookup
// of <hyperv> and <kvm>'s enlightenments: the child of that name when its
// state is on, nil when it is absent or off, an error for another state.
func stateOn(n *node) func(elem string) (*node, error) {
	byName := make(map[string]*node, len(n.kids))
	for _, k := range n.kids {
		byName[k.name] = k
	}
	return func(elem string) (*node, error) {
		k := byName[elem]
		if k == nil {
			return nil, nil
		}
		v, err := onOff(k, "state")
		if err != nil || v != "on" {
			return nil, err
		}
		return k, nil
	}
}

// onOff reads n's attribute attr, "on" or "off" ("" when absent).
func onOff(n *node, attr string) (string, error) {
	v, ok := n.attr(attr)
	if !ok || v == "on" || v == "off" {
		return v, nil
	}
	return "", errorf(n.pos, "<%s %s=%q>, want on or off", n.name, attr, v)
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
