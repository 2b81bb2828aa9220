// Package report runs policy checks and writes their outcome, as OPA's
// tester package holds its reporters while `opa test` only wires flags.
//
// Run checks a set of Policy values (LoadPolicies loads the built-in
// ones and policy files) over a starlib.Input, sorts the violations by
// the site's waivers and returns a Report: one Result per policy, and
// the waivers that expired or went unused. One writer per format writes
// a Report: WriteText for people, WriteJSON, WriteSARIF (SARIF 2.1.0,
// for code-scanning dashboards) and WriteJUnit (JUnit XML, for CI test
// views). The JSON keys, SARIF rule ids and JUnit names are a contract.
//
// Tests is the outcome of policy tests (`cpupolicy test`, run by
// starlib.RunTestFiles); WriteTestText and WriteTestJSON write it.
package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cpupolicy/cpupolicy/internal/suggest"
	"github.com/cpupolicy/cpupolicy/policies"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// Policy is one policy of a check, as reports name it.
type Policy struct {
	Name string
	// File is the policy file as messages name it; a built-in one is
	// policies/NAME.star.
	File    string
	Builtin bool
	// Doc is the policy's docstring.
	Doc string
	// Script is the loaded policy that Run runs; writers do not use it.
	Script *starlib.Policy
}

// Result is what one policy found.
type Result struct {
	Policy Policy
	// Violations are those no waiver accepts.
	Violations []starlib.Violation
	Waived     []site.Waived
	// Err is why the policy failed to run (its run found nothing).
	Err     error
	Elapsed time.Duration
}

// Report is the outcome of a check, for every output format.
type Report struct {
	// Results are in the order of the policies run.
	Results []*Result
	Expired []*site.Waiver
	Unused  []*site.Waiver
	// Catalog names the catalog the policies judged with.
	Catalog string
	// SiteFile and WaiversFile name the inputs, or are "".
	SiteFile    string
	WaiversFile string
	// Offers are the site's offers: with none, the policies that judge
	// offers (runnable, migration-safe) judged nothing, and the text
	// report says so rather than let "ok" suggest otherwise; each one's
	// Source locates the violations about it (SARIF regions).
	Offers     []site.Offer
	Start, End time.Time
}

// Config is what Run checks.
type Config struct {
	Policies []Policy
	Input    starlib.Input
	Waivers  []site.Waiver
	// SiteFile and WaiversFile are the files Input.Site and Waivers came
	// from, as reports name them ("" for none).
	SiteFile, WaiversFile string
	// Now is the clock that stamps the report and decides which waivers
	// have expired; nil is time.Now.
	Now func() time.Time
}

// Run runs every policy of c at once over c.Input and sorts their
// violations by c.Waivers. A policy that fails to run is a Result with
// Err; the others still report.
func Run(ctx context.Context, c Config) *Report {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	r := &Report{SiteFile: c.SiteFile, WaiversFile: c.WaiversFile, Start: now()}
	if c.Input.Site != nil {
		r.Offers = c.Input.Site.Offers
	}
	if c.Input.Catalog != nil {
		r.Catalog = c.Input.Catalog.Catalog().Name()
	}
	r.Results = make([]*Result, len(c.Policies))
	var wg sync.WaitGroup
	for i, p := range c.Policies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			vs, err := p.Script.Check(ctx, c.Input)
			r.Results[i] = &Result{Policy: p, Violations: vs, Err: err, Elapsed: time.Since(start)}
		}()
	}
	wg.Wait()
	r.applyWaivers(c.Waivers)
	r.End = now()
	return r
}

