package starlib_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// testSession returns a session over the qemu-7.2 catalog and a recorded
// host.
func testSession(t *testing.T) *starlib.Session {
	t.Helper()
	loadFixtures(t)
	opts := starlib.Options{Predeclared: starlark.StringDict{"host": fixtures.hosts["this-machine"], "catalog": fixtures.cat72}}
	return starlib.NewSession(fixtures.cat72, opts)
}

// TestSessionExec: globals persist from one statement to the next, an
// expression's value is returned and kept in _, None is not, and an error
// is the Starlark error.
func TestSessionExec(t *testing.T) {
	var printed []string
	opts := starlib.Options{Print: func(msg string) { printed = append(printed, msg) }}
	loadFixtures(t)
	s := starlib.NewSession(fixtures.cat72, opts)
	exec := func(src string) (starlark.Value, error) {
		t.Helper()
		var stop error
		lines := strings.SplitAfter(src, "\n")
		f, err := starlib.FileOptions().ParseCompoundStmt("<stdin>", func() ([]byte, error) {
			if len(lines) == 0 {
				stop = context.Canceled
				return nil, stop
			}
			l := lines[0]
			lines = lines[1:]
			return []byte(l), nil
		})
		if err != nil || stop != nil {
			t.Fatalf("parse %q: %v %v", src, err, stop)
		}
		return s.Exec(context.Background(), f)
	}
	for _, c := range []struct {
		src, want, err string
	}{
		{"x = 20\n", "", ""},
		{"x + 1\n", "21", ""},
		{"_ * 2\n", "42", ""},
		{"print(x)\n", "", ""},
		{"None\n", "", ""},
		{"_\n", "42", ""},
		{"x.nope\n", "", "int has no .nope field or method"},
	} {
		v, err := exec(c.src)
		got := ""
		if v != nil {
			got = v.String()
		}
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("Exec(%q) = %s, %v; want %q, %q", c.src, got, err, c.want, c.err)
		}
	}
	if !slices.Equal(printed, []string{"20"}) {
		t.Errorf("print() wrote %q, want [\"20\"] (no file:line prefix)", printed)
	}
}

// TestSessionExecFile: a file runs in one go; an undefined name is
// reported before anything runs.
func TestSessionExecFile(t *testing.T) {
	var printed []string
	loadFixtures(t)
	opts := starlib.Options{Print: func(msg string) { printed = append(printed, msg) }, Predeclared: starlark.StringDict{"catalog": fixtures.cat72}}
	s := starlib.NewSession(fixtures.cat72, opts)
	if err := s.ExecFile(context.Background(), "<stdin>", []byte("print(catalog.name)\n")); err != nil {
		t.Fatal(err)
	}
	err := s.ExecFile(context.Background(), "<stdin>", []byte("print(1)\na + b\n"))
	if err == nil || !strings.Contains(err.Error(), "<stdin>:2:1: undefined: a") {
		t.Errorf("got %v, want undefined a at <stdin>:2:1", err)
	}
	if !slices.Equal(printed, []string{"qemu-7.2"}) {
		t.Errorf("printed %q", printed)
	}
}

func TestSessionComplete(t *testing.T) {
	s := testSession(t)
	hostAttrs := []string{"abi_level(", "available(", "brand", "family", "hw", "kernel", "kvm", "kvm_caps", "kvm_error", "model", "name", "os", "source", "stepping", "vendor"}
	skylakeClient := []string{"Skylake-Client", "Skylake-Client-IBRS", "Skylake-Client-noTSX-IBRS", "Skylake-Client-v1", "Skylake-Client-v2", "Skylake-Client-v3", "Skylake-Client-v4"}
	for _, c := range []struct {
		name, text, word string
		want             []string
	}{
		{"indent", "    ", "", []string{"    "}},
		{"global", "cata", "cata", []string{"catalog"}},
		{"builtin", "le", "le", []string{"len("}},
		{"library", "featu", "featu", []string{"features("}},
		{"keyword", "retu", "retu", []string{"return"}},
		{"attributes", "host.", "", hostAttrs},
		{"attribute", "x = len(host.k", "k", []string{"kernel", "kvm", "kvm_caps", "kvm_error"}},
		{"method", "catalog.mo", "mo", []string{"model(", "models("}},
		{"no attributes", "host.hw.", "", nil},
		{"unknown name", "nope.x", "", nil},
		{"call result not evaluated", "catalog.models().", "", nil},
		{"string method not listed", `"abc".`, "", nil},
		{"number", "1.", "", nil},
		{"comment", "x = 1  # host.", "", nil},
		{"feature", `features("avx512bita`, "avx512bita", []string{"avx512bitalg"}},
		{"feature prefix", `features("sse4`, "sse4", []string{"sse4.1", "sse4.2", "sse4a"}},
		{"second feature", `features("sse2", 'avx512bita`, "avx512bita", []string{"avx512bitalg"}},
		{"escaped quote", `print("a\"(", features("avx512bita`, "avx512bita", []string{"avx512bitalg"}},
		{"feature in any string", `"avx512bita`, "avx512bita", []string{"avx512bitalg"}},
		{"model", `catalog.model("Skylake-Cl`, "Skylake-Cl", skylakeClient},
		{"spec model", `config("Skylake-Cl`, "Skylake-Cl", skylakeClient},
		{"spec feature", `config("Haswell-v4,+avx512bita`, "avx512bita", []string{"avx512bitalg"}},
		{"spec property", `config("Haswell-v4,pcid=o`, "", nil},
		{"cpu keyword", `config(cpu = "Skylake-Client-v`, "Skylake-Client-v", skylakeClient[3:]},
		{"machine argument", `config("Haswell-v4", "pc-q35-7.`, "pc-q35-7.", []string{"pc-q35-7.0", "pc-q35-7.1", "pc-q35-7.2"}},
		{"machine keyword", `runnable("Haswell-v4", host, machine="pc-i440fx-7.`, "pc-i440fx-7.", []string{"pc-i440fx-7.0", "pc-i440fx-7.1", "pc-i440fx-7.2"}},
		{"machine alias", `catalog.machine("q3`, "q3", []string{"q35"}},
		{"other keyword", `config("Haswell-v4", accel="k`, "", nil},
		{"after a closed string", `features("avx2") == fea`, "fea", []string{"features("}},
	} {
		t.Run(c.name, func(t *testing.T) {
			word, got := s.Complete(c.text)
			if c.want == nil && len(got) == 0 {
				return
			}
			if word != c.word || !slices.Equal(got, c.want) {
				t.Errorf("Complete(%q) = %q, %q; want %q, %q", c.text, word, got, c.word, c.want)
			}
		})
	}
}

