package starlib

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/site"
)

// Policies are tested the way OPA's are (`opa test`): a file NAME_test.star
// beside the policy loads it (load("runnable.star", "check")) and defines
// test_* functions; each runs on a thread of its own and passes when no
// assertion fails and nothing goes wrong. todo_test_* functions are
// skipped.
//
// TestGlobals returns what such a file sees besides Module's builtins:
//
//	assert                the assertions (AssertModule)
//	catalog               the catalog tests run with (also the default of
//	                      config() and resolve())
//	catalogs              dict name → catalog: every catalog at hand
//	hosts                 dict name → host: the recorded snapshots at hand
//	offer(name, cpu, machine=None, pool=None, accel=None)
//	pool(name, hosts)     a site's offers and pools, as a site file
//	                      declares them (hosts are host values here)
//	run_check(check, offers=[], pools=[], host=None, params={}, catalog=None)
//	                      runs a policy's check over that site, on the
//	                      calling thread (its budget and deadline), and
//	                      returns the violations, each a dict shaped as in
//	                      `cpupolicy check --format json`
//
// RunTests runs the tests of a loaded file; RunTestFiles loads and runs
// the files FindTestFiles finds, as `cpupolicy test` does.

// TestFixtures are the values test files work over.
type TestFixtures struct {
	// Catalog is `catalog` and each test thread's default catalog.
	Catalog *Catalog
	// Catalogs are `catalogs`, by name; Catalog is added when absent.
	Catalogs map[string]*Catalog
	// Hosts are `hosts`, by name.
	Hosts map[string]*Host
}

// LoadTestHosts reads every *.json snapshot of dir, keyed by its file name
// without .json: the Hosts of TestFixtures, over opts' registry
// and completed by its DecodeSnapshot. With strict, a file that is not a
// snapshot is an error and so is a missing dir; without (a directory
// found, not named), such files are skipped. An empty dir has no hosts.
func LoadTestHosts(dir string, strict bool, opts Options) (map[string]*Host, error) {
	hosts := map[string]*Host{}
	if dir == "" {
		return hosts, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if strict && len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		snap, err := host.Parse(f, data, opts.registry())
		if err != nil {
			if strict {
				return nil, err
			}
			continue
		}
		if err := opts.decode(snap); err != nil {
			return nil, err
		}
		// The key is the fixture's file name, which tests know; the host
		// is named as every command names it (host.Name).
		key := strings.TrimSuffix(filepath.Base(f), ".json")
		if hosts[key], err = NewHost(host.Name(snap, f), snap, opts.registry()); err != nil {
			return nil, err
		}
	}
	return hosts, nil
}

