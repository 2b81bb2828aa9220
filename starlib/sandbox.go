package starlib

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

// Defaults of Options. Each says why it is what it is.
const (
	// DefaultMaxSteps is the step budget of one run (loading a policy, or
	// one call of check). A step is about one bytecode; Starlark runs some
	// 50–100 M a second, so a runaway loop is stopped in one or two
	// seconds, while the heaviest built-in rule over a whole embedded
	// catalog (every model × machine type × accelerator) takes well under
	// 1 M.
	DefaultMaxSteps = 100_000_000
	// DefaultTimeout is the wall-clock limit of one run. Steps do not
	// measure time spent inside builtins (a plugin call, a resolve), so the
	// deadline is the bound that always holds; 10 s is far above what a
	// policy over a fleet needs (milliseconds) and short enough for a CI
	// gate or a prompt.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxLen caps every string (in bytes) and list (in elements) a
	// builtin accepts from a script or builds for it: a -cpu spec, a
	// violation's message and extra values. The largest real values are a
	// few KB (every feature name of the registry as one string is ~5 KB),
	// so 1 Mi is generous, and it stops a loop that feeds a builtin its
	// own output long before memory runs out.
	DefaultMaxLen = 1 << 20
	// DefaultMaxViolations caps the violations one check may report: a
	// whole fleet's real findings are thousands (every offer × host ×
	// missing bit), and a policy past 100 000 is looping, not reporting.
	DefaultMaxViolations = 100_000
	// DefaultMaxMemory caps how far the heap may grow while a run is
	// going: Starlark's own operators (s + s, a list repeated) allocate
	// without a size check, and a loop doubling a string reaches gigabytes
	// within the step budget and the deadline. A real policy over a whole
	// fleet allocates a few megabytes, so 256 MiB only stops a script that
	// is exhausting memory, before the machine does. The heap is looked
	// at every memoryPoll, so one last operation may still double what it
	// holds.
	DefaultMaxMemory = 256 << 20
)

// maxSourceSize bounds a policy or library file: Starlark sources are
// kilobytes, and reading a multi-megabyte file by mistake should fail
// before the parser spends time on it.
const maxSourceSize = 4 << 20

// Errors a run stops with, for errors.Is on an *Error.
var (
	// ErrTimeout: the run exceeded Options.Timeout.
	ErrTimeout = errors.New("time limit exceeded")
	// ErrMaxSteps: the run exceeded Options.MaxSteps.
	ErrMaxSteps = errors.New("step budget exceeded")
	// ErrMemory: the heap grew more than Options.MaxMemory during the run.
	ErrMemory = errors.New("memory limit exceeded")
	// ErrLimit: a builtin was asked to accept or build a value larger than
	// Options.MaxLen, or to report more than Options.MaxViolations.
	ErrLimit = errors.New("size limit exceeded")
)

// LibraryPrefix starts the module names that load() takes from
// Options.Library rather than from the policy's own directory:
// load("@cpupolicy/sets.star", "f").
const LibraryPrefix = "@cpupolicy/"

// Options configure the sandbox a script runs in. The zero value is
// ready to use: the built-in registry, the default limits, no library
// modules, print discarded.
type Options struct {
	// Registry names the features of features() and of every set. Nil
	// means feature.Builtin(). A catalog given in Input must be over the
	// same registry.
	Registry *feature.Registry
	// MaxSteps is the step budget of each run: 0 means DefaultMaxSteps,
	// math.MaxUint64 no budget.
	MaxSteps uint64
	// Timeout is the wall-clock limit of each run: 0 means
	// DefaultTimeout, a negative value none (an interactive caller that
	// cancels the context instead).
	Timeout time.Duration
	// MaxLen caps the strings and lists builtins accept and build; 0
	// means DefaultMaxLen.
	MaxLen int
	// MaxViolations caps the violations of one check; 0 means
	// DefaultMaxViolations.
	MaxViolations int
	// MaxMemory caps, in bytes, how much the process's heap may grow
	// while a run is going; 0 means DefaultMaxMemory, a negative value
	// none. The heap is the process's: runs going on at the same time
	// share it.
	MaxMemory int64
	// Library holds the modules load() finds under LibraryPrefix (the
	// built-in policies' shared helpers, say). Nil means none.
	Library fs.FS
	// Predeclared adds globals to what every script sees (the test
	// command's assert module, the REPL's host and catalog). They must not
	// give access to files, the network, the clock or the environment.
	Predeclared starlark.StringDict
	// Print receives print() output, prefixed with the file and line.
	// Nil discards it: a policy's output is its violations.
	Print func(msg string)
	// Plugins are the vendor plugin checks plugins.call reaches. Nil
	// means none: plugins.call then fails with a message saying so.
	Plugins Plugins
	// DecodeSnapshot, when set, completes every host snapshot starlib
	// reads itself (a site file's pools, test fixtures) after parsing:
	// the cpupolicy command adds the vendor plugins' features to the
	// layers, as it does for the snapshots it reads.
	DecodeSnapshot func(*host.HostSnapshot) error
	// LibvirtMap returns libvirt's CPU map, which export() of nova,
	// libvirt and kubevirt names models and features from; it is called
	// only when a script asks for one of those (loading the map costs
	// tens of milliseconds). Nil: those exports fail saying so (a script
	// reads no files itself).
	LibvirtMap func() (*libvirt.Map, error)
}

