// Package sandbox runs one plugin module under wazero: it compiles the
// module (through the checked compilation cache), starts instances with
// nothing granted, calls the ABI's exports under a deadline, reads replies
// with bounds checks, and discards any instance that misbehaves.
//
// Everything a plugin may touch is set here, each default with its
// reason; package plugins turns the errors into messages that name the
// plugin's file.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/cpupolicy/cpupolicy/plugins/internal/cache"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// Kinds of failure. Package plugins exports them as its Err* values.
var (
	ErrTimeout  = errors.New("deadline exceeded")
	ErrMemory   = errors.New("memory limit exceeded")
	ErrTrap     = errors.New("trapped")
	ErrBadReply = errors.New("bad reply")
	ErrPlugin   = errors.New("plugin error")
	ErrModule   = errors.New("not a usable module")
	ErrClosed   = errors.New("plugin closed")
)

// Failure is what went wrong in one call.
type Failure struct {
	Kind   error
	Detail string
	// Stderr is the start and the end of what the instance wrote to
	// stderr (Go's runtime prints panics and fatal errors there).
	Stderr string
	// Elapsed is how long the failing call (or instantiation) ran.
	Elapsed time.Duration
}

func (f *Failure) Error() string { return f.Detail }
func (f *Failure) Unwrap() error { return f.Kind }