// TestGlobals returns the globals of test files over f, to be added to
// Options.Predeclared. run_check checks under opts' limits.
func TestGlobals(f TestFixtures, opts Options) (starlark.StringDict, error) {
	if f.Catalog == nil {
		return nil, errors.New("test fixtures: no catalog")
	}
	cats := starlark.NewDict(len(f.Catalogs) + 1)
	names := make([]string, 0, len(f.Catalogs)+1)
	for n := range f.Catalogs {
		names = append(names, n)
	}
	if _, ok := f.Catalogs[f.Catalog.c.Name()]; !ok {
		names = append(names, f.Catalog.c.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		c := f.Catalogs[n]
		if c == nil {
			c = f.Catalog
		}
		_ = cats.SetKey(starlark.String(n), c)
	}
	cats.Freeze()
	hostNames := make([]string, 0, len(f.Hosts))
	for n := range f.Hosts {
		hostNames = append(hostNames, n)
	}
	sort.Strings(hostNames)
	hosts := starlark.NewDict(len(hostNames))
	for _, n := range hostNames {
		_ = hosts.SetKey(starlark.String(n), f.Hosts[n])
	}
	hosts.Freeze()
	return starlark.StringDict{
		"assert":    AssertModule,
		"catalog":   f.Catalog,
		"catalogs":  cats,
		"hosts":     hosts,
		"offer":     starlark.NewBuiltin("offer", testOffer),
		"pool":      starlark.NewBuiltin("pool", testPool),
		"run_check": starlark.NewBuiltin("run_check", runCheckBuiltin(f.Catalog, opts)),
	}, nil
}

// offer(name, cpu, machine=None, pool=None, accel=None)
func testOffer(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	o, err := unpackOffer(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	orNone := func(s string) starlark.Value {
		if s == "" {
			return starlark.None
		}
		return starlark.String(s)
	}
	return starlarkstruct.FromStringDict(starlark.String("offer"), starlark.StringDict{
		"name": starlark.String(o.Name), "cpu": starlark.String(o.CPU), "machine": orNone(o.Machine), "pool": orNone(o.Pool), "accel": orNone(o.Accel),
	}), nil
}

// pool(name, hosts)
func testPool(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var hosts starlark.Iterable
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "hosts", &hosts); err != nil {
		return nil, err
	}
	var list starlark.Tuple
	for x := range starlark.Elements(hosts) {
		if _, ok := x.(*Host); !ok {
			return nil, fmt.Errorf("%s: hosts: got %s, want host", b.Name(), x.Type())
		}
		list = append(list, x)
	}
	return starlarkstruct.FromStringDict(starlark.String("pool"), starlark.StringDict{
		"name": starlark.String(name), "hosts": list,
	}), nil
}

// runCheckBuiltin returns run_check(check, offers=[], pools=[],
// host=None, params={}, catalog=None).
func runCheckBuiltin(def *Catalog, opts Options) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var (
			fn            *starlark.Function
			offers, pools starlark.Iterable
			hv            starlark.Value = starlark.None
			params        *starlark.Dict
			cat           = def
		)
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "check", &fn, "offers?", &offers, "pools?", &pools,
			"host?", &hv, "params?", &params, "catalog?", &cat); err != nil {
			return nil, err
		}
		in := Input{Catalog: cat, Site: &site.Site{}, Params: map[string]string{}}
		switch h := hv.(type) {
		case *Host:
			in.Host = h
		case starlark.NoneType:
		default:
			return nil, fmt.Errorf("%s: host: got %s, want host or None", b.Name(), hv.Type())
		}
		field := func(s *starlarkstruct.Struct, k string) string {
			v, _ := s.Attr(k)
			str, _ := starlark.AsString(v)
			return str
		}
		if offers != nil {
			for x := range starlark.Elements(offers) {
				o, ok := x.(*starlarkstruct.Struct)
				if !ok || o.Constructor() != starlark.String("offer") {
					return nil, fmt.Errorf("%s: offers: got %s, want offer", b.Name(), x.Type())
				}
				in.Site.Offers = append(in.Site.Offers, site.Offer{Name: field(o, "name"), CPU: field(o, "cpu"),
					Machine: field(o, "machine"), Pool: field(o, "pool"), Accel: field(o, "accel")})
			}
		}
		if pools != nil {
			for x := range starlark.Elements(pools) {
				p, ok := x.(*starlarkstruct.Struct)
				if !ok || p.Constructor() != starlark.String("pool") {
					return nil, fmt.Errorf("%s: pools: got %s, want pool", b.Name(), x.Type())
				}
				hs, _ := p.Attr("hosts")
				pool := site.Pool{Name: field(p, "name")}
				for h := range starlark.Elements(hs.(starlark.Iterable)) {
					pool.Hosts = append(pool.Hosts, h.(*Host).site)
				}
				in.Site.Pools = append(in.Site.Pools, pool)
			}
		}
		if params != nil {
			for _, kv := range params.Items() {
				k, ok1 := starlark.AsString(kv[0])
				v, ok2 := starlark.AsString(kv[1])
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("%s: params: got %s: %s, want string: string", b.Name(), kv[0].Type(), kv[1].Type())
				}
				in.Params[k] = v
			}
		}
		name := strings.TrimSuffix(path.Base(fn.Position().Filename()), ".star")
		c, err := NewContext(name, in, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		v, err := starlark.Call(thread, fn, starlark.Tuple{c}, nil)
		if err != nil {
			return nil, err
		}
		if v != starlark.None {
			return nil, fmt.Errorf("%s: check returned %s, want None (report with ctx.violation)", b.Name(), v.Type())
		}
		vs := c.Violations()
		out := make([]starlark.Value, len(vs))
		for i, v := range vs {
			out[i] = ViolationDict(v)
		}
		return starlark.NewList(out), nil
	}
}

