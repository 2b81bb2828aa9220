package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/internal/tty"
	"github.com/cpupolicy/cpupolicy/report"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// repeatFlag is a flag that may be given several times.
type repeatFlag []string

func (f *repeatFlag) String() string     { return strings.Join(*f, ",") }
func (f *repeatFlag) Set(s string) error { *f = append(*f, s); return nil }

// sandboxFlags are --max-steps, --timeout and --max-memory, shared by
// check, test and fleet.
type sandboxFlags struct {
	maxSteps  *uint64
	timeout   *time.Duration
	maxMemory *sizeFlag
}

// sizeFlag is a byte count flag ("256MiB"); 0 is allowed (none).
type sizeFlag uint64

func (f *sizeFlag) String() string { return strconv.FormatUint(uint64(*f), 10) }
func (f *sizeFlag) Set(s string) error {
	if s == "0" {
		*f = 0
		return nil
	}
	n, err := parseSize(s)
	*f = sizeFlag(n)
	return err
}

func addSandboxFlags(fs *flag.FlagSet) sandboxFlags {
	f := sandboxFlags{
		maxSteps:  fs.Uint64("max-steps", starlib.DefaultMaxSteps, "step budget of each policy run (0: none)"),
		timeout:   fs.Duration("timeout", starlib.DefaultTimeout, "wall-clock limit of each policy run (0: none)"),
		maxMemory: new(sizeFlag),
	}
	*f.maxMemory = starlib.DefaultMaxMemory
	fs.Var(f.maxMemory, "max-memory", "how much the heap may grow during each policy run, e.g. `256MiB` (0: no limit)")
	return f
}

// options returns the sandbox the flags ask for, over the command's
// registry and with its plugins' checks.
func (f sandboxFlags) options(e *env) starlib.Options {
	opts := e.starlibOptions()
	opts.MaxSteps, opts.Timeout, opts.MaxMemory = *f.maxSteps, *f.timeout, int64(*f.maxMemory)
	if opts.MaxMemory == 0 {
		opts.MaxMemory = -1
	}
	if opts.MaxSteps == 0 {
		opts.MaxSteps = math.MaxUint64
	}
	if opts.Timeout == 0 {
		opts.Timeout = -1
	}
	return opts
}

// checkFlags are the flags of check.
type checkFlags struct {
	format                   *formatFlag
	names, hostFiles, params repeatFlag
	siteFile, cpu            *string
	cpuf                     *cpuFlags
	machine, catName, accel  *string
	waiversFile              *string
	sandbox                  sandboxFlags
}

func newCheckFlags() (*flag.FlagSet, *checkFlags) {
	fs := newFlags("check")
	f := &checkFlags{format: addFormatFlag(fs, "text", "json", "sarif", "junit")}
	fs.Var(&f.names, "policy", "run the built-in policy `NAME` (repeatable; default: all, unless FILE.star are given)")
	f.siteFile = fs.String("site", "", "the site `FILE` (site.star) declaring offers and pools")
	fs.Var(&f.hostFiles, "host", "host snapshot `FILE` (repeatable): the pool of the --cpu offer; one is also ctx.host")
	f.cpuf = addCPUFlags(fs, "check", false)
	f.cpu = new(string)
	f.machine = fs.String("machine", "", "the --cpu offer's machine `type` (default: the catalog's newest pc-q35)")
	f.catName = catalogFlag(fs)
	f.accel = fs.String("accel", "", "accelerator of offers that name none: kvm or tcg (default: kvm)")
	f.waiversFile = fs.String("waivers", "", "accept the violations the waivers `FILE` (.json or .star) lists")
	fs.Var(&f.params, "param", "`KEY=VALUE` for ctx.params (repeatable)")
	f.sandbox = addSandboxFlags(fs)
	return fs, f
}

// checkWriters are check's writers, by --format.
var checkWriters = map[string]func(io.Writer, *report.Report) error{
	"json": report.WriteJSON, "sarif": report.WriteSARIF, "junit": report.WriteJUnit,
}

func runCheck(e *env, args []string) error {
	fs, f := newCheckFlags()
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	cfg, err := f.config(e, fs.Args())
	if err != nil {
		return err
	}
	rep := report.Run(context.Background(), cfg)
	for _, res := range rep.Results {
		if res.Err != nil {
			fmt.Fprintf(e.stderr, "cpupolicy check: %v\n", strings.TrimRight(res.Err.Error(), "\n"))
		}
	}
	var buf bytes.Buffer
	if w := checkWriters[f.format.Value]; w != nil {
		err = w(&buf, rep)
	} else {
		err = report.WriteText(&buf, rep, report.TextOptions{Color: tty.Color(e.stdout)})
	}
	if err != nil {
		return cmdError("check", fmt.Errorf("writing the report: %v", err))
	}
	if err := output(e, "check", "", buf.Bytes()); err != nil {
		return err
	}
	return [...]error{nil, errFailed, errIncomplete}[rep.ExitCode()]
}

