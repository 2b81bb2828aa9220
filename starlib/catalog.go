package starlib

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Catalog is the Starlark value of a catalog: what a QEMU release says
// about its CPU models and machine types.
//
//	catalog.name, catalog.qemu_version      "qemu-7.2", "7.2.22"
//	catalog.accels                          ("kvm", "tcg")
//	catalog.models()                        list of model, by name
//	catalog.model(name)                     model
//	catalog.machine_types(family=None)      list of machine_type, by family then version
//	catalog.machine(name)                   machine_type (QEMU's aliases "pc", "q35" too)
//	catalog.resolve(cpu, machine=None, accel="kvm", host=None)
//	                                        resolution of a model, or of a -cpu
//	                                        spec when cpu has a comma
//	catalog.best_model(hosts, machine=None, accel="kvm")
//	                                        the best model every host of the
//	                                        list runs (the rule of `baseline`,
//	                                        `fleet`, `labels`), or None
//	catalog.implicit(model, machine=None, accel="kvm")
//	                                        (added, removed): what the accelerator
//	                                        and machine type turn on and off on
//	                                        their own, relative to the model's
//	                                        definition
//
// machine=None means the newest pc-q35 machine type, as in the CLI. A
// model or machine argument is a value of this catalog or a name; an
// unknown name is an error that suggests the nearest. host (in resolve)
// stands for the host whose vendor a guest sees under kvm.
//
// Its type is "catalog".
type Catalog struct {
	c   *catalog.Catalog
	reg *feature.Registry
	// rel is the QEMU release check.Compute judges hosts by
	// (check.ReleaseFor), relErr why there is none.
	rel    core.Release
	relErr error

	models   []*Model
	byModel  map[string]*Model // by name: the catalog hands out copies
	machines []*MachineType
	byMT     map[string]*MachineType
	methods  starlark.StringDict // bound once: attribute access is in every loop
}

var _ starlark.HasAttrs = (*Catalog)(nil)

// NewCatalog returns the Starlark value of c.
func NewCatalog(c *catalog.Catalog) *Catalog {
	catModels := c.Models()
	rel, _, relErr := check.ReleaseFor(c.QEMUVersion())
	v := &Catalog{c: c, reg: c.Registry(), rel: rel, relErr: relErr,
		byModel: make(map[string]*Model, len(catModels)),
		byMT:    make(map[string]*MachineType)}
	for i := range catModels {
		m := &Model{cat: v, m: &catModels[i]}
		v.models = append(v.models, m)
		v.byModel[m.m.Name] = m
	}
	// host and max are no catalog's definitions, but configs and offers
	// name them: their models are what query-cpu-definitions says.
	for _, n := range []string{"host", "max"} {
		if m, ok := catalog.PerHostModel(n); ok && v.byModel[n] == nil {
			v.byModel[n] = &Model{cat: v, m: m}
		}
	}
	for _, mt := range c.MachineTypes("") {
		w := &MachineType{cat: v, mt: mt}
		v.machines = append(v.machines, w)
		v.byMT[mt.Name] = w
	}
	v.methods = starlark.StringDict{
		"models":        starlark.NewBuiltin("models", v.modelsFn).BindReceiver(v),
		"model":         starlark.NewBuiltin("model", v.modelFn).BindReceiver(v),
		"machine_types": starlark.NewBuiltin("machine_types", v.machineTypesFn).BindReceiver(v),
		"machine":       starlark.NewBuiltin("machine", v.machineFn).BindReceiver(v),
		"resolve":       starlark.NewBuiltin("resolve", v.resolveFn).BindReceiver(v),
		"implicit":      starlark.NewBuiltin("implicit", v.implicitFn).BindReceiver(v),
		"best_model":    starlark.NewBuiltin("best_model", v.bestModelFn).BindReceiver(v),
	}
	for _, m := range v.models {
		m.featuresMethod = starlark.NewBuiltin("features", m.featuresFn).BindReceiver(m)
		m.abiLevelMethod = starlark.NewBuiltin("abi_level", m.abiLevel).BindReceiver(m)
	}
	return v
}