// ViolationDict returns v as a Starlark dict with the keys and values of
// its JSON form (Violation.MarshalJSON).
func ViolationDict(v Violation) *starlark.Dict {
	d := starlark.NewDict(5 + len(v.Extra))
	_ = d.SetKey(starlark.String("policy"), starlark.String(v.Policy))
	_ = d.SetKey(starlark.String("message"), starlark.String(v.Message))
	if v.Model != "" {
		_ = d.SetKey(starlark.String("model"), starlark.String(v.Model))
	}
	if v.Machine != "" {
		_ = d.SetKey(starlark.String("machine"), starlark.String(v.Machine))
	}
	feats := v.Features
	if feats == nil {
		feats = []string{}
	}
	_ = d.SetKey(starlark.String("features"), fromGo(feats))
	keys := make([]string, 0, len(v.Extra))
	for k := range v.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), fromGo(v.Extra[k]))
	}
	return d
}

// fromGo converts a violation's Go value (see Violation.Extra) back to
// Starlark.
func fromGo(x any) starlark.Value {
	switch x := x.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(x)
	case int64:
		return starlark.MakeInt64(x)
	case float64:
		return starlark.Float(x)
	case string:
		return starlark.String(x)
	case []string:
		l := make([]starlark.Value, len(x))
		for i, s := range x {
			l[i] = starlark.String(s)
		}
		return starlark.NewList(l)
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = fromGo(e)
		}
		return starlark.NewList(l)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(keys))
		for _, k := range keys {
			_ = d.SetKey(starlark.String(k), fromGo(x[k]))
		}
		return d
	}
	return starlark.String(fmt.Sprint(x))
}

// TestConfig is what RunTestFiles runs test files with.
type TestConfig struct {
	// Catalog and Catalogs are the fixtures' catalogs (TestFixtures);
	// Catalog is also each test thread's default catalog.
	Catalog  *Catalog
	Catalogs map[string]*Catalog
	// HostsDir holds the recorded hosts of every file (LoadTestHosts,
	// strict). "" is, for each file, the nearest testdata/hosts directory
	// at or above its own, when there is one (not strict).
	HostsDir string
	// Run selects the tests whose names match (nil: all).
	Run *regexp.Regexp
	// Options are the sandbox of every file and test.
	Options Options
}

// hostsSubdir is where tests find recorded hosts by default.
const hostsSubdir = "testdata/hosts"

// RunTestFiles loads each test file with TestGlobals and runs its tests.
// A file that fails to load is one of loadErrors and the others still
// run; err is a fixture that could not be read (a hosts directory).
func RunTestFiles(ctx context.Context, files []string, c TestConfig) (results []TestResult, loadErrors []error, err error) {
	hostSets := map[string]map[string]*Host{} // by directory
	for _, file := range files {
		dir := c.HostsDir
		if dir == "" {
			dir = findHostsDir(file)
		}
		hosts, ok := hostSets[dir]
		if !ok {
			if hosts, err = LoadTestHosts(dir, c.HostsDir != "", c.Options); err != nil {
				return nil, nil, err
			}
			hostSets[dir] = hosts
		}
		opts := c.Options
		if opts.Predeclared, err = TestGlobals(TestFixtures{Catalog: c.Catalog, Catalogs: c.Catalogs, Hosts: hosts}, c.Options); err != nil {
			return nil, nil, err
		}
		s, err := LoadScriptFile(file, opts)
		if err != nil {
			loadErrors = append(loadErrors, err)
			continue
		}
		results = append(results, s.RunTests(ctx, c.Catalog, c.Run)...)
	}
	return results, loadErrors, nil
}