// config turns the flags and the policy files into what report.Run
// checks.
func (f *checkFlags) config(e *env, files []string) (report.Config, error) {
	in, opts, err := f.input(e, files)
	if err != nil {
		return report.Config{}, err
	}
	ps, err := report.LoadPolicies(f.names, files, opts)
	var unknown *report.UnknownPolicyError
	var dup *report.DuplicatePolicyError
	switch {
	case errors.As(err, &unknown):
		return report.Config{}, usagef("check", "--policy: %v", err)
	case errors.As(err, &dup):
		return report.Config{}, usagef("check", "%v", err)
	case err != nil:
		return report.Config{}, scriptFailure("check", err)
	}
	sc := siteConfig{siteFile: *f.siteFile, hostFiles: f.hostFiles, cpu: *f.cpu, machine: *f.machine, accel: *f.accel}
	if in.Site, in.Host, err = sc.build(e, in.Catalog, opts); err != nil {
		return report.Config{}, err
	}
	var waivers []site.Waiver
	if *f.waiversFile != "" {
		if waivers, err = starlib.LoadWaiversFile(*f.waiversFile, opts); err != nil {
			return report.Config{}, scriptFailure("check", err)
		}
	}
	return report.Config{Policies: ps, Input: in, Waivers: waivers, SiteFile: *f.siteFile, WaiversFile: *f.waiversFile, Now: e.now}, nil
}

// input returns the policies' input without its site, and the sandbox
// they run in; it resolves *f.cpu and *f.accel.
func (f *checkFlags) input(e *env, files []string) (starlib.Input, starlib.Options, error) {
	in := starlib.Input{Params: map[string]string{}}
	t, err := f.cpuf.load(e)
	if err != nil {
		return in, starlib.Options{}, err
	}
	defaults(t, f.machine, f.accel)
	cat, err := e.loadCatalog(*f.catName)
	if err != nil {
		return in, starlib.Options{}, err
	}
	reg := cat.Registry()
	spec, forbid, err := f.cpuf.spec(e, t, cat, func() (*libvirt.Host, error) {
		// A host-dependent <cpu> is a different offer on each host:
		// judge it on one.
		if len(f.hostFiles) != 1 {
			return nil, usagef("check", "%s depends on the host: give exactly one --host, or run why --cpu-xml on each", *f.cpuf.xml)
		}
		j, err := loadJudge(e, "check", judgeFlags{catName: f.catName, machine: f.machine, accel: f.accel, hostFile: &f.hostFiles[0]})
		if err != nil {
			return nil, err
		}
		return f.cpuf.libvirtHost(j)
	})
	if err != nil {
		return in, starlib.Options{}, err
	}
	*f.cpu = spec
	if forbid != nil && !forbid.IsEmpty() {
		// Policies judge what the guest gets; "the host must not have
		// it" is a start-time check of libvirt's that `why --cpu-xml`
		// makes.
		fmt.Fprintf(e.stderr, "cpupolicy check: note: %s forbids %s; policies do not see forbid (run why --cpu-xml for it)\n",
			*f.cpuf.xml, strings.Join(reg.Names(*forbid), " "))
	}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return in, starlib.Options{}, usagef("check", "--param: got %q, want KEY=VALUE", p)
		}
		in.Params[k] = v
	}
	for _, file := range files {
		if !strings.HasSuffix(file, ".star") {
			return in, starlib.Options{}, usagef("check", "unexpected argument %q: policies are FILE.star", file)
		}
	}
	opts := f.sandbox.options(e)
	var printMu sync.Mutex
	opts.Print = func(msg string) {
		printMu.Lock()
		defer printMu.Unlock()
		fmt.Fprintln(e.stderr, msg)
	}
	in.Catalog = starlib.NewCatalog(cat)
	// kvm by default, as in every command: a policy gate must not pass
	// vacuously where /dev/kvm is missing.
	acc, err := check.Accelerator(cat, *f.accel)
	if err != nil {
		return in, opts, usagef("check", "%v", err)
	}
	*f.accel = string(acc)
	return in, opts, nil
}
