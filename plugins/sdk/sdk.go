// Package sdk is what a cpupolicy vendor plugin imports. A plugin is a Go
// main package that describes itself in a [Plugin] value and hands it to
// [Register] from an init function; the SDK exports the ABI's functions
// (describe, decode, models, check, alloc), moves the bytes across guest
// memory and encodes every reply, so the plugin never sees the ABI:
//
//	package main
//
//	import "github.com/cpupolicy/cpupolicy/plugins/sdk"
//
//	func init() {
//		sdk.Register(&sdk.Plugin{
//			Name:     "acme",
//			Version:  "1.0.0",
//			Vendors:  []string{"AcmeAcmeAcme"},
//			Leaves:   []sdk.LeafRange{{First: 0x40000100, Last: 0x40000101}},
//			Features: []sdk.Feature{{Name: "acme-turbo", Leaf: 0x40000101, Reg: sdk.EDX, Bit: 0}},
//		})
//	}
//
//	func main() {}
//
// Build it with the standard toolchain, then seal it (the post-link step
// that writes the plugin's declaration into the module, so that cpupolicy
// learns its features and models without compiling it):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o acme.wasm .
//	go run github.com/cpupolicy/cpupolicy/plugins/sdk/seal@VERSION acme.wasm
//
// The package imports no fmt, reflect or encoding/json, and a plugin that
// wants to stay small (every kilobyte of guest code costs load time in the
// host) should not either; see plugins/ABI.md.
package sdk

