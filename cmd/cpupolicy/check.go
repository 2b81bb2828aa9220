package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
	"github.com/cpupolicy/cpupolicy/policies"
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

// checkPolicy is one policy a check runs.
type checkPolicy struct {
	name    string
	file    string // as messages name it; built-ins are policies/NAME.star
	builtin bool
	doc     string
	p       *starlib.Policy
}

// checkResult is what one policy found.
type checkResult struct {
	policy     *checkPolicy
	violations []starlib.Violation // not waived
	waived     []starlib.Waived
	err        error // the run failed: exit 2
	elapsed    time.Duration
}

// checkReport is the outcome of a check, for every output format.
type checkReport struct {
	results     []*checkResult
	expired     []*starlib.Waiver
	unused      []*starlib.Waiver
	catalog     string
	siteFile    string
	waiversFile string
	start, end  time.Time
}

func (r *checkReport) counts() (violations, waived, errs int) {
	for _, res := range r.results {
		violations += len(res.violations)
		waived += len(res.waived)
		if res.err != nil {
			errs++
		}
	}
	return violations, waived, errs
}

// exitCode is 2 when a policy failed to run, else 1 for violations or
// expired waivers, else 0.
func (r *checkReport) exitCode() int {
	violations, _, errs := r.counts()
	switch {
	case errs > 0:
		return exitUsage
	case violations > 0 || len(r.expired) > 0:
		return exitViolation
	}
	return exitOK
}

func runCheck(e *env, args []string) int {
	fs := newFlags("check")
	format := &formatFlag{value: "text", allowed: []string{"text", "json", "sarif", "junit"}}
	fs.Var(format, "format", "output `format`: text, json, sarif or junit")
	var names, hostFiles, params repeatFlag
	fs.Var(&names, "policy", "run the built-in policy `NAME` (repeatable; default: all, unless FILE.star are given)")
	siteFile := fs.String("site", "", "the site `FILE` (site.star) declaring offers and pools")
	fs.Var(&hostFiles, "host", "host snapshot `FILE` (repeatable): the pool of the --cpu offer; one is also ctx.host")
	cpu := fs.String("cpu", "", "check the offer of the -cpu `SPEC` (without --site)")
	xmlFile := cpuXMLFlag(fs)
	machine := fs.String("machine", "", "the --cpu offer's machine `type` (default: the catalog's newest pc-q35)")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
	accel := fs.String("accel", "", "accelerator of offers that name none: kvm or tcg (default: kvm)")
	waiversFile := fs.String("waivers", "", "accept the violations the waivers `FILE` (.json or .star) lists")
	fs.Var(&params, "param", "`KEY=VALUE` for ctx.params (repeatable)")
	sf := addSandboxFlags(fs)
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	spec, forbid, rc := specFlags(e, "check", *cpu, *xmlFile)
	if rc >= 0 {
		return rc
	}
	*cpu = spec
	if !forbid.IsEmpty() {
		reg, _ := e.registry() // loaded by specFlags
		// Policies judge what the guest gets; "the host must not have
		// it" is a start-time check of libvirt's that `why --cpu-xml`
		// makes.
		fmt.Fprintf(e.stderr, "cpupolicy check: note: %s forbids %s; policies do not see forbid (run why --cpu-xml for it)\n",
			*xmlFile, strings.Join(reg.Names(forbid), " "))
	}
	in := starlib.Input{Params: map[string]string{}}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageError(e, "check", "--param: got %q, want KEY=VALUE", p)
		}
		in.Params[k] = v
	}
	files := fs.Args()
	for _, f := range files {
		if !strings.HasSuffix(f, ".star") {
			return usageError(e, "check", "unexpected argument %q: policies are FILE.star", f)
		}
	}
	opts := sf.options(e)
	var printMu sync.Mutex
	opts.Print = func(msg string) {
		printMu.Lock()
		defer printMu.Unlock()
		fmt.Fprintln(e.stderr, msg)
	}

	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return inputError(e, err)
	}
	in.Catalog = starlib.NewCatalog(cat)
	if *accel == "" {
		*accel = catalog.KVM // a policy gate must not pass vacuously where /dev/kvm is missing
		if !cat.HasAccel(catalog.KVM) {
			*accel = catalog.TCG
		}
	}
	if *accel, err = pickAccel(cat, *accel); err != nil {
		return usageError(e, "check", "%v", err)
	}

	ps, rc := loadCheckPolicies(e, names, files, opts)
	if rc >= 0 {
		return rc
	}
	sc := siteConfig{siteFile: *siteFile, hostFiles: hostFiles, cpu: *cpu, machine: *machine, accel: *accel}
	if in.Site, in.Host, rc = sc.build(e, in.Catalog, opts); rc >= 0 {
		return rc
	}
	var waivers []starlib.Waiver
	if *waiversFile != "" {
		if waivers, err = starlib.LoadWaiversFile(*waiversFile, opts); err != nil {
			return scriptError(e, "check", err)
		}
	}

	rep := &checkReport{catalog: cat.Name, siteFile: *siteFile, waiversFile: *waiversFile, start: e.now()}
	rep.results = runPolicies(ps, in)
	rep.applyWaivers(waivers)
	rep.end = e.now()

	for _, res := range rep.results {
		if res.err != nil {
			fmt.Fprintf(e.stderr, "cpupolicy check: %v\n", strings.TrimRight(res.err.Error(), "\n"))
		}
	}
	var buf bytes.Buffer
	switch format.value {
	case "json":
		err = writeCheckJSON(&buf, rep)
	case "sarif":
		err = writeSARIF(&buf, rep)
	case "junit":
		err = writeJUnit(&buf, rep)
	default:
		writeCheckText(&buf, rep, colorOK(e.stdout))
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "cpupolicy check: writing the report: %v\n", err)
		return exitUsage
	}
	e.stdout.Write(buf.Bytes())
	return rep.exitCode()
}

