package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"unicode/utf8"

	"github.com/chzyer/readline"
	"github.com/mattn/go-isatty"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// replFile names what the REPL reads in positions and backtraces.
const replFile = "<stdin>"

// maxReplScript bounds a piped script, as starlib bounds a policy file:
// Starlark sources are kilobytes.
const maxReplScript = 4 << 20

// errInterrupted is the cause of an evaluation stopped by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// runRepl is `cpupolicy repl` (doc.go, "# repl"): a prompt on a
// terminal, else standard input run as one script. The session is a
// starlib.Session; this file is its terminal.
func runRepl(e *env, args []string) error {
	fs := newFlags("repl")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` bound to catalog (default: the newest embedded)")
	hostFile := fs.String("host", "", "bind host to the recorded snapshot `FILE` instead of this host")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("repl", "unexpected argument %q (a script comes on standard input)", fs.Arg(0))
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return err
	}
	h, note, err := replHost(e, *hostFile, cat.Registry())
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(e.stderr, "cpupolicy repl: %s\n", note)
	}
	scat := starlib.NewCatalog(cat)
	opts := e.starlibOptions()
	opts.Predeclared = starlark.StringDict{"host": h, "catalog": scat}
	opts.Print = func(msg string) { fmt.Fprintln(e.stdout, msg) }
	// readline works on file descriptors 0 and 1, which e.stdin and
	// e.stdout are whenever they are terminals (main passes os.Stdin and
	// os.Stdout; tests pass buffers).
	if !terminal(e.stdin) || !terminal(e.stdout) {
		return replScript(e, starlib.NewSession(scat, opts))
	}
	// At a prompt an evaluation has no step budget and no deadline:
	// Ctrl-C stops it.
	opts.MaxSteps, opts.Timeout = math.MaxUint64, -1
	desc := "None"
	if h, ok := h.(*starlib.Host); ok {
		desc = replHostDesc(h.Name(), *hostFile)
	}
	r := &repl{e: e, s: starlib.NewSession(scat, opts)}
	return r.interactive(cat.Name(), qemuText(cat.QEMUVersion()), cat.NumModels(), desc)
}

// replHostDesc describes the host of the banner: its name, and where it
// came from when the name does not say (this machine, or a snapshot that
// records a hostname of its own).
func replHostDesc(name, file string) string {
	switch {
	case file == "":
		return fmt.Sprintf("%q (this machine)", name)
	case name == host.Name(nil, file):
		return fmt.Sprintf("%q", name) // named by the file
	}
	return fmt.Sprintf("%q (%s)", name, file)
}

// terminal reports whether f is a *os.File on a terminal.
func terminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && isatty.IsTerminal(file.Fd())
}

// replHost returns the value of the global host: the snapshot in file,
// else this machine probed live. A live probe that fails leaves host None,
// and one without KVM data leaves host.kvm empty; note says so.
func replHost(e *env, file string, reg *feature.Registry) (v starlark.Value, note string, err error) {
	if file != "" {
		s, err := e.loadSnapshot(file)
		if err != nil {
			return nil, "", err
		}
		h, err := starlib.NewHost(host.Name(s, file), s, reg)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %v", file, err)
		}
		return h, "", nil
	}
	s, err := e.probeLive()
	if err != nil {
		return starlark.None, fmt.Sprintf("cannot probe this host (%v); host is None", err), nil
	}
	h, err := starlib.NewHost(host.Name(s, ""), s, reg)
	if err != nil {
		return starlark.None, fmt.Sprintf("%v; host is None", err), nil
	}
	if s.KVM == nil {
		return h, fmt.Sprintf("this host has no KVM data (%s); host.kvm is empty", s.KVMError), nil
	}
	return h, "", nil
}

// replScript runs standard input as one Starlark file, under the
// sandbox's default limits (nobody is there to press Ctrl-C). Exit 1
// when it fails to parse or run.
func replScript(e *env, s *starlib.Session) error {
	src, err := io.ReadAll(io.LimitReader(e.stdin, maxReplScript+1))
	if err != nil {
		return cmdError("repl", fmt.Errorf("reading standard input: %v", err))
	}
	if len(src) > maxReplScript {
		fmt.Fprintf(e.stderr, "%s: script too large (limit %d bytes)\n", replFile, maxReplScript)
		return errFailed
	}
	if err := s.ExecFile(context.Background(), replFile, src); err != nil {
		printStarlarkErr(e, err)
		return errFailed
	}
	return nil
}

// printStarlarkErr prints a Starlark failure as its backtrace, and
// resolver errors (undefined names…) all, each with its file:line:col.
func printStarlarkErr(e *env, err error) {
	var ee *starlark.EvalError
	var el resolve.ErrorList
	switch {
	case errors.As(err, &ee):
		fmt.Fprintln(e.stderr, ee.Backtrace())
	case errors.As(err, &el):
		for _, e2 := range el {
			fmt.Fprintln(e.stderr, e2.Error())
		}
	default:
		fmt.Fprintln(e.stderr, err)
	}
}

// repl is an interactive session on a terminal.
type repl struct {
	e *env
	s *starlib.Session

	mu   sync.Mutex
	stop context.CancelCauseFunc // ends the running evaluation; nil between them
}

// interactive reads, evaluates and prints until Ctrl-D.
func (r *repl) interactive(catName, qemu string, models int, hostDesc string) error {
	cfg := &readline.Config{
		Prompt:            ">>> ",
		AutoComplete:      completer{r.s},
		InterruptPrompt:   "^C",
		EOFPrompt:         "\n", // readline's way of saying none
		HistorySearchFold: true,
		Stdout:            r.e.stdout,
		Stderr:            r.e.stderr,
	}
	if path, err := historyPath(os.Getenv); err != nil {
		fmt.Fprintf(r.e.stderr, "cpupolicy repl: no history: %v\n", err)
	} else if err := prepareHistory(path); err != nil {
		fmt.Fprintf(r.e.stderr, "cpupolicy repl: no history: %v\n", err)
	} else {
		cfg.HistoryFile = path
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return cmdError("repl", err)
	}
	defer rl.Close()
	fmt.Fprintf(r.e.stdout, "cpupolicy repl: catalog %s (%s, %d models), host %s.\n", catName, qemu, models, hostDesc)
	fmt.Fprintln(r.e.stdout, "help() lists names, Tab completes, Ctrl-C interrupts, Ctrl-D exits.")
	defer r.handleInterrupts()()
	for {
		f, err := r.read(rl)
		switch {
		case err == io.EOF:
			return nil
		case err == readline.ErrInterrupt:
			continue // the line (or the unfinished block) is dropped
		case err != nil:
			printStarlarkErr(r.e, err)
			continue
		}
		r.eval(f)
	}
}

// handleInterrupts makes SIGINT stop the running evaluation until the
// returned function is called. While an evaluation runs the terminal is
// in cooked mode, so Ctrl-C is a SIGINT; at the prompt readline reads it
// as a key.
func (r *repl) handleInterrupts() (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	quit := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
				r.interrupt()
			case <-quit:
				return
			}
		}
	}()
	return func() { signal.Stop(sigs); close(quit) }
}

// read reads one compound statement: a line, or a def/for/if block
// continued at a "... " prompt until it is complete (a blank line ends
// a block, as in Python). It returns io.EOF on Ctrl-D and
// readline.ErrInterrupt on Ctrl-C.
func (r *repl) read(rl *readline.Instance) (*syntax.File, error) {
	rl.SetPrompt(">>> ")
	var stop error
	f, err := starlib.FileOptions().ParseCompoundStmt(replFile, func() ([]byte, error) {
		line, err := rl.Readline()
		rl.SetPrompt("... ")
		if err != nil {
			stop = err
			return nil, err
		}
		return []byte(line + "\n"), nil
	})
	if stop != nil {
		return nil, stop
	}
	return f, err
}

// eval runs one statement and prints an expression's value (its repr)
// unless it is None. An error after an interruption starts on a line of
// its own (the terminal echoed "^C").
func (r *repl) eval(f *syntax.File) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r.setStop(cancel)
	defer r.setStop(nil)
	v, err := r.s.Exec(ctx, f)
	switch {
	case err != nil:
		if context.Cause(ctx) == errInterrupted {
			fmt.Fprintln(r.e.stderr)
		}
		printStarlarkErr(r.e, err)
	case v != nil:
		fmt.Fprintln(r.e.stdout, v.String())
	}
}

func (r *repl) setStop(f context.CancelCauseFunc) {
	r.mu.Lock()
	r.stop = f
	r.mu.Unlock()
}

// interrupt stops the running evaluation, if any.
func (r *repl) interrupt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		r.stop(errInterrupted)
	}
}

// historyPath is where the REPL keeps its history, in the user's state
// directory as the XDG Base Directory specification defines it:
// $XDG_STATE_HOME/cpupolicy/repl_history, or under ~/.local/state when
// XDG_STATE_HOME is unset or not absolute (the specification says to
// ignore a relative one).
func historyPath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) {
		home := getenv("HOME")
		if !filepath.IsAbs(home) {
			return "", errors.New("neither $XDG_STATE_HOME nor $HOME is an absolute path")
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "cpupolicy", "repl_history"), nil
}

// prepareHistory creates path's directories (0700) and the file itself
// (0600), private as a shell's history is.
func prepareHistory(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// completer is readline's Tab completion over a session.
type completer struct{ s *starlib.Session }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	prefix, cands := c.s.Complete(string(line[:pos]))
	out := make([][]rune, len(cands))
	for i, s := range cands {
		out[i] = []rune(s[len(prefix):])
	}
	return out, utf8.RuneCountInString(prefix)
}
