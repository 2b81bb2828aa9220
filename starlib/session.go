package starlib

import (
	"context"
	"slices"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Session evaluates Starlark a statement at a time, as `cpupolicy repl`
// does: its globals persist from one statement to the next, an
// expression's value is kept in _ as in Python's REPL, and Complete
// completes names, attributes and the names of models, machine types and
// features. The terminal (reading lines, Ctrl-C) is the caller's.
type Session struct {
	cat     *Catalog
	opts    Options
	globals starlark.StringDict

	// busy is held while an evaluation runs, which may change globals.
	// Complete runs on another goroutine (a line editor's) and only
	// tries it: a Tab typed ahead during an evaluation completes nothing.
	busy sync.Mutex
}

// NewSession returns a session over cat whose statements see Module's
// builtins and opts.Predeclared, and run under opts' limits. print()
// writes its message to opts.Print as is: at a prompt, the file:line
// prefix of a policy's print would only be noise.
//
// The session adds help(x=None), which prints the entries of Reference,
// and dir(x=None), which without x lists the session's globals (Starlark's
// dir needs an argument).
func NewSession(cat *Catalog, opts Options) *Session {
	s := &Session{cat: cat, opts: opts, globals: Predeclared(opts)}
	s.globals["help"] = starlark.NewBuiltin("help", s.helpBuiltin)
	s.globals["dir"] = starlark.NewBuiltin("dir", s.dirBuiltin)
	return s
}

// thread returns a thread for one evaluation, ended by ctx.
func (s *Session) thread(ctx context.Context) (*starlark.Thread, context.CancelFunc) {
	thread, done := NewThread(ctx, "repl", s.cat, s.opts)
	thread.Print = func(_ *starlark.Thread, msg string) {
		if s.opts.Print != nil {
			s.opts.Print(msg)
		}
	}
	return thread, done
}

// ExecFile runs src as one Starlark file named name. Its errors are a
// *syntax.Error, a resolve.ErrorList (every undefined name…) or a
// *starlark.EvalError with its backtrace.
func (s *Session) ExecFile(ctx context.Context, name string, src []byte) error {
	f, err := FileOptions().Parse(name, src, 0)
	if err != nil {
		return placeSyntaxError(err, src)
	}
	prog, err := starlark.FileProgram(f, s.globals.Has)
	if err != nil {
		return err
	}
	thread, done := s.thread(ctx)
	defer done()
	_, err = prog.Init(thread, s.globals)
	return err
}

// Exec runs one compound statement (as syntax.ParseCompoundStmt reads
// it). For an expression, it returns the value unless it is None, and
// keeps it in _; otherwise the value is nil.
func (s *Session) Exec(ctx context.Context, f *syntax.File) (starlark.Value, error) {
	if len(f.Stmts) == 0 {
		return nil, nil
	}
	thread, done := s.thread(ctx)
	defer done()
	s.busy.Lock()
	defer s.busy.Unlock()
	if len(f.Stmts) == 1 {
		if stmt, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			v, err := starlark.EvalExprOptions(f.Options, thread, stmt.X, s.globals)
			if err != nil || v == starlark.None {
				return nil, err
			}
			s.globals["_"] = v
			return v, nil
		}
	}
	return nil, starlark.ExecREPLChunk(f, thread, s.globals)
}

// Complete returns the word before the end of text that Tab completes,
// and its completions (see complete). While a statement runs it
// completes nothing.
func (s *Session) Complete(text string) (word string, completions []string) {
	if !s.busy.TryLock() {
		return "", nil
	}
	defer s.busy.Unlock()
	return s.complete(text)
}

// starlarkKeywords complete like names.
var starlarkKeywords = []string{"and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "not", "or", "pass", "return"}

// complete returns the word before the end of text that Tab completes,
// and its completions (each starting with the word), sorted:
//
//   - on an empty line, every name (as for a name, below);
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
func (s *Session) complete(text string) (string, []string) {
	if text != "" && strings.TrimLeft(text, " \t") == "" {
		return "", []string{"    "}
	}
	st := scanLine(text)
	switch {
	case st.comment:
		return "", nil
	case st.inString:
		return s.completeString(text, st)
	}
	return s.completeName(text)
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
func (s *Session) completeString(text string, st lineState) (string, []string) {
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
	c := s.cat.Catalog()
	switch kind {
	case "features":
		for _, f := range c.Registry().Features() {
			names = append(names, f.Name)
		}
	case "model":
		for _, m := range c.Models() {
			names = append(names, m.Name)
		}
	case "machine":
		for _, m := range c.Machines() {
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
func (s *Session) completeName(text string) (string, []string) {
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
		for name, v := range s.globals {
			names = append(names, callName(name, v))
		}
		for name, v := range starlark.Universe {
			if _, ok := s.globals[name]; !ok {
				names = append(names, callName(name, v))
			}
		}
		names = append(names, starlarkKeywords...)
		return word, withPrefix(names, word)
	}
	v, ok := s.globals[parts[0]]
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