// loadCheckPolicies loads the built-ins named (all when neither names
// nor files are given) and the policy files.
func loadCheckPolicies(e *env, names, files []string, opts starlib.Options) ([]*checkPolicy, int) {
	builtin := policies.Names()
	if len(names) == 0 && len(files) == 0 {
		names = builtin
	}
	var ps []*checkPolicy
	seen := map[string]string{}
	add := func(p *checkPolicy) int {
		if other, ok := seen[p.name]; ok {
			return usageError(e, "check", "two policies named %s: %s and %s", p.name, other, p.file)
		}
		seen[p.name] = p.file
		ps = append(ps, p)
		return -1
	}
	for _, n := range names {
		if !slices.Contains(builtin, n) {
			return nil, usageError(e, "check", "--policy: no built-in policy %q%s (have %s)", n, nearestOf(n, builtin), strings.Join(builtin, ", "))
		}
		p, err := starlib.LoadPolicy(policies.FS, n+".star", opts)
		if err != nil {
			return nil, scriptError(e, "check", err)
		}
		if rc := add(&checkPolicy{name: p.Name, file: "policies/" + n + ".star", builtin: true, doc: p.Doc, p: p}); rc >= 0 {
			return nil, rc
		}
	}
	for _, f := range files {
		p, err := starlib.LoadPolicyFile(f, opts)
		if err != nil {
			return nil, scriptError(e, "check", err)
		}
		if rc := add(&checkPolicy{name: p.Name, file: f, doc: p.Doc, p: p}); rc >= 0 {
			return nil, rc
		}
	}
	return ps, -1
}

// runPolicies checks every policy over in, at once; results are in the
// order of ps.
func runPolicies(ps []*checkPolicy, in starlib.Input) []*checkResult {
	out := make([]*checkResult, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			vs, err := p.p.Check(context.Background(), in)
			out[i] = &checkResult{policy: p, violations: vs, err: err, elapsed: time.Since(start)}
		}()
	}
	wg.Wait()
	return out
}

// applyWaivers sorts the violations of r's results into violations and
// waived ones, and records the expired and unused waivers.
func (r *checkReport) applyWaivers(ws []starlib.Waiver) {
	var all []starlib.Violation
	byPolicy := map[string]*checkResult{}
	for _, res := range r.results {
		all = append(all, res.violations...)
		res.violations = nil
		byPolicy[res.policy.name] = res
	}
	w := starlib.ApplyWaivers(all, ws, r.start)
	r.expired, r.unused = w.Expired, w.Unused
	for _, v := range w.Violations {
		res := byPolicy[v.Policy]
		res.violations = append(res.violations, v)
	}
	for _, wv := range w.Waived {
		res := byPolicy[wv.Violation.Policy]
		res.waived = append(res.waived, wv)
	}
}