func fail(kind error, format string, args ...any) *Failure {
	return &Failure{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Options configure a Module. Zero fields are not defaults: package
// plugins fills every field.
type Options struct {
	// MemoryLimit caps each instance's linear memory, in bytes (rounded
	// down to 64 KiB pages).
	MemoryLimit uint64
	// Timeout bounds each call, instantiation and _initialize included.
	Timeout time.Duration
	// MaxReply caps a reply's length in bytes.
	MaxReply uint32
	// CacheDir is the compilation cache's directory, "" for none.
	CacheDir string
	// Interpreter selects wazero's interpreter instead of its compiler.
	Interpreter bool
	// Log receives what the module sends through the cpupolicy.log
	// import, or nil to drop it.
	Log func(msg string)
}

// Host imports a plugin may have: WASI preview 1 (what Go's wasip1 runtime
// and syscall package import) and cpupolicy.log.
const (
	WASIModule = "wasi_snapshot_preview1"
	HostModule = "cpupolicy"
	LogFunc    = "log"
)

// Limits on what the log import keeps, per message and per module.
const (
	maxLogMessage = 1 << 10
	maxLogTotal   = 1 << 20
)

// stderrKeep is how much of an instance's stderr is kept for messages:
// this much of its start (where Go prints "panic: …" or "fatal error: …")
// and as much of its end.
const stderrKeep = 2 << 10

// Module is a compiled plugin and its idle instances.
type Module struct {
	opts     Options
	rt       wazero.Runtime
	cc       wazero.CompilationCache
	compiled wazero.CompiledModule
	wasi     map[string]bool // WASI function names the host provides

	// CompileTime is how long CompileModule took; CacheHit says whether
	// a verified cache entry was there; CacheNote says why the cache was
	// wiped or not used, if it was.
	CompileTime time.Duration
	CacheHit    bool
	CacheNote   string

	logged atomic.Int64

	mu     sync.Mutex
	idle   []*Instance
	closed bool
}

// newCacheMu serialises wazero.NewCompilationCacheWithDir (see newRuntime).
var newCacheMu sync.Mutex

// Compile compiles the module in wasm under opts.
func Compile(ctx context.Context, wasm []byte, opts Options) (*Module, error) {
	m := &Module{opts: opts}
	var dir *cache.Dir
	if opts.CacheDir != "" && !opts.Interpreter {
		d, err := cache.Open(opts.CacheDir, cache.Key(wasm, "wazevo"))
		if err != nil {
			// An unusable cache directory costs a compilation, nothing
			// more.
			m.CacheNote = "compilation cache not used: " + err.Error()
		} else {
			dir = d
			m.CacheNote = d.Wiped
		}
	}
	for attempt := 0; ; attempt++ {
		if err := m.newRuntime(ctx, dir); err != nil {
			return nil, err
		}
		t0 := time.Now()
		compiled, err := m.rt.CompileModule(ctx, wasm)
		m.CompileTime = time.Since(t0)
		if err == nil {
			m.compiled = compiled
			if dir != nil {
				m.CacheHit = dir.Hit()
				if !dir.Hit() {
					if err := dir.Seal(); err != nil {
						m.CacheNote = "compilation cache not sealed: " + err.Error()
					}
				}
			}
			return m, nil
		}
		m.closeRuntime(ctx)
		if dir != nil && attempt == 0 {
			// The entry passed its sums but wazero still refused it (a
			// cache written by an incompatible build, say): wipe it and
			// compile once more from the bytes alone.
			if dir.Hit() || strings.Contains(err.Error(), "compilationcache") {
				m.CacheNote = "cache entry rejected (" + firstLine(err.Error()) + "); recompiled"
				if dir.Wipe() == nil {
					continue
				}
			}
		}
		return nil, &Failure{Kind: ErrModule, Detail: firstLine(err.Error())}
	}
}

func (m *Module) newRuntime(ctx context.Context, dir *cache.Dir) error {
	var rc wazero.RuntimeConfig
	if m.opts.Interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	} else {
		rc = wazero.NewRuntimeConfigCompiler()
	}
	pages := m.opts.MemoryLimit / 65536
	if pages > 65536 {
		pages = 65536
	}
	rc = rc.
		// A call that outlives its deadline is stopped where it is:
		// the compiled code checks the context at every loop back-edge
		// and function entry, so an infinite loop cannot hold the host.
		WithCloseOnContextDone(true).
		// memory.grow beyond the cap fails inside the guest (Go's
		// runtime then dies with "out of memory"); a module that asks
		// for more than the cap up front does not compile.
		WithMemoryLimitPages(uint32(pages)).
		// No DWARF-based wasm stack traces: a Go guest prints its own
		// trace to stderr, and the offset maps cost load time.
		WithDebugInfoEnabled(false)
	if dir != nil {
		// wazero caches its version string without synchronisation on
		// the first NewCompilationCacheWithDir: plugins loaded
		// concurrently (LoadAll) would race there.
		newCacheMu.Lock()
		cc, err := wazero.NewCompilationCacheWithDir(dir.Path())
		newCacheMu.Unlock()
		if err != nil {
			m.CacheNote = "compilation cache not used: " + err.Error()
		} else {
			m.cc = cc
			rc = rc.WithCompilationCache(cc)
		}
	}
	m.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	// WASI is there because Go's wasip1 runtime cannot start without it.
	// What it can reach is decided per instance (see instantiate): no
	// files, no environment, no arguments, a fake clock.
	wasi, err := wasi_snapshot_preview1.NewBuilder(m.rt).Compile(ctx)
	if err == nil {
		m.wasi = map[string]bool{}
		for name := range wasi.ExportedFunctions() {
			m.wasi[name] = true
		}
		_, err = m.rt.InstantiateModule(ctx, wasi, wazero.NewModuleConfig())
	}
	if err == nil {
		_, err = m.rt.NewHostModuleBuilder(HostModule).
			NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(m.hostLog), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, nil).
			WithParameterNames("ptr", "len").
			Export(LogFunc).
			Instantiate(ctx)
	}
	if err != nil {
		m.closeRuntime(ctx)
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	return nil
}

// WASIFunctions reports which WASI functions the host provides: every
// function of WASI preview 1 (wazero implements them all), each of which
// finds nothing to act on (no preopened directories, no sockets).
func (m *Module) WASIFunctions() map[string]bool { return m.wasi }

// hostLog is cpupolicy.log(ptr, len): a message from the plugin.
func (m *Module) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	p, n := uint32(stack[0]), uint32(stack[1])
	if m.opts.Log == nil {
		return
	}
	if n > maxLogMessage {
		n = maxLogMessage
	}
	total := m.logged.Add(int64(n))
	if total-int64(n) >= maxLogTotal {
		return
	}
	b, ok := mod.Memory().Read(p, n)
	if !ok {
		m.opts.Log("(log message outside memory)")
		return
	}
	m.opts.Log(strings.ToValidUTF8(string(b), "\uFFFD"))
	if total >= maxLogTotal {
		m.opts.Log("(log limit reached; further messages dropped)")
	}
}

func (m *Module) closeRuntime(ctx context.Context) {
	if m.rt != nil {
		m.rt.Close(ctx)
		m.rt = nil
	}
	if m.cc != nil {
		m.cc.Close(ctx)
		m.cc = nil
	}
}

// Close closes every instance and frees the compiled code.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.idle = nil
	m.mu.Unlock()
	m.closeRuntime(ctx)
	return nil
}

// Instance is one instantiation of the module, used by one goroutine at a
// time.
type Instance struct {
	mod    api.Module
	fns    map[string]api.Function
	stderr *tail
	// buf and bufCap are the request buffer alloc last returned.
	buf, bufCap uint32
}