// FindTestFiles returns the *_test.star files named or under the
// directories named, sorted, each once. Walking skips hidden directories
// and testdata directories (they hold fixtures, as in Go); a directory or
// file named is always used.
func FindTestFiles(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if !strings.HasSuffix(arg, "_test.star") {
				return nil, fmt.Errorf("%s: not a test file: want NAME_test.star or a directory", arg)
			}
			files = append(files, arg)
			continue
		}
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != arg && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), "_test.star") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	return slices.Compact(files), nil
}

// findHostsDir returns the nearest testdata/hosts directory at or above
// file's directory, or "" when there is none.
func findHostsDir(file string) string {
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, hostsSubdir)
		if info, err := os.Stat(cand); err == nil && info.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// TestStatus is how a test ended.
type TestStatus string

const (
	TestPass  TestStatus = "pass"
	TestFail  TestStatus = "fail"  // an assertion failed
	TestError TestStatus = "error" // the test failed to run: an error, a time limit
	TestSkip  TestStatus = "skip"  // a todo_test_ function
)

// TestResult is the outcome of one test function.
type TestResult struct {
	File, Name string
	Status     TestStatus
	// Failures are the failed assertions, each "file:line:col: message".
	Failures []string
	// Err is why a test with status TestError did not complete (an
	// *Error with the backtrace).
	Err      error
	Duration time.Duration
}

// RunTests runs the test functions of s (loaded with TestGlobals among
// its predeclared names) whose names match run (nil: all), in name
// order, each on a new thread under s's limits with cat as its default
// catalog.
func (s *Script) RunTests(ctx context.Context, cat *Catalog, run *regexp.Regexp) []TestResult {
	var out []TestResult
	for _, name := range s.Globals.Keys() { // sorted
		fn, ok := s.Globals[name].(*starlark.Function)
		if !ok {
			continue
		}
		test := strings.HasPrefix(name, "test_")
		todo := strings.HasPrefix(name, "todo_test_")
		if !test && !todo || run != nil && !run.MatchString(name) {
			continue
		}
		res := TestResult{File: s.File, Name: name, Status: TestSkip}
		if test {
			res = s.runTest(ctx, cat, name, fn)
		}
		out = append(out, res)
	}
	return out
}

func (s *Script) runTest(ctx context.Context, cat *Catalog, name string, fn *starlark.Function) TestResult {
	res := TestResult{File: s.File, Name: name}
	thread, done := NewThread(ctx, s.File, cat, s.opts)
	defer done()
	rep := &assertReporter{}
	thread.SetLocal(assertKey, rep)
	start := time.Now()
	_, err := starlark.Call(thread, fn, nil, nil)
	res.Duration = time.Since(start)
	res.Failures = rep.failures()
	switch {
	case err != nil:
		res.Status, res.Err = TestError, newError(s.File, thread, err)
	case fn.NumParams() > 0:
		res.Status, res.Err = TestError, &Error{File: s.File, Err: fmt.Errorf("%s takes parameters; a test takes none", name)}
	case len(res.Failures) > 0:
		res.Status = TestFail
	default:
		res.Status = TestPass
	}
	return res
}

// assertKey is the thread-local key of a test's failures.
const assertKey = "cpupolicy/starlib.assert"

// assertReporter collects the failed assertions of one test.
type assertReporter struct {
	mu   sync.Mutex
	msgs []string
}

func (r *assertReporter) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
}