// Catalog returns the catalog it wraps.
func (c *Catalog) Catalog() *catalog.Catalog { return c.c }

func (c *Catalog) String() string        { return fmt.Sprintf("<catalog %q>", c.c.Name()) }
func (c *Catalog) Type() string          { return "catalog" }
func (c *Catalog) Freeze()               {} // immutable
func (c *Catalog) Truth() starlark.Bool  { return true }
func (c *Catalog) Hash() (uint32, error) { return starlark.String(c.c.Name()).Hash() }

var catalogAttrs = []string{"accels", "best_model", "implicit", "machine", "machine_types", "model", "models", "name", "qemu_version", "resolve"}

func (c *Catalog) AttrNames() []string { return catalogAttrs }

func (c *Catalog) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(c.c.Name()), nil
	case "qemu_version":
		return starlark.String(c.c.QEMUVersion()), nil
	case "accels":
		t := make(starlark.Tuple, len(c.c.Accels()))
		for i, a := range c.c.Accels() {
			t[i] = starlark.String(a)
		}
		return t, nil
	}
	return c.methods[name], nil // nil, nil when there is no such attribute
}

// models()
func (c *Catalog) modelsFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(c.models))
	for i, m := range c.models {
		if err := r.poll(i); err != nil {
			return nil, err
		}
		out[i] = m
	}
	return starlark.NewList(out), nil
}

// model(name)
func (c *Catalog) modelFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	return c.modelArg(b.Name(), starlark.String(name))
}

// machine_types(family=None)
func (c *Catalog) machineTypesFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	family := ""
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "family??", &family); err != nil {
		return nil, err
	}
	var out []starlark.Value
	for _, mt := range c.machines {
		if family == "" || mt.mt.Family == family {
			out = append(out, mt)
		}
	}
	if len(out) == 0 && family != "" {
		return nil, fmt.Errorf("%s: no machine types of family %q in catalog %s (it has %s)", b.Name(), family, c.c.Name(), strings.Join(c.families(), ", "))
	}
	return starlark.NewList(out), nil
}

// families returns the catalog's machine type families, in order.
func (c *Catalog) families() []string {
	var out []string
	for _, mt := range c.machines {
		if len(out) == 0 || out[len(out)-1] != mt.mt.Family {
			out = append(out, mt.mt.Family)
		}
	}
	return out
}

// machine(name)
func (c *Catalog) machineFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	return c.machineArg(b.Name(), starlark.String(name))
}

