package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/plugins"
)

func runPlugin(e *env, args []string) int {
	if len(args) == 0 {
		return usageError(e, "plugin", "want a subcommand: inspect or run")
	}
	switch args[0] {
	case "inspect":
		return runPluginInspect(e, args[1:])
	case "run":
		return runPluginRun(e, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, helpText("plugin"))
		return exitOK
	}
	return usageError(e, "plugin", "unknown subcommand %q (want inspect or run)", args[0])
}

// featureJSON is a plugin feature in `plugin inspect --format json`.
type featureJSON struct {
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

// inspectJSON is one element of `plugin inspect --format json`.
type inspectJSON struct {
	File          string             `json:"file"`
	Size          int64              `json:"size"`
	Name          string             `json:"name"`
	Version       string             `json:"version"`
	ABI           int                `json:"abi"`
	Description   string             `json:"description"`
	Vendors       []string           `json:"vendors"`
	Leaves        [][2]string        `json:"leaves"`
	Features      []featureJSON      `json:"features"`
	Checks        []plugins.CheckDef `json:"checks"`
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

func inspectOf(p *plugins.Plugin) inspectJSON {
	in := p.Info()
	m := in.Manifest
	ms := func(d interface{ Seconds() float64 }) float64 {
		return float64(int64(d.Seconds()*1e6)) / 1e3
	}
	out := inspectJSON{File: in.File, Size: in.Size, Name: m.Name, Version: m.Version, ABI: in.ABI,
		Description: m.Description, Vendors: nonNil(m.Vendors), Leaves: [][2]string{}, Features: []featureJSON{},
		Checks: m.Checks, Imports: nonNil(in.Imports), Exports: nonNil(in.Exports), MemoryPages: in.MemoryPages,
		Engine: in.Engine, CompileMS: ms(in.Compile), CacheHit: in.CacheHit, CacheNote: in.CacheNote,
		InstantiateMS: ms(in.Instantiate), DescribeMS: ms(in.Describe)}
	if out.Checks == nil {
		out.Checks = []plugins.CheckDef{}
	}
	for _, r := range m.Leaves {
		out.Leaves = append(out.Leaves, [2]string{fmt.Sprintf("%#x", r.First), fmt.Sprintf("%#x", r.Last)})
	}
	for _, f := range m.Features {
		fj := featureJSON{Name: f.Name, Location: f.Loc.String(), Bit: f.Loc.Bit, Linux: f.Linux, Libvirt: f.Libvirt,
			Aliases: f.Aliases, Description: f.Description}
		if f.Loc.IsMSR() {
			fj.MSR = &f.Loc.MSR
		} else {
			leaf, sub := f.Loc.Leaf, f.Loc.Subleaf
			fj.Leaf, fj.Subleaf, fj.Register = &leaf, &sub, f.Loc.Reg.String()
		}
		out.Features = append(out.Features, fj)
	}
	return out
}

func runPluginInspect(e *env, args []string) int {
	fs := newFlags("plugin")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	var files []string
	if e.plugins != nil {
		files = append(files, e.plugins.paths...)
	}
	files = append(files, fs.Args()...)
	if len(files) == 0 {
		return usageError(e, "plugin", "inspect: want one or more plugin FILEs")
	}
	ps, err := plugins.LoadAll(context.Background(), files, e.pluginConfig())
	defer func() {
		for _, p := range ps {
			if p != nil {
				p.Close(context.Background())
			}
		}
	}()
	var out []inspectJSON
	for _, p := range ps {
		if p != nil {
			out = append(out, inspectOf(p))
		}
	}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, out)
	} else {
		for i, in := range out {
			if i > 0 {
				buf.WriteByte('\n')
			}
			writeInspectText(&buf, in)
		}
	}
	e.stdout.Write(buf.Bytes())
	if err != nil {
		return inputError(e, err)
	}
	return exitOK
}

