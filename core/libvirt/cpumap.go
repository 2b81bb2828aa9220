package libvirt

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// DefaultMapDir is where Debian's libvirt0 package installs the CPU map.
const DefaultMapDir = "/usr/share/libvirt/cpu_map"

// Map is libvirt's x86 CPU map: its vendors, features and models, in the
// order libvirt loads them.
type Map struct {
	Vendors  []Vendor
	Features []Feature
	Models   []Model

	vendors, features, models map[string]int
}

// Vendor is a <vendor name='Intel' string='GenuineIntel'/>.
type Vendor struct {
	Name   string
	String string // the 12-character CPUID vendor string
	Pos    Pos
}

// Feature is a libvirt feature: a name for one or more CPUID or MSR bits.
type Feature struct {
	Name string
	// Bits are the bits its <cpuid> and <msr> elements set.
	Bits []feature.Location
	// Migratable is false for migratable='no' (invtsc, xsaves).
	Migratable bool
	// IDs are the registry's features at Bits; Unmapped the bits no
	// registry feature names (osxsave, pconfig, …). A model that uses a
	// feature with unmapped bits cannot be represented and fails to load.
	IDs      feature.FeatureSet
	Unmapped []feature.Location
	Pos      Pos
}

// Signature is a <signature family='6' model='85' stepping='0-4'/>: the
// host CPUs libvirt recognises as the model.
type Signature struct {
	Family, Model int
	// Steppings is a bit mask of the steppings (0–15) listed, or 0 for
	// any stepping.
	Steppings uint16
}

// Model is a libvirt CPU model.
type Model struct {
	Name string
	// Ancestor is the model it is based on (<model name='Y'/> inside
	// it), or "". Its vendor, signatures and features are inherited;
	// the model's own vendor and signatures replace them, its features
	// add to them.
	Ancestor   string
	Vendor     string // a Vendor's Name, or ""
	Signatures []Signature
	// Features are the libvirt names of its features, inherited ones
	// included, sorted; Removed those marked removed='yes', which libvirt
	// keeps out of the model's definition (they were in it once, and
	// libvirt only remembers them for domains defined back then).
	Features []string
	Removed  []string
	// Set is the registry's features of Features.
	Set feature.FeatureSet
	// Migratable is false when one of its features is not.
	Migratable bool
	// DecodeHost and DecodeGuest are the model's <decode host= guest=>:
	// whether libvirt may name a host CPU, or a guest CPU it computes
	// from one (host-model), by this model. Both are on without a
	// <decode> element.
	DecodeHost, DecodeGuest bool
	Pos                     Pos
}

// Vendor returns the named vendor.
func (m *Map) Vendor(name string) (*Vendor, bool) {
	i, ok := m.vendors[name]
	if !ok {
		return nil, false
	}
	return &m.Vendors[i], true
}

// Feature returns the named feature.
func (m *Map) Feature(name string) (*Feature, bool) {
	i, ok := m.features[name]
	if !ok {
		return nil, false
	}
	return &m.Features[i], true
}

// Model returns the named model.
func (m *Map) Model(name string) (*Model, bool) {
	i, ok := m.models[name]
	if !ok {
		return nil, false
	}
	return &m.Models[i], true
}

// LoadMap reads the CPU map in dir (index.xml and the files it includes),
// as libvirt does: the x86 arch only. Names in errors are dir-relative
// paths joined to dir.
func LoadMap(dir string, reg *feature.Registry) (*Map, error) {
	return LoadMapFS(os.DirFS(dir), dir, reg)
}

