// Package cliflag holds the command-line conventions every cpupolicy
// command shares, on top of the standard flag package: flags anywhere
// among the arguments, unknown flags with a close suggestion, and
// --format with -o FILE.EXT choosing the format the extension names.
// The CLI wires them; they hold no domain logic.
package cliflag

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// Parse parses flags wherever they stand among the positional arguments
// ("why EPYC --accel tcg"), as users of QEMU and libvirt tools expect;
// "--" ends the flags.
func Parse(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// Describe words a flag package error; an unknown flag close to one of
// fs's or of also (suggest's rule) gets a suggestion: "unknown flag
// --frmat (did you mean --format?)".
func Describe(fs *flag.FlagSet, err error, also ...string) string {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return err.Error()
	}
	name = strings.TrimLeft(name, "-")
	names := slices.Clone(also)
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	msg := "unknown flag --" + name
	if best := suggest.Nearest(name, names); best != "" {
		msg += fmt.Sprintf(" (did you mean --%s?)", best)
	}
	return msg
}

// Format is --format with the given allowed values.
type Format struct {
	Value   string
	Allowed []string
	Given   bool // given on the command line
	// TextIsFile: the text format is a file of the platform's own
	// (export's nova.conf, cpu-models.conf, <cpu> XML, YAML), so only
	// .json among -o's extensions names a format.
	TextIsFile bool
}

// NewFormat registers --format on fs taking allowed, the first the
// default.
func NewFormat(fs *flag.FlagSet, allowed ...string) *Format {
	f := &Format{Value: allowed[0], Allowed: allowed}
	last := len(allowed) - 1
	fs.Var(f, "format", "output `format`: "+strings.Join(allowed[:last], ", ")+" or "+allowed[last])
	return f
}

func (f *Format) String() string { return f.Value }

func (f *Format) Set(s string) error {
	if slices.Contains(f.Allowed, s) {
		f.Value, f.Given = s, true
		return nil
	}
	return fmt.Errorf("got %q, want %s", s, strings.Join(f.Allowed, " or "))
}

// outputFormats are the formats a -o file name's extension stands for.
var outputFormats = map[string]string{
	".txt": "text", ".json": "json", ".html": "html", ".htm": "html", ".sarif": "sarif", ".xml": "junit",
}

// formatNoun names a file of each format, with its article.
var formatNoun = map[string]string{
	"text": "a text", "json": "a JSON", "html": "an HTML", "sarif": "a SARIF", "junit": "a JUnit XML",
}

// FormatFromOutput makes -o FILE.EXT pick the format EXT stands for
// (outputFormats) in a command that has --format: `fleet -o report.html`
// writes HTML. A --format that says otherwise, or an extension of a
// format the command cannot write, is an error rather than writing, say,
// text into report.html; another extension (or none) leaves the format
// as --format or the default has it.
func FormatFromOutput(fs *flag.FlagSet) error {
	o, f := fs.Lookup("o"), fs.Lookup("format")
	if o == nil || f == nil {
		return nil
	}
	ff, ok := f.Value.(*Format)
	path := o.Value.String()
	want, known := outputFormats[strings.ToLower(filepath.Ext(path))]
	if !ok || path == "" || path == "-" || !known || ff.TextIsFile && want != "json" {
		return nil
	}
	switch {
	case !slices.Contains(ff.Allowed, want):
		return fmt.Errorf("-o %s: %s writes %s, not %s", path, fs.Name(), orList(ff.Allowed), want)
	case ff.Given && ff.Value != want:
		return fmt.Errorf("-o %s names %s file, but --format is %s", path, formatNoun[want], ff.Value)
	}
	ff.Value = want
	return nil
}

// orList is "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
