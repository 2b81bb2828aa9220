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
	"sync/atomic"
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
//
// A sealed plugin (one whose .wasm carries a declaration section, see
// Seal) is loaded from its declaration alone: its manifest and models are
// known without running it, and its module is read, compiled and started
// on the first call that needs its code (Decode, Check, Info), once. That
// start compares the code with the declaration and refuses a module that
// disagrees (ErrDeclaration), for every call after it too.
type Plugin struct {
	file     string
	cfg      Config
	manifest Manifest
	// hash is the module's hash (moduleHash), as snapshots record it.
	hash string
	// decl is the declaration of a sealed plugin, nil for one loaded
	// by running it.
	decl *declaration
	// rawManifest is describe's payload, as the declaration holds it.
	rawManifest []byte

	started  sync.Once
	ready    atomic.Bool // started has run: startErr is final
	startErr error
	mod      *sandbox.Module
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
	// Declared says the module is sealed: its manifest and models were
	// read from its declaration section, not asked of its code.
	Declared bool
	// Module is the module's hash, "sha256:…" of the module without its
	// declaration section: what snapshots record.
	Module string
}

// requiredExports are the functions every plugin exports (plugins/ABI.md).
var requiredExports = []string{"_initialize", "alloc", "describe", "decode", "models", "check"}

// Load reads the plugin in the file at path. A sealed module (Seal) is
// read from its declaration section alone, and compiled and started when
// it is first called; any other is checked, compiled and started now, and
// asked to describe itself. Every error is an *Error naming the file.
func Load(ctx context.Context, path string, cfg Config) (*Plugin, error) {
	f, size, err := openModule(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	decl, err := readDeclaration(f, size)
	if err != nil {
		kind := ErrDeclaration
		if _, ok := err.(*moduleError); ok {
			kind = ErrModule
		}
		return nil, &Error{File: path, Op: "load", Kind: kind, Detail: err.Error()}
	}
	if decl != nil {
		return declared(path, decl, size, cfg)
	}
	bin := make([]byte, size)
	if _, err := io.ReadFull(f, bin); err != nil {
		return nil, &Error{File: path, Op: "load", Kind: ErrModule, Detail: err.Error()}
	}
	return load(ctx, path, bin, cfg)
}

// reparse returns code's module info: wi when code is the whole module
// (of n bytes) wi describes, else code parsed again.
func reparse(code []byte, wi *wasmfile.Info, n int) ([]byte, *wasmfile.Info, error) {
	if len(code) == n {
		return code, wi, nil
	}
	wi, err := wasmfile.Parse(code)
	return code, wi, err
}

// openModule opens a plugin file, which must be a regular file of at most
// maxModuleSize bytes.
func openModule(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, &Error{File: path, Op: "load", Kind: ErrModule, Detail: err.Error()}
	}
	st, err := f.Stat()
	if err == nil && (st.Size() > maxModuleSize || !st.Mode().IsRegular()) {
		err = fmt.Errorf("not a regular file of at most %s", sandbox.Size(maxModuleSize))
	}
	if err != nil {
		f.Close()
		return nil, 0, &Error{File: path, Op: "load", Kind: ErrModule, Detail: err.Error()}
	}
	return f, st.Size(), nil
}

// declared is a sealed plugin, from its declaration: its manifest and
// models are checked now, as load checks describe's and models' replies.
func declared(path string, decl *declaration, size int64, cfg Config) (*Plugin, error) {
	p := &Plugin{file: path, cfg: cfg, decl: decl, hash: hashString(decl.hash)}
	p.info = Info{File: path, Size: size, Engine: engine(cfg), Declared: true, Module: p.hash}
	if err := p.readManifest(decl.manifest); err != nil {
		e := err.(*Error)
		e.Op, e.Detail = "load", "declaration section: "+e.Detail
		return nil, e
	}
	if _, err := p.Models(context.Background()); err != nil {
		e := err.(*Error)
		e.Op, e.Detail = "load", "declaration section: "+e.Detail
		return nil, e
	}
	p.info.Manifest, p.info.ABI = p.manifest, p.manifest.ABI
	return p, nil
}

func engine(cfg Config) string {
	if cfg.Interpreter() {
		return "interpreter"
	}
	return "compiler"
}

// start reads, compiles and starts a sealed plugin's module, once, and
// checks it against its declaration; every call after a failed start
// fails the same way. It does nothing for a plugin loaded by running it.
func (p *Plugin) start(ctx context.Context) error {
	if p.ready.Load() { // the hot path: no closure to allocate
		return p.startErr
	}
	defer p.ready.Store(true)
	p.started.Do(func() {
		f, size, err := openModule(p.file)
		if err != nil {
			p.startErr = err
			return
		}
		defer f.Close()
		bin := make([]byte, size)
		if _, err := io.ReadFull(f, bin); err != nil {
			p.startErr = &Error{File: p.file, Op: "load", Kind: ErrModule, Detail: err.Error()}
			return
		}
		wi, err := wasmfile.Parse(bin)
		if err != nil {
			p.startErr = &Error{File: p.file, Kind: ErrModule, Detail: err.Error()}
			return
		}
		code := withoutDeclaration(bin, wi)
		if moduleHash(code) != p.decl.hash {
			p.startErr = &Error{File: p.file, Op: "load", Kind: ErrDeclaration,
				Detail: "the module is not the one its declaration section was written for (seal it again after building it)"}
			return
		}
		// What is compiled is the code alone: the compilation cache's
		// key is then the same for the module sealed or not, sealed
		// again, or with another declaration.
		if code, wi, err = reparse(code, wi, len(bin)); err != nil {
			p.startErr = &Error{File: p.file, Kind: ErrModule, Detail: err.Error()}
			return
		}
		if err := p.run(ctx, code, wi); err != nil {
			p.startErr = err
			return
		}
		if err := p.checkAgainstCode(ctx); err != nil {
			p.mod.Close(ctx)
			p.startErr = err
		}
	})
	return p.startErr
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
	p.started.Do(func() {})
	wi, err := wasmfile.Parse(bin)
	if err != nil {
		return nil, &Error{File: path, Kind: ErrModule, Detail: err.Error()}
	}
	p.hash = hashString(moduleHash(withoutDeclaration(bin, wi)))
	p.info.Module = p.hash
	if err := p.run(ctx, bin, wi); err != nil {
		return nil, err
	}
	return p, nil
}