// machineArg reads a machine argument: a machine_type of c, a name, or
// None for the newest pc-q35.
func (c *Catalog) machineArg(fn string, v starlark.Value) (*MachineType, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		mt, ok := c.c.Newest("pc-q35")
		if !ok {
			return nil, fmt.Errorf("%s: machine: required (catalog %s has no pc-q35 machine type to default to)", fn, c.c.Name())
		}
		return c.byMT[mt.Name], nil
	case *MachineType:
		if v.cat.c != c.c {
			return nil, fmt.Errorf("%s: machine: %s is from catalog %s, not %s", fn, v.mt.Name, v.cat.c.Name(), c.c.Name())
		}
		return c.byMT[v.mt.Name], nil
	case starlark.String:
		mt, err := c.c.Machine(string(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
		return c.byMT[mt.Name], nil
	}
	return nil, fmt.Errorf("%s: machine: got %s, want machine_type or string", fn, v.Type())
}

// modelArg reads a model argument: a model of c or a name.
func (c *Catalog) modelArg(fn string, v starlark.Value) (*Model, error) {
	switch v := v.(type) {
	case *Model:
		if v.cat.c != c.c {
			return nil, fmt.Errorf("%s: model: %s is from catalog %s, not %s", fn, v.m.Name, v.cat.c.Name(), c.c.Name())
		}
		return c.byModel[v.m.Name], nil
	case starlark.String:
		m, err := c.c.Model(string(v))
		if err != nil {
			if pm := c.byModel[string(v)]; pm != nil && catalog.IsPerHost(string(v)) {
				return pm, nil
			}
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
		return c.byModel[m.Name], nil
	}
	return nil, fmt.Errorf("%s: model: got %s, want model or string", fn, v.Type())
}

// compute is check.Compute for a host judged by c's release.
func (c *Catalog) compute(s *host.HostSnapshot, accel string) (*check.Availability, error) {
	if c.relErr != nil {
		return nil, c.relErr
	}
	return check.Compute(c.reg, s, c.rel, core.Accel(accel))
}

// accelArg checks an accelerator name against c.
func (c *Catalog) accelArg(fn, accel string) error {
	if accel != string(core.KVM) && accel != string(core.TCG) {
		return fmt.Errorf("%s: accel: got %q, want \"kvm\" or \"tcg\"", fn, accel)
	}
	if !c.c.HasAccel(core.Accel(accel)) {
		return fmt.Errorf("%s: accel: catalog %s has no %s data", fn, c.c.Name(), accel)
	}
	return nil
}

// machineAccelArgs reads the machine and accel arguments of resolve,
// implicit, model.features and config: where and how a model is resolved.
func (c *Catalog) machineAccelArgs(fn string, machine starlark.Value, accel string) (*MachineType, error) {
	mt, err := c.machineArg(fn, machine)
	if err != nil {
		return nil, err
	}
	if err := c.accelArg(fn, accel); err != nil {
		return nil, err
	}
	return mt, nil
}

// resolve(cpu, machine=None, accel="kvm", host=None)
func (c *Catalog) resolveFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	// One struct, so that unpacking (which takes pointers) allocates once:
	// resolve is called in every policy's innermost loop.
	a := &struct {
		cpu, machine starlark.Value
		accel        string
		host         *Host
	}{machine: starlark.None, accel: string(core.KVM)}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "cpu", &a.cpu, "machine?", &a.machine, "accel?", &a.accel, "host??", &a.host); err != nil {
		return nil, err
	}
	cpu, machine, accel, h := a.cpu, a.machine, a.accel, a.host
	mt, err := c.machineAccelArgs(b.Name(), machine, accel)
	if err != nil {
		return nil, err
	}
	vendor := ""
	if h != nil {
		vendor = h.snap.Vendor
	}
	var res *catalog.Resolution
	if s, ok := cpu.(starlark.String); ok && (strings.Contains(string(s), ",") || catalog.IsHostModel(string(s)) && string(s) != "base") {
		// A -cpu spec, or host or max: check.ResolveConfig, the one
		// configuration path (host and max start from the host argument).
		if err := r.checkLen(b.Name(), "cpu spec length", len(s)); err != nil {
			return nil, err
		}
		var snap *host.HostSnapshot
		if h != nil {
			snap = h.snap
		}
		if res, _, err = check.ResolveConfig(c.c, string(s), mt.mt.Name, core.Accel(accel), snap, vendor); err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
	} else {
		m, err := c.modelArg(b.Name(), cpu)
		if err != nil {
			return nil, err
		}
		if res, err = c.c.Resolve(m.m.Name, mt.mt.Name, core.Accel(accel), vendor); err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
	}
	return &Resolution{res: res, features: FeatureSet{c.reg, res.Features}}, nil
}

// implicit(model, machine=None, accel="kvm")
func (c *Catalog) implicitFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var model, machine starlark.Value = nil, starlark.None
	accel := string(core.KVM)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "model", &model, "machine?", &machine, "accel?", &accel); err != nil {
		return nil, err
	}
	m, err := c.modelArg(b.Name(), model)
	if err != nil {
		return nil, err
	}
	mt, err := c.machineAccelArgs(b.Name(), machine, accel)
	if err != nil {
		return nil, err
	}
	added, removed, err := c.c.Implicit(m.m.Name, mt.mt.Name, core.Accel(accel))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return starlark.Tuple{FeatureSet{c.reg, added}, FeatureSet{c.reg, removed}}, nil
}

