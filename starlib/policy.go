package starlib

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Script is a loaded .star file: its top level has run in the sandbox and
// its globals are frozen. A Policy is a Script with a check function; the
// test and REPL commands use Scripts directly.
type Script struct {
	// File names the script in messages: the path it was loaded by.
	File string
	// Doc is the module docstring, "" when there is none.
	Doc     string
	Globals starlark.StringDict
	opts    Options
}

// LoadScript loads the script name from fsys, which is the script's
// directory tree: load() statements resolve inside fsys (relative to the
// loading file) or in opts.Library, nowhere else. Its top level runs under
// opts' step budget and time limit. name is also how messages name it.
//
// fsys is trusted to stay inside itself; LoadScriptFile gives it an
// os.Root, which refuses symbolic links that leave the tree.
func LoadScript(fsys fs.FS, name string, opts Options) (*Script, error) {
	return loadScript(fsys, "", name, opts)
}

// LoadScriptFile loads the script at path, confined to path's directory
// tree (an os.Root: no "..", no absolute paths, no symbolic links out).
func LoadScriptFile(path string, opts Options) (*Script, error) {
	dir, base := filepath.Split(path)
	dir = filepath.Clean(dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	defer root.Close() // load() runs only while the top level runs
	prefix := filepath.ToSlash(dir)
	if prefix == "." {
		prefix = ""
	}
	return loadScript(root.FS(), prefix, base, opts)
}

func loadScript(fsys fs.FS, prefix, name string, opts Options) (*Script, error) {
	l := newLoader(fsys, prefix, opts)
	main := module{path: name}
	display := l.display(main)
	if !fs.ValidPath(name) {
		return nil, &Error{File: display, Err: fmt.Errorf("invalid script path %q", name)}
	}
	src, err := readSource(fsys, name)
	if err != nil {
		return nil, &Error{File: display, Err: err}
	}
	f, prog, err := compile(display, src, l.pre)
	if err != nil {
		return nil, &Error{File: display, Err: err}
	}
	l.files[display] = main
	l.modules[main] = &loadResult{} // in progress: a load of it is a cycle
	thread, done := NewThread(context.Background(), display, nil, opts)
	defer done()
	thread.Load = l.load
	g, err := prog.Init(thread, l.pre)
	g.Freeze()
	if err != nil {
		return nil, newError(display, thread, err)
	}
	return &Script{File: display, Doc: docstring(f), Globals: g, opts: opts}, nil
}

// docstring returns the module docstring of f.
func docstring(f *syntax.File) string {
	if len(f.Stmts) == 0 {
		return ""
	}
	e, ok := f.Stmts[0].(*syntax.ExprStmt)
	if !ok {
		return ""
	}
	lit, ok := e.X.(*syntax.Literal)
	if !ok || lit.Token != syntax.STRING {
		return ""
	}
	return strings.TrimSpace(lit.Value.(string))
}

// Call calls the script's global function fn with args on a new thread
// under the script's limits, with cat (which may be nil) as the default
// catalog of config() and host.available().
func (s *Script) Call(ctx context.Context, cat *Catalog, fn string, args ...starlark.Value) (starlark.Value, error) {
	f, ok := s.Globals[fn]
	if !ok {
		return nil, &Error{File: s.File, Err: fmt.Errorf("no function %s", fn)}
	}
	if cat != nil && cat.reg != s.opts.registry() {
		return nil, &Error{File: s.File, Err: fmt.Errorf("catalog %s is over a different feature registry than Options.Registry", cat.c.Name())}
	}
	thread, done := NewThread(ctx, s.File, cat, s.opts)
	defer done()
	v, err := starlark.Call(thread, f, args, nil)
	if err != nil {
		return nil, newError(s.File, thread, err)
	}
	return v, nil
}

// Policy is a site rule: a .star file whose module docstring describes it
// and whose check(ctx) function reports violations with ctx.violation.
type Policy struct {
	// Name is the file's base name without ".star": "runnable".
	Name string
	// Doc is the module docstring: what the policy checks.
	Doc    string
	script *Script
}

// LoadPolicy loads the policy name from fsys as LoadScript does, and
// checks the protocol: a module docstring and a check(ctx) function.
func LoadPolicy(fsys fs.FS, name string, opts Options) (*Policy, error) {
	s, err := LoadScript(fsys, name, opts)
	if err != nil {
		return nil, err
	}
	return newPolicy(s)
}

// LoadPolicyFile loads the policy at path as LoadScriptFile does.
func LoadPolicyFile(path string, opts Options) (*Policy, error) {
	s, err := LoadScriptFile(path, opts)
	if err != nil {
		return nil, err
	}
	return newPolicy(s)
}

func newPolicy(s *Script) (*Policy, error) {
	if s.Doc == "" {
		return nil, &Error{File: s.File, Err: errors.New("no module docstring: a policy starts with a string saying what it checks")}
	}
	fn, ok := s.Globals["check"].(*starlark.Function)
	if !ok {
		return nil, &Error{File: s.File, Err: errors.New("no check(ctx) function")}
	}
	if fn.NumParams() != 1 {
		return nil, &Error{File: s.File, Err: fmt.Errorf("check has %d parameters, want 1 (ctx)", fn.NumParams())}
	}
	name := strings.TrimSuffix(path.Base(s.File), ".star")
	return &Policy{Name: name, Doc: s.Doc, script: s}, nil
}

// File returns the policy's file, as messages name it.
func (p *Policy) File() string { return p.script.File }

// Check runs check(ctx) over in and returns the violations it reported,
// in the order it reported them (a policy is deterministic: no clock, no
// randomness, every collection ordered). A failure, an exceeded step
// budget or time limit, or ctx's cancellation is an *Error.
//
// Check may be called again and from several goroutines at once.
func (p *Policy) Check(ctx context.Context, in Input) ([]Violation, error) {
	c, err := NewContext(p.Name, in, p.script.opts)
	if err != nil {
		return nil, &Error{File: p.script.File, Err: err}
	}
	v, err := p.script.Call(ctx, in.Catalog, "check", c)
	if err != nil {
		return nil, err
	}
	if v != starlark.None {
		return nil, &Error{File: p.script.File, Err: fmt.Errorf("check returned %s, want None (report with ctx.violation)", v.Type())}
	}
	return c.Violations(), nil
}

// Error is a script that failed to load or run. Its message names the
// file and, for a failure while running, ends with the Starlark backtrace
// (file:line:col of every frame).
type Error struct {
	// File is the script, as messages name it.
	File string
	// Err is what went wrong: a *starlark.EvalError (with its
	// backtrace), a *syntax.Error, or a protocol or file error.
	Err error
	// Stop is why the run was stopped rather than failed: ErrTimeout,
	// ErrMaxSteps, ErrMemory, the caller's context error, or nil.
	Stop error
}

func newError(file string, thread *starlark.Thread, err error) *Error {
	return &Error{File: file, Err: err, Stop: stopCause(thread)}
}

func (e *Error) Error() string {
	var b strings.Builder
	var ee *starlark.EvalError
	if !errors.As(e.Err, &ee) {
		msg := e.Err.Error()
		if strings.HasPrefix(msg, e.File+":") {
			return msg // a syntax error names file:line:col itself
		}
		return e.File + ": " + msg
	}
	if pos, ok := topLevelOnly(ee); ok {
		// A failure at the top level of the file itself (a site file's
		// or a waivers file's bad call): the backtrace would only repeat
		// this one position.
		return pos + ": " + ee.Msg
	}
	fmt.Fprintf(&b, "policy %s: %s\n", e.File, ee.Msg)
	// A failure in a loaded module is wrapped by the load statement's
	// error; the innermost backtrace (same thread) has every frame.
	for {
		var inner *starlark.EvalError
		if next := errors.Unwrap(ee); next == nil || !errors.As(next, &inner) {
			break
		}
		ee = inner
	}
	b.WriteString(ee.Backtrace())
	return b.String()
}

// topLevelOnly returns the position of ee when it happened at the top
// level of the file that was run (directly, or in a builtin called
// there), not in a function and not in a loaded module.
func topLevelOnly(ee *starlark.EvalError) (string, bool) {
	var inner *starlark.EvalError
	if errors.As(errors.Unwrap(ee), &inner) {
		return "", false // a load() of a module that failed
	}
	frames := ee.CallStack
	for len(frames) > 0 && frames[len(frames)-1].Pos.Filename() == "<builtin>" {
		frames = frames[:len(frames)-1]
	}
	if len(frames) != 1 || frames[0].Name != "<toplevel>" {
		return "", false
	}
	return frames[0].Pos.String(), true
}

// Unwrap returns the failure and, when the run was stopped, the reason
// (so errors.Is(err, ErrTimeout) works).
func (e *Error) Unwrap() []error {
	if e.Stop != nil {
		return []error{e.Stop, e.Err}
	}
	return []error{e.Err}
}

// Predeclared returns the globals every script starts with (besides
// Starlark's universe): Module's members and opts.Predeclared.
func Predeclared(opts Options) starlark.StringDict {
	d := make(starlark.StringDict, len(Module.Members)+len(opts.Predeclared))
	for k, v := range Module.Members {
		d[k] = v
	}
	for k, v := range opts.Predeclared {
		d[k] = v
	}
	return d
}
