// Package starlarkdoc renders starlib.Reference as docs/starlark.md, the
// Starlark reference people read: every builtin, global, value type and
// attribute, each with an example that Generate runs (against the
// embedded qemu-7.2 catalog and the recorded hosts of testdata/hosts) so
// that the output shown is the output scripts get, and the sandbox's
// limits from starlib's constants. The test fails when a name scripts
// can use has no entry, an entry names nothing, or the file is stale:
//
//	go generate ./internal/starlarkdoc
package starlarkdoc

//go:generate go run ./gen -o ../../docs/starlark.md

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// Env is what examples run over.
type Env struct {
	root  string // the repository's root
	cat   *starlib.Catalog
	hosts map[string]*starlib.Host
	opts  starlib.Options
}

// exampleHost is the REPL's host in examples: a real Xeon Gold 6130.
const exampleHost = "xeon-gold-6130"

// NewEnv loads the catalog and hosts under root, the repository's root.
func NewEnv(root string) (*Env, error) {
	c, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		return nil, err
	}
	e := &Env{root: root, cat: starlib.NewCatalog(c)}
	if e.hosts, err = starlib.LoadTestHosts(filepath.Join(root, "testdata", "hosts"), true, e.opts); err != nil {
		return nil, err
	}
	if e.hosts[exampleHost] == nil {
		return nil, fmt.Errorf("no host %s in testdata/hosts", exampleHost)
	}
	return e, nil
}

// exampleSite is ctx.site in examples: one pool of two Intel hosts and
// one offer on it.
func (e *Env) exampleSite() *site.Site {
	pool := site.Pool{Name: "intel", Hosts: []*site.Host{e.hosts["xeon-gold-6130"].Site(), e.hosts["core-i7-8550u"].Site()}}
	return &site.Site{
		Pools:  []site.Pool{pool},
		Offers: []site.Offer{{Name: "web", CPU: "Skylake-Client-v4,-hle,-rtm", Machine: "pc-q35-7.2", Pool: "intel"}},
	}
}

// Session returns a REPL session over e whose globals are also a test
// file's and a policy's ctx: every name the examples use but those of
// site and waiver files. print() appends to out.
func (e *Env) Session(out *strings.Builder) (*starlib.Session, error) {
	opts := e.opts
	tg, err := starlib.TestGlobals(starlib.TestFixtures{Catalog: e.cat, Hosts: e.hosts}, opts)
	if err != nil {
		return nil, err
	}
	ctx, err := starlib.NewContext("example", starlib.Input{Catalog: e.cat, Site: e.exampleSite(), Params: map[string]string{}}, opts)
	if err != nil {
		return nil, err
	}
	opts.Predeclared = starlark.StringDict{"host": e.hosts[exampleHost], "ctx": ctx}
	for k, v := range tg {
		opts.Predeclared[k] = v
	}
	opts.Print = func(msg string) { out.WriteString(msg + "\n") }
	return starlib.NewSession(e.cat, opts), nil
}

// Run runs d's example and returns what it printed.
func (e *Env) Run(d starlib.Doc) (string, error) {
	// An entry of several kinds of file has the example of the first.
	where, _, _ := strings.Cut(d.Where, ",")
	switch where {
	case "site file", "waiver file":
		dir, err := os.MkdirTemp("", "starlarkdoc-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		for _, h := range []string{"xeon-gold-6130", "core-i7-8550u"} {
			data, err := os.ReadFile(filepath.Join(e.root, "testdata", "hosts", h+".json"))
			if err != nil {
				return "", err
			}
			if err := os.WriteFile(filepath.Join(dir, h+".json"), data, 0o644); err != nil {
				return "", err
			}
		}
		src := d.Example
		if d.Name == "offer" { // an offer names its pool
			src = `pool("intel", ["xeon-gold-6130.json"])` + "\n" + src
		}
		file := filepath.Join(dir, "example.star")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			return "", err
		}
		if where == "waiver file" {
			_, err = starlib.LoadWaiversFile(file, e.opts)
		} else {
			_, err = starlib.LoadSiteFile(file, e.cat, e.opts)
		}
		return "", err
	}
	var out strings.Builder
	s, err := e.Session(&out)
	if err != nil {
		return "", err
	}
	if err := s.ExecFile(context.Background(), d.Name, []byte(d.Example)); err != nil {
		if ee, ok := err.(*starlark.EvalError); ok {
			return "", fmt.Errorf("%s", ee.Backtrace())
		}
		return "", err
	}
	return out.String(), nil
}