// Model is the Starlark value of one CPU model of a catalog:
//
//	model.name                  "Skylake-Client-v4"
//	model.base, model.version   "Skylake-Client", 4 (0 for unversioned names)
//	model.alias_of              the versioned model an alias stands for, or None
//	model.deprecated, model.static, model.migration_safe
//	model.vendor                its CPUID vendor string
//	model.definition            feature_set as QEMU defines it (newest
//	                            machine type, tcg): what implicit() is relative to
//	model.features(machine=None, accel="kvm")
//	                            feature_set it resolves to
//	model.abi_level(machine=None, accel="kvm")
//	                            the x86-64 psABI level (0 … 4) of features()
//
// Models compare equal when they are the same model of the same catalog
// and order by name. Its type is "model".
type Model struct {
	cat            *Catalog
	m              *catalog.Model
	featuresMethod *starlark.Builtin
	abiLevelMethod *starlark.Builtin
}

var (
	_ starlark.HasAttrs       = (*Model)(nil)
	_ starlark.TotallyOrdered = (*Model)(nil)
)

func (m *Model) String() string        { return fmt.Sprintf("<model %q>", m.m.Name) }
func (m *Model) Type() string          { return "model" }
func (m *Model) Freeze()               {} // immutable
func (m *Model) Truth() starlark.Bool  { return true }
func (m *Model) Hash() (uint32, error) { return starlark.String(m.m.Name).Hash() }

// Cmp orders models by name, then by catalog name.
func (m *Model) Cmp(y starlark.Value, depth int) (int, error) {
	n := y.(*Model)
	if c := strings.Compare(m.m.Name, n.m.Name); c != 0 {
		return c, nil
	}
	return strings.Compare(m.cat.c.Name(), n.cat.c.Name()), nil
}

var modelAttrs = []string{"abi_level", "alias_of", "base", "definition", "deprecated", "features", "migration_safe", "name", "static", "vendor", "version"}

func (m *Model) AttrNames() []string { return modelAttrs }

func (m *Model) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(m.m.Name), nil
	case "base":
		return starlark.String(m.m.Base), nil
	case "version":
		return starlark.MakeInt(m.m.Version), nil
	case "alias_of":
		if m.m.AliasOf == "" {
			return starlark.None, nil
		}
		return starlark.String(m.m.AliasOf), nil
	case "deprecated":
		return starlark.Bool(m.m.Deprecated), nil
	case "static":
		return starlark.Bool(m.m.Static), nil
	case "migration_safe":
		return starlark.Bool(m.m.MigrationSafe), nil
	case "vendor":
		return starlark.String(m.m.Props.Vendor), nil
	case "definition":
		return FeatureSet{m.cat.reg, m.m.Features}, nil
	case "features":
		return m.featuresMethod, nil
	case "abi_level":
		return m.abiLevelMethod, nil
	}
	return nil, nil
}

// features(machine=None, accel="kvm")
func (m *Model) featuresFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	a := &struct { // one allocation for unpacking, as in resolve
		machine starlark.Value
		accel   string
	}{starlark.None, string(core.KVM)}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "machine?", &a.machine, "accel?", &a.accel); err != nil {
		return nil, err
	}
	machine, accel := a.machine, a.accel
	mt, err := m.cat.machineAccelArgs(b.Name(), machine, accel)
	if err != nil {
		return nil, err
	}
	res, err := m.cat.c.Resolve(m.m.Name, mt.mt.Name, core.Accel(accel), "")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return FeatureSet{m.cat.reg, res.Features}, nil
}

// MachineType is the Starlark value of a machine type:
//
//	mt.name, mt.family          "pc-q35-7.2", "pc-q35"
//	mt.version                  "7.2"
//	mt.alias                    QEMU's short name ("q35") or None
//	mt.deprecated
//
// Machine types compare equal by name, and order (< <= > >=) by version
// within a family; ordering two families is an error. Its type is
// "machine_type".
type MachineType struct {
	cat *Catalog
	mt  *catalog.MachineType
}

var (
	_ starlark.HasAttrs   = (*MachineType)(nil)
	_ starlark.Comparable = (*MachineType)(nil)
)

