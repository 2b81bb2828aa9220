package check

import (
	"fmt"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Machine returns the catalog's machine type called name, or for "" its
// newest pc-q35.
func Machine(cat *catalog.Catalog, name string) (*catalog.MachineType, error) {
	if name != "" {
		return cat.Machine(name)
	}
	mt, ok := cat.Newest("pc-q35")
	if !ok {
		return nil, fmt.Errorf("catalog %s has no pc-q35 machine type; name one with --machine", cat.Name())
	}
	return mt, nil
}

// Operand is one side of a feature-set comparison, as written
// "[CATALOG:]MODEL[@MACHINE]", "[CATALOG:]SPEC" (a -cpu spec: it has a
// comma), "host:FILE" or "host:" (this host).
type Operand struct {
	Text string
	// Host is set for host:FILE; HostFile is "" for this host.
	Host     bool
	HostFile string
	// Catalog names another catalog (an embedded one's name or a file)
	// than the comparison's own.
	Catalog string
	// Name is the model or -cpu spec; Machine is "" for the
	// comparison's machine type.
	Name, Machine string
}

// ParseOperand reads an operand. A colon before the first comma starts
// a catalog name, except in host:.
func ParseOperand(arg string) Operand {
	o := Operand{Text: arg, Name: arg}
	if rest, ok := strings.CutPrefix(arg, "host:"); ok {
		return Operand{Text: arg, Host: true, HostFile: rest}
	}
	if i := strings.IndexAny(arg, ",:"); i > 0 && arg[i] == ':' {
		o.Catalog, o.Name = arg[:i], arg[i+1:]
	}
	// "EPYC@" keeps its "@": an unknown model, not the default machine.
	if m, mach, ok := strings.Cut(o.Name, "@"); ok && mach != "" && !strings.Contains(o.Name, ",") {
		o.Name, o.Machine = m, mach
	}
	return o
}

// Resolve returns the features of a model or spec operand on cat (the
// operand's own catalog, loaded by the caller) on machine (the
// comparison's, or the catalog's default when cat lacks it) under accel,
// for a kvm host of vendor.
func (o Operand) Resolve(cat *catalog.Catalog, machine string, accel core.Accel, vendor string) (feature.FeatureSet, error) {
	if o.Catalog != "" {
		if _, err := cat.Machine(machine); err != nil {
			mt, err := Machine(cat, "")
			if err != nil {
				return feature.FeatureSet{}, fmt.Errorf("%s: %v", o.Text, err)
			}
			machine = mt.Name
		}
	}
	if o.Machine != "" {
		machine = o.Machine
	}
	var r *catalog.Resolution
	var err error
	if model, _, _ := strings.Cut(o.Name, ","); model != o.Name || catalog.IsHostModel(model) {
		// A -cpu spec, or max or host: the one configuration path.
		r, _, err = ResolveConfig(cat, o.Name, machine, accel, nil, vendor)
	} else {
		r, err = cat.Resolve(o.Name, machine, accel, vendor)
	}
	if err != nil {
		return feature.FeatureSet{}, err
	}
	return r.Features, nil
}

// SetDiff compares two feature sets named A and B under an accelerator.
// Its JSON keys are a contract (`cpupolicy diff`).
type SetDiff struct {
	A      string     `json:"a"`
	B      string     `json:"b"`
	Accel  core.Accel `json:"accel"`
	OnlyA  []string   `json:"only_a"`
	OnlyB  []string   `json:"only_b"`
	Common int        `json:"common"`
}

// Diff compares a and b, features of reg.
func Diff(reg *feature.Registry, aName, bName string, accel core.Accel, a, b feature.FeatureSet) *SetDiff {
	return &SetDiff{A: aName, B: bName, Accel: accel, OnlyA: append([]string{}, reg.Names(a.Difference(b))...),
		OnlyB: append([]string{}, reg.Names(b.Difference(a))...), Common: a.Intersect(b).Count()}
}

// ResolveAll resolves the QEMU -cpu spec (ResolveConfig: host and max
// need snap under kvm), or else the named models (for none, every model
// of cat) on machine under accel, for a kvm host of vendor (snap's when
// snap is not nil).
func ResolveAll(cat *catalog.Catalog, names []string, spec, machine string, accel core.Accel, snap *host.HostSnapshot, vendor string) ([]*catalog.Resolution, error) {
	if spec != "" {
		r, _, err := ResolveConfig(cat, spec, machine, accel, snap, vendor)
		if err != nil {
			return nil, err
		}
		return []*catalog.Resolution{r}, nil
	}
	if len(names) == 0 {
		for _, m := range cat.Models() {
			names = append(names, m.Name)
		}
	}
	if snap != nil {
		vendor = snap.Vendor
	}
	var out []*catalog.Resolution
	for _, n := range names {
		r, err := cat.Resolve(n, machine, accel, vendor)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