// readSnapshot reads and parses the snapshot file, and completes it with
// DecodeSnapshot.
func (o Options) readSnapshot(file string) (*host.HostSnapshot, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	snap, err := host.Parse(file, data, o.registry())
	if err != nil {
		return nil, err
	}
	return snap, o.decode(snap)
}

// decode applies DecodeSnapshot, if set, to snap.
func (o Options) decode(snap *host.HostSnapshot) error {
	if o.DecodeSnapshot == nil {
		return nil
	}
	return o.DecodeSnapshot(snap)
}

func (o Options) registry() *feature.Registry {
	if o.Registry != nil {
		return o.Registry
	}
	return feature.Builtin()
}

// The limits: an unset (zero) field means its default. A negative MaxLen
// or MaxViolations would refuse everything; it counts as unset too.
func (o Options) maxSteps() uint64       { return cmp.Or(o.MaxSteps, DefaultMaxSteps) }
func (o Options) timeout() time.Duration { return cmp.Or(o.Timeout, DefaultTimeout) }
func (o Options) maxLen() int            { return cmp.Or(max(o.MaxLen, 0), DefaultMaxLen) }
func (o Options) maxMemory() int64       { return cmp.Or(o.MaxMemory, DefaultMaxMemory) }
func (o Options) maxViolations() int     { return cmp.Or(max(o.MaxViolations, 0), DefaultMaxViolations) }

// FileOptions returns the Starlark dialect of policies. Recursion and while
// loops stay off (Starlark's defaults): every loop then iterates a finite
// value, and deep recursion, which could exhaust the Go stack, cannot be
// written. Top-level if/for are allowed (tables are often built with
// them), as is the set type (deterministic: insertion order).
func FileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, TopLevelControl: true}
}

// localKey is the thread-local key of a run's state.
const localKey = "cpupolicy/starlib.run"

// run is the state builtins find on their thread: what they work over
// and the limits they respect.
type run struct {
	ctx           context.Context
	maxSteps      uint64
	reg           *feature.Registry
	cat           *Catalog // the input's catalog; nil while a policy loads
	maxLen        int
	maxViolations int
	plugins       Plugins // nil: no plugin loaded
	libvirtMap    func() (*libvirt.Map, error)
}

// state returns the thread's run, or an error naming fn when the thread
// was not prepared by this package (a caller's own thread).
func state(thread *starlark.Thread, fn string) (*run, error) {
	r, ok := thread.Local(localKey).(*run)
	if !ok {
		return nil, fmt.Errorf("%s: thread has no cpupolicy state (use starlib.NewThread)", fn)
	}
	return r, nil
}

// interrupted returns the reason the run must stop (time limit, the
// caller's cancellation), or nil. Builtins that loop call it every so
// often, because the interpreter only notices thread.Cancel between
// steps.
func (r *run) interrupted() error {
	if r.ctx.Err() != nil {
		return context.Cause(r.ctx)
	}
	return nil
}

// poll returns interrupted() every 1024th call of a loop (i is the
// iteration): often enough to stop within microseconds, rarely enough to
// cost nothing.
func (r *run) poll(i int) error {
	if i&1023 != 0 {
		return nil
	}
	return r.interrupted()
}

