package plugins

import (
	"context"
	"fmt"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

// Inspection is what `cpupolicy plugin inspect` shows about a plugin: its
// manifest, its module and the cost of loading it. Its JSON keys are a
// contract.
type Inspection struct {
	File          string             `json:"file"`
	Size          int64              `json:"size"`
	Name          string             `json:"name"`
	Version       string             `json:"version"`
	ABI           int                `json:"abi"`
	Description   string             `json:"description"`
	Vendors       []string           `json:"vendors"`
	Leaves        [][2]string        `json:"leaves"`
	Features      []InspectedFeature `json:"features"`
	Checks        []CheckDef         `json:"checks"`
	Models        []InspectedModel   `json:"models"`
	ModelsError   string             `json:"models_error,omitempty"`
	Imports       []string           `json:"imports"`
	Exports       []string           `json:"exports"`
	MemoryPages   uint64             `json:"memory_pages"`
	Engine        string             `json:"engine"`
	CompileMS     float64            `json:"compile_ms"`
	CacheHit      bool               `json:"cache_hit"`
	CacheNote     string             `json:"cache_note,omitempty"`
	InstantiateMS float64            `json:"instantiate_ms"`
	DescribeMS    float64            `json:"describe_ms"`
}

// InspectedFeature is a feature the plugin defines, with its location
// both as text and as numbers.
type InspectedFeature struct {
	Name        string   `json:"name"`
	Location    string   `json:"location"`
	Leaf        *uint32  `json:"leaf,omitempty"`
	Subleaf     *uint32  `json:"subleaf,omitempty"`
	Register    string   `json:"register,omitempty"`
	MSR         *uint32  `json:"msr,omitempty"`
	Bit         uint8    `json:"bit"`
	Linux       string   `json:"linux,omitempty"`
	Libvirt     string   `json:"libvirt,omitempty"`
	Aliases     []string `json:"aliases,omitempty"`
	Description string   `json:"description,omitempty"`
}

// InspectedModel is a CPU model the plugin defines (its models export),
// as the plugin states it: the version 1 definition and the names of
// its versions.
type InspectedModel struct {
	Name     string   `json:"name"`
	Vendor   string   `json:"vendor"`
	Family   int      `json:"family"`
	Model    int      `json:"model"`
	Stepping int      `json:"stepping"`
	ModelID  string   `json:"model_id,omitempty"`
	Note     string   `json:"note,omitempty"`
	Features []string `json:"features"`
	// Versions are the versioned names ("Name-v1") and version aliases.
	Versions []string `json:"versions"`
}

// Inspect describes the plugin; durations are in milliseconds, to the
// microsecond. Lists are empty, never nil. The models are the plugin's
// models call, under the plugin's deadline; when it fails, ModelsError
// says why and Models is empty.
func (p *Plugin) Inspect() Inspection {
	in := p.Info()
	m := in.Manifest
	ms := func(d interface{ Seconds() float64 }) float64 {
		return float64(int64(d.Seconds()*1e6)) / 1e3
	}
	out := Inspection{File: in.File, Size: in.Size, Name: m.Name, Version: m.Version, ABI: in.ABI,
		Description: m.Description, Vendors: nonNil(m.Vendors), Leaves: [][2]string{}, Features: []InspectedFeature{},
		Checks: append([]CheckDef{}, m.Checks...), Imports: nonNil(in.Imports), Exports: nonNil(in.Exports), MemoryPages: in.MemoryPages,
		Engine: in.Engine, CompileMS: ms(in.Compile), CacheHit: in.CacheHit, CacheNote: in.CacheNote,
		InstantiateMS: ms(in.Instantiate), DescribeMS: ms(in.Describe)}
	for _, r := range m.Leaves {
		out.Leaves = append(out.Leaves, [2]string{fmt.Sprintf("%#x", r.First), fmt.Sprintf("%#x", r.Last)})
	}
	for _, f := range m.Features {
		fj := InspectedFeature{Name: f.Name, Location: f.Loc.String(), Bit: f.Loc.Bit, Linux: f.Linux, Libvirt: f.Libvirt,
			Aliases: f.Aliases, Description: f.Description}
		if f.Loc.IsMSR() {
			fj.MSR = &f.Loc.MSR
		} else {
			leaf, sub := f.Loc.Leaf, f.Loc.Subleaf
			fj.Leaf, fj.Subleaf, fj.Register = &leaf, &sub, f.Loc.Reg.String()
		}
		out.Features = append(out.Features, fj)
	}
	out.Models = []InspectedModel{}
	defs, err := p.Models(context.Background())
	if err != nil {
		out.ModelsError = err.Error()
	}
	for _, d := range defs {
		im := InspectedModel{Name: d.Name, Vendor: d.Vendor, Family: d.Family, Model: d.Model, Stepping: d.Stepping,
			ModelID: d.ModelID, Note: d.Note, Features: nonNil(d.Features), Versions: []string{}}
		versions := d.Versions
		if len(versions) == 0 {
			versions = []sdk.Version{{Version: 1}} // as Expand reads it
		}
		for _, v := range versions {
			im.Versions = append(im.Versions, fmt.Sprintf("%s-v%d", d.Name, v.Version))
			if v.Alias != "" {
				im.Versions = append(im.Versions, v.Alias)
			}
		}
		out.Models = append(out.Models, im)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ExpandModels returns every name of every model the plugin defines
// (ModelDef.Expand), with reg's features; errors name the plugin's file.
func (p *Plugin) ExpandModels(ctx context.Context, reg *feature.Registry) ([]catalog.ModelDefinition, error) {
	ms, err := p.Models(ctx)
	if err != nil {
		return nil, err
	}
	var out []catalog.ModelDefinition
	for i := range ms {
		ds, err := ms[i].Expand(reg)
		if err != nil {
			return nil, fmt.Errorf("%s: models: %v", p.File(), err)
		}
		out = append(out, ds...)
	}
	return out, nil
}

// DecodeHost runs the plugin's decode on the raw CPUID of s, which must
// have some: its leaves, and its hw features with the plugin's decoded
// ones (s is updated). name names s in errors.
func (p *Plugin) DecodeHost(ctx context.Context, reg *feature.Registry, name string, s *host.HostSnapshot) (cpuid.Leaves, []string, error) {
	if len(s.CPUID) == 0 {
		return nil, nil, fmt.Errorf("%s: the snapshot has no raw CPUID to decode", name)
	}
	if err := DecodeSnapshot(ctx, reg, []*Plugin{p}, s); err != nil {
		return nil, nil, err
	}
	return s.Leaves(), s.Features.HW, nil
}

// DefinitionJSON is a catalog.ModelDefinition as `cpupolicy plugin run FILE models`
// writes it, features by name. Its keys are a contract.
type DefinitionJSON struct {
	Name     string   `json:"name"`
	AliasOf  string   `json:"alias-of,omitempty"`
	Vendor   string   `json:"vendor"`
	Family   int      `json:"family"`
	Model    int      `json:"model"`
	Stepping int      `json:"stepping"`
	ModelID  string   `json:"model-id"`
	Level    uint32   `json:"level"`
	XLevel   uint32   `json:"xlevel"`
	XLevel2  uint32   `json:"xlevel2"`
	Features []string `json:"features"`
}

// DefinitionJSONOf returns d with reg's feature names.
func DefinitionJSONOf(d *catalog.ModelDefinition, reg *feature.Registry) DefinitionJSON {
	return DefinitionJSON{Name: d.Name, AliasOf: d.AliasOf, Vendor: d.Vendor, Family: d.Family,
		Model: d.Model, Stepping: d.Stepping, ModelID: d.ModelID, Level: d.Level, XLevel: d.XLevel,
		XLevel2: d.XLevel2, Features: nonNil(reg.Names(d.Features))}
}

// DefinitionSummary is d in one line: name, alias, vendor, family, model
// and how many features.
func DefinitionSummary(d *catalog.ModelDefinition) string {
	line := d.Name
	if d.AliasOf != "" {
		line += " (alias of " + d.AliasOf + ")"
	}
	return fmt.Sprintf("%s  %s family %d model %d: %d features", line, d.Vendor, d.Family, d.Model, d.Features.Count())
}
