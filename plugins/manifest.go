package plugins

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// Manifest is what a plugin says about itself (the ABI's describe).
type Manifest struct {
	// Name identifies the plugin: lowercase letters, digits and '-'.
	// Features and models it adds record it as their source, and its
	// checks are called as "<name>.<check>".
	Name        string
	Version     string
	Description string
	// ABI is the plugin ABI version it speaks (always ABIVersion once
	// loaded).
	ABI int
	// Vendors are the CPUID vendor strings it handles ("CentaurHauls");
	// empty means any.
	Vendors []string
	// Leaves are the CPUID leaf ranges its decode reads; empty means
	// all.
	Leaves []LeafRange
	// Features are the features it defines.
	Features []FeatureDef
	// Checks are the checks it provides.
	Checks []CheckDef
}

// ABIVersion is the plugin ABI this host speaks (plugins/ABI.md).
const ABIVersion = wire.ABI

// LeafRange is an inclusive range of CPUID leaves.
type LeafRange struct {
	First, Last uint32
}

// Contains reports whether leaf is in r.
func (r LeafRange) Contains(leaf uint32) bool { return r.First <= leaf && leaf <= r.Last }

// FeatureDef is a feature a plugin defines.
type FeatureDef struct {
	Name string
	// Loc is where the bit lives (for the VMX control MSRs, Bit counts
	// in the 64-bit MSR value, as in core/feature).
	Loc feature.Location
	// Linux is the /proc/cpuinfo flag, Libvirt the cpu_map name ("" if
	// none), Aliases further spellings.
	Linux, Libvirt string
	Aliases        []string
	Description    string
}

// CheckDef is a check a plugin provides.
type CheckDef struct {
	Name, Description string
}

// registryFeatures returns m's features in the form
// feature.Registry.Extend takes.
func (m *Manifest) registryFeatures() []feature.Feature {
	fs := make([]feature.Feature, 0, len(m.Features))
	for _, d := range m.Features {
		f := feature.Feature{
			Name:        d.Name,
			Loc:         d.Loc,
			Linux:       d.Linux,
			Libvirt:     d.Libvirt,
			Description: d.Description,
		}
		seen := map[string]bool{d.Name: true}
		add := func(name string, src feature.AliasSource) {
			if name != "" && !seen[name] {
				seen[name] = true
				f.Aliases = append(f.Aliases, feature.Alias{Name: name, Source: src})
			}
		}
		for _, a := range d.Aliases {
			add(a, feature.QEMU)
		}
		add(d.Linux, feature.Linux)
		add(d.Libvirt, feature.Libvirt)
		fs = append(fs, f)
	}
	return fs
}

// HasCheck reports whether the plugin provides the named check.
func (m *Manifest) HasCheck(name string) bool {
	for _, c := range m.Checks {
		if c.Name == name {
			return true
		}
	}
	return false
}

// manifestFrom converts and validates a decoded manifest. Every problem
// is reported, sorted.
func manifestFrom(w *wire.Manifest) (Manifest, error) {
	m := Manifest{
		Name:        w.Name,
		Version:     w.Version,
		Description: w.Description,
		ABI:         int(w.ABI),
		Vendors:     w.Vendors,
	}
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if !validName(w.Name) {
		bad("plugin name %q: want lowercase letters, digits and '-'", w.Name)
	}
	for _, r := range w.Leaves {
		if r.First > r.Last {
			bad("leaf range %#x-%#x is empty", r.First, r.Last)
		}
		m.Leaves = append(m.Leaves, LeafRange{r.First, r.Last})
	}
	names := map[string]bool{}
	for _, f := range w.Features {
		d := FeatureDef{Name: f.Name, Linux: f.Linux, Libvirt: f.Libvirt, Aliases: f.Aliases, Description: f.Description}
		switch {
		case f.Name == "" || strings.ContainsAny(f.Name, " \t\n,=+"):
			bad("feature name %q: want a QEMU-style name (no spaces, commas, '=' or '+')", f.Name)
		case names[f.Name]:
			bad("feature %q defined twice", f.Name)
		}
		names[f.Name] = true
		switch f.Kind {
		case wire.KindCPUID:
			if f.Reg > uint8(cpuid.EDX) || f.Bit > 31 {
				bad("feature %q: register %d bit %d is not a CPUID bit", f.Name, f.Reg, f.Bit)
			}
			d.Loc = feature.Location{Leaf: f.Leaf, Subleaf: f.Subleaf, Reg: cpuid.Reg(f.Reg), Bit: f.Bit}
		case wire.KindMSR:
			if f.MSR == 0 || f.Bit > 63 {
				bad("feature %q: MSR %#x bit %d is not an MSR bit", f.Name, f.MSR, f.Bit)
			}
			d.Loc = feature.Location{MSR: f.MSR, Bit: f.Bit}
		default:
			bad("feature %q: unknown location kind %d", f.Name, f.Kind)
		}
		m.Features = append(m.Features, d)
	}
	checks := map[string]bool{}
	for _, c := range w.Checks {
		if !validName(c.Name) {
			bad("check name %q: want lowercase letters, digits and '-'", c.Name)
		} else if checks[c.Name] {
			bad("check %q defined twice", c.Name)
		}
		checks[c.Name] = true
		m.Checks = append(m.Checks, CheckDef{c.Name, c.Description})
	}
	if len(probs) > 0 {
		sort.Strings(probs)
		return m, fmt.Errorf("bad manifest: %s", strings.Join(probs, "; "))
	}
	return m, nil
}

// validName reports whether s is a plugin or check name: lowercase
// letters, digits, '-' and '_', starting with a letter.
func validName(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
