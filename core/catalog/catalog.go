// Package catalog holds what a QEMU release says about its x86 CPU models:
// every model (and -vN version) with its feature set and CPUID properties,
// every pc-i440fx/pc-q35 machine type in version order, and what each
// machine type and accelerator change on their own. [Catalog.Resolve]
// answers, for a model × machine type × accelerator, exactly what QEMU's
// query-cpu-model-expansion (type "full") answers — the catalog is derived
// from those answers by [Compact] and checked against them before it is
// written. [ParseCPUSpec] reads QEMU's -cpu syntax so that a site's
// configuration resolves the same way: [Catalog.ResolveSpec] applies it
// to each model's definition on the machine type (what QEMU builds
// before expanding: the features its dependencies hide in the
// expansion, and its own minimum and explicit CPUID levels, which the
// catalog also records) and expands the result as QEMU does (expand.go).
//
// Two catalogs imported from real QEMU releases are embedded ([Embedded]):
// "qemu-7.2" and "qemu-10.0".
package catalog

import (
	"fmt"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// kvm and tcg are core's accelerators as a catalog spells them in its
// accelerator-keyed tables (accels, the deltas), which are keyed by name.
const (
	kvm = string(core.KVM)
	tcg = string(core.TCG)
)

// Catalog is an immutable set of CPU models and machine types. Its
// fields are unexported and every accessor returns a copy, so a catalog
// that several callers share (an [Embedded] one) cannot be changed by any
// of them: a catalog that differs is a new one ([Catalog.WithModels]).
type Catalog struct {
	// name is "qemu-7.2" for an embedded catalog, else the file's name.
	name        string
	qemuVersion string
	qemuPackage string
	// kvmVendorFromHost: under kvm QEMU replaces every named model's
	// vendor with the host's (host_cpu_instance_init). The importer
	// checks this held on the import host.
	kvmVendorFromHost bool
	// importHostVendor is the vendor of the host the kvm data came from.
	importHostVendor string
	// definitions says the catalog knows each model's definition on every
	// machine type and accelerator (Props' Def* fields and the latent
	// features), not only its expansion: what ResolveSpec needs to
	// apply -cpu options the way QEMU does.
	definitions bool
	// kvmData is "" when the kvm answers are QEMU's (captured under
	// kvm), KVMDerived when DeriveKVM made them from the tcg answers.
	kvmData  string
	accels   []string
	machines []MachineType // by family, then version
	models   []Model       // by name

	// defaults[machine][accel] is what the machine type and accelerator
	// change for every model (on top of each model's own accel delta).
	defaults  map[string]map[string]Delta
	overrides map[resolveKey]Delta
	// packed holds the overrides of a catalog decoded from the binary
	// form still encoded, each decoded when looked up (override): they
	// are most of a catalog (qemu-10.0 has 656, 472 bytes each once
	// decoded), and a command resolves the models of one or two machine
	// types. Decoding them all touched 300 KB of heap at every start.
	packed map[resolveKey][]byte

	modelIdx   map[string]int
	machineIdx map[string]int
	reg        *feature.Registry
	// tables[machine][0 kvm, 1 tcg] caches resolutions (Catalog.table).
	tables [][2]atomic.Pointer[[]resolved]
}

// Name is "qemu-7.2" for an embedded catalog, else the file's name.
func (c *Catalog) Name() string { return c.name }

// QEMUVersion is the version of the QEMU the catalog was imported from
// ("7.2.15"); "" when unknown.
func (c *Catalog) QEMUVersion() string { return c.qemuVersion }

// QEMUPackage is that QEMU's package string ("Debian 1:7.2+dfsg-7"), if any.
func (c *Catalog) QEMUPackage() string { return c.qemuPackage }

// KVMVendorFromHost reports whether, under kvm, QEMU replaced every
// named model's vendor with the host's (host_cpu_instance_init), as the
// importer saw on the import host.
func (c *Catalog) KVMVendorFromHost() bool { return c.kvmVendorFromHost }

// ImportHostVendor is the vendor of the host the kvm data came from.
func (c *Catalog) ImportHostVendor() string { return c.importHostVendor }

// Definitions reports whether the catalog knows each model's definition
// on every machine type and accelerator (Props' Def* fields and the
// latent features), not only its expansion: what ResolveSpec needs to
// apply -cpu options the way QEMU does.
func (c *Catalog) Definitions() bool { return c.definitions }

// KVMData is "" when the catalog's kvm answers were captured from QEMU
// under kvm (or it has none), and KVMDerived ("derived") when they were
// derived from its tcg answers with the release's kvm rules (DeriveKVM),
// on a host without /dev/kvm.
func (c *Catalog) KVMData() string { return c.kvmData }

// Accels returns the accelerators the catalog holds data for.
func (c *Catalog) Accels() []string { return slices.Clone(c.accels) }

// Machines returns a copy of the machine types, by family, then version.
func (c *Catalog) Machines() []MachineType { return cloneMachines(c.machines) }

// Models returns a copy of the models, by name: one allocation of
// len × size of Model. A loop that only reads them should range over
// AllModels instead.
func (c *Catalog) Models() []Model { return slices.Clone(c.models) }

// AllModels yields each model, by name, as a copy: what Models gives,
// without copying the whole slice (the per-command hot loops of models,
// why and the fleet read every model once).
func (c *Catalog) AllModels() iter.Seq[Model] {
	return func(yield func(Model) bool) {
		for i := range c.models {
			if !yield(c.models[i]) {
				return
			}
		}
	}
}

// NumModels is how many models the catalog has.
func (c *Catalog) NumModels() int { return len(c.models) }

// cloneMachines copies ms and their versions (one allocation for all
// versions), so that no MachineType it returns shares memory with ms.
func cloneMachines(ms []MachineType) []MachineType {
	out := slices.Clone(ms)
	n := 0
	for i := range ms {
		n += len(ms[i].Version)
	}
	vs := make([]int, 0, n)
	for i := range out {
		start := len(vs)
		vs = append(vs, out[i].Version...)
		out[i].Version = vs[start:len(vs):len(vs)]
	}
	return out
}

type resolveKey struct{ model, machine, accel string }

// MachineType is one machine type, e.g. pc-q35-7.2.
type MachineType struct {
	Name    string
	Family  string // "pc-q35" or "pc-i440fx"
	Version []int  // [7 2]
	// Alias is QEMU's short name for it ("q35", "pc"), if any.
	Alias      string
	Deprecated bool
}

// Less orders machine types by family, then version.
func (m *MachineType) Less(o *MachineType) bool {
	if m.Family != o.Family {
		return m.Family < o.Family
	}
	return compareVersions(m.Version, o.Version) < 0
}

// VersionString returns "7.2".
func (m *MachineType) VersionString() string {
	parts := make([]string, len(m.Version))
	for i, v := range m.Version {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ".")
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// ParseMachineName splits "pc-i440fx-2.10" into family "pc-i440fx" and
// version [2 10].
func ParseMachineName(name string) (family string, version []int, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return "", nil, false
	}
	family = name[:i]
	for _, p := range strings.Split(name[i+1:], ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return "", nil, false
		}
		version = append(version, n)
	}
	return family, version, len(version) > 0
}

