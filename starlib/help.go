package starlib

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The REPL's help and dir, over Reference: the documentation a prompt
// shows is the reference's text, written once.

// helpBuiltin is help(x=None) of s: without x, the names of s's globals
// with their summaries; with x, x's entry (see Doc).
func (s *Session) helpBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x?", &x); err != nil {
		return nil, err
	}
	var text string
	if x == nil || x == starlark.None {
		text = s.helpIndex()
	} else {
		var err error
		if text, err = helpFor(x); err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
	}
	if thread.Print != nil {
		thread.Print(thread, strings.TrimRight(text, "\n"))
	}
	return starlark.None, nil
}

// dirBuiltin is dir(x=None): without x, the sorted names of s's globals;
// with x, Starlark's dir(x).
func (s *Session) dirBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 || len(kwargs) > 0 {
		return starlark.Call(thread, starlark.Universe["dir"], args, kwargs)
	}
	names := s.globals.Keys() // sorted
	out := make([]starlark.Value, len(names))
	for i, n := range names {
		out[i] = starlark.String(n)
	}
	return starlark.NewList(out), nil
}

// helpIndex lists the globals, those the reference documents with their
// summaries, then the value types.
func (s *Session) helpIndex() string {
	var b strings.Builder
	b.WriteString("Names (help(x) or help(\"name\") for one; dir() lists them):\n")
	names := s.globals.Keys()
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		summary := "(defined in this session)"
		if d, ok := globalDoc(n); ok {
			summary = d.Summary()
		}
		if len(summary) > 72-width {
			summary = wrap(summary, 72-width-2)[0] + " …"
		}
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, summary)
	}
	var types []string
	for _, d := range reference {
		if d.Kind == "type" {
			types = append(types, d.Name)
		}
	}
	fmt.Fprintf(&b, "Types: %s.\n", strings.Join(types, ", "))
	b.WriteString("Starlark's own builtins (len, sorted, dir, …) are described in its specification.\n")
	return b.String()
}

// globalDoc is the entry of a global named name.
func globalDoc(name string) (Doc, bool) {
	for _, k := range []string{"function", "module", "value"} {
		if d, ok := LookupDoc(k, name); ok {
			return d, true
		}
	}
	return Doc{}, false
}

// typeName is the name the reference gives v's type: a struct's
// constructor ("verdict"), else its Starlark type.
func typeName(v starlark.Value) string {
	if st, ok := v.(*starlarkstruct.Struct); ok {
		if c, ok := st.Constructor().(starlark.String); ok {
			return string(c)
		}
	}
	return v.Type()
}

// helpFor returns the help text of x: a name (string), a builtin or
// method, a module, or any other value (its type's entry).
func helpFor(x starlark.Value) (string, error) {
	switch x := x.(type) {
	case starlark.String:
		name := string(x)
		var found []Doc
		for _, d := range reference {
			if d.Name == name {
				found = append(found, d)
			}
		}
		if len(found) == 0 {
			return "", fmt.Errorf("no entry for %q", name)
		}
		var parts []string
		for _, d := range found {
			parts = append(parts, docText(d))
		}
		return strings.Join(parts, "\n"), nil
	case *starlark.Builtin:
		name := x.Name()
		if r := x.Receiver(); r != nil {
			name = typeName(r) + "." + name
		}
		if d, ok := LookupDoc("function", name); ok {
			return docText(d), nil
		}
		if d, ok := LookupDoc("attribute", name); ok {
			return docText(d), nil
		}
		if _, ok := starlark.Universe[name]; ok {
			return name + ": one of Starlark's own builtins; see the Starlark specification.\n", nil
		}
		return "", fmt.Errorf("no entry for builtin %s", name)
	case *starlark.Function:
		// A function of the session or of a loaded file: its own
		// signature and docstring.
		params := make([]string, x.NumParams())
		for i := range params {
			params[i], _ = x.Param(i)
		}
		text := x.Name() + "(" + strings.Join(params, ", ") + ")  (defined at " + x.Position().String() + ")\n"
		for _, l := range strings.Split(strings.TrimSpace(x.Doc()), "\n") {
			if l != "" {
				text += "    " + strings.TrimSpace(l) + "\n"
			}
		}
		return text, nil
	case *starlarkstruct.Module:
		if d, ok := LookupDoc("module", x.Name); ok {
			return docText(d), nil
		}
		return "", fmt.Errorf("no entry for module %s", x.Name)
	}
	if d, ok := LookupDoc("type", typeName(x)); ok {
		return docText(d), nil
	}
	return fmt.Sprintf("%s: a Starlark %s; see the Starlark specification.\n", x.Type(), x.Type()), nil
}

// docText is d as help prints it: signature or name, text, the
// attributes of a type, an example.
func docText(d Doc) string {
	var b strings.Builder
	head := d.Name
	switch {
	case d.Sig != "":
		head = d.Sig
	case d.Kind == "type":
		head = "type " + d.Name
	}
	if d.Where != "" {
		head += "  (" + d.Where + ")"
	}
	b.WriteString(head + "\n")
	for _, l := range wrap(d.Text, 72) {
		b.WriteString("    " + l + "\n")
	}
	if d.Kind == "type" {
		var attrs []Doc
		for _, a := range reference {
			if a.Kind == "attribute" && strings.HasPrefix(a.Name, d.Name+".") {
				attrs = append(attrs, a)
			}
		}
		if len(attrs) > 0 {
			b.WriteString("Attributes:\n")
			width := 0
			for _, a := range attrs {
				width = max(width, len(a.Name))
			}
			for _, a := range attrs {
				fmt.Fprintf(&b, "    %-*s  %s\n", width, a.Name, a.Summary())
			}
		}
	}
	if d.Example != "" {
		b.WriteString("Example:\n")
		for _, l := range strings.Split(d.Example, "\n") {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}

// wrap splits text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return slices.Clip(lines)
}
