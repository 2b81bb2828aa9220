package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/internal/atomicfile"
	"github.com/cpupolicy/cpupolicy/internal/cliflag"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// doc is this package's documentation, which is also the help text.
//
//go:embed doc.go
var doc string

// env is what a command runs with: the standard streams and the clock.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	// plugins are the vendor plugins of the global flags and
	// CPUPOLICY_PLUGINS, loaded on first use.
	plugins *pluginState
}

// command is one subcommand. Its help is the section of doc.go headed by
// its name.
type command struct {
	name string
	run  func(e *env, args []string) error
}

var commands = []command{
	{"probe", runProbe},
	{"models", runModels},
	{"why", runWhy},
	{"diff", runDiff},
	{"baseline", runBaseline},
	{"fleet", runFleet},
	{"labels", runLabels},
	{"export", runExport},
	{"resolve", runResolve},
	{"catalog", runCatalog},
	{"check", runCheck},
	{"test", runTest},
	{"repl", runRepl},
	{"plugin", runPlugin},
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	if len(args) == 0 {
		fmt.Fprint(stderr, helpText(""))
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if s := helpText(args[1]); s != "" {
				fmt.Fprint(stdout, s)
				return exitOK
			}
		}
		fmt.Fprint(stdout, helpText(""))
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			rest, st, err := takePluginFlags(args[1:], os.Getenv)
			if err != nil {
				return exitCode(e, usagef(name, "%v", err))
			}
			e.plugins = st
			defer st.Close(context.Background())
			return exitCode(e, c.run(e, rest))
		}
	}
	fmt.Fprintf(stderr, "cpupolicy: unknown command %q%s; run 'cpupolicy -h' for usage\n", name, suggestCommand(name))
	return exitUsage
}

// suggestCommand returns ` (did you mean "fleet"?)` for a command name
// close to one (suggest's rule) or that one starts ("models-all"), else "".
func suggestCommand(name string) string {
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	best := suggest.Nearest(name, names)
	for _, n := range names {
		if best == "" && strings.HasPrefix(name, n) {
			best = n
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// helpText returns the overview (cmd == "") or one command's section of
// doc.go, with the comment markers and Go-doc indentation removed.
func helpText(cmd string) string {
	body := doc[strings.Index(doc, "/*")+2 : strings.LastIndex(doc, "*/")]
	sections := strings.Split(body, "\n# ")
	text := sections[0]
	if cmd != "" {
		text = ""
		for _, s := range sections[1:] {
			if head, rest, _ := strings.Cut(s, "\n"); head == cmd {
				text = rest
			}
		}
		if text == "" {
			// "catalog lock" is documented in the catalog section.
			if parent, _, ok := strings.Cut(cmd, " "); ok {
				return helpText(parent)
			}
			return ""
		}
	}
	lines := strings.Split(strings.Trim(text, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "\t") {
			lines[i] = "  " + l[1:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// newFlags returns a flag set for cmd whose -h prints cmd's help.
func newFlags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses args: errHelp after printing help on -h, a usage
// error for a bad flag.
func parseArgs(e *env, fs *flag.FlagSet, args []string) error {
	err := cliflag.Parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, helpText(fs.Name()))
		fmt.Fprintln(e.stdout, "\nFlags:")
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		// The vendor plugin flags every command takes are parsed before
		// fs (takePluginFlags): a typo of one is close to them too.
		return usagef(fs.Name(), "%s", cliflag.Describe(fs, err, "plugin", "plugin-memory", "plugin-timeout"))
	}
	if err := cliflag.FormatFromOutput(fs); err != nil {
		return usagef(fs.Name(), "%v", err)
	}
	return nil
}

// parseNoArgs is parseArgs for a command that takes flags only: a
// positional argument is a usage error.
func parseNoArgs(e *env, fs *flag.FlagSet, args []string) error {
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef(fs.Name(), "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// oneLine is err's message on one line, as errors.Join lists are not.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// formatFlag is --format (cliflag.Format).
type formatFlag = cliflag.Format

// addFormatFlag registers --format taking allowed, the first the default.
func addFormatFlag(fs *flag.FlagSet, allowed ...string) *formatFlag {
	return cliflag.NewFormat(fs, allowed...)
}

// The flags that several commands take, each worded once.
func catalogFlag(fs *flag.FlagSet) *string {
	return fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
}

func machineFlag(fs *flag.FlagSet) *string {
	return fs.String("machine", "", "machine `type` (default: the catalog's newest pc-q35)")
}

func accelFlag(fs *flag.FlagSet) *string {
	return fs.String("accel", "", "accelerator: kvm or tcg (default: kvm)")
}

// writeJSON appends v as every --format json writes it: indented by two
// spaces, with a final newline. The values are the commands' own structs
// of strings, numbers, slices and maps, which always encode.
func writeJSON(b *bytes.Buffer, v any) {
	// A value that writes these bytes faster itself (a test holds them
	// equal to encoding/json's) does: check.ModelVerdicts.
	if w, ok := v.(interface{ WriteJSON(*bytes.Buffer) }); ok {
		w.WriteJSON(b)
		return
	}
	enc := json.NewEncoder(b)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeFormat writes v as JSON when format is json, else what text
// writes, to standard output or path as output does.
func writeFormat(e *env, cmd, path, format string, v any, text func(*bytes.Buffer)) error {
	var buf bytes.Buffer
	if format == "json" {
		writeJSON(&buf, v)
	} else {
		text(&buf)
	}
	return output(e, cmd, path, buf.Bytes())
}

// output writes a command's output to standard output (path "") or
// atomically to path; a failure names path.
func output(e *env, cmd, path string, data []byte) error {
	if path == "" {
		_, err := e.stdout.Write(data)
		return err
	}
	if err := atomicfile.Write(path, data); err != nil {
		return cmdError(cmd, fmt.Errorf("writing %s: %v", path, err))
	}
	return nil
}