func (m *MachineType) String() string        { return fmt.Sprintf("<machine_type %q>", m.mt.Name) }
func (m *MachineType) Type() string          { return "machine_type" }
func (m *MachineType) Freeze()               {} // immutable
func (m *MachineType) Truth() starlark.Bool  { return true }
func (m *MachineType) Hash() (uint32, error) { return starlark.String(m.mt.Name).Hash() }

func (m *MachineType) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	n := y.(*MachineType)
	switch op {
	case syntax.EQL:
		return m.mt.Name == n.mt.Name, nil
	case syntax.NEQ:
		return m.mt.Name != n.mt.Name, nil
	}
	if m.mt.Family != n.mt.Family {
		return false, fmt.Errorf("cannot order machine types of different families: %s %s %s", m.mt.Name, op, n.mt.Name)
	}
	var cmp int
	switch {
	case m.mt.Less(n.mt):
		cmp = -1
	case n.mt.Less(m.mt):
		cmp = 1
	}
	switch op {
	case syntax.LT:
		return cmp < 0, nil
	case syntax.LE:
		return cmp <= 0, nil
	case syntax.GT:
		return cmp > 0, nil
	case syntax.GE:
		return cmp >= 0, nil
	}
	return false, fmt.Errorf("%s %s %s not implemented", m.Type(), op, n.Type())
}

var machineAttrs = []string{"alias", "deprecated", "family", "name", "version"}

func (m *MachineType) AttrNames() []string { return machineAttrs }

func (m *MachineType) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(m.mt.Name), nil
	case "family":
		return starlark.String(m.mt.Family), nil
	case "version":
		return starlark.String(m.mt.VersionString()), nil
	case "alias":
		if m.mt.Alias == "" {
			return starlark.None, nil
		}
		return starlark.String(m.mt.Alias), nil
	case "deprecated":
		return starlark.Bool(m.mt.Deprecated), nil
	}
	return nil, nil
}

// Resolution is what catalog.resolve returns: a model or -cpu spec
// resolved on a machine type under an accelerator, as QEMU's
// query-cpu-model-expansion (type "full") reports it.
//
//	r.cpu, r.machine, r.accel   what was resolved (names)
//	r.features                  feature_set the guest gets
//	r.vendor, r.family, r.model, r.stepping, r.model_id
//	r.level, r.xlevel, r.xlevel2
//	                            the CPUID properties, named as QEMU's
//
// Its type is "resolution".
type Resolution struct {
	res      *catalog.Resolution
	features FeatureSet
}

var _ starlark.HasAttrs = (*Resolution)(nil)

func (r *Resolution) String() string {
	return fmt.Sprintf("<resolution %s on %s (%s)>", r.res.Model, r.res.Machine, r.res.Accel)
}
func (r *Resolution) Type() string         { return "resolution" }
func (r *Resolution) Freeze()              {} // immutable
func (r *Resolution) Truth() starlark.Bool { return true }
func (r *Resolution) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable: resolution")
}

var resolutionAttrs = []string{"accel", "cpu", "family", "features", "level", "machine", "model", "model_id", "stepping", "vendor", "xlevel", "xlevel2"}

func (r *Resolution) AttrNames() []string { return resolutionAttrs }

func (r *Resolution) Attr(name string) (starlark.Value, error) {
	p := r.res.Props
	switch name {
	case "cpu":
		return starlark.String(r.res.Model), nil
	case "machine":
		return starlark.String(r.res.Machine), nil
	case "accel":
		return starlark.String(r.res.Accel), nil
	case "features":
		return r.features, nil
	case "vendor":
		return starlark.String(p.Vendor), nil
	case "family":
		return starlark.MakeInt(p.Family), nil
	case "model":
		return starlark.MakeInt(p.Model), nil
	case "stepping":
		return starlark.MakeInt(p.Stepping), nil
	case "model_id":
		return starlark.String(p.ModelID), nil
	case "level":
		return starlark.MakeUint64(uint64(p.Level)), nil
	case "xlevel":
		return starlark.MakeUint64(uint64(p.XLevel)), nil
	case "xlevel2":
		return starlark.MakeUint64(uint64(p.XLevel2)), nil
	}
	return nil, nil
}