// checkLen reports an ErrLimit error when n exceeds the run's MaxLen.
func (r *run) checkLen(fn, what string, n int) error {
	if n > r.maxLen {
		return fmt.Errorf("%s: %s of %d exceeds the limit of %d: %w", fn, what, n, r.maxLen, ErrLimit)
	}
	return nil
}

// listArg returns v, argument param of builtin fn, as a list or tuple
// (not a string, which Starlark also indexes) within the run's MaxLen;
// want says in the error what the list should hold.
func (r *run) listArg(fn, param string, v starlark.Value, want string) (starlark.Indexable, error) {
	list, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		return nil, fmt.Errorf("%s: %s: got %s, want %s", fn, param, v.Type(), want)
	}
	if err := r.checkLen(fn, param, list.Len()); err != nil {
		return nil, err
	}
	return list, nil
}

// Interrupted returns why the run on thread must stop — its time limit
// passed or its context was cancelled — or nil. A Go builtin that may run
// long (a loop over many values, a plugin call) calls it between pieces
// of work and returns the error, because the interpreter notices
// cancellation only between Starlark steps. It returns nil on a thread
// not made by NewThread.
func Interrupted(thread *starlark.Thread) error {
	if r, ok := thread.Local(localKey).(*run); ok {
		return r.interrupted()
	}
	return nil
}

// ThreadContext returns the context of the run on thread, which is done when
// the run's time limit passes or its caller cancels it: a builtin that
// calls out (a wasm plugin) passes it on. It returns
// context.Background() on a thread not made by NewThread.
func ThreadContext(thread *starlark.Thread) context.Context {
	if r, ok := thread.Local(localKey).(*run); ok {
		return r.ctx
	}
	return context.Background()
}

// NewThread returns a thread for running starlib code under opts: its
// step budget and time limit (counted from now, and also ended by ctx),
// print routed to opts.Print, and the catalog cat (which may be nil) as
// the default of config() and host.available(). load() is refused; a
// policy's thread gets a loader confined to its directory. The returned
// function releases the timer and must be called when the run ends.
//
// Run several NewThread threads at once if you like, but each on one
// goroutine: a Starlark thread is not safe for concurrent use.
func NewThread(ctx context.Context, name string, cat *Catalog, opts Options) (*starlark.Thread, context.CancelFunc) {
	cancel := context.CancelFunc(func() {})
	if timeout := opts.timeout(); timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w after %v", ErrTimeout, timeout))
	}
	if limit := opts.maxMemory(); limit > 0 {
		memCtx, stopMem := context.WithCancelCause(ctx)
		// The watch starts only once the run has lasted one poll: most
		// runs (a policy over a site, one test) end well before, and then
		// cost a timer instead of a goroutine and a stop-the-world read.
		watch := time.AfterFunc(memoryPoll, func() { watchMemory(memCtx, limit, stopMem) })
		ctx = memCtx
		prev := cancel
		cancel = func() { watch.Stop(); stopMem(nil); prev() }
	}
	thread := &starlark.Thread{
		Name: name,
		Print: func(thread *starlark.Thread, msg string) {
			if opts.Print == nil {
				return
			}
			if thread.CallStackDepth() > 1 { // frame 0 is print itself
				msg = fmt.Sprintf("%s: %s", thread.CallFrame(1).Pos, msg)
			}
			opts.Print(msg)
		},
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load is not available here")
		},
	}
	steps := opts.maxSteps()
	thread.SetMaxExecutionSteps(steps)
	thread.OnMaxSteps = func(thread *starlark.Thread) {
		thread.Cancel(fmt.Sprintf("%v (%d steps)", ErrMaxSteps, steps))
	}
	thread.SetLocal(localKey, &run{
		ctx: ctx, maxSteps: steps, reg: opts.registry(), cat: cat,
		maxLen: opts.maxLen(), maxViolations: opts.maxViolations(), plugins: opts.Plugins,
		libvirtMap: opts.LibvirtMap,
	})
	// Cancel is the only way into a running interpreter: when ctx is done
	// (time limit, or the caller gave up) the thread stops at its next
	// step, and builtins notice through Interrupted.
	stop := context.AfterFunc(ctx, func() {
		thread.Cancel(context.Cause(ctx).Error())
	})
	return thread, func() { stop(); cancel() }
}