import (
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// Plugin describes a plugin: who it is, what it knows and what it can do.
type Plugin struct {
	// Name identifies the plugin in the host ("zhaoxin"); features and
	// models it adds are recorded as coming from it. Lowercase letters,
	// digits and '-'.
	Name string
	// Version is the plugin's own version ("1.2.0").
	Version string
	// Description is one line for `cpupolicy plugin inspect`.
	Description string
	// Vendors are the CPUID vendor strings (leaf 0) the plugin handles:
	// "CentaurHauls", "  Shanghai  ". Empty means any.
	Vendors []string
	// Leaves are the CPUID leaf ranges decode reads. The host passes
	// these leaves, plus leaves 0 and 1 (vendor and signature), and no
	// others. Empty means every leaf.
	Leaves []LeafRange
	// Features are the feature names the plugin defines, each with its
	// location. The host adds them to its registry; a name or location
	// that clashes with a built-in feature or another plugin's is an
	// error there.
	Features []Feature
	// Decode returns the names of the features that leaves show: the
	// plugin's own and any built-in names it wants to report. The SDK
	// copies the names into its reply before Decode is called again, so
	// Decode may return a slice it reuses. Nil means the bits of
	// p.Features (decoded with a Table) for a CPU of one of p.Vendors.
	Decode func(cpu CPUID) ([]string, error)
	// Models are CPU model definitions, in the shape of QEMU's
	// X86CPUDefinition.
	Models []Model
	// Checks are named checks the host can call (from Starlark,
	// plugins.call("<plugin>.<check>", …)).
	Checks []Check
}

// LeafRange is an inclusive range of CPUID leaves.
type LeafRange struct {
	First, Last uint32
}

// Reg is a CPUID output register.
type Reg uint8

// The CPUID output registers.
const (
	EAX Reg = iota
	EBX
	ECX
	EDX
)

// Feature is one named feature bit: a CPUID bit (Leaf, Subleaf, Reg, Bit)
// or, when MSR is not 0, a bit of a feature MSR. For the VMX control MSRs
// (0x48b, 0x48d–0x490) Bit counts in the 64-bit MSR value, so a control
// that may be 1 is at 32 + its bit number, as in cpupolicy's registry.
type Feature struct {
	Name          string
	Leaf, Subleaf uint32
	Reg           Reg
	Bit           uint8
	MSR           uint32
	// Linux is the flag /proc/cpuinfo prints, Libvirt the cpu_map name,
	// "" if none; Aliases are further spellings that should resolve.
	Linux, Libvirt string
	Aliases        []string
	Description    string
}

// Model is a CPU model definition, as QEMU's X86CPUDefinition: the base
// model (version 1) and versions that change it. A model without
// Versions has the single version 1.
//
// Model, Version and Prop are cpupolicy's one schema of a model as a
// plugin defines it: the host reads a plugin's models as this type
// (plugins.ModelDef is a Model) and expands each into catalog model
// definitions. The ABI's encoder (plugins/internal/wire) mirrors the
// three types field for field, because this package imports it and so
// cannot be imported by it; TestModelSchemaInStep compares the mirror
// with these types by reflection, so a field added here and not there
// (or the reverse) fails the build's tests.
type Model struct {
	Name                    string
	Vendor                  string
	Family, Model, Stepping int
	Level, XLevel, XLevel2  uint32
	ModelID                 string
	// Note says where the definition comes from.
	Note string
	// Features are canonical feature names (built-in or the plugin's).
	Features []string
	Versions []Version
}

// Version is one version of a model. Versions apply in order: version N
// is the base definition with the props of versions 1…N applied.
type Version struct {
	Version int
	// Alias is another name for this version, as QEMU's .alias.
	Alias string
	Note  string
	Props []Prop
}

// Prop is a property a version sets: a feature name with "on" or "off",
// or "model-id", "stepping", "level", … with a value.
type Prop struct {
	Name, Value string
}

// Check is a named check. Run receives the host's input, a JSON document,
// and returns the result, a JSON document; an error is reported to the
// caller as the check's failure to run (not as a verdict).
type Check struct {
	Name        string
	Description string
	Run         func(input []byte) ([]byte, error)
}

// Leaf is one CPUID result.
type Leaf struct {
	Leaf, Subleaf      uint32
	EAX, EBX, ECX, EDX uint32
}

// Reg returns the value of register r.
func (l Leaf) Reg(r Reg) uint32 {
	switch r {
	case EAX:
		return l.EAX
	case EBX:
		return l.EBX
	case ECX:
		return l.ECX
	}
	return l.EDX
}

// CPUID is the CPUID data decode receives: leaves 0 and 1 and the
// plugin's leaf ranges, sorted by leaf and subleaf. A leaf that takes no
// subleaf is recorded at subleaf 0.
type CPUID struct {
	leaves []Leaf
}

// NewCPUID returns CPUID data holding leaves, which must be sorted by
// leaf and subleaf (tests use it; the SDK builds one from each request).
func NewCPUID(leaves []Leaf) CPUID { return CPUID{leaves} }

// Leaves returns every leaf.
func (c CPUID) Leaves() []Leaf { return c.leaves }

// Get returns the result for (leaf, subleaf).
func (c CPUID) Get(leaf, subleaf uint32) (Leaf, bool) {
	lo, hi := 0, len(c.leaves)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		l := c.leaves[m]
		if l.Leaf < leaf || l.Leaf == leaf && l.Subleaf < subleaf {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(c.leaves) && c.leaves[lo].Leaf == leaf && c.leaves[lo].Subleaf == subleaf {
		return c.leaves[lo], true
	}
	return Leaf{}, false
}

// Bit reports whether bit of register reg of (leaf, subleaf) is set; a
// leaf that is absent has no bits set.
func (c CPUID) Bit(leaf, subleaf uint32, reg Reg, bit uint8) bool {
	l, ok := c.Get(leaf, subleaf)
	return ok && bit < 32 && l.Reg(reg)>>bit&1 == 1
}

// Vendor returns the vendor string of leaf 0 ("CentaurHauls"), or "".
func (c CPUID) Vendor() string {
	l, ok := c.Get(0, 0)
	if !ok {
		return ""
	}
	b := make([]byte, 0, 12)
	for _, r := range [3]uint32{l.EBX, l.EDX, l.ECX} {
		b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	return string(b)
}

// VendorIs reports whether leaf 0's vendor string is v (without building
// the string, so decoders stay allocation-free).
func (c CPUID) VendorIs(v string) bool {
	l, ok := c.Get(0, 0)
	if !ok || len(v) != 12 {
		return false
	}
	for i, r := range [3]uint32{l.EBX, l.EDX, l.ECX} {
		s := v[4*i:]
		if r != uint32(s[0])|uint32(s[1])<<8|uint32(s[2])<<16|uint32(s[3])<<24 {
			return false
		}
	}
	return true
}

// MaxLeaf returns the highest leaf of the range that base starts
// (EAX of leaf base: 0, 0x80000000, 0xC0000000, …), or 0 when the range is
// absent.
func (c CPUID) MaxLeaf(base uint32) uint32 {
	l, ok := c.Get(base, 0)
	if !ok || l.EAX < base || l.EAX-base > 0xffff {
		return 0
	}
	return l.EAX
}

// Family returns the display family of leaf 1's signature: the base
// family plus the extended family when the base is 0xF.
func (c CPUID) Family() int {
	l, _ := c.Get(1, 0)
	f := int(l.EAX>>8) & 0xf
	if f == 0xf {
		f += int(l.EAX>>20) & 0xff
	}
	return f
}

// Model returns the display model of leaf 1's signature, with the
// extended model for families 6 and above (as Linux computes it).
func (c CPUID) Model() int {
	l, _ := c.Get(1, 0)
	m := int(l.EAX>>4) & 0xf
	if c.Family() >= 6 {
		m |= int(l.EAX>>16) & 0xf << 4
	}
	return m
}

// Has reports whether f's CPUID bit is set (always false for an MSR
// feature: decode sees no MSRs).
func (c CPUID) Has(f *Feature) bool {
	return f.MSR == 0 && c.Bit(f.Leaf, f.Subleaf, f.Reg, f.Bit)
}

// Error is an error message, for Decode and Check.Run (the SDK avoids fmt
// and errors to keep plugins small; any error type works).
type Error string

func (e Error) Error() string { return string(e) }

// manifest returns p's describe reply payload.
func (p *Plugin) manifest() *wire.Manifest {
	m := &wire.Manifest{
		ABI:         wire.ABI,
		Name:        p.Name,
		Version:     p.Version,
		Description: p.Description,
		Vendors:     p.Vendors,
	}
	for _, r := range p.Leaves {
		m.Leaves = append(m.Leaves, wire.LeafRange{First: r.First, Last: r.Last})
	}
	for _, f := range p.Features {
		w := wire.Feature{
			Name: f.Name, Leaf: f.Leaf, Subleaf: f.Subleaf, Reg: uint8(f.Reg),
			MSR: f.MSR, Bit: f.Bit, Linux: f.Linux, Libvirt: f.Libvirt,
			Aliases: f.Aliases, Description: f.Description,
		}
		if f.MSR != 0 {
			w.Kind = wire.KindMSR
		}
		m.Features = append(m.Features, w)
	}
	for _, c := range p.Checks {
		m.Checks = append(m.Checks, wire.Check{Name: c.Name, Description: c.Description})
	}
	return m
}

// models returns p's models in wire form: the same fields (see Model).
func (p *Plugin) models() []wire.Model {
	var ms []wire.Model
	for _, m := range p.Models {
		w := wire.Model{
			Name: m.Name, Vendor: m.Vendor, Family: m.Family, Model: m.Model, Stepping: m.Stepping,
			Level: m.Level, XLevel: m.XLevel, XLevel2: m.XLevel2,
			ModelID: m.ModelID, Note: m.Note, Features: m.Features,
		}
		for _, v := range m.Versions {
			wv := wire.Version{Version: v.Version, Alias: v.Alias, Note: v.Note}
			for _, pr := range v.Props {
				wv.Props = append(wv.Props, wire.Prop(pr))
			}
			w.Versions = append(w.Versions, wv)
		}
		ms = append(ms, w)
	}
	return ms
}

// defaultTable and defaultNames serve the default decoder.
var (
	defaultTable *Table
	defaultNames []string
)

// decode runs the plugin's decoder (or the default one) on c.
func (p *Plugin) decode(c CPUID) ([]string, error) {
	if p.Decode != nil {
		return p.Decode(c)
	}
	if !p.ForCPU(c) {
		return nil, nil
	}
	if defaultTable == nil {
		defaultTable = NewTable(p.Features)
	}
	defaultNames = defaultTable.Decode(c, defaultNames[:0], nil)
	return defaultNames, nil
}

// ForCPU reports whether c's vendor is one of p.Vendors (or p.Vendors is
// empty).
func (p *Plugin) ForCPU(c CPUID) bool {
	if len(p.Vendors) == 0 {
		return true
	}
	for _, v := range p.Vendors {
		if c.VendorIs(v) {
			return true
		}
	}
	return false
}