// Props are the CPUID properties of a resolved model.
type Props struct {
	Vendor   string `json:"vendor"`
	Family   int    `json:"family"`
	Model    int    `json:"model"`
	Stepping int    `json:"stepping"`
	ModelID  string `json:"model_id"`
	Level    uint32 `json:"level"`
	XLevel   uint32 `json:"xlevel"`
	XLevel2  uint32 `json:"xlevel2"`
	// What QEMU's automatic levels start from (see expand.go).
	MinLevel           uint32 `json:"min_level"`
	MinXLevel          uint32 `json:"min_xlevel"`
	MinXLevel2         uint32 `json:"min_xlevel2"`
	FullCPUIDAutoLevel bool   `json:"full_cpuid_auto_level"`
	IntelPTAutoLevel   bool   `json:"intel_pt_auto_level"`
	// The definition's levels, before expansion (catalog.RawExpansion
	// says more): its own minimum levels, and whether it sets level,
	// xlevel or xlevel2 explicitly (to Level, XLevel, XLevel2). Zero in
	// a catalog without definitions.
	DefMinLevel     uint32 `json:"def_min_level,omitempty"`
	DefMinXLevel    uint32 `json:"def_min_xlevel,omitempty"`
	DefMinXLevel2   uint32 `json:"def_min_xlevel2,omitempty"`
	LevelExplicit   bool   `json:"level_explicit,omitempty"`
	XLevelExplicit  bool   `json:"xlevel_explicit,omitempty"`
	XLevel2Explicit bool   `json:"xlevel2_explicit,omitempty"`
}