// applyWaivers sorts the violations of r's results into violations and
// waived ones, and records the expired and unused waivers.
func (r *Report) applyWaivers(ws []site.Waiver) {
	var all []starlib.Violation
	byPolicy := map[string]*Result{}
	for _, res := range r.Results {
		all = append(all, res.Violations...)
		res.Violations = nil
		byPolicy[res.Policy.Name] = res
	}
	w := site.ApplyWaivers(all, ws, r.Start)
	r.Expired, r.Unused = w.Expired, w.Unused
	for _, v := range w.Violations {
		res := byPolicy[v.Policy]
		res.Violations = append(res.Violations, v)
	}
	for _, wv := range w.Waived {
		res := byPolicy[wv.Violation.Policy]
		res.Waived = append(res.Waived, wv)
	}
}

// UnknownPolicyError is a built-in policy name that does not exist.
type UnknownPolicyError struct {
	Name string
}

func (e *UnknownPolicyError) Error() string {
	builtin := policies.Names()
	hint := ""
	if best := suggest.Nearest(e.Name, builtin); best != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf("no built-in policy %q%s (have %s)", e.Name, hint, strings.Join(builtin, ", "))
}

// DuplicatePolicyError is two policies of one check with the same name:
// their violations could not be told apart.
type DuplicatePolicyError struct {
	Name        string
	File, Other string
}

func (e *DuplicatePolicyError) Error() string {
	return fmt.Sprintf("two policies named %s: %s and %s", e.Name, e.Other, e.File)
}

// LoadPolicies loads the built-in policies named (every one when neither
// names nor files are given), then the policy files. An unknown name is
// an *UnknownPolicyError, two policies of one name a
// *DuplicatePolicyError, and a policy that does not load its *starlib.Error.
func LoadPolicies(names, files []string, opts starlib.Options) ([]Policy, error) {
	builtin := policies.Names()
	if len(names) == 0 && len(files) == 0 {
		names = builtin
	}
	var ps []Policy
	seen := map[string]string{}
	add := func(p Policy) error {
		if other, ok := seen[p.Name]; ok {
			return &DuplicatePolicyError{Name: p.Name, File: p.File, Other: other}
		}
		seen[p.Name] = p.File
		ps = append(ps, p)
		return nil
	}
	for _, n := range names {
		if !slices.Contains(builtin, n) {
			return nil, &UnknownPolicyError{Name: n}
		}
		p, err := starlib.LoadPolicy(policies.FS, n+".star", opts)
		if err != nil {
			return nil, err
		}
		if err := add(Policy{Name: p.Name, File: "policies/" + n + ".star", Builtin: true, Doc: p.Doc, Script: p}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		p, err := starlib.LoadPolicyFile(f, opts)
		if err != nil {
			return nil, err
		}
		if err := add(Policy{Name: p.Name, File: f, Doc: p.Doc, Script: p}); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// Counts returns the violations, the waived violations and the policies
// that failed to run.
func (r *Report) Counts() (violations, waived, errs int) {
	for _, res := range r.Results {
		violations += len(res.Violations)
		waived += len(res.Waived)
		if res.Err != nil {
			errs++
		}
	}
	return violations, waived, errs
}

// ExitCode is the exit status of `cpupolicy check` for r: 2 when a
// policy failed to run, else 1 for violations or expired waivers, else 0.
// SARIF's invocation records it.
func (r *Report) ExitCode() int {
	violations, _, errs := r.Counts()
	switch {
	case errs > 0:
		return 2
	case violations > 0 || len(r.Expired) > 0:
		return 1
	}
	return 0
}

// Status is "pass", "fail" or "error", as ExitCode is 0, 1 or 2.
func (r *Report) Status() string { return statuses[r.ExitCode()] }

var statuses = [...]string{"pass", "fail", "error"}

// Status is "error" when the policy failed to run, else "fail" when it
// found violations, else "pass".
func (res *Result) Status() string {
	switch {
	case res.Err != nil:
		return "error"
	case len(res.Violations) > 0:
		return "fail"
	}
	return "pass"
}

// stopOf names why a failed run was stopped: "time limit", "step
// budget", "size limit", "memory limit", or "" for an ordinary failure.
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