// Generate returns docs/starlark.md.
func Generate(root string) ([]byte, error) {
	e, err := NewEnv(root)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("\nContents: [the sandbox](#the-sandbox), [builtins of every script](#builtins-of-every-script), [the REPL](#the-repl), [site files](#site-files), [waiver files](#waiver-files), [test files](#test-files), value types:")
	sep := " "
	for _, d := range starlib.Reference() {
		if d.Kind == "type" {
			fmt.Fprintf(&b, "%s[`%s`](#%s)", sep, d.Name, anchor(d))
			sep = ", "
		}
	}
	b.WriteString(".\n")
	fmt.Fprintf(&b, sandbox, starlib.DefaultMaxSteps, starlib.ErrMaxSteps, starlib.DefaultTimeout, starlib.ErrTimeout,
		starlib.DefaultMaxLen, starlib.ErrLimit, starlib.DefaultMaxMemory>>20, starlib.ErrMemory,
		starlib.DefaultMaxViolations, starlib.ErrLimit, starlib.LibraryPrefix)
	sections := []struct{ title, where, intro string }{
		{"Builtins of every script", "", "Policies, site files, waiver files, test files and the REPL all have these."},
		{"The REPL", "repl", "`cpupolicy repl` adds these (examples here run with the recorded host " + exampleHost + "; at a prompt `host` is this machine). Tab completes names, attributes, and models, machine types and features inside strings; Tab on an empty line lists every name."},
		{"Site files", "site file", "A site file (`--site site.star`) declares the offers and pools that `check`, `fleet` and `labels` judge."},
		{"Waiver files", "waiver file", "A waiver file (`--waivers waivers.star`) declares accepted violations."},
		{"Test files", "test file", "A `*_test.star` file (`cpupolicy test`) defines `test_*` functions and has these besides the builtins; `offer` and `pool` make values for `run_check` there, with host values in pools."},
	}
	for _, sec := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", sec.title, sec.intro)
		// Names this kind of file shares with one listed before.
		var also []string
		for _, d := range starlib.Reference() {
			if d.Kind != "type" && d.Kind != "attribute" && !hasWhere(d.Where, sec.where) && inWhere(d.Where, sec.where) {
				also = append(also, fmt.Sprintf("[`%s`](#%s)", d.Name, anchor(d)))
			}
		}
		if len(also) > 0 {
			fmt.Fprintf(&b, "\nAlso: %s, described above.\n", strings.Join(also, ", "))
		}
		for _, d := range starlib.Reference() {
			if d.Kind == "type" || d.Kind == "attribute" || !hasWhere(d.Where, sec.where) {
				continue
			}
			if err := e.entry(&b, d, "###"); err != nil {
				return nil, err
			}
		}
	}
	b.WriteString("\n## Value types\n\nEvery value is immutable. A struct's type (`type(v)`) is \"struct\"; the names below are those `help(v)` and this reference use.\n")
	for _, d := range starlib.Reference() {
		switch d.Kind {
		case "type":
			if err := e.entry(&b, d, "###"); err != nil {
				return nil, err
			}
		case "attribute":
			if err := e.entry(&b, d, "####"); err != nil {
				return nil, err
			}
		}
	}
	return b.Bytes(), nil
}

// hasWhere reports whether the entry of where belongs to section sec:
// the first kind of file it lists.
func hasWhere(where, sec string) bool {
	first, _, _ := strings.Cut(where, ",")
	return first == sec
}

// inWhere reports whether where lists the kind of file sec.
func inWhere(where, sec string) bool {
	for _, w := range strings.Split(where, ",") {
		if strings.TrimSpace(w) == sec {
			return true
		}
	}
	return false
}

