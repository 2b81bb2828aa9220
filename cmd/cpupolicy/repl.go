package main

import (
	"errors"
	"fmt"
	"math"
	"os"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/tty"
	"github.com/cpupolicy/cpupolicy/starlib"
	"github.com/cpupolicy/cpupolicy/starlib/repl"
)

// runRepl is `cpupolicy repl` (doc.go, "# repl"): a prompt on a
// terminal, else standard input run as one script. The session is a
// starlib.Session; this file is its terminal.
func runRepl(e *env, args []string) error {
	fs := newFlags("repl")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` bound to catalog (default: the newest embedded)")
	hostFile := fs.String("host", "", "bind host to the recorded snapshot `FILE` instead of this host")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("repl", "unexpected argument %q (a script comes on standard input)", fs.Arg(0))
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return err
	}
	h, note, err := replHost(e, *hostFile, cat.Registry())
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(e.stderr, "cpupolicy repl: %s\n", note)
	}
	scat := starlib.NewCatalog(cat)
	opts := e.starlibOptions()
	opts.Predeclared = starlark.StringDict{"host": h, "catalog": scat}
	opts.Print = func(msg string) { fmt.Fprintln(e.stdout, msg) }
	// readline works on file descriptors 0 and 1, which e.stdin and
	// e.stdout are whenever they are terminals (main passes os.Stdin and
	// os.Stdout; tests pass buffers).
	if !tty.Is(e.stdin) || !tty.Is(e.stdout) {
		err := repl.Script(starlib.NewSession(scat, opts), e.stdin, e.stderr)
		if errors.Is(err, repl.ErrFailed) {
			return errFailed
		}
		if err != nil {
			return cmdError("repl", err)
		}
		return nil
	}
	// At a prompt an evaluation has no step budget and no deadline:
	// Ctrl-C stops it.
	opts.MaxSteps, opts.Timeout = math.MaxUint64, -1
	desc := "None"
	if h, ok := h.(*starlib.Host); ok {
		desc = replHostDesc(h.Name(), *hostFile)
	}
	banner := fmt.Sprintf("cpupolicy repl: catalog %s (%s, %d models), host %s.\nhelp() lists names, Tab completes, Ctrl-C interrupts, Ctrl-D exits.\n", cat.Name(), catalog.ReleaseText(cat.QEMUVersion()), cat.NumModels(), desc)
	if err := repl.Interactive(starlib.NewSession(scat, opts), banner, e.stdout, e.stderr, os.Getenv); err != nil {
		return cmdError("repl", err)
	}
	return nil
}

// replHostDesc describes the host of the banner: its name, and where it
// came from when the name does not say (this machine, or a snapshot that
// records a hostname of its own).
func replHostDesc(name, file string) string {
	switch {
	case file == "":
		return fmt.Sprintf("%q (this machine)", name)
	case name == host.Name(nil, file):
		return fmt.Sprintf("%q", name) // named by the file
	}
	return fmt.Sprintf("%q (%s)", name, file)
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
		h, err := starlib.NewHost(host.Name(s, file), s, reg)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %v", file, err)
		}
		return h, "", nil
	}
	s, err := e.probeLive()
	if err != nil {
		return starlark.None, fmt.Sprintf("cannot probe this host (%v); host is None", err), nil
	}
	h, err := starlib.NewHost(host.Name(s, ""), s, reg)
	if err != nil {
		return starlark.None, fmt.Sprintf("%v; host is None", err), nil
	}
	if s.KVM == nil {
		return h, fmt.Sprintf("this host has no KVM data (%s); host.kvm is empty", s.KVMError), nil
	}
	return h, "", nil
}