func writeInspectText(buf *bytes.Buffer, in inspectJSON) {
	tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "plugin\t%s %s (ABI %d)\n", in.Name, in.Version, in.ABI)
	fmt.Fprintf(tw, "file\t%s (%d bytes)\n", in.File, in.Size)
	if in.Description != "" {
		fmt.Fprintf(tw, "description\t%s\n", in.Description)
	}
	vendors := "any"
	if len(in.Vendors) > 0 {
		vendors = strings.Join(quoteAll(in.Vendors), ", ")
	}
	fmt.Fprintf(tw, "vendors\t%s\n", vendors)
	leaves := "all"
	if len(in.Leaves) > 0 {
		var ls []string
		for _, r := range in.Leaves {
			ls = append(ls, r[0]+"-"+r[1])
		}
		leaves = strings.Join(ls, ", ")
	}
	fmt.Fprintf(tw, "leaves\t%s\n", leaves)
	fmt.Fprintf(tw, "imports\t%s\n", strings.Join(in.Imports, " "))
	fmt.Fprintf(tw, "exports\t%s\n", strings.Join(in.Exports, " "))
	fmt.Fprintf(tw, "memory\t%d pages (%d KiB) at start\n", in.MemoryPages, in.MemoryPages*64)
	cache := "compiled"
	if in.CacheHit {
		cache = "from the compilation cache"
	}
	if in.CacheNote != "" {
		cache += " (" + in.CacheNote + ")"
	}
	fmt.Fprintf(tw, "load\t%s %.1f ms %s, instantiate %.1f ms, describe %.2f ms\n", in.Engine, in.CompileMS, cache, in.InstantiateMS, in.DescribeMS)
	tw.Flush()
	if len(in.Features) > 0 {
		fmt.Fprintf(buf, "\nfeatures (%d):\n", len(in.Features))
		tw = tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
		for _, f := range in.Features {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, f.Location, f.Description)
		}
		tw.Flush()
	}
	if len(in.Checks) > 0 {
		fmt.Fprintf(buf, "\nchecks (%d):\n", len(in.Checks))
		for _, c := range in.Checks {
			fmt.Fprintf(buf, "  %s.%s  %s\n", in.Name, c.Name, c.Description)
		}
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// modelDefJSON is one definition in `plugin run FILE models`.
type modelDefJSON struct {
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

func runPluginRun(e *env, args []string) int {
	fs := newFlags("plugin")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	hostFile := fs.String("host", "", "decode the CPUID of the recorded snapshot `FILE` instead of this host's")
	input := fs.String("input", "", "the check's JSON `input` (@FILE reads a file; default: the host's hw feature names)")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	a := fs.Args()
	if len(a) < 2 {
		return usageError(e, "plugin", "run: want FILE decode|models|check NAME")
	}
	file, op := a[0], a[1]
	switch {
	case op == "check" && len(a) != 3:
		return usageError(e, "plugin", "run: check wants the check's NAME")
	case op != "check" && len(a) != 2:
		return usageError(e, "plugin", "run: unexpected argument %q", a[2])
	case op != "check" && op != "decode" && op != "models":
		return usageError(e, "plugin", "run: unknown export %q (want decode, models or check)", op)
	}
	ctx := context.Background()
	p, err := plugins.Load(ctx, file, e.pluginConfig())
	if err != nil {
		return inputError(e, err)
	}
	defer p.Close(ctx)
	reg, err := plugins.Registry(feature.Builtin(), []*plugins.Plugin{p})
	if err != nil {
		return inputError(e, err)
	}
	var out any
	var text []string
	switch op {
	case "decode", "check":
		leaves, hw, err := pluginRunHost(e, *hostFile, reg, p)
		if err != nil {
			return inputError(e, err)
		}
		if op == "decode" {
			names, err := p.Decode(ctx, leaves)
			if err != nil {
				return inputError(e, err)
			}
			out, text = nonNil(names), names
			break
		}
		in := []byte(*input)
		if strings.HasPrefix(*input, "@") {
			if in, err = os.ReadFile((*input)[1:]); err != nil {
				return inputError(e, err)
			}
		} else if *input == "" {
			in, _ = json.Marshal(nonNil(hw))
		}
		res, err := p.Check(ctx, a[2], in)
		if err != nil {
			return inputError(e, err)
		}
		out, text = json.RawMessage(res), []string{string(res)}
	case "models":
		ms, err := p.Models(ctx)
		if err != nil {
			return inputError(e, err)
		}
		var defs []modelDefJSON
		for i := range ms {
			ds, err := ms[i].Expand(reg)
			if err != nil {
				return inputError(e, fmt.Errorf("%s: models: %v", file, err))
			}
			for _, d := range ds {
				defs = append(defs, modelDefJSON{Name: d.Name, AliasOf: d.AliasOf, Vendor: d.Vendor, Family: d.Family,
					Model: d.Model, Stepping: d.Stepping, ModelID: d.ModelID, Level: d.Level, XLevel: d.XLevel,
					XLevel2: d.XLevel2, Features: nonNil(reg.Names(d.Features))})
				line := d.Name
				if d.AliasOf != "" {
					line += " (alias of " + d.AliasOf + ")"
				}
				text = append(text, fmt.Sprintf("%s  %s family %d model %d: %d features", line, d.Vendor, d.Family, d.Model, d.Features.Count()))
			}
		}
		out = defs
	}
	if format.value == "json" {
		var buf bytes.Buffer
		writeJSON(&buf, out)
		e.stdout.Write(buf.Bytes())
		return exitOK
	}
	for _, l := range text {
		fmt.Fprintln(e.stdout, l)
	}
	return exitOK
}

// pluginRunHost returns the raw CPUID of --host FILE or this machine, and
// its hw features with the plugin's decoded ones.
func pluginRunHost(e *env, file string, reg *feature.Registry, p *plugins.Plugin) (cpuid.Leaves, []string, error) {
	var s *host.HostSnapshot
	var err error
	if file != "" {
		data, rerr := os.ReadFile(file)
		if rerr != nil {
			return nil, nil, rerr
		}
		s, err = host.Parse(file, data, reg)
	} else {
		s, err = host.Probe(host.Live(host.LiveConfig{}), reg, e.now())
	}
	if err != nil {
		return nil, nil, err
	}
	if len(s.CPUID) == 0 {
		return nil, nil, fmt.Errorf("%s: the snapshot has no raw CPUID to decode", file)
	}
	if err := plugins.DecodeSnapshot(context.Background(), reg, []*plugins.Plugin{p}, s); err != nil {
		return nil, nil, err
	}
	return s.Leaves(), s.Features.HW, nil
}
