package cliflag

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func newSet() (*flag.FlagSet, *string, *Format) {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := fs.String("o", "", "")
	return fs, o, NewFormat(fs, "text", "json", "html")
}

// TestParse: flags stand anywhere among the arguments; "--" ends them.
func TestParse(t *testing.T) {
	fs, o, f := newSet()
	if err := Parse(fs, []string{"a", "--format", "json", "b", "--", "-o", "c"}); err != nil {
		t.Fatal(err)
	}
	if f.Value != "json" || !f.Given || *o != "" || !slices.Equal(fs.Args(), []string{"a", "b", "-o", "c"}) {
		t.Errorf("format %q given %v, -o %q, args %q", f.Value, f.Given, *o, fs.Args())
	}
}

// TestDescribe: an unknown flag close to a known one (or to one of also)
// is suggested; a far one is not.
func TestDescribe(t *testing.T) {
	for _, c := range []struct{ arg, want string }{
		{"--frmat", "unknown flag --frmat (did you mean --format?)"},
		{"--plugn", "unknown flag --plugn (did you mean --plugin?)"},
		{"--zzzzzz", "unknown flag --zzzzzz"},
		{"--format=yaml", `invalid value "yaml" for flag -format: got "yaml", want text or json or html`},
	} {
		fs, _, _ := newSet()
		err := Parse(fs, []string{c.arg})
		if got := Describe(fs, err, "plugin"); got != c.want {
			t.Errorf("%s: %q, want %q", c.arg, got, c.want)
		}
	}
}

// TestFormatFromOutput: -o FILE.EXT picks EXT's format unless --format
// says otherwise or the command cannot write it.
func TestFormatFromOutput(t *testing.T) {
	for _, c := range []struct {
		args       []string
		want, fail string
	}{
		{[]string{"-o", "r.html"}, "html", ""},
		{[]string{"-o", "r.JSON"}, "json", ""},
		{[]string{"-o", "r.out"}, "text", ""},
		{[]string{"-o", "r.sarif"}, "", "-o r.sarif: fleet writes text, json or html, not sarif"},
		{[]string{"-o", "r.html", "--format", "json"}, "", "-o r.html names an HTML file, but --format is json"},
	} {
		fs, _, f := newSet()
		if err := Parse(fs, c.args); err != nil {
			t.Fatal(err)
		}
		err := FormatFromOutput(fs)
		switch {
		case c.fail != "" && (err == nil || err.Error() != c.fail):
			t.Errorf("%q: %v, want %q", c.args, err, c.fail)
		case c.fail == "" && (err != nil || f.Value != c.want):
			t.Errorf("%q: format %q, %v; want %q", c.args, f.Value, err, c.want)
		}
	}
}
