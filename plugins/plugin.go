package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/plugins/internal/sandbox"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wasmfile"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// Plugin is a loaded plugin. Its methods are safe for concurrent use:
// each call runs in an instance of its own (an idle one, or a new one),
// never in one another goroutine is using. A call that fails by the
// plugin's fault (a trap, a panic, a deadline, a bad reply) discards its
// instance; the next call starts a fresh one.
type Plugin struct {
	file     string
	cfg      Config
	mod      *sandbox.Module
	manifest Manifest
	info     Info
}

// Info is what `cpupolicy plugin inspect` shows about a plugin.
type Info struct {
	// File is the path given to Load; Size its length in bytes.
	File string
	Size int64
	// Manifest is the plugin's describe reply; ABI its ABI version.
	Manifest Manifest
	ABI      int
	// Imports ("module.name") and Exports of the module, sorted.
	Imports, Exports []string
	// MemoryPages is the linear memory the module starts with, in
	// 64 KiB pages.
	MemoryPages uint64
	// Engine is "compiler" or "interpreter".
	Engine string
	// Compile is how long compiling (or loading from the cache) took;
	// CacheHit says whether the compilation cache had it; CacheNote says
	// why the cache was wiped or not used, if it was.
	Compile   time.Duration
	CacheHit  bool
	CacheNote string
	// Instantiate is how long the first instantiation (with
	// _initialize) took, and Describe the describe call after it.
	Instantiate, Describe time.Duration
}

// requiredExports are the functions every plugin exports (plugins/ABI.md).
var requiredExports = []string{"_initialize", "alloc", "describe", "decode", "models", "check"}

// Load reads, checks, compiles and starts the plugin in the file at path,
// and asks it to describe itself. Every error is an *Error naming the
// file.
func Load(ctx context.Context, path string, cfg Config) (*Plugin, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Op: "load", Kind: ErrModule, Detail: err.Error()}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{File: path, Op: "load", Kind: ErrModule, Detail: err.Error()}
	}
	if st.Size() > maxModuleSize || !st.Mode().IsRegular() {
		return nil, &Error{File: path, Op: "load", Kind: ErrModule, Detail: fmt.Sprintf("not a regular file of at most %s", sandbox.Size(maxModuleSize))}
	}
	bin := make([]byte, st.Size())
	if _, err := io.ReadFull(f, bin); err != nil {
		return nil, &Error{File: path, Op: "load", Kind: ErrModule, Detail: err.Error()}
	}
	return load(ctx, path, bin, cfg)
}

// LoadAll loads the plugins at paths concurrently (a warm load is mostly
// single-threaded work inside wazero, so n plugins on n cores load in
// about the time of one). It returns them in the order of paths, with nil
// for each that failed, and every failure joined (each an *Error naming
// its file), sorted by path.
func LoadAll(ctx context.Context, paths []string, cfg Config) ([]*Plugin, error) {
	ps := make([]*Plugin, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, path := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ps[i], errs[i] = Load(ctx, path, cfg)
		}()
	}
	wg.Wait()
	var failed []error
	idx := make([]int, len(paths))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return paths[idx[a]] < paths[idx[b]] })
	for _, i := range idx {
		if errs[i] != nil {
			failed = append(failed, errs[i])
		}
	}
	return ps, errors.Join(failed...)
}

func load(ctx context.Context, path string, bin []byte, cfg Config) (*Plugin, error) {
	p := &Plugin{file: path, cfg: cfg}
	p.info = Info{File: path, Size: int64(len(bin)), Engine: "compiler"}
	if cfg.Interpreter() {
		p.info.Engine = "interpreter"
	}
	wi, err := wasmfile.Parse(bin)
	if err != nil {
		return nil, &Error{File: path, Kind: ErrModule, Detail: err.Error()}
	}
	if err := p.checkModule(wi); err != nil {
		return nil, err
	}
	opts := sandbox.Options{
		MemoryLimit: cfg.MemoryLimit(),
		Timeout:     cfg.Timeout(),
		MaxReply:    cfg.MaxReply(),
		CacheDir:    cfg.CacheDir(),
		Interpreter: cfg.Interpreter(),
	}
	if cfg.log != nil {
		var mu sync.Mutex
		w := cfg.log
		opts.Log = func(msg string) {
			mu.Lock()
			defer mu.Unlock()
			name := p.manifest.Name
			if name == "" {
				name = path
			}
			for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
				fmt.Fprintf(w, "%s: %s\n", name, line)
			}
		}
	}
	mod, err := sandbox.Compile(ctx, bin, opts)
	if err != nil {
		return nil, wrap(path, "compile", err)
	}
	p.mod = mod
	p.info.Compile, p.info.CacheHit, p.info.CacheNote = mod.CompileTime, mod.CacheHit, mod.CacheNote

	inst, took, err := mod.Instantiate(ctx)
	p.info.Instantiate = took
	if err != nil {
		mod.Close(ctx)
		return nil, wrap(path, "instantiate", err)
	}
	mod.Put(inst)
	t0 := time.Now()
	err = mod.Call(ctx, "describe", nil, false, p.readManifest)
	p.info.Describe = time.Since(t0)
	if err != nil {
		mod.Close(ctx)
		err = wrap(path, "describe", err)
		if e := err.(*Error); e.Elapsed == 0 {
			e.Elapsed = p.info.Describe
		}
		return nil, err
	}
	p.info.Manifest, p.info.ABI = p.manifest, p.manifest.ABI
	return p, nil
}

