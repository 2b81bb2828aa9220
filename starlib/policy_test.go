package starlib_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// testSite is two offers on two pools of recorded hosts.
func testSite() *site.Site {
	h := fixtures.hosts
	return &site.Site{
		Offers: []site.Offer{
			{Name: "web", CPU: "Skylake-Server-v4", Machine: "pc-q35-7.2", Pool: "intel"},
			{Name: "db", CPU: "EPYC-v3,kvmclock=on", Pool: "mixed"},
			{Name: "batch", CPU: "qemu64", Machine: "pc-i440fx-7.2", Accel: "tcg"},
		},
		Pools: []site.Pool{
			{Name: "intel", Hosts: []*site.Host{h["xeon-gold-6130"].Site(), h["core-i7-8550u"].Site()}},
			{Name: "mixed", Hosts: []*site.Host{h["xeon-gold-6130"].Site(), h["epyc-7502-32-core"].Site()}},
		},
	}
}

// summary is a violation in one line, for comparing with a table.
func summary(v starlib.Violation) string {
	return v.Policy + " | " + v.Message + " | " + v.Model + " | " + v.Machine + " | " + strings.Join(v.Features, ",")
}

func TestCheck(t *testing.T) {
	loadFixtures(t)
	tests := []struct {
		name   string
		policy string
		in     starlib.Input
		want   []string
	}{
		{
			name:   "runnable over a site",
			policy: "testdata/policies/runnable.star",
			in:     starlib.Input{Site: testSite()},
			want: []string{
				"runnable | offer web (Skylake-Server-v4) does not run on core-i7-8550u: 7 features missing | Skylake-Server-v4 | pc-q35-7.2 | avx512bw,avx512cd,avx512dq,avx512f,avx512vl,clwb,pku",
				"runnable | offer db (EPYC-v3,kvmclock=on) does not run on xeon-gold-6130: 11 features missing | EPYC-v3,kvmclock=on | pc-q35-7.2 | clzero,cr8legacy,fxsr-opt,ibpb,misalignsse,mmxext,osvw,perfctr-core,sha-ni,sse4a,xsaveerptr",
			},
		},
		{
			name:   "kvm bits: named ones are not flagged, tcg gets none",
			policy: "testdata/policies/kvm_bits.star",
			in:     starlib.Input{Site: testSite()},
			want: []string{
				"kvm_bits | offer web gets KVM bits it did not ask for | Skylake-Server-v4 | pc-q35-7.2 | kvm-asyncpf,kvm-nopiodelay,kvm-pv-eoi,kvm-steal-time,kvmclock,kvmclock-stable-bit",
				"kvm_bits | offer db gets KVM bits it did not ask for | EPYC-v3,kvmclock=on | pc-q35-7.2 | kvm-asyncpf,kvm-nopiodelay,kvm-pv-eoi,kvm-steal-time,kvmclock-stable-bit",
			},
		},
		{
			name:   "no site: nothing to check",
			policy: "testdata/policies/runnable.star",
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := starlib.LoadPolicyFile(tt.policy, starlib.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.in.Catalog = fixtures.cat72
			got, err := p.Check(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, v := range got {
				lines = append(lines, summary(v))
			}
			if !slices.Equal(lines, tt.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(lines, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

func TestPolicyDoc(t *testing.T) {
	p, err := starlib.LoadPolicyFile("testdata/policies/runnable.star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Name, "runnable"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if got, want := p.Doc, "Every offered config runs on every host of its pool."; got != want {
		t.Errorf("Doc = %q, want %q", got, want)
	}
	if got, want := p.File(), "testdata/policies/runnable.star"; got != want {
		t.Errorf("File() = %q, want %q", got, want)
	}
}

// TestViolationValues checks what ctx carries (params, host) and how
// extra values convert to Go and to JSON.
func TestViolationValues(t *testing.T) {
	loadFixtures(t)
	p, err := starlib.LoadPolicyFile("testdata/policies/params.star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := starlib.Input{Catalog: fixtures.cat72, Host: fixtures.hosts["xeon-gold-6130"],
		Params: map[string]string{"zone": "b", "max": "3", "arch": "x86"}}
	got, err := p.Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, v := range got {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(data))
	}
	want := []string{
		`{"policy":"params","message":"params","features":[],"keys":["arch","max","zone"],"values":["x86","3","b"]}`,
		`{"policy":"params","message":"host","features":[],"host":"xeon-gold-6130","n":93,"vendor":"GenuineIntel"}`,
		`{"policy":"params","message":"extras","model":"Haswell-v4","machine":"pc-q35-7.2","features":["avx2","sse4.2"],"big":"1267650600228229401496703205376","nested":{"a":[1,2.5,true,null],"b":{"c":"d"}},"set":["pni"]}`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(lines, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// TestLoadErrors: every way a policy can be malformed gives an *Error
// that names the file, and the position when there is one.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the message
	}{
		{"no_doc.star", []string{"testdata/policies/bad/no_doc.star: no module docstring"}},
		{"no_check.star", []string{"testdata/policies/bad/no_check.star: no check(ctx) function"}},
		{"two_params.star", []string{"testdata/policies/bad/two_params.star: check has 2 parameters, want 1 (ctx)"}},
		{"syntax.star", []string{"testdata/policies/bad/syntax.star:3:15: got newline, want ':'"}},
		{"undefined.star", []string{"testdata/policies/bad/undefined.star:4:12: undefined: undefined_name"}},
		{"toplevel_config.star", []string{"testdata/policies/bad/toplevel_config.star:3:11: config: no catalog here"}},
		{"load_missing.star", []string{"testdata/policies/bad/load_missing.star:3:1: cannot load nothere.star: no such file or directory"}},
		{"cycle_a.star", []string{"cannot load cycle_b.star: cannot load cycle_a.star: cycle in load graph: testdata/policies/bad/cycle_a.star is still loading"}},
		{"load_broken.star", []string{
			`policy testdata/policies/bad/load_broken.star: cannot load broken_lib.star: features: unknown feature "avx512" (did you mean "avx512f"?)`,
			"load_broken.star:3:1: in <toplevel>",
			"broken_lib.star:6:6: in <toplevel>",
			"broken_lib.star:4:20: in f",
		}},
		{"load_json.star", []string{"cannot load data.json: want a .star file"}},
		{"missing.star", []string{"testdata/policies/bad/missing.star: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := starlib.LoadPolicyFile("testdata/policies/bad/"+tt.file, starlib.Options{})
			var perr *starlib.Error
			if !errors.As(err, &perr) {
				t.Fatalf("got %T %v, want *starlib.Error", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

// TestCheckErrors: failures while check runs carry the backtrace.
func TestCheckErrors(t *testing.T) {
	loadFixtures(t)
	tests := []struct {
		file string
		want []string
	}{
		{"typo.star", []string{
			`policy testdata/policies/bad/typo.star: resolve: unknown CPU model "Haswel-v4" in catalog qemu-7.2 (did you mean "Haswell-v4"?)`,
			"Traceback (most recent call last):\n  testdata/policies/bad/typo.star:4:24: in check\nError in resolve:",
		}},
		{"returns.star", []string{"testdata/policies/bad/returns.star: check returned list, want None (report with ctx.violation)"}},
		{"reserved.star", []string{"violation: policy is reserved"}},
		{"bad_extra.star", []string{"violation: fn: got function, want string, number, bool, None, list, dict or a cpupolicy value"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := starlib.LoadPolicyFile("testdata/policies/bad/"+tt.file, starlib.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Check(context.Background(), starlib.Input{Catalog: fixtures.cat72})
			var perr *starlib.Error
			if !errors.As(err, &perr) {
				t.Fatalf("got %T %v, want *starlib.Error", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	loadFixtures(t)
	p, err := starlib.LoadPolicyFile("testdata/policies/runnable.star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := fixtures.hosts["xeon-gold-6130"]
	tests := []struct {
		name string
		in   starlib.Input
		want string
	}{
		{"no catalog", starlib.Input{}, "no catalog"},
		{"unknown pool", starlib.Input{Catalog: fixtures.cat72, Site: &site.Site{Offers: []site.Offer{{Name: "a", CPU: "qemu64", Pool: "p"}}}}, `site: offer "a": no pool "p"`},
		{"bad spec", starlib.Input{Catalog: fixtures.cat72, Site: &site.Site{Offers: []site.Offer{{Name: "a", CPU: "qemu64,+sse5"}}}}, `site: offer a: cpu spec "qemu64,+sse5": option "+sse5": unknown feature "sse5"`},
		{"twice", starlib.Input{Catalog: fixtures.cat72, Site: &site.Site{Pools: []site.Pool{{Name: "p", Hosts: []*site.Host{h.Site()}}, {Name: "p"}}}}, `site: pool "p" declared twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Check(context.Background(), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestLoadInTree: a load may go up with ".." as long as it stays inside
// the tree LoadPolicy was given.
func TestLoadInTree(t *testing.T) {
	loadFixtures(t)
	p, err := starlib.LoadPolicy(os.DirFS("testdata/policies"), "sub/uses_parent.star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(context.Background(), starlib.Input{Catalog: fixtures.cat72}); err != nil {
		t.Fatal(err)
	}
	// From the policy's own directory, the same load leaves the tree.
	_, err = starlib.LoadPolicyFile("testdata/policies/sub/uses_parent.star", starlib.Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot load ../lib/report.star: path escapes the policy's directory") {
		t.Errorf("got %v", err)
	}
}

// TestLibrary: load("@cpupolicy/…") reads Options.Library, and only it.
func TestLibrary(t *testing.T) {
	loadFixtures(t)
	lib := fstest.MapFS{
		"sets.star":     {Data: []byte("load(\"kvm/bits.star\", \"BITS\")\nKVM_PV = BITS\n")},
		"kvm/bits.star": {Data: []byte("BITS = features(\"kvmclock\", \"kvm-pv-eoi\")\n")},
	}
	p, err := starlib.LoadPolicyFile("testdata/policies/library.star", starlib.Options{Library: lib})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Check(context.Background(), starlib.Input{Catalog: fixtures.cat72})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || strings.Join(got[0].Features, ",") != "kvm-pv-eoi,kvmclock" {
		t.Errorf("got %v", got)
	}
	_, err = starlib.LoadPolicyFile("testdata/policies/library.star", starlib.Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot load @cpupolicy/sets.star: no such module in the built-in library") {
		t.Errorf("without a library: got %v", err)
	}

	// Library modules load only library modules, and not from above it.
	lib["up.star"] = &fstest.MapFile{Data: []byte("load(\"../p.star\", \"x\")\n")}
	tree := fstest.MapFS{
		"p.star":  {Data: []byte("\"\"\"Loads a library module that climbs out.\"\"\"\nload(\"@cpupolicy/up.star\", \"x\")\ndef check(ctx):\n    pass\n")},
		"ok.star": {Data: []byte("\"\"\"Loads a nested library module.\"\"\"\nload(\"@cpupolicy/sets.star\", \"KVM_PV\")\ndef check(ctx):\n    pass\n")},
	}
	_, err = starlib.LoadPolicy(tree, "p.star", starlib.Options{Library: lib})
	if err == nil || !strings.Contains(err.Error(), "cannot load @cpupolicy/up.star: cannot load ../p.star: path escapes the built-in library") {
		t.Errorf("escaping the library: got %v", err)
	}
	if _, err := starlib.LoadPolicy(tree, "ok.star", starlib.Options{Library: lib}); err != nil {
		t.Error(err)
	}
}

// TestDeterministic: the same input gives the same violations, in the
// same order, however often and however concurrently it runs.
func TestDeterministic(t *testing.T) {
	loadFixtures(t)
	p, err := starlib.LoadPolicyFile("testdata/policies/runnable.star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := starlib.Input{Catalog: fixtures.cat72, Site: testSite()}
	first, err := p.Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(first)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := p.Check(context.Background(), in)
			if err == nil {
				if data, _ := json.Marshal(got); string(data) != string(want) {
					err = errors.New("different output: " + string(data))
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestNothingOutside: the names a script starts with are Starlark's own
// universe and this package's; none reaches files, the network, the
// clock, the environment or randomness.
func TestNothingOutside(t *testing.T) {
	var names []string
	for k := range starlark.Universe {
		names = append(names, k)
	}
	for k := range starlib.Predeclared(starlib.Options{}) {
		names = append(names, k)
	}
	sort.Strings(names)
	want := []string{
		"None", "False", "True", "abs", "any", "all", "bool", "bytes", "chr", "config", "dict", "dir", "enumerate",
		"fail", "features", "float", "getattr", "hasattr", "hash", "int", "len", "list", "max", "min", "ord",
		"print", "range", "repr", "reversed", "runnable", "set", "sorted", "str", "struct", "tuple", "type", "verdict", "why", "zip",
		// Pure functions of a feature set (core/psabi).
		"abi_level", "abi_level_features",
		// plugins reaches only the checks of Options.Plugins: sandboxed
		// WebAssembly, itself without files, network or clock.
		"plugins",
		// export reaches libvirt's CPU map only through
		// Options.LibvirtMap, which the caller grants.
		"export",
	}
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Errorf("predeclared names:\n got %v\nwant %v", names, want)
	}
}

// TestAttrNames: every attribute a value lists exists, and dir() is sorted.
func TestAttrNames(t *testing.T) {
	loadFixtures(t)
	c := fixtures.cat72
	model, _ := c.Attr("model")
	m, err := starlark.Call(&starlark.Thread{}, model, starlark.Tuple{starlark.String("Haswell-v4")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := starlib.NewConfig(c, "Haswell-v4,+avx512f", "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := starlib.NewContext("p", starlib.Input{Catalog: c}, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := cfg.Attr("resolution")
	mt, _ := cfg.Attr("machine")
	for _, v := range []starlark.HasAttrs{c, m.(starlark.HasAttrs), mt.(starlark.HasAttrs), cfg, res.(starlark.HasAttrs), ctx, fixtures.hosts["this-machine"]} {
		names := v.AttrNames()
		if !slices.IsSorted(names) {
			t.Errorf("%s: AttrNames not sorted: %v", v.Type(), names)
		}
		for _, name := range names {
			if x, err := v.Attr(name); x == nil || err != nil {
				t.Errorf("%s.%s = %v, %v", v.Type(), name, x, err)
			}
		}
		if x, err := v.Attr("nope"); x != nil || err != nil {
			t.Errorf("%s.nope = %v, %v; want nil, nil", v.Type(), x, err)
		}
	}
}

// TestPrint: print goes to Options.Print with its position, or nowhere.
func TestPrint(t *testing.T) {
	loadFixtures(t)
	src := "\"\"\"Prints.\"\"\"\n\nprint(\"loading\")\n\ndef check(ctx):\n    print(\"checking\", ctx.catalog.name)\n"
	var got []string
	opts := starlib.Options{Print: func(msg string) { got = append(got, msg) }}
	p, err := starlib.LoadPolicy(fstest.MapFS{"p.star": {Data: []byte(src)}}, "p.star", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(context.Background(), starlib.Input{Catalog: fixtures.cat72}); err != nil {
		t.Fatal(err)
	}
	want := []string{"p.star:3:6: loading", "p.star:6:10: checking qemu-7.2"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := starlib.LoadPolicy(fstest.MapFS{"p.star": {Data: []byte(src)}}, "p.star", starlib.Options{}); err != nil {
		t.Errorf("print without Options.Print: %v", err)
	}
}