// LoadMapFS is LoadMap on a file system; dir only prefixes file names in
// errors.
func LoadMapFS(fsys fs.FS, dir string, reg *feature.Registry) (*Map, error) {
	l := &loader{fsys: fsys, dir: dir, reg: reg, byLoc: locIndex(reg),
		m: &Map{vendors: map[string]int{}, features: map[string]int{}, models: map[string]int{}}}
	root, err := l.parse("index.xml")
	if err != nil {
		return nil, err
	}
	if root.name != "cpus" {
		return nil, errorf(root.pos, "root element is <%s>, want <cpus>", root.name)
	}
	var arch *node
	for _, k := range root.kids {
		if k.name != "arch" {
			continue
		}
		name, ok := k.attr("name")
		if !ok {
			return nil, errorf(k.pos, "<arch> without a name")
		}
		if name == "x86" {
			if arch != nil {
				return nil, errorf(k.pos, "a second <arch name='x86'> (the first is at line %d)", arch.pos.Line)
			}
			arch = k
		}
	}
	if arch == nil {
		return nil, errorf(root.pos, "no <arch name='x86'>")
	}
	// cpuMapLoad: the arch's own vendors, features and models, then
	// each include in order.
	if err := l.load(arch); err != nil {
		return nil, err
	}
	included := map[string]Pos{}
	for _, k := range arch.kids {
		if k.name != "include" {
			continue
		}
		file, ok := k.attr("filename")
		if !ok || file == "" {
			return nil, errorf(k.pos, "<include> without a filename")
		}
		// libvirt resolves includes in the map's directory: a name that
		// climbs out of it, or names a subdirectory, is not one of its
		// files.
		if !fs.ValidPath(file) || strings.Contains(file, "/") {
			return nil, errorf(k.pos, "include %q: not a file name in the map's directory", file)
		}
		if first, dup := included[file]; dup {
			return nil, errorf(k.pos, "include %q again (first at line %d)", file, first.Line)
		}
		included[file] = k.pos
		inc, err := l.parse(file)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, err
			}
			return nil, errorf(k.pos, "include %q: %v", file, err)
		}
		if inc.name != "cpus" {
			return nil, errorf(inc.pos, "root element is <%s>, want <cpus>", inc.name)
		}
		if err := l.load(inc); err != nil {
			return nil, err
		}
	}
	return l.m, nil
}

type loader struct {
	fsys  fs.FS
	dir   string
	reg   *feature.Registry
	byLoc map[feature.Location]feature.ID
	m     *Map
}

