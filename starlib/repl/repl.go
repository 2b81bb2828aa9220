// Package repl is the terminal of a starlib.Session: a read-eval-print
// loop with history, Tab completion and Ctrl-C, or standard input run as
// one script when it is not a terminal (as go.starlark.net/repl is for
// plain Starlark). `cpupolicy repl` wires its flags to it.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"unicode/utf8"

	"github.com/chzyer/readline"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// File names what the REPL reads in positions and backtraces.
const File = "<stdin>"

// maxScript bounds a piped script, as starlib bounds a policy file:
// Starlark sources are kilobytes.
const maxScript = 4 << 20

// ErrFailed reports a script that failed; its failure is already
// written.
var ErrFailed = errors.New("script failed")

// errInterrupted is the cause of an evaluation stopped by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// Script runs stdin as one Starlark file, under the session's limits
// (nobody is there to press Ctrl-C), writing failures to stderr. It
// returns ErrFailed when the script is too large or fails to parse or
// run, and another error when stdin cannot be read.
func Script(s *starlib.Session, stdin io.Reader, stderr io.Writer) error {
	src, err := io.ReadAll(io.LimitReader(stdin, maxScript+1))
	if err != nil {
		return fmt.Errorf("reading standard input: %v", err)
	}
	if len(src) > maxScript {
		fmt.Fprintf(stderr, "%s: script too large (limit %d bytes)\n", File, maxScript)
		return ErrFailed
	}
	if err := s.ExecFile(context.Background(), File, src); err != nil {
		PrintError(stderr, err)
		return ErrFailed
	}
	return nil
}

// PrintError prints a Starlark failure as its backtrace, and resolver
// errors (undefined names…) all, each with its file:line:col.
func PrintError(w io.Writer, err error) {
	var ee *starlark.EvalError
	var el resolve.ErrorList
	switch {
	case errors.As(err, &ee):
		fmt.Fprintln(w, ee.Backtrace())
	case errors.As(err, &el):
		for _, e2 := range el {
			fmt.Fprintln(w, e2.Error())
		}
	default:
		fmt.Fprintln(w, err)
	}
}

// repl is an interactive session on a terminal.
type repl struct {
	stdout, stderr io.Writer
	s              *starlib.Session

	mu   sync.Mutex
	stop context.CancelCauseFunc // ends the running evaluation; nil between them
}

// Interactive reads, evaluates and prints until Ctrl-D on the terminal
// of file descriptors 0 and 1 (readline works on them; stdout and stderr
// are where it and the session write), after printing banner. The
// history is kept in HistoryPath(getenv).
func Interactive(s *starlib.Session, banner string, stdout, stderr io.Writer, getenv func(string) string) error {
	r := &repl{stdout: stdout, stderr: stderr, s: s}
	cfg := &readline.Config{
		Prompt:            ">>> ",
		AutoComplete:      completer{r.s},
		InterruptPrompt:   "^C",
		EOFPrompt:         "\n", // readline's way of saying none
		HistorySearchFold: true,
		Stdout:            r.stdout,
		Stderr:            r.stderr,
	}
	if path, err := HistoryPath(getenv); err != nil {
		fmt.Fprintf(r.stderr, "cpupolicy repl: no history: %v\n", err)
	} else if err := prepareHistory(path); err != nil {
		fmt.Fprintf(r.stderr, "cpupolicy repl: no history: %v\n", err)
	} else {
		cfg.HistoryFile = path
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return err
	}
	defer rl.Close()
	fmt.Fprint(r.stdout, banner)
	defer r.handleInterrupts()()
	for {
		f, err := r.read(rl)
		switch {
		case err == io.EOF:
			return nil
		case err == readline.ErrInterrupt:
			continue // the line (or the unfinished block) is dropped
		case err != nil:
			PrintError(r.stderr, err)
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
	f, err := starlib.FileOptions().ParseCompoundStmt(File, func() ([]byte, error) {
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
			fmt.Fprintln(r.stderr)
		}
		PrintError(r.stderr, err)
	case v != nil:
		fmt.Fprintln(r.stdout, v.String())
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

// HistoryPath is where the REPL keeps its history, in the user's state
// directory as the XDG Base Directory specification defines it:
// $XDG_STATE_HOME/cpupolicy/repl_history, or under ~/.local/state when
// XDG_STATE_HOME is unset or not absolute (the specification says to
// ignore a relative one).
func HistoryPath(getenv func(string) string) (string, error) {
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