func (r *assertReporter) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// AssertModule is the assert module of test files, with the names and
// arguments of go.starlark.net/starlarktest's. A failed assertion is
// recorded and the test goes on (as testing.T.Error does), so one run
// shows every failure; outside a test function (at a file's top level) it
// is an error instead.
//
//	assert.eq(got, want)          got == want
//	assert.ne(got, unwanted)      got != unwanted
//	assert.true(cond, msg="assertion failed")
//	assert.lt(x, y)               x < y
//	assert.contains(coll, x)      x in coll
//	assert.fails(f, pattern)      f() fails with an error matching the
//	                              regular expression pattern
//	assert.fail(msg)              fails the test
var AssertModule = &starlarkstruct.Module{
	Name: "assert",
	Members: starlark.StringDict{
		"eq":       starlark.NewBuiltin("assert.eq", assertPair(eqRel, "got %[1]s, want %[2]s")),
		"ne":       starlark.NewBuiltin("assert.ne", assertPair(neRel, "got %[1]s, want anything else")),
		"true":     starlark.NewBuiltin("assert.true", assertTrue),
		"lt":       starlark.NewBuiltin("assert.lt", assertPair(ltRel, "%[1]s is not less than %[2]s")),
		"contains": starlark.NewBuiltin("assert.contains", assertPair(inRel, "%[1]s does not contain %[2]s")),
		"fails":    starlark.NewBuiltin("assert.fails", assertFails),
		"fail":     starlark.NewBuiltin("assert.fail", assertFail),
	},
}

// report records a failed assertion of the test running on thread, at
// the position of the assertion's call.
func report(thread *starlark.Thread, b *starlark.Builtin, format string, args ...any) (starlark.Value, error) {
	msg := fmt.Sprintf(format, args...)
	rep, ok := thread.Local(assertKey).(*assertReporter)
	if !ok {
		return nil, fmt.Errorf("%s: %s (outside a test function)", b.Name(), msg)
	}
	rep.add(fmt.Sprintf("%s: %s: %s", thread.CallFrame(1).Pos, b.Name(), msg))
	return starlark.None, nil
}

// assertRepr shows a value in a failure message, shortened when long.
func assertRepr(v starlark.Value) string {
	s := v.String()
	if len(s) > 2000 {
		s = s[:2000] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

type builtinFunc = func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// assertPair is an assertion of two positional arguments x and y: holds
// says whether it holds (its error is the script's, such as ordering a
// string against an int), and failure is the message when it does not,
// with %[1]s and %[2]s for x and y.
func assertPair(holds func(x, y starlark.Value) (bool, error), failure string) builtinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, y starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
			return nil, err
		}
		ok, err := holds(x, y)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		if !ok {
			// Explicit argument indexes: a message may leave y out.
			return report(thread, b, failure, assertRepr(x), assertRepr(y))
		}
		return starlark.None, nil
	}
}

// The relations of assert.eq, ne, lt and contains.
func eqRel(x, y starlark.Value) (bool, error) { return starlark.Equal(x, y) }
func neRel(x, y starlark.Value) (bool, error) {
	eq, err := starlark.Equal(x, y)
	return !eq, err
}
func ltRel(x, y starlark.Value) (bool, error) { return starlark.Compare(syntax.LT, x, y) }
func inRel(coll, x starlark.Value) (bool, error) {
	in, err := starlark.Binary(syntax.IN, x, coll)
	if err != nil {
		return false, err
	}
	return bool(in.Truth()), nil
}

func assertTrue(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cond starlark.Value
	msg := "assertion failed"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "cond", &cond, "msg?", &msg); err != nil {
		return nil, err
	}
	if !cond.Truth() {
		return report(thread, b, "%s", msg)
	}
	return starlark.None, nil
}

func assertFails(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	var pattern string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &f, &pattern); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: pattern: %v", b.Name(), err)
	}
	_, callErr := starlark.Call(thread, f, nil, nil)
	if err := Interrupted(thread); err != nil {
		return nil, err // a time limit is not the failure the test wants
	}
	if callErr == nil {
		return report(thread, b, "succeeded, want an error matching %q", pattern)
	}
	msg := callErr.Error()
	var ee *starlark.EvalError
	if errors.As(callErr, &ee) {
		msg = ee.Msg
	}
	if !re.MatchString(msg) {
		return report(thread, b, "error %q does not match %q", msg, pattern)
	}
	return starlark.None, nil
}

func assertFail(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &msg); err != nil {
		return nil, err
	}
	return report(thread, b, "%s", msg)
}