// tail keeps the first and the last stderrKeep bytes written to it.
type tail struct {
	mu         sync.Mutex
	head, tail []byte
	cut        bool // bytes were dropped between head and tail
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := stderrKeep - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > stderrKeep {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-stderrKeep:]...)
		t.cut = true
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.head)
	if t.cut {
		s += "\n…\n"
	}
	return string(bytes.TrimSpace([]byte(s + string(t.tail))))
}

// Instantiate starts a new instance, running _initialize under the
// deadline, and returns it with the time it took.
func (m *Module) Instantiate(ctx context.Context) (*Instance, time.Duration, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, 0, fail(ErrClosed, "the plugin was closed")
	}
	inst := &Instance{stderr: &tail{}}
	cfg := wazero.NewModuleConfig().
		// Anonymous, so that several instances of one module coexist.
		WithName("").
		// A reactor: _initialize runs the Go runtime's and the
		// packages' initialisation, then returns (main is never run).
		WithStartFunctions("_initialize").
		// Not granted, and why it matters:
		// - no WithFS/WithFSConfig: no preopened directory, so every
		//   path_open fails (EBADF) and the plugin reads no file;
		// - no WithArgs/WithEnv: no arguments, no environment;
		// - no WithSysWalltime/WithSysNanotime/WithSysNanosleep: the
		//   clocks are wazero's fake ones (the wall clock reads a fixed
		//   time, the monotonic clock advances 1 ms a reading) and sleep
		//   returns at once, so a plugin cannot tell time or wait;
		// - no WithRandSource: random_get is deterministic, so the
		//   same input gives the same answer on every run;
		// - no sockets (they need experimental socket config), and Go's
		//   wasip1 net package falls back to an in-memory fake network
		//   that reaches nothing outside the instance;
		// - stdout discarded (the default); stderr kept, its tail only,
		//   for the messages of a panic or a fatal error.
		WithStderr(io.Writer(inst.stderr))
	cctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	t0 := time.Now()
	mod, err := m.rt.InstantiateModule(cctx, m.compiled, cfg)
	took := time.Since(t0)
	if err != nil {
		if mod != nil {
			mod.Close(ctx)
		}
		f := m.classify(ctx, cctx, err, inst, "_initialize")
		f.Elapsed = took
		return nil, took, f
	}
	inst.mod = mod
	inst.fns = map[string]api.Function{}
	for _, name := range []string{"alloc", "describe", "decode", "models", "check"} {
		if f := mod.ExportedFunction(name); f != nil {
			inst.fns[name] = f
		}
	}
	return inst, took, nil
}

// get returns an idle instance or a new one.
func (m *Module) get(ctx context.Context) (*Instance, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fail(ErrClosed, "the plugin was closed")
	}
	if n := len(m.idle); n > 0 {
		inst := m.idle[n-1]
		m.idle = m.idle[:n-1]
		m.mu.Unlock()
		return inst, nil
	}
	m.mu.Unlock()
	inst, _, err := m.Instantiate(ctx)
	return inst, err
}

// Put returns an instance for reuse. A module keeps at most GOMAXPROCS
// idle instances; the rest are closed.
func (m *Module) Put(inst *Instance) {
	m.mu.Lock()
	if !m.closed && len(m.idle) < runtime.GOMAXPROCS(0) {
		m.idle = append(m.idle, inst)
		inst = nil
	}
	m.mu.Unlock()
	if inst != nil {
		inst.mod.Close(context.Background())
	}
}