// TestSessionHelp: help() indexes the globals, help(x) finds x's entry
// of the reference by value, method, module, struct type or name; dir()
// lists the globals; an unknown name is an error.
func TestSessionHelp(t *testing.T) {
	var printed strings.Builder
	loadFixtures(t)
	opts := starlib.Options{Print: func(msg string) { printed.WriteString(msg + "\n") },
		Predeclared: starlark.StringDict{"host": fixtures.hosts["this-machine"], "catalog": fixtures.cat72}}
	s := starlib.NewSession(fixtures.cat72, opts)
	for _, c := range []struct {
		name, src, want string // want: the first line printed
	}{
		{"index", "help()", "Names (help(x) or help(\"name\") for one; dir() lists them):"},
		{"builtin", "help(features)", "features(*names)"},
		{"module function", "help(plugins.call)", "plugins.call(name, input)"},
		{"module", "help(plugins)", "plugins"},
		{"method", "help(catalog.resolve)", `catalog.resolve(cpu, machine=None, accel="kvm", host=None)`},
		{"value", "help(host)", "type host"},
		{"feature set", "help(host.kvm)", "type feature_set"},
		{"struct type", `help(verdict(config("qemu64"), [host]))`, "type verdict"},
		{"name", `help("host.kvm")`, "host.kvm"},
		{"file-specific name", `help("waiver")`, "waiver(policy, model, machine, features, reason, expires=None)  (waiver file)"},
		{"starlark builtin", "help(len)", "len: one of Starlark's own builtins; see the Starlark specification."},
		{"starlark value", "help(1)", "int: a Starlark int; see the Starlark specification."},
		{"script function", "def sq(x, n=2):\n    \"\"\"Squares x.\"\"\"\n    return x * x\nhelp(sq)", "sq(x, n)  (defined at help:1:1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			printed.Reset()
			if err := s.ExecFile(context.Background(), "help", []byte(c.src)); err != nil {
				t.Fatal(err)
			}
			if first, _, _ := strings.Cut(printed.String(), "\n"); first != c.want {
				t.Errorf("%s printed first %q, want %q\n%s", c.src, first, c.want, printed.String())
			}
		})
	}
	err := s.ExecFile(context.Background(), "help", []byte(`help("nope")`))
	if err == nil || !strings.Contains(err.Error(), `help: no entry for "nope"`) {
		t.Errorf(`help("nope"): %v`, err)
	}

	v, err := s.Exec(context.Background(), parseStmt(t, "dir()"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), `["abi_level", "abi_level_features", "catalog", "config", "dir", "export", "features", "help", "host", "plugins", "runnable", "struct", "verdict", "why"]`; got != want {
		t.Errorf("dir() = %s, want %s", got, want)
	}
	if v, err = s.Exec(context.Background(), parseStmt(t, "dir(catalog)")); err != nil || !strings.Contains(v.String(), `"resolve"`) {
		t.Errorf("dir(catalog) = %v, %v", v, err)
	}
}

// TestSessionCompleteEmpty: Tab on an empty line lists every name: the
// globals, Starlark's builtins and keywords.
func TestSessionCompleteEmpty(t *testing.T) {
	s := testSession(t)
	word, got := s.Complete("")
	for _, want := range []string{"catalog", "features(", "help(", "dir(", "len(", "return", "host"} {
		if !slices.Contains(got, want) {
			t.Errorf("Complete(\"\") lacks %q: %q", want, got)
		}
	}
	if word != "" || !slices.IsSorted(got) {
		t.Errorf("Complete(\"\") = %q, %q: want the empty word and sorted names", word, got)
	}
}

func parseStmt(t *testing.T, src string) *syntax.File {
	t.Helper()
	f, err := starlib.FileOptions().Parse("stmt", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