// stopCause classifies why a run on thread ended in error: ErrMaxSteps,
// ErrTimeout, ErrMemory, the caller's context error, or nil for an
// ordinary failure.
func stopCause(thread *starlark.Thread) error {
	r, ok := thread.Local(localKey).(*run)
	if !ok {
		return nil
	}
	if r.maxSteps != math.MaxUint64 && thread.ExecutionSteps() >= r.maxSteps {
		return ErrMaxSteps
	}
	if r.ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(r.ctx); !errors.Is(cause, ErrTimeout) {
		return cause // ErrMemory, or the caller's own cancellation
	}
	return ErrTimeout
}

// loader implements load() for one script: paths relative to the loading
// file, confined to fsys (the policy's directory tree), plus the library
// under LibraryPrefix. Each module is executed once per loader, on the
// loading thread, so it shares the run's budget and deadline.
type loader struct {
	fsys    fs.FS
	prefix  string // prepended to fsys paths to name files in messages
	opts    Options
	pre     starlark.StringDict // Predeclared(opts), built once for every module
	files   map[string]module   // display name → module, to resolve loads relative to it
	modules map[module]*loadResult
}

// module is a file of the policy's tree or, when lib is set, of the
// library. The two namespaces never mix: a tree cannot shadow a library
// module, and a library module loads only library modules.
type module struct {
	lib  bool
	path string // in its file system
}

type loadResult struct {
	globals starlark.StringDict
	err     error
	done    bool
}

func newLoader(fsys fs.FS, prefix string, opts Options) *loader {
	return &loader{fsys: fsys, prefix: prefix, opts: opts, pre: Predeclared(opts), files: map[string]module{}, modules: map[module]*loadResult{}}
}

// display names a module in messages and backtraces.
func (l *loader) display(m module) string {
	switch {
	case m.lib:
		return LibraryPrefix + m.path
	case l.prefix == "":
		return m.path
	}
	return l.prefix + "/" + m.path
}

// load is the thread's Load function.
func (l *loader) load(thread *starlark.Thread, name string) (starlark.StringDict, error) {
	m, err := l.locate(thread.CallFrame(0).Pos.Filename(), name)
	if err != nil {
		return nil, err
	}
	if res, ok := l.modules[m]; ok {
		if !res.done {
			return nil, fmt.Errorf("cycle in load graph: %s is still loading", l.display(m))
		}
		return res.globals, res.err
	}
	res := &loadResult{}
	l.modules[m] = res
	res.globals, res.err = l.exec(thread, m)
	res.done = true
	return res.globals, res.err
}