// Call calls export on an instance of its own: with the framed request
// req when hasReq, else with no argument. After a StatusOK reply it
// passes the reply's payload to read, a view of the instance's memory
// valid only during read, and returns read's error. A StatusError reply
// is a *Failure of kind ErrPlugin and keeps the instance; every other
// failure, read's included, discards it.
func (m *Module) Call(ctx context.Context, export string, req []byte, hasReq bool, read func(payload []byte) error) error {
	inst, err := m.get(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	payload, err := m.call(ctx, inst, export, req, hasReq)
	var f *Failure
	if errors.As(err, &f) {
		f.Elapsed = time.Since(t0)
	}
	if err == nil {
		err = read(payload)
		if err == nil {
			m.Put(inst)
			return nil
		}
	} else if errors.As(err, &f) && f.Kind == ErrPlugin {
		m.Put(inst)
		return err
	}
	inst.mod.Close(context.Background())
	return err
}

func (m *Module) call(ctx context.Context, inst *Instance, export string, req []byte, hasReq bool) ([]byte, error) {
	fn := inst.fns[export]
	if fn == nil {
		return nil, fail(ErrModule, "the module does not export %s", export)
	}
	cctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	mem := inst.mod.Memory()
	if mem == nil {
		return nil, fail(ErrModule, "the module has no memory")
	}
	var args []uint64
	if hasReq {
		need := uint64(len(req)) + 4
		if need > 1<<31 {
			return nil, fail(ErrBadReply, "request of %d bytes is too large", len(req))
		}
		if uint32(need) > inst.bufCap {
			res, err := inst.fns["alloc"].Call(cctx, need)
			if err != nil {
				return nil, m.classify(ctx, cctx, err, inst, "alloc")
			}
			inst.buf, inst.bufCap = uint32(res[0]), uint32(need)
		}
		if !mem.WriteUint32Le(inst.buf, uint32(len(req))) || !mem.Write(inst.buf+4, req) {
			buf := inst.buf
			inst.bufCap = 0
			return nil, fail(ErrBadReply, "alloc(%d) returned %#x, outside its %d-byte memory", need, buf, mem.Size())
		}
		args = []uint64{uint64(inst.buf)}
	}
	res, err := fn.Call(cctx, args...)
	if err != nil {
		return nil, m.classify(ctx, cctx, err, inst, export)
	}
	if len(res) != 1 {
		return nil, fail(ErrModule, "%s returned %d values, want 1", export, len(res))
	}
	p := uint32(res[0])
	n, ok := mem.ReadUint32Le(p)
	if !ok {
		return nil, fail(ErrBadReply, "reply pointer %#x is outside its %d-byte memory", p, mem.Size())
	}
	if n > m.opts.MaxReply {
		return nil, fail(ErrBadReply, "reply claims %d bytes, over the %s limit", n, Size(uint64(m.opts.MaxReply)))
	}
	if n == 0 {
		return nil, fail(ErrBadReply, "empty reply (no status byte)")
	}
	b, ok := mem.Read(p+4, n)
	if !ok {
		return nil, fail(ErrBadReply, "reply of %d bytes at %#x runs past its %d-byte memory", n, p+4, mem.Size())
	}
	status, payload := b[0], b[1:]
	switch status {
	case wire.StatusOK:
		return payload, nil
	case wire.StatusError, wire.StatusPanic:
		d := wire.NewDecoder(payload)
		msg := d.Str()
		if d.End() != nil {
			msg = "(unreadable message)"
		}
		if status == wire.StatusPanic {
			return nil, fail(ErrTrap, "panicked: %s", oneLine(msg))
		}
		return nil, fail(ErrPlugin, "%s", oneLine(msg))
	}
	return nil, fail(ErrBadReply, "unknown reply status %d", status)
}

// classify turns an error from wazero into a Failure. outer is the
// caller's context and inner the one with the deadline.
func (m *Module) classify(outer, inner context.Context, err error, inst *Instance, what string) *Failure {
	stderr := inst.stderr.String()
	var exit *sys.ExitError
	var f *Failure
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded,
		inner.Err() != nil && outer.Err() == nil:
		f = fail(ErrTimeout, "%s did not return within %v", what, m.opts.Timeout)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled, outer.Err() != nil:
		f = fail(ErrTimeout, "%s canceled: %v", what, context.Cause(outer))
	case strings.Contains(stderr, "fatal error: out of memory"):
		f = fail(ErrMemory, "%s ran out of memory (limit %s)", what, Size(m.opts.MemoryLimit))
	case errors.As(err, &exit):
		msg := fmt.Sprintf("%s exited with code %d", what, exit.ExitCode())
		if s := panicLine(stderr); s != "" {
			msg += ": " + s
		} else if s := lastLine(stderr); s != "" {
			msg += ": " + s
		}
		f = fail(ErrTrap, "%s", msg)
	case panicLine(stderr) != "":
		// Go's runtime prints why it gave up, then traps (unreachable).
		f = fail(ErrTrap, "%s crashed: %s", what, panicLine(stderr))
	default:
		f = fail(ErrTrap, "%s trapped: %s", what, strings.TrimPrefix(firstLine(err.Error()), "wasm error: "))
	}
	f.Stderr = stderr
	return f
}

// panicLine picks the line of Go's crash output that says what happened,
// or "".
func panicLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
			return l
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Size formats a byte count the way the messages do: "64 MiB".
func Size(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
