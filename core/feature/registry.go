// Package feature names every x86 CPU feature bit the way QEMU, Linux and
// libvirt do, and holds sets of them.
//
// A [Registry] is the immutable table of known features: QEMU's canonical
// name ("sse4.1"), where the bit lives ([Location]: a CPUID leaf, subleaf,
// register and bit, or a feature MSR and bit), and its aliases (QEMU's legacy
// spellings such as "sse4_1", Linux's /proc/cpuinfo names such as "pni" or
// "sha_ni", libvirt's cpu_map names). [Builtin] returns the registry of every
// name a known QEMU release (core.Releases) recognises; [Registry.Extend]
// adds vendor features from plugins.
//
// A [FeatureSet] is a fixed-size bitset indexed by [ID]. [Registry.Decode]
// turns raw CPUID leaves into a set and [Registry.Encode] turns a set back
// into register masks.
package feature

import (
	"errors"
	"fmt"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
	"sort"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
)

// Location says where a feature bit lives.
type Location struct {
	// MSR is the feature MSR's index, or 0 for a CPUID bit.
	MSR uint32
	// Leaf, Subleaf and Reg locate a CPUID bit (unused for MSR bits).
	Leaf, Subleaf uint32
	Reg           cpuid.Reg
	// Bit is the bit number in the CPUID register (0–31) or in the 64-bit
	// MSR value (0–63).
	Bit uint8
}

// IsMSR reports whether the bit lives in a feature MSR.
func (l Location) IsMSR() bool { return l.MSR != 0 }

// String formats l the way `cpuid` and the SDM name a bit:
// "CPUID[0x7,0].EBX[16]" or "MSR[0x10a][3]".
func (l Location) String() string {
	if l.IsMSR() {
		return fmt.Sprintf("MSR[%#x][%d]", l.MSR, l.Bit)
	}
	return fmt.Sprintf("CPUID[%#x,%d].%s[%d]", l.Leaf, l.Subleaf, strings.ToUpper(l.Reg.String()), l.Bit)
}

// Alias is another spelling of a feature's canonical name.
type Alias struct {
	Name   string
	Source AliasSource
}

// Feature is one named bit.
type Feature struct {
	ID   ID
	Name string // QEMU's canonical name
	Loc  Location
	// Also lists further bits QEMU ties to the same name. QEMU's table
	// names two bits "kvmclock" (KVM_FEATURE_CLOCKSOURCE and
	// CLOCKSOURCE2) and two "vmx-invept-single-context"; its property
	// then covers both bits, and the feature is on only when all are set.
	Also []Location
	// Linux is the flag /proc/cpuinfo prints for this bit, or "" when Linux
	// does not print it.
	Linux string
	// Libvirt is libvirt's cpu_map name, or "".
	Libvirt     string
	Aliases     []Alias
	Description string
	// XCR0 is the XSAVE components the OS must enable in XCR0 before
	// the feature is usable (AVX needs SSE|YMM state, and so on), or 0.
	XCR0 uint64
	// Source is "" for built-in features and the plugin's name otherwise.
	Source string
}

// Registry is an immutable table of features. Lookups by canonical name or
// alias are case-insensitive and treat '_' like '-', as QEMU's -cpu parser
// does.
type Registry struct {
	features []Feature
	byName   map[string]ID // normalised canonical names and aliases
	// The decode tables are built on first use (decoded): commands that
	// only look names up never pay for them.
	decodeOnce sync.Once
	cpuidW     []decodeWord // CPUID registers with named bits
	msrW       []decodeWord // feature MSRs with named bits
	multi      []ID         // features with more than one bit (Feature.Also)
}

// decoded builds the decode tables once and returns r.
func (r *Registry) decoded() *Registry {
	r.decodeOnce.Do(r.buildDecode)
	return r
}

// decodeWord maps the named bits of one CPUID register or MSR to IDs.
type decodeWord struct {
	loc   Location // Bit unused
	view  msrView
	named uint64 // mask of named bits, in the word's own numbering
	ids   [64]ID
}