// checkModule checks imports and exports before anything is compiled.
func (p *Plugin) checkModule(wi *wasmfile.Info) error {
	p.info.MemoryPages = wi.MemoryMin
	var unknown []string
	for _, im := range wi.Imports {
		name := im.Module + "." + im.Name
		p.info.Imports = append(p.info.Imports, name)
		ok := im.Kind == wasmfile.Func &&
			(im.Module == sandbox.WASIModule && wasiFunctions[im.Name] ||
				im.Module == sandbox.HostModule && im.Name == sandbox.LogFunc)
		if !ok {
			if im.Kind != wasmfile.Func {
				name += " (" + wasmfile.KindName(im.Kind) + ")"
			}
			unknown = append(unknown, name)
		}
	}
	sort.Strings(p.info.Imports)
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &Error{File: p.file, Op: "load", Kind: ErrImports,
			Detail: fmt.Sprintf("imports %s, which the host does not provide (only WASI preview 1 and %s.%s)",
				strings.Join(unknown, ", "), sandbox.HostModule, sandbox.LogFunc)}
	}
	var missing []string
	for _, e := range wi.Exports {
		p.info.Exports = append(p.info.Exports, e.Name)
	}
	sort.Strings(p.info.Exports)
	for _, name := range requiredExports {
		if e, ok := wi.Export(name); !ok || e.Kind != wasmfile.Func {
			missing = append(missing, name)
		}
	}
	if e, ok := wi.Export("memory"); !ok || e.Kind != wasmfile.Memory {
		missing = append(missing, "memory")
	}
	if len(missing) > 0 {
		detail := "does not export " + strings.Join(missing, ", ")
		if _, ok := wi.Export("_start"); ok {
			detail += " (built as a command: build plugins with -buildmode=c-shared)"
		} else {
			detail += " (is it built with github.com/cpupolicy/cpupolicy/plugins/sdk?)"
		}
		return &Error{File: p.file, Op: "load", Kind: ErrExports, Detail: detail}
	}
	return nil
}

func (p *Plugin) readManifest(payload []byte) error {
	d := wire.NewDecoder(payload)
	w := wire.DecodeManifest(d)
	if d.Err() == nil && w.ABI != wire.ABI {
		return &Error{File: p.file, Op: "describe", Kind: ErrABI,
			Detail: fmt.Sprintf("the plugin speaks ABI %d, this cpupolicy speaks ABI %d", w.ABI, wire.ABI)}
	}
	if err := d.End(); err != nil {
		return &Error{File: p.file, Op: "describe", Kind: ErrABI, Detail: "malformed manifest: " + err.Error()}
	}
	m, err := manifestFrom(w)
	if err != nil {
		return &Error{File: p.file, Op: "describe", Kind: ErrABI, Detail: err.Error()}
	}
	p.manifest = m
	return nil
}

// File returns the path the plugin was loaded from.
func (p *Plugin) File() string { return p.file }

// Describe returns the plugin's manifest.
func (p *Plugin) Describe() Manifest { return p.manifest }

// Features returns the plugin's features in the form
// feature.Registry.Extend takes, ready to join the registry:
//
//	reg, err := reg.Extend(p.Describe().Name, p.Features()...)
//
// Extend reports a name, alias or location that clashes with a built-in
// feature or another plugin's, naming both.
func (p *Plugin) Features() []feature.Feature { return p.manifest.registryFeatures() }

