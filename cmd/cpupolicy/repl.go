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
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/chzyer/readline"
	"github.com/mattn/go-isatty"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/core/feature"
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
// terminal, else standard input run as one script.
func runRepl(e *env, args []string) int {
	fs := newFlags("repl")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` bound to catalog (default: the newest embedded)")
	hostFile := fs.String("host", "", "bind host to the recorded snapshot `FILE` instead of this host")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if fs.NArg() > 0 {
		return usageError(e, "repl", "unexpected argument %q (a script comes on standard input)", fs.Arg(0))
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return inputError(e, err)
	}
	reg := cat.Registry()
	h, note, err := replHost(e, *hostFile, reg)
	if err != nil {
		return inputError(e, err)
	}
	if note != "" {
		fmt.Fprintf(e.stderr, "cpupolicy repl: %s\n", note)
	}
	r := newRepl(e, starlib.NewCatalog(cat), h)
	// readline works on file descriptors 0 and 1, which e.stdin and
	// e.stdout are whenever they are terminals (main passes os.Stdin and
	// os.Stdout; tests pass buffers).
	if terminal(e.stdin) && terminal(e.stdout) {
		desc := "None"
		if h, ok := h.(*starlib.Host); ok {
			desc = fmt.Sprintf("%q (this machine)", h.Name())
			if *hostFile != "" {
				desc = fmt.Sprintf("%q (%s)", h.Name(), *hostFile)
			}
		}
		return r.interactive(desc)
	}
	return r.script()
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
		name := s.Hostname
		if name == "" {
			name = file
		}
		h, err := starlib.NewHost(name, s, reg)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %v", file, err)
		}
		return h, "", nil
	}
	s, err := e.probeLive()
	if err != nil {
		return starlark.None, fmt.Sprintf("cannot probe this host (%v); host is None", err), nil
	}
	h, err := starlib.NewHost("", s, reg)
	if err != nil {
		return starlark.None, fmt.Sprintf("%v; host is None", err), nil
	}
	if s.KVM == nil {
		return h, fmt.Sprintf("this host has no KVM data (%s); host.kvm is empty", s.KVMError), nil
	}
	return h, "", nil
}

// repl is one session: its globals persist from one input to the next.
type repl struct {
	e       *env
	cat     *starlib.Catalog
	opts    starlib.Options
	globals starlark.StringDict

	// busy is held while an evaluation runs, which may change globals.
	// The completer runs on readline's goroutine and only tries it: a Tab
	// typed ahead during an evaluation completes nothing.
	busy sync.Mutex

	mu   sync.Mutex
	stop context.CancelCauseFunc // ends the running evaluation; nil between them
}

func newRepl(e *env, cat *starlib.Catalog, h starlark.Value) *repl {
	r := &repl{e: e, cat: cat}
	r.opts = e.starlibOptions()
	r.opts.Predeclared = starlark.StringDict{"host": h, "catalog": cat}
	r.globals = starlib.Predeclared(r.opts)
	return r
}

// thread returns a thread for one evaluation, under r.opts and ended by
// ctx. print() writes plain lines to standard output: at a prompt, the
// file:line prefix of a policy's print would only be noise.
func (r *repl) thread(ctx context.Context) (*starlark.Thread, context.CancelFunc) {
	thread, done := starlib.NewThread(ctx, "repl", r.cat, r.opts)
	thread.Print = func(_ *starlark.Thread, msg string) { fmt.Fprintln(r.e.stdout, msg) }
	return thread, done
}

// script runs standard input as one Starlark file, under the sandbox's
// default limits (DefaultMaxSteps, DefaultTimeout): nobody is there to
// press Ctrl-C. Exit 1 when it fails to parse or run.
func (r *repl) script() int {
	src, err := io.ReadAll(io.LimitReader(r.e.stdin, maxReplScript+1))
	if err != nil {
		fmt.Fprintf(r.e.stderr, "cpupolicy repl: reading standard input: %v\n", err)
		return exitUsage
	}
	if len(src) > maxReplScript {
		fmt.Fprintf(r.e.stderr, "%s: script too large (limit %d bytes)\n", replFile, maxReplScript)
		return exitViolation
	}
	f, err := starlib.FileOptions().Parse(replFile, src, 0)
	if err != nil {
		r.printErr(err)
		return exitViolation
	}
	prog, err := starlark.FileProgram(f, r.globals.Has)
	if err != nil {
		r.printErr(err)
		return exitViolation
	}
	thread, done := r.thread(context.Background())
	defer done()
	if _, err := prog.Init(thread, r.globals); err != nil {
		r.printErr(err)
		return exitViolation
	}
	return exitOK
}

// printErr prints a Starlark failure as its backtrace, and resolver
// errors (undefined names…) all, each with its file:line:col.
func (r *repl) printErr(err error) {
	var ee *starlark.EvalError
	var el resolve.ErrorList
	switch {
	case errors.As(err, &ee):
		fmt.Fprintln(r.e.stderr, ee.Backtrace())
	case errors.As(err, &el):
		for _, e := range el {
			fmt.Fprintln(r.e.stderr, e.Error())
		}
	default:
		fmt.Fprintln(r.e.stderr, err)
	}
}

// interactive reads, evaluates and prints until Ctrl-D. An evaluation
// has no step budget and no deadline: Ctrl-C stops it.
func (r *repl) interactive(hostDesc string) int {
	r.opts.MaxSteps = math.MaxUint64
	r.opts.Timeout = -1
	cfg := &readline.Config{
		Prompt:            ">>> ",
		AutoComplete:      completer{r},
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
		fmt.Fprintf(r.e.stderr, "cpupolicy repl: %v\n", err)
		return exitUsage
	}
	defer rl.Close()

	c := r.cat.Catalog()
	fmt.Fprintf(r.e.stdout, "cpupolicy repl: catalog %s (%s, %d models), host %s.\n", c.Name, qemuText(c.QEMUVersion), len(c.Models), hostDesc)
	fmt.Fprintln(r.e.stdout, "Tab completes, Ctrl-C interrupts, Ctrl-D exits.")

	// While an evaluation runs the terminal is in cooked mode, so Ctrl-C
	// is a SIGINT; at the prompt readline reads it as a key.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	quit := make(chan struct{})
	defer close(quit)
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

	for {
		f, err := r.read(rl)
		switch {
		case err == io.EOF:
			return exitOK
		case err == readline.ErrInterrupt:
			continue // the line (or the unfinished block) is dropped
		case err != nil:
			r.printErr(err)
			continue
		}
		r.eval(f)
	}
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

// eval runs one statement. An expression's value is printed (its repr)
// unless it is None, and kept in _ as in Python's REPL.
func (r *repl) eval(f *syntax.File) {
	if len(f.Stmts) == 0 {
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	thread, done := r.thread(ctx)
	defer done()
	r.setStop(cancel)
	defer r.setStop(nil)
	r.busy.Lock()
	defer r.busy.Unlock()

	if len(f.Stmts) == 1 {
		if stmt, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			v, err := starlark.EvalExprOptions(f.Options, thread, stmt.X, r.globals)
			if err != nil {
				r.evalErr(ctx, err)
				return
			}
			if v != starlark.None {
				r.globals["_"] = v
				fmt.Fprintln(r.e.stdout, v.String())
			}
			return
		}
	}
	if err := starlark.ExecREPLChunk(f, thread, r.globals); err != nil {
		r.evalErr(ctx, err)
	}
}

// evalErr prints the error an evaluation stopped with, on a line of its
// own after an interruption (the terminal echoed "^C").
func (r *repl) evalErr(ctx context.Context, err error) {
	if context.Cause(ctx) == errInterrupted {
		fmt.Fprintln(r.e.stderr)
	}
	r.printErr(err)
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
type completer struct{ r *repl }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	if !c.r.busy.TryLock() {
		return nil, 0
	}
	defer c.r.busy.Unlock()
	prefix, cands := c.r.complete(string(line[:pos]))
	out := make([][]rune, len(cands))
	for i, s := range cands {
		out[i] = []rune(s[len(prefix):])
	}
	return out, utf8.RuneCountInString(prefix)
}

// starlarkKeywords complete like names.
var starlarkKeywords = []string{"and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "not", "or", "pass", "return"}

// complete returns the word before the end of text that Tab completes,
// and its completions (each starting with the word), sorted:
//
//   - in leading whitespace, an indent of four spaces;
//   - a name: globals, Starlark's builtins and keywords;
//   - a dotted name ("host.k", "catalog.mo"): the attributes of the value
//     the name before the last dot has. Only names and attributes are
//     looked up, nothing is called: completion runs no code of the
//     user's;
//   - inside a string literal, by where the string stands: a model name
//     in catalog.model(), the CPU spec of config(), resolve(), runnable()
//     and why() (a model, then feature names after each comma), a machine
//     type in catalog.machine() or as machine=, and a feature name
//     anywhere else (features("avx5, "avx2" in host.kvm).
//
// A name whose value is callable completes with "(".
func (r *repl) complete(text string) (string, []string) {
	if strings.TrimLeft(text, " \t") == "" {
		return "", []string{"    "}
	}
	st := scanLine(text)
	switch {
	case st.comment:
		return "", nil
	case st.inString:
		return r.completeString(text, st)
	}
	return r.completeName(text)
}

// lineState is what scanLine learns about the text before the cursor.
type lineState struct {
	comment  bool // it ends in a comment
	inString bool // it ends inside a string literal…
	quote    int  // …whose opening quote is at text[quote]
	body     int  // …and whose contents start at text[body]
	// call is the innermost bracket open at the end of the text (or at
	// the opening quote): where it is, how many commas it holds, and
	// where its current argument starts. call.open is -1 outside any.
	call frame
}

type frame struct {
	open, commas, arg int
}

// scanLine tokenizes just enough of one line of Starlark to find strings,
// comments and brackets.
func scanLine(text string) lineState {
	stack := []frame{{open: -1}}
	for i := 0; i < len(text); i++ {
		top := &stack[len(stack)-1]
		switch c := text[i]; c {
		case '#':
			return lineState{comment: true}
		case '(', '[', '{':
			stack = append(stack, frame{open: i, arg: i + 1})
		case ')', ']', '}':
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			top.commas++
			top.arg = i + 1
		case '"', '\'':
			q := text[i : i+1]
			if strings.HasPrefix(text[i:], q+q+q) {
				q += q + q
			}
			j := i + len(q)
			for j < len(text) && !strings.HasPrefix(text[j:], q) {
				if text[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(text) {
				return lineState{inString: true, quote: i, body: i + len(q), call: *top}
			}
			i = j + len(q) - 1
		}
	}
	return lineState{call: stack[len(stack)-1]}
}

// completeString completes inside the string literal st describes.
func (r *repl) completeString(text string, st lineState) (string, []string) {
	word := text[st.body:]
	fn, kw, arg := "", "", st.call.commas
	if st.call.open >= 0 {
		fn = lastName(text[:st.call.open])
		before := strings.TrimSpace(text[st.call.arg:st.quote])
		if k, ok := strings.CutSuffix(before, "="); ok {
			kw = strings.TrimSpace(k)
		}
	}
	kind := "features"
	switch {
	case kw == "machine":
		kind = "machine"
	case kw == "cpu":
		kind = "spec"
	case kw != "":
		kind = ""
	case fn == "features":
	case fn == "model":
		kind = "model"
	case fn == "machine":
		kind = "machine"
	case fn == "config" || fn == "resolve" || fn == "implicit":
		kind = map[int]string{0: "spec", 1: "machine"}[arg]
	case fn == "runnable" || fn == "why":
		kind = map[int]string{0: "spec", 2: "machine"}[arg]
	}
	if kind == "spec" {
		// "Model,+feat,-feat,feat=on": a model, then features.
		kind = "model"
		if i := strings.LastIndexByte(word, ','); i >= 0 {
			word = strings.TrimLeft(word[i+1:], "+-")
			kind = "features"
			if strings.Contains(word, "=") {
				kind = ""
			}
		}
	}
	var names []string
	c := r.cat.Catalog()
	switch kind {
	case "features":
		for _, f := range c.Registry().Features() {
			names = append(names, f.Name)
		}
	case "model":
		for _, m := range c.Models {
			names = append(names, m.Name)
		}
	case "machine":
		for _, m := range c.Machines {
			names = append(names, m.Name)
			if m.Alias != "" {
				names = append(names, m.Alias)
			}
		}
	}
	return word, withPrefix(names, word)
}

// lastName returns the name (the last part of a dotted name) that text
// ends with: the callee before an opening bracket.
func lastName(text string) string {
	text = strings.TrimRight(text, " \t")
	i := len(text)
	for i > 0 && isIdentByte(text[i-1]) {
		i--
	}
	return text[i:]
}

func isIdentByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// completeName completes the name or dotted name that text ends with.
func (r *repl) completeName(text string) (string, []string) {
	i := len(text)
	for i > 0 && (isIdentByte(text[i-1]) || text[i-1] == '.') {
		i--
	}
	chain := text[i:]
	if i > 0 && strings.ContainsRune(")]}\"'", rune(text[i-1])) {
		return "", nil // the attribute of a call's result: not evaluated
	}
	parts := strings.Split(chain, ".")
	for _, p := range parts[:len(parts)-1] {
		if p == "" || !isIdentByte(p[0]) || '0' <= p[0] && p[0] <= '9' {
			return "", nil // "foo..x", ".x", "1.5"
		}
	}
	word := parts[len(parts)-1]
	if len(parts) == 1 {
		if word != "" && '0' <= word[0] && word[0] <= '9' {
			return "", nil
		}
		var names []string
		for name, v := range r.globals {
			names = append(names, callName(name, v))
		}
		for name, v := range starlark.Universe {
			if _, ok := r.globals[name]; !ok {
				names = append(names, callName(name, v))
			}
		}
		names = append(names, starlarkKeywords...)
		return word, withPrefix(names, word)
	}
	v, ok := r.globals[parts[0]]
	if !ok {
		v, ok = starlark.Universe[parts[0]]
	}
	if !ok {
		return "", nil
	}
	for _, p := range parts[1 : len(parts)-1] {
		if v = attr(v, p); v == nil {
			return "", nil
		}
	}
	ha, ok := v.(starlark.HasAttrs)
	if !ok {
		return "", nil
	}
	var names []string
	for _, name := range ha.AttrNames() {
		if strings.HasPrefix(name, word) {
			names = append(names, callName(name, attr(v, name)))
		}
	}
	return word, withPrefix(names, word)
}

// attr returns v.name, or nil when v has no such attribute.
func attr(v starlark.Value, name string) starlark.Value {
	ha, ok := v.(starlark.HasAttrs)
	if !ok {
		return nil
	}
	a, err := ha.Attr(name)
	if err != nil {
		return nil
	}
	return a
}

// callName is name, with "(" when v can be called.
func callName(name string, v starlark.Value) string {
	if _, ok := v.(starlark.Callable); ok {
		return name + "("
	}
	return name
}

// withPrefix returns the sorted, distinct names that start with prefix.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