// Model is one CPU model as QEMU defines it, resolved on the newest
// machine type under tcg (the catalog's base); other machine types and
// accelerators are deltas from it.
type Model struct {
	Name string
	// Base is the unversioned name ("Skylake-Client") and Version the
	// N of "-vN" (0 for unversioned names and aliases).
	Base          string
	Version       int
	AliasOf       string
	Static        bool
	MigrationSafe bool
	Deprecated    bool
	Features      feature.FeatureSet
	Props         Props
	// Latent are the features of the model's definition that its
	// expansion lacks (catalog.RawExpansion.Latent): QEMU's feature
	// dependencies hid them.
	Latent feature.FeatureSet
	// Source is "" for the catalog's own models, else what added the
	// model (a plugin's name, Catalog.WithModels).
	Source string
	// accel[a] is what accelerator a changes for this model on the
	// newest machine type.
	accel map[string]Delta
}

// Delta is a change to a resolved model: features switched on, then off,
// and properties replaced; and the same for its latent features.
type Delta struct {
	On, Off             feature.FeatureSet
	Props               PropsPatch
	LatentOn, LatentOff feature.FeatureSet
}

// IsZero reports whether d changes nothing.
func (d *Delta) IsZero() bool {
	return d.On.IsEmpty() && d.Off.IsEmpty() && d.Props == (PropsPatch{}) &&
		d.LatentOn.IsEmpty() && d.LatentOff.IsEmpty()
}

func (d *Delta) apply(f feature.FeatureSet, p *Props) feature.FeatureSet {
	d.Props.apply(p)
	return f.Union(d.On).Difference(d.Off)
}

func (d *Delta) applyLatent(lat feature.FeatureSet) feature.FeatureSet {
	return lat.Union(d.LatentOn).Difference(d.LatentOff)
}

// PropsPatch replaces the properties that are set (non-nil).
type PropsPatch struct {
	Vendor             *string `json:"vendor,omitempty"`
	Family             *int    `json:"family,omitempty"`
	Model              *int    `json:"model,omitempty"`
	Stepping           *int    `json:"stepping,omitempty"`
	ModelID            *string `json:"model_id,omitempty"`
	Level              *uint32 `json:"level,omitempty"`
	XLevel             *uint32 `json:"xlevel,omitempty"`
	XLevel2            *uint32 `json:"xlevel2,omitempty"`
	MinLevel           *uint32 `json:"min_level,omitempty"`
	MinXLevel          *uint32 `json:"min_xlevel,omitempty"`
	MinXLevel2         *uint32 `json:"min_xlevel2,omitempty"`
	FullCPUIDAutoLevel *bool   `json:"full_cpuid_auto_level,omitempty"`
	IntelPTAutoLevel   *bool   `json:"intel_pt_auto_level,omitempty"`
	DefMinLevel        *uint32 `json:"def_min_level,omitempty"`
	DefMinXLevel       *uint32 `json:"def_min_xlevel,omitempty"`
	DefMinXLevel2      *uint32 `json:"def_min_xlevel2,omitempty"`
	LevelExplicit      *bool   `json:"level_explicit,omitempty"`
	XLevelExplicit     *bool   `json:"xlevel_explicit,omitempty"`
	XLevel2Explicit    *bool   `json:"xlevel2_explicit,omitempty"`
}

func (pp *PropsPatch) apply(p *Props) {
	set := func(dst any, src any) {
		switch d := dst.(type) {
		case *string:
			if s := src.(*string); s != nil {
				*d = *s
			}
		case *int:
			if s := src.(*int); s != nil {
				*d = *s
			}
		case *uint32:
			if s := src.(*uint32); s != nil {
				*d = *s
			}
		case *bool:
			if s := src.(*bool); s != nil {
				*d = *s
			}
		}
	}
	set(&p.Vendor, pp.Vendor)
	set(&p.Family, pp.Family)
	set(&p.Model, pp.Model)
	set(&p.Stepping, pp.Stepping)
	set(&p.ModelID, pp.ModelID)
	set(&p.Level, pp.Level)
	set(&p.XLevel, pp.XLevel)
	set(&p.XLevel2, pp.XLevel2)
	set(&p.MinLevel, pp.MinLevel)
	set(&p.MinXLevel, pp.MinXLevel)
	set(&p.MinXLevel2, pp.MinXLevel2)
	set(&p.FullCPUIDAutoLevel, pp.FullCPUIDAutoLevel)
	set(&p.IntelPTAutoLevel, pp.IntelPTAutoLevel)
	set(&p.DefMinLevel, pp.DefMinLevel)
	set(&p.DefMinXLevel, pp.DefMinXLevel)
	set(&p.DefMinXLevel2, pp.DefMinXLevel2)
	set(&p.LevelExplicit, pp.LevelExplicit)
	set(&p.XLevelExplicit, pp.XLevelExplicit)
	set(&p.XLevel2Explicit, pp.XLevel2Explicit)
}