// entry writes d's section.
func (e *Env) entry(b *bytes.Buffer, d starlib.Doc, level string) error {
	title := d.Name
	switch {
	case d.Sig != "":
		title = d.Sig
	case d.Kind == "type":
		title = "type " + d.Name
	}
	fmt.Fprintf(b, "\n%s <a id=%q></a>`%s`\n\n", level, anchor(d), title)
	if d.Where != "" && strings.Contains(d.Where, ",") {
		fmt.Fprintf(b, "*In: %s.*\n\n", d.Where)
	}
	b.WriteString(d.Text + "\n\n")
	out, err := e.Run(d)
	if err != nil {
		return fmt.Errorf("example of %s %s: %v", d.Kind, d.Name, err)
	}
	fmt.Fprintf(b, "```python\n%s\n```\n", d.Example)
	if out != "" {
		fmt.Fprintf(b, "\nprints\n\n```\n%s```\n", out)
	}
	return nil
}

// anchor is d's HTML id: kinds share names ("verdict" is a builtin and a
// type).
func anchor(d starlib.Doc) string {
	return d.Kind + "-" + strings.ReplaceAll(d.Name, ".", "-")
}

const header = `<!-- Generated by "go generate ./internal/starlarkdoc" from starlib.Reference (starlib/reference.go): edit that, not this file. -->

# The cpupolicy Starlark reference

cpupolicy's policies, site files, waiver files and policy tests are
[Starlark](https://github.com/bazelbuild/starlark/blob/master/spec.md), a
small dialect of Python. This page lists every name cpupolicy adds to it:
the builtins, the globals of each kind of file, and the value types with
their attributes. Each entry has an example, run when this page was
generated, followed by what it printed. The examples run with QEMU 7.2's
embedded catalog (` + "`catalog`" + `), the recorded hosts of ` + "`testdata/hosts`" + `
(` + "`hosts`" + `; ` + "`host`" + ` is the Xeon Gold 6130 among them, whose snapshot comes
from QEMU's host expansion and so has only a kvm layer), the globals of a
test file, and a policy's ` + "`ctx`" + ` over one pool of two hosts. In the REPL,
` + "`help(x)`" + ` shows the same entry.

A policy is a file with a docstring and a ` + "`check(ctx)`" + ` function:

` + "```python" + `
"""Every offered config runs on every host of its pool."""

def check(ctx):
    for offer in ctx.site.offers:
        if offer.pool == None:
            continue
        for h in ctx.site.pools[offer.pool].hosts:
            ok, missing = runnable(offer.config, h)
            if not ok:
                ctx.violation("%s does not run on %s" % (offer.name, h.name),
                              model = offer.config, features = missing, host = h)
` + "```" + `

Site policies to start from are in [examples/policies](../examples/policies).
`

const sandbox = `
## The sandbox

A script starts with nothing but these names and Starlark's own builtins,
none of which reads files, the network, the clock, the environment or a
random source: a policy is a pure function of its input. Further:

| limit | default | what happens |
| --- | --- | --- |
| steps (about one bytecode each) per run: a load, one call of ` + "`check`" + ` or of a test | %d | the run stops: "%v" (` + "`--max-steps`" + `) |
| wall-clock time per run, inside builtins too | %v | the run stops: "%v" (` + "`--timeout`" + `) |
| length of a string or list a builtin accepts or builds | %d | the builtin fails: "%v" |
| heap growth during a run | %d MiB | the run stops: "%v" (` + "`--max-memory`" + `) |
| violations per check | %d | the check fails: "%v" |

- ` + "`load()`" + ` reads only ` + "`.star`" + ` files of the policy's own directory tree (relative paths, no ` + "`..`" + ` out of it, no symbolic links out of it) and the built-in library under ` + "`%s`" + `.
- No ` + "`while`" + ` loops and no recursion (Starlark's defaults): every loop iterates a finite value.
- At the REPL's prompt there is no step budget and no deadline: Ctrl-C stops an evaluation. A script piped to ` + "`cpupolicy repl`" + ` runs under the defaults.
`