// locate resolves name, as written in a load statement of the file
// from (a display name), to a module.
func (l *loader) locate(from, name string) (module, error) {
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || strings.Contains(name, ":") {
		return module{}, fmt.Errorf("absolute paths are not allowed: load() reads only the policy's directory tree and %s…", LibraryPrefix)
	}
	if !strings.HasSuffix(name, ".star") {
		return module{}, errors.New("want a .star file")
	}
	if strings.Contains(name, `\`) {
		return module{}, errors.New(`want "/" as the path separator`)
	}
	if rel, ok := strings.CutPrefix(name, LibraryPrefix); ok {
		if l.opts.Library == nil || !fs.ValidPath(rel) {
			return module{}, errors.New("no such module in the built-in library")
		}
		return module{lib: true, path: rel}, nil
	}
	src := l.files[from] // the loading file; every loader is one
	p := path.Join(path.Dir(src.path), name)
	if !fs.ValidPath(p) {
		if src.lib {
			return module{}, errors.New("path escapes the built-in library")
		}
		return module{}, errors.New("path escapes the policy's directory")
	}
	return module{lib: src.lib, path: p}, nil
}

// exec reads, compiles and runs one module on thread.
func (l *loader) exec(thread *starlark.Thread, m module) (starlark.StringDict, error) {
	fsys := l.fsys
	if m.lib {
		fsys = l.opts.Library
	}
	src, err := readSource(fsys, m.path)
	if err != nil {
		return nil, err
	}
	display := l.display(m)
	l.files[display] = m
	_, prog, err := compile(display, src, l.pre)
	if err != nil {
		return nil, err
	}
	g, err := prog.Init(thread, l.pre)
	g.Freeze()
	return g, err
}

// readSource reads a script, refusing what is not a regular file (a
// device, a FIFO) and what is too large to be one.
func readSource(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err // the caller names the file
		}
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if info.Size() > maxSourceSize {
		return nil, fmt.Errorf("%d bytes is too large for a script (limit %d)", info.Size(), maxSourceSize)
	}
	// The limit holds even if the file grows after Stat.
	return io.ReadAll(io.LimitReader(f, maxSourceSize))
}

// compile parses and resolves a script against the predeclared names pre.
func compile(name string, src []byte, pre starlark.StringDict) (*syntax.File, *starlark.Program, error) {
	f, err := FileOptions().Parse(name, src, 0)
	if err != nil {
		return nil, nil, placeSyntaxError(err, src)
	}
	prog, err := starlark.FileProgram(f, pre.Has)
	return f, prog, err
}

// catalogValue returns the run's catalog, or an error naming fn.
func (r *run) catalogValue(fn string) (*Catalog, error) {
	if r.cat == nil {
		return nil, fmt.Errorf("%s: no catalog here (call it from check(ctx), or pass catalog=)", fn)
	}
	return r.cat, nil
}

// memoryPoll is how often a run's heap is looked at, and how long a run
// goes unwatched at its start. ReadMemStats stops the world for tens of
// microseconds, as long as a whole short run; a doubling string needs
// tens of milliseconds per step once it is large, so 5 ms stops it within
// a step or two. (runtime/metrics would be cheaper per read, but its
// package init alone costs every cpupolicy process 0.07 ms.)
const memoryPoll = 5 * time.Millisecond

// watchMemory ends ctx with ErrMemory when the heap grows more than limit
// bytes past what it was at the first look (one poll into the run: what
// the run allocated before then, a few MiB at most, counts in the base),
// and returns when ctx ends.
func watchMemory(ctx context.Context, limit int64, stop context.CancelCauseFunc) {
	// HeapAlloc counts heap objects, live or dead and not yet swept:
	// what a runaway allocation inflates at once.
	var ms runtime.MemStats
	read := func() int64 {
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	base := read()
	t := time.NewTicker(memoryPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if grown := read() - base; grown > limit {
				stop(fmt.Errorf("%w: the heap grew by %d MiB during the run (limit %d MiB)", ErrMemory, grown>>20, limit>>20))
				return
			}
		}
	}
}

// placeSyntaxError moves a parse error of src from where the parser
// noticed it to the token it is about. Starlark's parser reports "got X,
// want Y" at the scanner's position, just past X: for a newline that is
// the start of the next line, so a missing ':' at the end of line 2 was
// reported at 3:1. The error then names the end of the line holding the
// newline, or the first character of a name, keyword or punctuation.
func placeSyntaxError(err error, src []byte) error {
	var se syntax.Error
	if !errors.As(err, &se) {
		return err
	}
	got, ok := strings.CutPrefix(se.Msg, "got ")
	if !ok {
		return err
	}
	if i := strings.IndexAny(got, ", "); i >= 0 && !strings.HasPrefix(got, "'") {
		got = got[:i]
	}
	lines := sourceLines(src)
	line := int(se.Pos.Line)
	if line < 1 || line > len(lines) {
		return err
	}
	pos := se.Pos
	switch {
	case got == "newline":
		if line < 2 || se.Pos.Col != 1 {
			return err
		}
		pos.Line--
		pos.Col = int32(utf8.RuneCountInString(lines[line-2])) + 1
	case strings.HasPrefix(got, "'") || strings.HasPrefix(got, `"`):
		// Punctuation, quoted: "got ')', want ...".
		end := strings.IndexByte(got[1:], got[0])
		n := int32(utf8.RuneCountInString(got[1 : end+1]))
		if end <= 0 || se.Pos.Col <= n {
			return err
		}
		pos.Col -= n
	default:
		// A name or keyword ("got identifier", "got def"): back up over
		// its characters.
		runes := []rune(lines[line-1])
		col := int(se.Pos.Col) - 1 // index just past the token
		if col > len(runes) {
			return err
		}
		start := col
		for start > 0 && (unicode.IsLetter(runes[start-1]) || unicode.IsDigit(runes[start-1]) || runes[start-1] == '_') {
			start--
		}
		if start == col {
			return err
		}
		pos.Col = int32(start) + 1
	}
	return syntax.Error{Pos: pos, Msg: se.Msg}
}

// sourceLines splits src into lines as Starlark's scanner counts them:
// "\n", "\r\n" and a lone "\r" each end one.
func sourceLines(src []byte) []string {
	return strings.Split(strings.ReplaceAll(strings.ReplaceAll(string(src), "\r\n", "\n"), "\r", "\n"), "\n")
}