func (l *loader) parse(file string) (*node, error) {
	name := path.Join(l.dir, file)
	f, err := l.fsys.Open(file)
	if err != nil {
		// The fs.FS names the file relative to the map; say which map.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return parseXML(name, data)
}

// load reads the vendors, then the features, then the models among n's
// children, as libvirt's cpuMapLoadInclude does.
func (l *loader) load(n *node) error {
	for _, k := range n.kids {
		if k.name == "vendor" {
			if err := l.vendor(k); err != nil {
				return err
			}
		}
	}
	for _, k := range n.kids {
		if k.name == "feature" {
			if err := l.feature(k); err != nil {
				return err
			}
		}
	}
	for _, k := range n.kids {
		if k.name == "model" {
			if err := l.model(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// newName reads the name of the <vendor>, <feature> or <model> n defines:
// it must have one, not yet in index (a name's place in the list of its
// kind); first says where the earlier definition of a name is.
func newName(n *node, index map[string]int, first func(i int) string) (string, error) {
	name, _ := n.attr("name")
	if name == "" {
		return "", errorf(n.pos, "<%s> without a name", n.name)
	}
	if i, dup := index[name]; dup {
		return "", errorf(n.pos, "%s %s defined again (first at %s)", n.name, name, first(i))
	}
	return name, nil
}

func (l *loader) vendor(n *node) error {
	name, _ := n.attr("name")
	str, _ := n.attr("string")
	if name == "" {
		return errorf(n.pos, "<vendor> without a name")
	}
	if len(str) != 12 {
		return errorf(n.pos, "vendor %s: string %q: want 12 characters", name, str)
	}
	if _, err := newName(n, l.m.vendors, func(i int) string { return fmt.Sprintf("line %d", l.m.Vendors[i].Pos.Line) }); err != nil {
		return err
	}
	l.m.vendors[name] = len(l.m.Vendors)
	l.m.Vendors = append(l.m.Vendors, Vendor{Name: name, String: str, Pos: n.pos})
	return nil
}

var cpuidRegs = []struct {
	attr string
	reg  cpuid.Reg
}{{"eax", cpuid.EAX}, {"ebx", cpuid.EBX}, {"ecx", cpuid.ECX}, {"edx", cpuid.EDX}}

func (l *loader) feature(n *node) error {
	name, err := newName(n, l.m.features, func(i int) string { return l.m.Features[i].Pos.String() })
	if err != nil {
		return err
	}
	f := Feature{Name: name, Migratable: true, Pos: n.pos}
	if v, ok := n.attr("migratable"); ok {
		switch v {
		case "yes":
		case "no":
			f.Migratable = false
		default:
			return errorf(n.pos, "feature %s: migratable=%q, want yes or no", name, v)
		}
	}
	num := func(k *node, attr string, required bool) (uint32, error) {
		v, ok := k.attr(attr)
		if !ok {
			if required {
				return 0, errorf(k.pos, "feature %s: <%s> without %s", name, k.name, attr)
			}
			return 0, nil
		}
		u, err := strconv.ParseUint(v, 0, 32)
		if err != nil {
			return 0, errorf(k.pos, "feature %s: %s=%q is not a 32-bit number", name, attr, v)
		}
		return uint32(u), nil
	}
	for _, k := range n.kids {
		switch k.name {
		case "cpuid":
			leaf, err := num(k, "eax_in", true)
			if err != nil {
				return err
			}
			sub, err := num(k, "ecx_in", false)
			if err != nil {
				return err
			}
			for _, r := range cpuidRegs {
				mask, err := num(k, r.attr, false)
				if err != nil {
					return err
				}
				for b := range 32 {
					if mask&(1<<b) != 0 {
						f.Bits = append(f.Bits, feature.Location{Leaf: leaf, Subleaf: sub, Reg: r.reg, Bit: uint8(b)})
					}
				}
			}
		case "msr":
			index, err := num(k, "index", true)
			if err != nil {
				return err
			}
			if index == 0 {
				return errorf(k.pos, "feature %s: msr index 0", name)
			}
			for i, half := range []string{"eax", "edx"} {
				mask, err := num(k, half, false)
				if err != nil {
					return err
				}
				for b := range 32 {
					if mask&(1<<b) != 0 {
						f.Bits = append(f.Bits, feature.Location{MSR: index, Bit: uint8(32*i + b)})
					}
				}
			}
		}
	}
	if len(f.Bits) == 0 {
		return errorf(n.pos, "feature %s sets no CPUID or MSR bit", name)
	}
	for _, loc := range f.Bits {
		if id, ok := l.byLoc[loc]; ok {
			f.IDs = f.IDs.Add(id)
		} else {
			f.Unmapped = append(f.Unmapped, loc)
		}
	}
	l.m.features[name] = len(l.m.Features)
	l.m.Features = append(l.m.Features, f)
	return nil
}

func (l *loader) model(n *node) error {
	name, err := newName(n, l.m.models, func(i int) string { return l.m.Models[i].Pos.String() })
	if err != nil {
		return err
	}
	m := Model{Name: name, Migratable: true, DecodeHost: true, DecodeGuest: true, Pos: n.pos}
	have := map[string]bool{}
	// x86ModelParseAncestor, then signatures, vendor, features.
	var ancestor *node
	for _, k := range n.kids {
		if k.name != "model" {
			continue
		}
		if ancestor != nil {
			return errorf(k.pos, "model %s: a second ancestor <model> (the first is at line %d)", name, ancestor.pos.Line)
		}
		ancestor = k
		an, _ := k.attr("name")
		if an == "" {
			return errorf(k.pos, "model %s: ancestor <model> without a name", name)
		}
		a, ok := l.m.Model(an)
		if !ok {
			return errorf(k.pos, "model %s: ancestor model %q is not defined before it%s", name, an, l.didYouMean(an, names(l.m.Models, func(m *Model) string { return m.Name })))
		}
		m.Ancestor, m.Vendor, m.Set, m.Migratable = a.Name, a.Vendor, a.Set, a.Migratable
		m.Signatures = slices.Clone(a.Signatures)
		for _, f := range a.Features {
			have[f] = true
		}
	}
	var sigs []Signature
	for _, k := range n.kids {
		if k.name != "signature" {
			continue
		}
		s, err := signature(name, k)
		if err != nil {
			return err
		}
		sigs = append(sigs, s)
	}
	if sigs != nil {
		m.Signatures = sigs
	}
	for _, k := range n.kids {
		if k.name != "vendor" {
			continue
		}
		vn, _ := k.attr("name")
		if _, ok := l.m.Vendor(vn); !ok {
			return errorf(k.pos, "model %s: unknown vendor %q%s", name, vn, l.didYouMean(vn, names(l.m.Vendors, func(v *Vendor) string { return v.Name })))
		}
		m.Vendor = vn
	}
	for _, k := range n.kids {
		if k.name != "decode" {
			continue
		}
		for _, d := range []struct {
			attr string
			to   *bool
		}{{"host", &m.DecodeHost}, {"guest", &m.DecodeGuest}} {
			switch v, _ := k.attr(d.attr); v {
			case "on":
				*d.to = true
			case "off":
				*d.to = false
			default:
				return errorf(k.pos, "model %s: decode %s=%q, want on or off", name, d.attr, v)
			}
		}
	}
	removed := map[string]bool{}
	for _, k := range n.kids {
		if k.name != "feature" {
			continue
		}
		fn, _ := k.attr("name")
		f, ok := l.m.Feature(fn)
		if !ok {
			return errorf(k.pos, "model %s: unknown libvirt feature %q%s", name, fn, l.didYouMean(fn, names(l.m.Features, func(f *Feature) string { return f.Name })))
		}
		if v, ok := k.attr("removed"); ok && v != "no" {
			if v != "yes" {
				return errorf(k.pos, "model %s: feature %s: removed=%q, want yes or no", name, fn, v)
			}
			removed[fn] = true
			continue
		}
		if len(f.Unmapped) > 0 {
			locs := make([]string, len(f.Unmapped))
			for i, loc := range f.Unmapped {
				locs[i] = loc.String()
			}
			return errorf(k.pos, "model %s: libvirt feature %q (defined at %s) sets %s, which no cpupolicy feature names",
				name, fn, f.Pos, strings.Join(locs, ", "))
		}
		have[fn] = true
		m.Set = m.Set.Union(f.IDs)
		m.Migratable = m.Migratable && f.Migratable
	}
	for f := range have {
		m.Features = append(m.Features, f)
	}
	sort.Strings(m.Features)
	for f := range removed {
		m.Removed = append(m.Removed, f)
	}
	sort.Strings(m.Removed)
	l.m.models[name] = len(l.m.Models)
	l.m.Models = append(l.m.Models, m)
	return nil
}

func signature(model string, n *node) (Signature, error) {
	var s Signature
	for _, a := range []struct {
		attr string
		dst  *int
	}{{"family", &s.Family}, {"model", &s.Model}} {
		v, ok := n.attr(a.attr)
		if !ok {
			return s, errorf(n.pos, "model %s: <signature> without %s", model, a.attr)
		}
		u, err := strconv.ParseUint(v, 0, 16)
		if err != nil {
			return s, errorf(n.pos, "model %s: signature %s=%q is not a number", model, a.attr, v)
		}
		*a.dst = int(u)
	}
	if v, ok := n.attr("stepping"); ok {
		mask, err := steppings(v)
		if err != nil {
			return s, errorf(n.pos, "model %s: signature stepping=%q: %v", model, v, err)
		}
		s.Steppings = mask
	}
	return s, nil
}

// steppings parses libvirt's stepping list, "0-4" or "5,7-9", into a
// mask of the steppings 0–15.
func steppings(v string) (uint16, error) {
	var mask uint16
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 4)
		if err != nil {
			return 0, fmt.Errorf("%q is not a stepping 0-15", lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 4); err != nil || b < a {
				return 0, fmt.Errorf("%q is not a range of steppings 0-15", part)
			}
		}
		for x := a; x <= b; x++ {
			mask |= 1 << x
		}
	}
	return mask, nil
}

// names lists the names of defs (vendors, features or models), in order,
// for a suggestion.
func names[T any](defs []T, name func(*T) string) []string {
	out := make([]string, len(defs))
	for i := range defs {
		out[i] = name(&defs[i])
	}
	return out
}

func (l *loader) didYouMean(name string, candidates []string) string {
	if s := suggest.Nearest(name, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// locIndex maps every bit the registry names to its feature.
func locIndex(reg *feature.Registry) map[feature.Location]feature.ID {
	idx := make(map[feature.Location]feature.ID, reg.Len())
	for _, f := range reg.Features() {
		idx[f.Loc] = f.ID
		for _, a := range f.Also {
			idx[a] = f.ID
		}
	}
	return idx
}