// run checks, compiles and starts the module bin and asks it to describe
// itself.
func (p *Plugin) run(ctx context.Context, bin []byte, wi *wasmfile.Info) error {
	path, cfg := p.file, p.cfg
	p.info.File, p.info.Size, p.info.Engine = path, int64(len(bin)), engine(cfg)
	if err := p.checkModule(wi); err != nil {
		return err
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
		return wrap(path, "compile", err)
	}
	p.mod = mod
	p.info.Compile, p.info.CacheHit, p.info.CacheNote = mod.CompileTime, mod.CacheHit, mod.CacheNote

	inst, took, err := mod.Instantiate(ctx)
	p.info.Instantiate = took
	if err != nil {
		mod.Close(ctx)
		return wrap(path, "instantiate", err)
	}
	mod.Put(inst)
	t0 := time.Now()
	read := p.readManifest
	if p.decl != nil {
		// The declaration's manifest is the one in use; the code's is
		// only compared with it.
		read = func(payload []byte) error {
			p.rawManifest = bytes.Clone(payload)
			return nil
		}
	}
	err = mod.Call(ctx, "describe", nil, false, read)
	p.info.Describe = time.Since(t0)
	if err != nil {
		mod.Close(ctx)
		err = wrap(path, "describe", err)
		if e := err.(*Error); e.Elapsed == 0 {
			e.Elapsed = p.info.Describe
		}
		return err
	}
	p.info.Manifest, p.info.ABI = p.manifest, p.manifest.ABI
	return nil
}

// checkModule checks imports and exports before anything is compiled.
func (p *Plugin) checkModule(wi *wasmfile.Info) error {
	p.info.MemoryPages = wi.MemoryMin
	p.info.Imports, p.info.Exports = nil, nil
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
	p.rawManifest = bytes.Clone(payload)
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

// Module returns the module's hash: "sha256:" and the hex SHA-256 of the
// module without its declaration section. Snapshots record it.
func (p *Plugin) Module() string { return p.hash }

// Declared reports whether the plugin was loaded from its declaration
// section (Seal), without running it.
func (p *Plugin) Declared() bool { return p.decl != nil }

// Info returns what `plugin inspect` shows. A sealed plugin's module is
// started for it (Start), so that its compile and instantiation times are
// known; a failure to start leaves them zero (Start reports it).
func (p *Plugin) Info() Info {
	p.start(context.Background())
	return p.info
}

// Start compiles and starts a sealed plugin's module now rather than on
// its first call, and checks it against its declaration: `plugin inspect`
// uses it to vouch for a module. It returns the error every call would.
func (p *Plugin) Start(ctx context.Context) error { return p.start(ctx) }

// Close frees the plugin's compiled code and instances. Calls after Close
// fail with ErrClosed.
func (p *Plugin) Close(ctx context.Context) error {
	p.started.Do(func() {
		p.startErr = &Error{File: p.file, Kind: ErrClosed, Detail: "plugin closed"}
	})
	if p.mod == nil {
		return nil
	}
	return p.mod.Close(ctx)
}

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
	if err := p.start(ctx); err != nil {
		return nil, err
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

// Models returns the plugin's model definitions: a sealed plugin's from
// its declaration, without running it.
func (p *Plugin) Models(ctx context.Context) ([]ModelDef, error) {
	const op = "models"
	payload := p.declaredModels()
	if payload == nil {
		var err error
		if payload, err = p.rawModels(ctx); err != nil {
			return nil, err
		}
	}
	d := wire.NewDecoder(payload)
	ws := wire.DecodeModels(d)
	if err := d.End(); err != nil {
		return nil, &Error{File: p.file, Op: op, Kind: ErrABI, Detail: "malformed reply: " + err.Error()}
	}
	ms, err := modelsFrom(ws)
	if err != nil {
		return nil, &Error{File: p.file, Op: op, Kind: ErrABI, Detail: err.Error()}
	}
	return ms, nil
}

func (p *Plugin) declaredModels() []byte {
	if p.decl == nil {
		return nil
	}
	if p.decl.models == nil {
		return []byte{}
	}
	return p.decl.models
}

// rawModels asks the running module for its models' payload.
func (p *Plugin) rawModels(ctx context.Context) ([]byte, error) {
	var out []byte
	err := p.mod.Call(ctx, "models", nil, false, func(payload []byte) error {
		out = bytes.Clone(payload)
		return nil
	})
	if err != nil {
		return nil, wrap(p.file, "models", err)
	}
	return out, nil
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
	if err := p.start(ctx); err != nil {
		return nil, err
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