// diffProps returns the patch that turns a into b.
func diffProps(a, b Props) PropsPatch {
	var pp PropsPatch
	if a.Vendor != b.Vendor {
		pp.Vendor = &b.Vendor
	}
	if a.Family != b.Family {
		pp.Family = &b.Family
	}
	if a.Model != b.Model {
		pp.Model = &b.Model
	}
	if a.Stepping != b.Stepping {
		pp.Stepping = &b.Stepping
	}
	if a.ModelID != b.ModelID {
		pp.ModelID = &b.ModelID
	}
	if a.Level != b.Level {
		pp.Level = &b.Level
	}
	if a.XLevel != b.XLevel {
		pp.XLevel = &b.XLevel
	}
	if a.XLevel2 != b.XLevel2 {
		pp.XLevel2 = &b.XLevel2
	}
	if a.MinLevel != b.MinLevel {
		pp.MinLevel = &b.MinLevel
	}
	if a.MinXLevel != b.MinXLevel {
		pp.MinXLevel = &b.MinXLevel
	}
	if a.MinXLevel2 != b.MinXLevel2 {
		pp.MinXLevel2 = &b.MinXLevel2
	}
	if a.FullCPUIDAutoLevel != b.FullCPUIDAutoLevel {
		pp.FullCPUIDAutoLevel = &b.FullCPUIDAutoLevel
	}
	if a.IntelPTAutoLevel != b.IntelPTAutoLevel {
		pp.IntelPTAutoLevel = &b.IntelPTAutoLevel
	}
	if a.DefMinLevel != b.DefMinLevel {
		pp.DefMinLevel = &b.DefMinLevel
	}
	if a.DefMinXLevel != b.DefMinXLevel {
		pp.DefMinXLevel = &b.DefMinXLevel
	}
	if a.DefMinXLevel2 != b.DefMinXLevel2 {
		pp.DefMinXLevel2 = &b.DefMinXLevel2
	}
	if a.LevelExplicit != b.LevelExplicit {
		pp.LevelExplicit = &b.LevelExplicit
	}
	if a.XLevelExplicit != b.XLevelExplicit {
		pp.XLevelExplicit = &b.XLevelExplicit
	}
	if a.XLevel2Explicit != b.XLevel2Explicit {
		pp.XLevel2Explicit = &b.XLevel2Explicit
	}
	return pp
}

// Registry returns the feature registry the catalog's sets index.
func (c *Catalog) Registry() *feature.Registry { return c.reg }

// Model returns a copy of the named model.
func (c *Catalog) Model(name string) (*Model, error) {
	m, err := c.model(name)
	if err != nil {
		return nil, err
	}
	cp := *m
	return &cp, nil
}

// HasModel reports whether the catalog defines the named model (an
// alias included), as query-cpu-definitions would list it: Model without
// the copy, and without looking for a suggestion when it does not (which
// measures the name against every model's).
func (c *Catalog) HasModel(name string) bool {
	_, ok := c.modelIdx[name]
	return ok
}

// model returns the named model itself, for the package's own reads.
func (c *Catalog) model(name string) (*Model, error) {
	if i, ok := c.modelIdx[name]; ok {
		return &c.models[i], nil
	}
	names := make([]string, len(c.models))
	for i := range c.models {
		names[i] = c.models[i].Name
	}
	return nil, &UnknownError{Kind: "CPU model", Name: name, Suggestion: nearest(name, names), Catalog: c.name}
}