var builtin = sync.OnceValue(func() *Registry {
	r, err := newBuiltin()
	if err != nil {
		// The tables are compiled in and checked by tests.
		panic("feature: bad built-in table: " + err.Error())
	}
	return r
})

// Builtin returns the registry of QEMU's named features (the union of what
// the known QEMU releases recognise). It is built once and shared; it is
// immutable.
func Builtin() *Registry { return builtin() }

func newBuiltin() (*Registry, error) {
	// Sized up front (a name on two bits counts twice): appending 600
	// features one by one left 100 KB of outgrown arrays behind, heap
	// every command touched at start for nothing.
	n := 0
	for _, w := range words {
		for _, name := range w.names {
			if name != "" {
				n++
			}
		}
	}
	fs := make([]Feature, 0, n)
	index := make(map[string]int, n)
	for _, w := range words {
		for bit, name := range w.names {
			if name == "" {
				continue
			}
			var loc Location
			if w.msr != 0 {
				loc = Location{MSR: w.msr, Bit: uint8(bit)}
				if w.view != viewPlain {
					loc.Bit += 32
				}
			} else {
				if bit >= 32 {
					return nil, fmt.Errorf("%s: bit %d of a CPUID word", w.qemu, bit)
				}
				loc = Location{Leaf: w.leaf, Subleaf: w.subleaf, Reg: w.reg, Bit: uint8(bit)}
			}
			if i, ok := index[name]; ok {
				fs[i].Also = append(fs[i].Also, loc)
				continue
			}
			index[name] = len(fs)
			fs = append(fs, Feature{
				Name:        name,
				Loc:         loc,
				Linux:       linuxFlags()[name],
				Libvirt:     libvirtNames()[name],
				Description: descriptions()[name],
				XCR0:        xsaveMask(name),
			})
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	for i := range fs {
		f := &fs[i]
		add := func(name string, src AliasSource) {
			if name == "" || name == f.Name {
				return
			}
			for _, a := range f.Aliases {
				if a.Name == name {
					return
				}
			}
			f.Aliases = append(f.Aliases, Alias{name, src})
		}
		for _, a := range qemuAliases()[f.Name] {
			add(a, QEMU)
		}
		add(f.Linux, Linux)
		add(f.Libvirt, Libvirt)
	}
	return (&Registry{}).adopt(fs, "")
}

// extend returns a new registry holding r's features followed by fs, which
// get the next IDs. source is recorded on each new feature.
func (r *Registry) extend(fs []Feature, source string) (*Registry, error) {
	all := make([]Feature, 0, len(r.features)+len(fs))
	all = append(append(all, r.features...), fs...)
	return r.adopt(all, source)
}

// adopt is extend for a caller that gives up its slice: all holds r's
// features followed by the new ones, and becomes the new registry's
// table. newBuiltin's 600 features (100 KB) are not copied.
func (r *Registry) adopt(all []Feature, source string) (*Registry, error) {
	if len(all) > Capacity {
		return nil, fmt.Errorf("too many features: %d, the limit is %d", len(all), Capacity)
	}
	names := len(r.byName) // each name and alias once: the map's exact size
	for _, f := range all[len(r.features):] {
		names += 1 + len(f.Aliases)
	}
	n := &Registry{features: all, byName: make(map[string]ID, names)}
	for k, v := range r.byName {
		n.byName[k] = v
	}
	var errs []error
	claim := func(name string, id ID) {
		k := normalize(name)
		if old, ok := n.byName[k]; ok && old != id {
			errs = append(errs, fmt.Errorf("feature name %q of %s clashes with %s", name, n.describe(id), n.describe(old)))
			return
		}
		n.byName[k] = id
	}
	for i := len(r.features); i < len(all); i++ {
		f := &all[i]
		f.ID = ID(i)
		if f.Source == "" {
			f.Source = source
		}
		claim(f.Name, f.ID)
		for _, a := range f.Aliases {
			claim(a.Name, f.ID)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return n, nil
}

// describe names a feature and where it comes from, for clash messages.
func (r *Registry) describe(id ID) string {
	f := &r.features[id]
	if f.Source == "" {
		return fmt.Sprintf("built-in feature %q", f.Name)
	}
	return fmt.Sprintf("feature %q of plugin %s", f.Name, f.Source)
}

// Extend returns a registry with r's features plus fs (a plugin's vendor
// features, say), which are numbered after r's. Each new feature records
// source. A name or alias that clashes with an existing one, or a location
// already taken, is an error naming both — except for a feature that r
// already has: at the same location, with a spelling (name or alias) in
// common. That is a plugin written before a QEMU release added the
// feature (core/feature's table gained QEMU 11.1's names, which the
// vendor plugins had declared for 10.0): the existing feature stands, and
// the plugin's other spellings become names of it, so the plugin's
// models and decoder keep working.
func (r *Registry) Extend(source string, fs ...Feature) (*Registry, error) {
	taken := make(map[Location]ID, len(r.features))
	for _, f := range r.features {
		taken[f.Loc] = f.ID
	}
	next := ID(len(r.features))
	var fresh []Feature
	known := map[string]ID{} // a superseded feature's spellings → the existing feature
	for _, f := range fs {
		if old, ok := taken[f.Loc]; ok {
			if r.features[old].Source != "" || !r.sameFeature(old, f) {
				return nil, fmt.Errorf("feature %q of plugin %s is at %s, which %s already names", f.Name, source, f.Loc, r.describe(old))
			}
			known[f.Name] = old
			for _, a := range f.Aliases {
				known[a.Name] = old
			}
			continue
		}
		taken[f.Loc] = next + ID(len(fresh))
		fresh = append(fresh, f)
	}
	n, err := r.extend(fresh, source)
	if err != nil {
		return nil, err
	}
	for name, id := range known {
		k := normalize(name)
		if other, ok := n.byName[k]; ok && other != id {
			return nil, fmt.Errorf("feature name %q of plugin %s clashes with %s", name, source, n.describe(other))
		}
		n.byName[k] = id
	}
	return n, nil
}

// sameFeature reports whether plugin feature f is r's feature id: one
// of f's spellings is one of id's (byName holds every name and alias).
func (r *Registry) sameFeature(id ID, f Feature) bool {
	if got, ok := r.byName[normalize(f.Name)]; ok && got == id {
		return true
	}
	for _, a := range f.Aliases {
		if got, ok := r.byName[normalize(a.Name)]; ok && got == id {
			return true
		}
	}
	return false
}

func (r *Registry) buildDecode() {
	idx := make(map[Location]int, 64)
	for _, f := range r.features {
		if len(f.Also) > 0 {
			r.multi = append(r.multi, f.ID)
		}
		for _, loc := range append([]Location{f.Loc}, f.Also...) {
			r.addDecode(idx, f.ID, loc)
		}
	}
	r.sortDecode()
}

// addDecode records that bit loc of its word means feature id.
func (r *Registry) addDecode(idx map[Location]int, id ID, loc Location) {
	wl := loc
	wl.Bit = 0
	list := &r.cpuidW
	bit := uint(loc.Bit)
	view := viewPlain
	if wl.IsMSR() {
		list = &r.msrW
		if i, ok := idx[wl]; ok {
			view = r.msrW[i].view // looked up once per MSR, not per bit
		} else {
			view = msrViewOf(wl.MSR)
		}
		if view != viewPlain {
			bit -= 32
		}
	}
	i, ok := idx[wl]
	if !ok {
		i = len(*list)
		idx[wl] = i
		*list = append(*list, decodeWord{loc: wl, view: view})
	}
	d := &(*list)[i]
	d.named |= 1 << bit
	d.ids[bit] = id
}

func (r *Registry) sortDecode() {
	byLoc := func(ws []decodeWord) {
		sort.Slice(ws, func(i, j int) bool {
			a, b := ws[i].loc, ws[j].loc
			if a.MSR != b.MSR {
				return a.MSR < b.MSR
			}
			if a.Leaf != b.Leaf {
				return a.Leaf < b.Leaf
			}
			if a.Subleaf != b.Subleaf {
				return a.Subleaf < b.Subleaf
			}
			return a.Reg < b.Reg
		})
	}
	byLoc(r.cpuidW)
	byLoc(r.msrW)
}

// msrViewOf returns how QEMU reads the built-in MSR word at index msr.
func msrViewOf(msr uint32) msrView {
	for _, w := range words {
		if w.msr == msr {
			return w.view
		}
	}
	return viewPlain
}

// normalize folds case and QEMU's '_' ↔ '-' equivalence.
func normalize(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '_' || 'A' <= c && c <= 'Z' {
			return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		}
	}
	return name // already normal: the common case, without allocating
}

// Len returns the number of features in r.
func (r *Registry) Len() int { return len(r.features) }

// Feature returns the feature with the given ID. It panics if id is not in r.
func (r *Registry) Feature(id ID) *Feature { return &r.features[id] }

// Features returns every feature in canonical order. The caller must not
// modify the result.
func (r *Registry) Features() []Feature { return r.features }

// Name returns id's canonical name.
func (r *Registry) Name(id ID) string { return r.features[id].Name }

// UnknownError is returned for a name that is neither a canonical name nor
// an alias.
type UnknownError struct {
	Name string
	reg  *Registry
}

// Suggestion is the nearest known name, or "". It is worked out when
// asked, not by Lookup: Lookup is also how callers ask whether a name is
// a feature at all (a -cpu option may be a property), and a scan of every
// name for each miss was most of the time of parsing a -cpu line.
func (e *UnknownError) Suggestion() string {
	if e.reg == nil { // made outside Lookup
		return ""
	}
	return e.reg.nearest(e.Name)
}

func (e *UnknownError) Error() string {
	if near := e.Suggestion(); near != "" {
		return fmt.Sprintf("unknown feature %q (did you mean %q?)", e.Name, near)
	}
	return fmt.Sprintf("unknown feature %q", e.Name)
}

// Lookup resolves a canonical name or any alias to the feature's ID. An
// unknown name gives an *UnknownError that suggests the nearest name.
func (r *Registry) Lookup(name string) (ID, error) {
	if id, ok := r.byName[normalize(name)]; ok {
		return id, nil
	}
	return 0, &UnknownError{Name: name, reg: r}
}

// Set returns the set of the named features.
func (r *Registry) Set(names ...string) (FeatureSet, error) {
	var s FeatureSet
	var errs []error
	for _, n := range names {
		id, err := r.Lookup(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s = s.Add(id)
	}
	return s, errors.Join(errs...)
}

// Names returns the canonical names of s's members in canonical order.
func (r *Registry) Names(s FeatureSet) []string {
	out := make([]string, 0, s.Count())
	for id := range s.All() {
		if int(id) < len(r.features) {
			out = append(out, r.features[id].Name)
		}
	}
	return out
}

// nearest returns the known name (canonical or alias) closest to name by
// edit distance, preferring canonical names on ties; "" when nothing is
// close enough to be a plausible typo (suggest.Nearest's rule, on
// normalised names).
func (r *Registry) nearest(name string) string {
	if len(name) > suggest.MaxLen {
		return "" // before normalising a hostile name
	}
	// Canonical names first: Nearest keeps the first of equals.
	cands := make([]string, 0, len(r.byName))
	for _, f := range r.features {
		cands = append(cands, normalize(f.Name))
	}
	for _, f := range r.features {
		for _, a := range f.Aliases {
			cands = append(cands, normalize(a.Name))
		}
	}
	best := suggest.Nearest(normalize(name), cands)
	if best == "" {
		return ""
	}
	// Suggest the canonical spelling even when an alias was closest.
	return r.features[r.byName[best]].Name
}

// Fingerprint identifies the registry's numbering: an FNV-1a hash of every
// feature name in ID order. Sets encoded as words (FeatureSet.Words) are
// valid only with a registry of the same fingerprint.
func (r *Registry) Fingerprint() uint64 {
	h := uint64(14695981039346656037)
	for _, f := range r.features {
		for i := 0; i < len(f.Name); i++ {
			h ^= uint64(f.Name[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}