// Info returns what `plugin inspect` shows.
func (p *Plugin) Info() Info { return p.info }

// Close frees the plugin's compiled code and instances. Calls after Close
// fail with ErrClosed.
func (p *Plugin) Close(ctx context.Context) error { return p.mod.Close(ctx) }

// Decode asks the plugin which features leaves show. It passes leaves 0
// and 1 and the leaves in the plugin's ranges (all leaves if it declares
// none), and returns the names it answers, sorted and without repeats:
// its own features' canonical names and any built-in names it reports.
func (p *Plugin) Decode(ctx context.Context, leaves cpuid.Leaves) ([]string, error) {
	const op = "decode"
	n := 0
	for _, l := range leaves {
		if l.Leaf <= 1 || p.wants(l.Leaf) {
			n++
		}
	}
	e := wire.Encoder{B: make([]byte, 0, 4+wire.LeafSize*n)}
	e.U32(uint32(n))
	for _, l := range leaves {
		if l.Leaf <= 1 || p.wants(l.Leaf) {
			e.Leaf(wire.Leaf(l))
		}
	}
	var names []string
	err := p.mod.Call(ctx, op, e.B, true, func(payload []byte) error {
		var d wire.Decoder
		d.Reset(payload)
		names = d.Strs()
		if err := d.End(); err != nil {
			return &Error{File: p.file, Op: op, Kind: ErrABI, Detail: "malformed reply: " + err.Error()}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(p.file, op, err)
	}
	sort.Strings(names)
	out := names[:0]
	for i, s := range names {
		if s == "" {
			return nil, &Error{File: p.file, Op: op, Kind: ErrABI, Detail: "malformed reply: an empty feature name"}
		}
		if i == 0 || s != names[i-1] {
			out = append(out, s)
		}
	}
	return out, nil
}

// wants reports whether leaf is in one of the plugin's ranges.
func (p *Plugin) wants(leaf uint32) bool {
	if len(p.manifest.Leaves) == 0 {
		return true
	}
	for _, r := range p.manifest.Leaves {
		if r.Contains(leaf) {
			return true
		}
	}
	return false
}

// Models returns the plugin's model definitions.
func (p *Plugin) Models(ctx context.Context) ([]ModelDef, error) {
	const op = "models"
	var ws []wire.Model
	err := p.mod.Call(ctx, op, nil, false, func(payload []byte) error {
		d := wire.NewDecoder(payload)
		ws = wire.DecodeModels(d)
		if err := d.End(); err != nil {
			return &Error{File: p.file, Op: op, Kind: ErrABI, Detail: "malformed reply: " + err.Error()}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(p.file, op, err)
	}
	ms, err := modelsFrom(ws)
	if err != nil {
		return nil, &Error{File: p.file, Op: op, Kind: ErrABI, Detail: err.Error()}
	}
	return ms, nil
}

// Check runs the named check with input, a JSON document, and returns its
// result, a JSON document. A check the plugin reports it cannot run is an
// *Error of kind ErrPlugin.
func (p *Plugin) Check(ctx context.Context, name string, input []byte) ([]byte, error) {
	op := "check " + name
	if !p.manifest.HasCheck(name) {
		var names []string
		for _, c := range p.manifest.Checks {
			names = append(names, c.Name)
		}
		have := "it has none"
		if len(names) > 0 {
			have = "it has " + strings.Join(names, ", ")
		}
		return nil, &Error{File: p.file, Op: op, Kind: ErrPlugin,
			Detail: fmt.Sprintf("plugin %s has no check %q (%s)", p.manifest.Name, name, have)}
	}
	if !json.Valid(input) {
		return nil, &Error{File: p.file, Op: op, Kind: ErrPlugin, Detail: "input is not a JSON document"}
	}
	e := wire.Encoder{}
	wire.EncodeCheckRequest(&e, name, input)
	var result []byte
	err := p.mod.Call(ctx, "check", e.B, true, func(payload []byte) error {
		d := wire.NewDecoder(payload)
		result = bytes.Clone(d.Bytes())
		if err := d.End(); err != nil {
			return &Error{File: p.file, Op: op, Kind: ErrABI, Detail: "malformed reply: " + err.Error()}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(p.file, op, err)
	}
	if !json.Valid(result) {
		return nil, &Error{File: p.file, Op: op, Kind: ErrBadReply, Detail: "the result is not a JSON document"}
	}
	return result, nil
}