// Machine returns a copy of the named machine type (or of the one its
// alias, "q35", "pc", names).
func (c *Catalog) Machine(name string) (*MachineType, error) {
	mt, err := c.machine(name)
	if err != nil {
		return nil, err
	}
	return mt.clone(), nil
}

// machine returns the named machine type itself, for the package's own
// reads.
func (c *Catalog) machine(name string) (*MachineType, error) {
	if i, ok := c.machineIdx[name]; ok {
		return &c.machines[i], nil
	}
	var names []string
	for i := range c.machines {
		if c.machines[i].Alias == name {
			return &c.machines[i], nil
		}
		names = append(names, c.machines[i].Name)
	}
	return nil, &UnknownError{Kind: "machine type", Name: name, Suggestion: nearest(name, names), Catalog: c.name}
}

// clone returns a copy of m that shares no memory with it.
func (m *MachineType) clone() *MachineType {
	cp := *m
	cp.Version = slices.Clone(m.Version)
	return &cp
}

// Newest returns a copy of the newest machine type of family ("pc-q35").
func (c *Catalog) Newest(family string) (*MachineType, bool) {
	if mt, ok := c.newest(family); ok {
		return mt.clone(), true
	}
	return nil, false
}

// newest returns the newest machine type of family itself.
func (c *Catalog) newest(family string) (*MachineType, bool) {
	var best *MachineType
	for i := range c.machines {
		m := &c.machines[i]
		if m.Family == family && (best == nil || best.Less(m)) {
			best = m
		}
	}
	return best, best != nil
}

// MachineTypes returns copies of the machine types of family in version
// order (all machine types when family is "").
func (c *Catalog) MachineTypes(family string) []*MachineType {
	var ms []MachineType
	for i := range c.machines {
		if family == "" || c.machines[i].Family == family {
			ms = append(ms, c.machines[i])
		}
	}
	ms = cloneMachines(ms)
	out := make([]*MachineType, len(ms))
	for i := range ms {
		out[i] = &ms[i]
	}
	return out
}

// HasAccel reports whether the catalog holds data for accel.
func (c *Catalog) HasAccel(accel core.Accel) bool {
	return slices.Contains(c.accels, string(accel))
}

// UnknownError is an unknown model or machine type name.
type UnknownError struct {
	Kind, Name, Suggestion, Catalog string
}

func (e *UnknownError) Error() string {
	msg := fmt.Sprintf("unknown %s %q in catalog %s", e.Kind, e.Name, e.Catalog)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggestion)
	}
	return msg
}

// nearest returns the candidate closest to name, or "" when none is
// plausibly a typo of it.
func nearest(name string, candidates []string) string {
	// Ties go to the later candidate: "pc-q35-7.3" suggests the newest
	// pc-q35-7.x.
	return suggest.NearestFunc(name, candidates, func(string, string) bool { return true })
}

// splitVersion splits "EPYC-v3" into ("EPYC", 3); other names get 0.
func splitVersion(name string) (string, int) {
	i := strings.LastIndex(name, "-v")
	if i <= 0 {
		return name, 0
	}
	n, err := strconv.Atoi(name[i+2:])
	if err != nil || n <= 0 {
		return name, 0
	}
	return name[:i], n
}

func (c *Catalog) index() {
	c.modelIdx = make(map[string]int, len(c.models))
	sort.Slice(c.models, func(i, j int) bool { return c.models[i].Name < c.models[j].Name })
	for i := range c.models {
		c.modelIdx[c.models[i].Name] = i
	}
	sort.SliceStable(c.machines, func(i, j int) bool { return c.machines[i].Less(&c.machines[j]) })
	c.machineIdx = make(map[string]int, len(c.machines))
	for i := range c.machines {
		c.machineIdx[c.machines[i].Name] = i
	}
	c.tables = make([][2]atomic.Pointer[[]resolved], len(c.machines))
}

// latent returns model's latent features on machine under accel: the
// layers of resolve, applied to the latent sets.
func (c *Catalog) latent(m *Model, machine, accel string) feature.FeatureSet {
	lat := m.Latent
	if d, ok := m.accel[accel]; ok {
		lat = d.applyLatent(lat)
	}
	if d, ok := c.defaults[machine][accel]; ok {
		lat = d.applyLatent(lat)
	}
	if d, ok := c.override(resolveKey{m.Name, machine, accel}); ok {
		lat = d.applyLatent(lat)
	}
	return lat
}
