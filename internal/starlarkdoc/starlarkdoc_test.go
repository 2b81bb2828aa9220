package starlarkdoc

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// TestGenerated: docs/starlark.md is what Generate makes now (every
// example runs and prints what the file shows).
func TestGenerated(t *testing.T) {
	want, err := Generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/starlark.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/starlark.md is stale: run go generate ./internal/starlarkdoc")
	}
}

// samples are expressions, in an example session, whose values are of
// each value type the reference documents; the type's attributes are
// read from the values themselves (AttrNames).
var samples = []string{
	`features("sse")`, `host`, `catalog`, `catalog.model("Haswell")`, `catalog.machine("q35")`,
	`catalog.resolve("Haswell")`, `config("Haswell")`, `ctx`, `verdict(config("qemu64"), [host])`,
	`verdict(config("qemu64"), [host]).hosts[0]`, `ctx.site`, `ctx.site.offers[0]`, `ctx.site.pools["intel"]`,
}

// siteGlobals and waiverGlobals are what LoadSiteFile and
// LoadWaiversFile add (they are not enumerable from outside: each
// example of theirs runs through those loaders, so an entry for a name
// they do not define fails TestGenerated).
var (
	siteGlobals   = []string{"offer", "pool"}
	waiverGlobals = []string{"waiver"}
)

// TestComplete: every name a script can use has an entry, and every
// entry names something a script can use.
func TestComplete(t *testing.T) {
	e, err := NewEnv("../..")
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{} // "kind name"
	addGlobal := func(name string, v starlark.Value) {
		switch v := v.(type) {
		case starlark.Callable:
			live["function "+name] = true
		case *starlarkstruct.Module:
			live["module "+name] = true
			for _, m := range v.AttrNames() {
				live["function "+name+"."+m] = true
			}
		default:
			live["value "+name] = true
		}
	}
	// Every script: the module's members.
	for name, v := range starlib.Module.Members {
		addGlobal(name, v)
	}
	// The REPL: its session's globals (dir()).
	var out strings.Builder
	s, err := e.Session(&out)
	if err != nil {
		t.Fatal(err)
	}
	repl := starlib.NewSession(e.cat, starlib.Options{Predeclared: starlark.StringDict{"host": e.hosts[exampleHost], "catalog": e.cat}})
	names, err := repl.Exec(t.Context(), parse(t, "dir()"))
	if err != nil {
		t.Fatal(err)
	}
	for v := range names.(*starlark.List).Elements() {
		name := string(v.(starlark.String))
		val, err := repl.Exec(t.Context(), parse(t, name))
		if err != nil {
			t.Fatal(err)
		}
		addGlobal(name, val)
	}
	// Test files.
	tg, err := starlib.TestGlobals(starlib.TestFixtures{Catalog: e.cat, Hosts: e.hosts}, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range tg {
		addGlobal(name, v)
	}
	for _, n := range siteGlobals {
		live["function "+n] = true
	}
	for _, n := range waiverGlobals {
		live["function "+n] = true
	}
	// Value types and attributes.
	for _, expr := range samples {
		v, err := s.Exec(t.Context(), parse(t, expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		typ := typeName(v)
		live["type "+typ] = true
		if ha, ok := v.(starlark.HasAttrs); ok {
			for _, a := range ha.AttrNames() {
				live["attribute "+typ+"."+a] = true
			}
		}
	}

	documented := map[string]bool{}
	for _, d := range starlib.Reference() {
		key := d.Kind + " " + d.Name
		if documented[key] {
			t.Errorf("%s: documented twice", key)
		}
		documented[key] = true
		if d.Text == "" || d.Example == "" {
			t.Errorf("%s: no text or no example", key)
		}
	}
	var missing, stale []string
	for k := range live {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !live[k] {
			stale = append(stale, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	if len(missing) > 0 {
		t.Errorf("no entry in starlib.Reference (starlib/reference.go) for:\n\t%s", strings.Join(missing, "\n\t"))
	}
	if len(stale) > 0 {
		t.Errorf("entries that name nothing a script can use:\n\t%s", strings.Join(stale, "\n\t"))
	}
}

// parse parses one expression statement for Session.Exec.
func parse(t *testing.T, src string) *syntax.File {
	t.Helper()
	f, err := starlib.FileOptions().Parse("sample", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// typeName is the name the reference gives v's type: a struct's
// constructor, else its Starlark type (as help does).
func typeName(v starlark.Value) string {
	if st, ok := v.(*starlarkstruct.Struct); ok {
		if c, ok := st.Constructor().(starlark.String); ok {
			return string(c)
		}
	}
	return v.Type()
}