// scriptError prints an error of a script (a Starlark backtrace spans
// several lines) and returns exitUsage.
func scriptError(e *env, cmd string, err error) int {
	fmt.Fprintf(e.stderr, "cpupolicy %s: %s\n", cmd, strings.TrimRight(err.Error(), "\n"))
	return exitUsage
}

// nearestOf returns ` (did you mean "x"?)` for the name of list nearest
// to s, or "".
func nearestOf(s string, list []string) string {
	if best := suggest.Nearest(s, list); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// stopOf names why a failed run was stopped: "time limit", "step
// budget", or "" for an ordinary failure.
func stopOf(err error) string {
	switch {
	case errors.Is(err, starlib.ErrTimeout):
		return "time limit"
	case errors.Is(err, starlib.ErrMaxSteps):
		return "step budget"
	case errors.Is(err, starlib.ErrLimit):
		return "size limit"
	case errors.Is(err, starlib.ErrMemory):
		return "memory limit"
	}
	return ""
}

// The JSON report. Its keys are a contract.
type checkJSON struct {
	Violations     []starlib.Violation `json:"violations"`
	Waived         []waivedJSON        `json:"waived"`
	ExpiredWaivers []waiverJSON        `json:"expired_waivers"`
	Errors         []errorJSON         `json:"errors"`
	Summary        summaryJSON         `json:"summary"`
}

type waivedJSON struct {
	Violation starlib.Violation `json:"violation"`
	Waiver    waiverJSON        `json:"waiver"`
}

type waiverJSON struct {
	Policy   string   `json:"policy"`
	Model    string   `json:"model"`
	Machine  string   `json:"machine"`
	Features []string `json:"features"`
	Reason   string   `json:"reason"`
	Expires  string   `json:"expires,omitempty"`
	Source   string   `json:"source"`
}

type errorJSON struct {
	Policy  string `json:"policy"`
	File    string `json:"file"`
	Message string `json:"message"`
	// Stop is "time limit", "step budget" or "size limit" for a run
	// that was stopped.
	Stop string `json:"stop,omitempty"`
}

type summaryJSON struct {
	Policies       []policyJSON `json:"policies"`
	Violations     int          `json:"violations"`
	Waived         int          `json:"waived"`
	ExpiredWaivers int          `json:"expired_waivers"`
	UnusedWaivers  int          `json:"unused_waivers"`
	Errors         int          `json:"errors"`
	Catalog        string       `json:"catalog"`
	// Status is "pass", "fail" or "error", as the exit status 0, 1, 2.
	Status string `json:"status"`
}

type policyJSON struct {
	Name       string `json:"name"`
	File       string `json:"file"`
	Builtin    bool   `json:"builtin"`
	Status     string `json:"status"`
	Violations int    `json:"violations"`
	Waived     int    `json:"waived"`
}

func toWaiverJSON(w *starlib.Waiver) waiverJSON {
	f := w.Features
	if f == nil {
		f = []string{}
	}
	return waiverJSON{Policy: w.Policy, Model: w.Model, Machine: w.Machine, Features: f, Reason: w.Reason, Expires: w.Expires, Source: w.Source}
}

func (res *checkResult) status() string {
	switch {
	case res.err != nil:
		return "error"
	case len(res.violations) > 0:
		return "fail"
	}
	return "pass"
}

func (r *checkReport) status() string {
	return [...]string{exitOK: "pass", exitViolation: "fail", exitUsage: "error"}[r.exitCode()]
}

func writeCheckJSON(w io.Writer, r *checkReport) error {
	out := checkJSON{Violations: []starlib.Violation{}, Waived: []waivedJSON{}, ExpiredWaivers: []waiverJSON{}, Errors: []errorJSON{}}
	for _, res := range r.results {
		out.Violations = append(out.Violations, res.violations...)
		for _, wv := range res.waived {
			out.Waived = append(out.Waived, waivedJSON{Violation: wv.Violation, Waiver: toWaiverJSON(wv.Waiver)})
		}
		if res.err != nil {
			out.Errors = append(out.Errors, errorJSON{Policy: res.policy.name, File: res.policy.file, Message: res.err.Error(), Stop: stopOf(res.err)})
		}
		out.Summary.Policies = append(out.Summary.Policies, policyJSON{Name: res.policy.name, File: res.policy.file, Builtin: res.policy.builtin,
			Status: res.status(), Violations: len(res.violations), Waived: len(res.waived)})
	}
	for _, wv := range r.expired {
		out.ExpiredWaivers = append(out.ExpiredWaivers, toWaiverJSON(wv))
	}
	out.Summary.Violations, out.Summary.Waived, out.Summary.Errors = r.counts()
	out.Summary.ExpiredWaivers, out.Summary.UnusedWaivers = len(r.expired), len(r.unused)
	out.Summary.Catalog, out.Summary.Status = r.catalog, r.status()
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// ANSI colours of the text report.
const (
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

// writeCheckText writes the report for people: each policy's verdict with
// its violations under it, then what was waived, the expired waivers and
// a summary line.
func writeCheckText(w io.Writer, r *checkReport, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	plural := func(n int, one string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	for _, res := range r.results {
		name := paint(ansiBold, res.policy.name)
		switch res.status() {
		case "error":
			msg, _, _ := strings.Cut(res.err.Error(), "\n")
			fmt.Fprintf(w, "%s %s: %s\n", paint(ansiRed, "ERROR"), name, msg)
			continue
		case "fail":
			fmt.Fprintf(w, "%s  %s: %s", paint(ansiRed, "FAIL"), name, plural(len(res.violations), "violation"))
		default:
			fmt.Fprintf(w, "%s    %s", paint(ansiGreen, "ok"), name)
		}
		if len(res.waived) > 0 {
			fmt.Fprintf(w, " (%d waived)", len(res.waived))
		}
		fmt.Fprintln(w)
		for _, v := range res.violations {
			fmt.Fprintf(w, "      %s\n", violationLine(v))
		}
	}
	var waived []starlib.Waived
	for _, res := range r.results {
		waived = append(waived, res.waived...)
	}
	if len(waived) > 0 {
		// By waiver: a waiver of "*" may accept dozens of violations,
		// which JSON, SARIF and JUnit list one by one.
		fmt.Fprintf(w, "\n%s\n", paint(ansiYellow, "waived:"))
		var order []*starlib.Waiver
		n := map[*starlib.Waiver]int{}
		for _, wv := range waived {
			if n[wv.Waiver] == 0 {
				order = append(order, wv.Waiver)
			}
			n[wv.Waiver]++
		}
		for _, x := range order {
			fmt.Fprintf(w, "  %s: %s of %s (%s on %s)\n", x.Source, plural(n[x], "violation"), x.Policy, x.Model, x.Machine)
		}
	}
	if len(r.expired) > 0 {
		fmt.Fprintf(w, "\n%s\n", paint(ansiRed, "expired waivers:"))
		for _, x := range r.expired {
			fmt.Fprintf(w, "  %s: %s %s on %s [%s] expired on %s: %s\n", x.Source, x.Policy, x.Model, x.Machine,
				strings.Join(x.Features, " "), x.Expires, x.Reason)
		}
	}
	violations, nWaived, errs := r.counts()
	verdict := map[string]string{"pass": paint(ansiGreen, "PASS"), "fail": paint(ansiRed, "FAIL"), "error": paint(ansiRed, "ERROR")}[r.status()]
	parts := []string{plural(len(r.results), "policy"), plural(violations, "violation")}
	parts[0] = strings.Replace(parts[0], "policys", "policies", 1)
	if nWaived > 0 {
		parts = append(parts, fmt.Sprintf("%d waived", nWaived))
	}
	if len(r.expired) > 0 {
		parts = append(parts, plural(len(r.expired), "expired waiver"))
	}
	if errs > 0 {
		parts = append(parts, plural(errs, "error"))
	}
	fmt.Fprintf(w, "\n%s: %s\n", verdict, strings.Join(parts, ", "))
}

// violationLine is a violation in one line: its message, and the model,
// machine and features when the message does not already say them.
func violationLine(v starlib.Violation) string {
	var extra []string
	if v.Model != "" && !strings.Contains(v.Message, v.Model) {
		extra = append(extra, "model "+v.Model)
	}
	if v.Machine != "" && !strings.Contains(v.Message, v.Machine) {
		extra = append(extra, "machine "+v.Machine)
	}
	var missing []string
	for _, f := range v.Features {
		if !strings.Contains(v.Message, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		extra = append(extra, "features "+strings.Join(v.Features, " "))
	}
	if len(extra) == 0 {
		return v.Message
	}
	return v.Message + " (" + strings.Join(extra, "; ") + ")"
}

// displayPath is a path as reports name it: relative to the working
// directory when it is under it, with forward slashes.
func displayPath(p string) string {
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = rel
			}
		}
	}
	return filepath.ToSlash(p)
}
