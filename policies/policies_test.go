package policies_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/catalog/qemuimport"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
	"github.com/cpupolicy/cpupolicy/policies"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// hostsDir holds the recorded snapshots the tests use as fixtures: the
// directory `cpupolicy test` finds for the policies (the nearest
// testdata/hosts above them).
const hostsDir = "../testdata/hosts"

// testCatalog is the catalog the policies' tests run with, as under
// `cpupolicy test`.
const testCatalog = "qemu-7.2"

// fixtureSet is what every test works over: the embedded catalogs and
// every recorded host, loaded once.
type fixtureSet struct {
	cats  map[string]*starlib.Catalog // by embedded name
	cat72 *starlib.Catalog
	hosts map[string]*starlib.Host // by file name without .json
}

var loadFixtureSet = sync.OnceValues(func() (*fixtureSet, error) {
	f := &fixtureSet{cats: map[string]*starlib.Catalog{}}
	for _, name := range catalog.EmbeddedNames() {
		c, err := catalog.Embedded(name)
		if err != nil {
			return nil, err
		}
		f.cats[name] = starlib.NewCatalog(c)
	}
	if f.cat72 = f.cats[testCatalog]; f.cat72 == nil {
		return nil, errors.New("no embedded catalog " + testCatalog)
	}
	var err error
	if f.hosts, err = starlib.LoadTestHosts(hostsDir, true, starlib.Options{}); err != nil {
		return nil, err
	}
	if len(f.hosts) == 0 {
		return nil, errors.New("no recorded hosts in " + hostsDir)
	}
	return f, nil
})

func fixtures(t testing.TB) *fixtureSet {
	t.Helper()
	f, err := loadFixtureSet()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPolicyScripts runs every test_* function of every *_test.star with
// the globals and the runner of `cpupolicy test` (starlib.TestGlobals,
// Script.RunTests), each as a subtest file/name; todo_test_* functions
// are skipped.
func TestPolicyScripts(t *testing.T) {
	f := fixtures(t)
	files, err := fs.Glob(policies.FS, "*_test.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no *_test.star (%v)", err)
	}
	opts := starlib.Options{Print: func(msg string) { t.Log(msg) }}
	if opts.Predeclared, err = starlib.TestGlobals(starlib.TestFixtures{Catalog: f.cat72, Catalogs: f.cats, Hosts: f.hosts}, opts); err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			s, err := starlib.LoadScript(policies.FS, file, opts)
			if err != nil {
				t.Fatal(err)
			}
			ran := 0
			for _, r := range s.RunTests(context.Background(), f.cat72, nil) {
				if r.Status != starlib.TestSkip {
					ran++
				}
				t.Run(r.Name, func(t *testing.T) {
					for _, msg := range r.Failures {
						t.Error(msg)
					}
					switch r.Status {
					case starlib.TestError:
						t.Fatal(r.Err)
					case starlib.TestSkip:
						t.Skip("todo")
					}
				})
			}
			if ran == 0 {
				t.Errorf("%s has no test_ functions", file)
			}
		})
	}
}

// TestNames: the names are a contract, and each is a policy that loads,
// with a docstring, and has tests.
func TestNames(t *testing.T) {
	want := []string{"abi-level", "explicit-kvm-bits", "migration-safe", "no-new-host-deps", "runnable"}
	if got := policies.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	for _, name := range want {
		p, err := starlib.LoadPolicy(policies.FS, name+".star", starlib.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != name || p.Doc == "" {
			t.Errorf("%s: Name %q, Doc %q", name, p.Name, p.Doc)
		}
		if _, err := policies.FS.Open(name + "_test.star"); err != nil {
			t.Errorf("%s has no tests: %v", name, err)
		}
	}
}

// policy loads a built-in policy.
func policy(t testing.TB, name string) *starlib.Policy {
	t.Helper()
	p, err := starlib.LoadPolicy(policies.FS, name+".star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run checks one policy over in.
func run(t testing.TB, name string, in starlib.Input) []starlib.Violation {
	t.Helper()
	vs, err := policy(t, name).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// historyKey is one no-new-host-deps violation in one line:
// "model | machine | previous-machine | features".
func historyKey(model, machine, prev string, features []string) string {
	return model + " | " + machine + " | " + prev + " | " + strings.Join(features, ",")
}

func historyKeys(vs []starlib.Violation) []string {
	var out []string
	for _, v := range vs {
		prev, _ := v.Extra["previous-machine"].(string)
		out = append(out, historyKey(v.Model, v.Machine, prev, v.Features))
	}
	slices.Sort(out)
	return out
}

// deriveHistory computes what no-new-host-deps must report straight from
// QEMU's expansions under accel, without the catalog: for each family, in
// version order, each pair of consecutive machine types whose newer one is
// not deprecated, each model's features on the newer one that it lacks on
// the older one.
func deriveHistory(t testing.TB, raw *catalog.Raw, accel string) []string {
	t.Helper()
	reg := feature.Builtin()
	type mt struct {
		name       string
		version    []int
		deprecated bool
	}
	families := map[string][]mt{}
	for _, m := range raw.Machines {
		fam, v, ok := catalog.ParseMachineName(m.Name)
		if !ok {
			t.Fatalf("machine type %q", m.Name)
		}
		families[fam] = append(families[fam], mt{m.Name, v, m.Deprecated})
	}
	sets := map[[2]string]feature.FeatureSet{}
	for _, e := range raw.Expansions {
		if e.Accel != accel {
			continue
		}
		s, err := reg.Set(e.Features...)
		if err != nil {
			t.Fatalf("%s on %s: %v", e.Model, e.Machine, err)
		}
		sets[[2]string{e.Model, e.Machine}] = s
	}
	var out []string
	for _, mts := range families {
		slices.SortFunc(mts, func(a, b mt) int { return slices.Compare(a.version, b.version) })
		for i := 1; i < len(mts); i++ {
			if mts[i].deprecated {
				continue
			}
			for _, m := range raw.Models {
				before, ok1 := sets[[2]string{m.Name, mts[i-1].name}]
				now, ok2 := sets[[2]string{m.Name, mts[i].name}]
				if !ok1 || !ok2 {
					t.Fatalf("no %s expansion of %s on %s or %s", accel, m.Name, mts[i-1].name, mts[i].name)
				}
				if added := now.Difference(before); !added.IsEmpty() {
					out = append(out, historyKey(m.Name, mts[i].name, mts[i-1].name, reg.Names(added)))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// diffKeys reports the lines only in got and only in want.
func diffKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	g := map[string]bool{}
	for _, k := range got {
		g[k] = true
	}
	w := map[string]bool{}
	for _, k := range want {
		w[k] = true
	}
	var extra, missing []string
	for _, k := range got {
		if !w[k] {
			extra = append(extra, k)
		}
	}
	for _, k := range want {
		if !g[k] {
			missing = append(missing, k)
		}
	}
	if len(extra) > 0 || len(missing) > 0 || len(got) != len(want) {
		t.Errorf("%s: %d violations, want %d\nunexpected:\n\t%s\nmissing:\n\t%s", what, len(got), len(want),
			strings.Join(extra, "\n\t"), strings.Join(missing, "\n\t"))
	}
}

// history72 is QEMU 7.2's history of new host dependencies: how many
// model names gain each feature on each machine type, and which when
// they are few. Unversioned aliases and -vN names count separately.
var history72 = []struct {
	feature, machine string
	count            int
	models           []string // when listed
}{
	{"x2apic", "pc-i440fx-2.0", 61, nil},
	{"f16c", "pc-i440fx-2.3", 2, []string{"Broadwell", "Haswell"}},
	{"rdrand", "pc-i440fx-2.3", 2, []string{"Broadwell", "Haswell"}},
	{"vme", "pc-i440fx-2.3", 14, []string{"Broadwell", "Conroe", "Haswell", "Nehalem", "Opteron_G1", "Opteron_G2", "Opteron_G3",
		"Opteron_G4", "Opteron_G5", "Penryn", "SandyBridge", "Westmere", "kvm32", "kvm64"}},
	{"arat", "pc-i440fx-2.4", 85, nil},
	{"abm", "pc-i440fx-2.5", 4, []string{"Broadwell", "Broadwell-noTSX", "Haswell", "Haswell-noTSX"}},
	{"abm", "pc-q35-2.5", 4, []string{"Broadwell", "Broadwell-noTSX", "Haswell", "Haswell-noTSX"}},
	{"clflushopt", "pc-i440fx-2.12", 1, []string{"Skylake-Server"}},
	{"clflushopt", "pc-q35-2.12", 1, []string{"Skylake-Server"}},
	{"topoext", "pc-i440fx-3.0", 13, nil},
	{"topoext", "pc-q35-3.0", 13, nil},
	{"pku", "pc-i440fx-3.1", 2, []string{"Skylake-Server", "Skylake-Server-IBRS"}},
	{"pku", "pc-q35-3.1", 2, []string{"Skylake-Server", "Skylake-Server-IBRS"}},
	{"rdtscp", "pc-i440fx-4.0", 3, []string{"Opteron_G3", "Opteron_G4", "Opteron_G5"}},
	{"rdtscp", "pc-q35-4.0", 3, []string{"Opteron_G3", "Opteron_G4", "Opteron_G5"}},
}

// TestNoNewHostDepsHistory holds no-new-host-deps, run on the embedded
// qemu-7.2 catalog, to QEMU's own answers: the concrete history above,
// the committed sample of QEMU 7.2's expansions, and — when QEMU 7.2 and
// a usable /dev/kvm are here — every expansion of the live QEMU.
func TestNoNewHostDepsHistory(t *testing.T) {
	f := fixtures(t)
	got := run(t, "no-new-host-deps", starlib.Input{Catalog: f.cat72})

	t.Run("history", func(t *testing.T) {
		byKey := map[[2]string][]string{}
		for _, v := range got {
			for _, feat := range v.Features {
				k := [2]string{feat, v.Machine}
				byKey[k] = append(byKey[k], v.Model)
			}
		}
		for _, h := range history72 {
			k := [2]string{h.feature, h.machine}
			models := byKey[k]
			delete(byKey, k)
			if len(models) != h.count {
				t.Errorf("%s on %s: %d models, want %d", h.feature, h.machine, len(models), h.count)
			}
			if h.models != nil && !slices.Equal(models, h.models) {
				t.Errorf("%s on %s: models %q, want %q", h.feature, h.machine, models, h.models)
			}
		}
		for k, models := range byKey {
			t.Errorf("%s on %s: %d models (%s), want none", k[0], k[1], len(models), strings.Join(models, " "))
		}
	})

	t.Run("sample", func(t *testing.T) {
		data, err := os.ReadFile("../core/catalog/testdata/qemu-7.2-sample.raw.json")
		if err != nil {
			t.Fatal(err)
		}
		var raw catalog.Raw
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		want := deriveHistory(t, &raw, string(core.KVM))
		if len(want) == 0 {
			t.Fatal("the sample shows no new host dependency: it cannot test the policy")
		}
		// The policy over the sample alone (its machine types are not
		// consecutive in QEMU's list, so the pairs are the sample's own).
		sc, err := catalog.Compact(&raw, feature.Builtin(), "qemu-7.2-sample")
		if err != nil {
			t.Fatal(err)
		}
		diffKeys(t, "policy over the sample", historyKeys(run(t, "no-new-host-deps", starlib.Input{Catalog: starlib.NewCatalog(sc)})), want)
		// The embedded catalog says what the sample says, so the policy
		// over it judges QEMU's answers.
		c := f.cat72.Catalog()
		reg := c.Registry()
		for _, e := range raw.Expansions {
			s, _ := reg.Set(e.Features...)
			cf, err := c.Features(e.Model, e.Machine, core.Accel(e.Accel))
			if err != nil {
				t.Fatal(err)
			}
			if !cf.Equal(s) {
				t.Errorf("embedded catalog: %s on %s (%s) is %v, QEMU said %v", e.Model, e.Machine, e.Accel, reg.Names(cf), e.Features)
			}
		}
		// Where the sample's pairs are consecutive in the catalog too,
		// the policy over the embedded catalog reports the same.
		consecutive := map[string]string{} // newer → older, in the catalog
		for _, fam := range []string{"pc-i440fx", "pc-q35"} {
			mts := c.MachineTypes(fam)
			for i := 1; i < len(mts); i++ {
				consecutive[mts[i].Name] = mts[i-1].Name
			}
		}
		inSample := map[string]bool{}
		for _, m := range raw.Models {
			inSample[m.Name] = true
		}
		for _, m := range raw.Machines {
			inSample[m.Name] = true
		}
		// keep selects a violation of a sample model on a pair of sample
		// machine types that are consecutive in the catalog too.
		keep := func(keys []string) []string {
			var out []string
			for _, k := range keys {
				p := strings.Split(k, " | ") // model, machine, previous, features
				if inSample[p[0]] && inSample[p[1]] && inSample[p[2]] && consecutive[p[1]] == p[2] {
					out = append(out, k)
				}
			}
			return out
		}
		here := keep(want)
		diffKeys(t, "policy over the embedded catalog, on the sample's pairs consecutive in it", keep(historyKeys(got)), here)
		t.Logf("sample: %d violations derived from %d expansions; %d on pairs consecutive in the catalog", len(want), len(raw.Expansions), len(here))
	})

	t.Run("live", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the live import starts 56 QEMU processes")
		}
		bin := testenv.Need(t, testenv.QEMU, "import QEMU 7.2's catalog live (the sample above stands in for it)")
		testenv.Need(t, testenv.KVM, "QEMU's kvm expansions")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		raw, err := qemuimport.Import(ctx, qemuimport.Options{Binary: bin, Accels: []string{string(core.KVM)}})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range raw.Models {
			names = append(names, m.Name)
		}
		var catNames []string
		for _, m := range f.cat72.Catalog().Models() {
			catNames = append(catNames, m.Name)
		}
		if !slices.Equal(names, catNames) {
			t.Errorf("QEMU has models %q, the catalog %q", names, catNames)
		}
		want := deriveHistory(t, raw, string(core.KVM))
		diffKeys(t, "policy over the embedded catalog vs live QEMU", historyKeys(got), want)
		t.Logf("live: %d violations derived from %d kvm expansions of %s (%d models × %d machine types), imported in %v",
			len(want), len(raw.Expansions), bin, len(raw.Models), len(raw.Machines), time.Since(start).Round(time.Millisecond))
	})
}

// kvmBits are the bits explicit-kvm-bits is about, as the issue names
// them: KVM's paravirtual defaults and x2apic.
var kvmBits = []string{"kvmclock", "kvm-nopiodelay", "kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi", "kvmclock-stable-bit", "x2apic"}

// TestExplicitKVMBitsEveryModel judges every model of qemu-7.2 on
// pc-q35-7.2 under kvm, bare and with KVM bits named, turned off, or all
// named, against what Go derives from the catalog directly: the KVM bits
// the model has under kvm and not under tcg, less those the spec names.
func TestExplicitKVMBitsEveryModel(t *testing.T) {
	f := fixtures(t)
	c := f.cat72.Catalog()
	reg := c.Registry()
	bits, err := reg.Set(kvmBits...)
	if err != nil {
		t.Fatal(err)
	}
	const machine = "pc-q35-7.2"
	allNamed := ""
	for _, b := range kvmBits {
		allNamed += "," + b + "=on"
	}
	variants := []struct{ suffix, spec string }{
		{"", ""},
		{"+all", allNamed},
		{"+kvmclock", ",kvmclock=on"},
		{"-kvm-pv-eoi", ",-kvm-pv-eoi"},
	}
	st := &site.Site{}
	want := map[string][]string{} // offer → features
	bare := 0
	for _, m := range c.Models() {
		kvm, err := c.Resolve(m.Name, machine, core.KVM, "")
		if err != nil {
			t.Fatal(err)
		}
		tcg, err := c.Resolve(m.Name, machine, core.TCG, "")
		if err != nil {
			t.Fatal(err)
		}
		byKVM := kvm.Features.Difference(tcg.Features).Intersect(bits)
		for _, v := range variants {
			name, cpu := m.Name+v.suffix, m.Name+v.spec
			spec, err := c.ParseCPU(cpu)
			if err != nil {
				t.Fatal(err)
			}
			on, off := spec.Explicit()
			st.Offers = append(st.Offers, site.Offer{Name: name, CPU: cpu, Machine: machine})
			if w := byKVM.Difference(on).Difference(off); !w.IsEmpty() {
				want[name] = reg.Names(w)
				if v.suffix == "" {
					bare++
				}
			}
		}
	}
	got := map[string][]string{}
	for _, v := range run(t, "explicit-kvm-bits", starlib.Input{Catalog: f.cat72, Site: st}) {
		name, _ := v.Extra["offer"].(string)
		if _, dup := got[name]; dup {
			t.Errorf("offer %s reported twice", name)
		}
		got[name] = v.Features
		if v.Machine != machine {
			t.Errorf("offer %s: machine %q, want %q", name, v.Machine, machine)
		}
	}
	for _, o := range st.Offers {
		if !slices.Equal(got[o.Name], want[o.Name]) {
			t.Errorf("offer %s (%s): flagged %q, want %q", o.Name, o.CPU, got[o.Name], want[o.Name])
		}
	}
	// The concrete cases of the issue, and the shape of the whole.
	paravirt := slices.Sorted(slices.Values(kvmBits[:6]))
	if g := got["Haswell-v4"]; !slices.Equal(g, paravirt) {
		t.Errorf("Haswell-v4: flagged %q, want %q", g, paravirt)
	}
	if g := got["base"]; g != nil {
		t.Errorf("base: flagged %q, want nothing (QEMU gives it no KVM bit)", g)
	}
	for _, o := range st.Offers {
		if strings.HasSuffix(o.Name, "+all") && got[o.Name] != nil {
			t.Errorf("%s: every KVM bit named, still flagged %q", o.CPU, got[o.Name])
		}
	}
	if bare != len(c.Models())-1 { // "base" gets no KVM bit
		t.Errorf("%d of %d bare models flagged, want all but base", bare, len(c.Models()))
	}
	t.Logf("%d offers (%d models × %d specs), %d flagged", len(st.Offers), len(c.Models()), len(variants), len(got))
}

// poolSite offers every model of the catalog on pc-q35-7.2 under kvm on
// each of three pools of recorded hosts: two Intel, Intel and AMD, and
// two AMD of which one was probed live (so that every layer shows).
func poolSite(t testing.TB) *site.Site {
	f := fixtures(t)
	h := f.hosts
	st := &site.Site{Pools: []site.Pool{
		{Name: "intel", Hosts: []*site.Host{h["xeon-gold-6130"].Site(), h["core-i7-8550u"].Site()}},
		{Name: "mixed", Hosts: []*site.Host{h["xeon-gold-6130"].Site(), h["epyc-7502-32-core"].Site()}},
		{Name: "amd", Hosts: []*site.Host{h["epyc-7502-32-core"].Site(), h["this-machine"].Site()}},
	}}
	for _, p := range st.Pools {
		for _, m := range f.cat72.Catalog().Models() {
			st.Offers = append(st.Offers, site.Offer{Name: m.Name + "@" + p.Name, CPU: m.Name, Machine: "pc-q35-7.2", Pool: p.Name})
		}
	}
	return st
}

// guest is what Go derives, without Starlark, for one offer on one host.
type guest struct {
	gets    feature.FeatureSet
	missing map[string]string // feature → layer
	vendor  string
}

func deriveGuest(t testing.TB, o site.Offer, h *site.Host) guest {
	t.Helper()
	c := fixtures(t).cat72.Catalog()
	reg := c.Registry()
	rel, _, err := check.ReleaseFor(c.QEMUVersion())
	if err != nil {
		t.Fatal(err)
	}
	a, err := check.Compute(reg, h.Snapshot, rel, core.KVM)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Resolve(o.CPU, o.Machine, core.KVM, h.Snapshot.Vendor)
	if err != nil {
		t.Fatal(err)
	}
	g := guest{gets: res.Features.Intersect(a.Set), missing: map[string]string{}, vendor: res.Vendor}
	for id := range res.Features.Difference(a.Set).All() {
		g.missing[reg.Name(id)] = a.Layer(id)
	}
	return g
}

// layersString is a Go map[string]string in the policies' "f (layer)"
// form, in canonical (sorted) order.
func layersString(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+" ("+m[k]+")")
	}
	return strings.Join(parts, ", ")
}

// asStrings converts a violation's extra map[string]any of strings.
func asStrings(x any) map[string]string {
	out := map[string]string{}
	m, _ := x.(map[string]any)
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

// TestRunnablePools: every model on three pools of recorded hosts; each
// violation names the host and the layer that lacks each bit, as
// core/check decides them.
func TestRunnablePools(t *testing.T) {
	f := fixtures(t)
	st := poolSite(t)
	pools := map[string]site.Pool{}
	for _, p := range st.Pools {
		pools[p.Name] = p
	}
	want := map[[2]string]map[string]string{} // (offer, host) → missing
	for _, o := range st.Offers {
		for _, h := range pools[o.Pool].Hosts {
			if g := deriveGuest(t, o, h); len(g.missing) > 0 {
				want[[2]string{o.Name, h.Name}] = g.missing
			}
		}
	}
	layers := map[string]int{}
	got := map[[2]string]bool{}
	for _, v := range run(t, "runnable", starlib.Input{Catalog: f.cat72, Site: st}) {
		offer, _ := v.Extra["offer"].(string)
		hostName, _ := v.Extra["host"].(string)
		k := [2]string{offer, hostName}
		got[k] = true
		w, ok := want[k]
		if !ok {
			t.Errorf("offer %s on %s: reported, want runnable", offer, hostName)
			continue
		}
		if feats := slices.Sorted(maps.Keys(w)); !slices.Equal(v.Features, feats) {
			t.Errorf("offer %s on %s: features %q, want %q", offer, hostName, v.Features, feats)
		}
		if l := asStrings(v.Extra["layers"]); !maps.Equal(l, w) {
			t.Errorf("offer %s on %s: layers %v, want %v", offer, hostName, l, w)
		}
		if !strings.Contains(v.Message, " on "+hostName+": "+layersString(w)) {
			t.Errorf("offer %s on %s: message %q does not name the host and the layers", offer, hostName, v.Message)
		}
		if v.Extra["pool"] != st.Offers[slices.IndexFunc(st.Offers, func(o site.Offer) bool { return o.Name == offer })].Pool {
			t.Errorf("offer %s on %s: pool %v", offer, hostName, v.Extra["pool"])
		}
		for _, l := range w {
			layers[l]++
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("offer %s on %s: not reported, want %v", k[0], k[1], want[k])
		}
	}
	for _, l := range []string{"hw", "os", "kvm"} {
		if layers[l] == 0 {
			t.Errorf("no missing bit in layer %s: the pools do not test it", l)
		}
	}
	t.Logf("%d offers, not runnable on %d (offer, host) pairs; missing bits by layer: %v", len(st.Offers), len(want), layers)
}

// TestMigrationSafePools: every model on the same pools; each pair of
// hosts whose guests would differ is reported with what each lacks, the
// layer, and the vendors.
func TestMigrationSafePools(t *testing.T) {
	f := fixtures(t)
	st := poolSite(t)
	pools := map[string]site.Pool{}
	for _, p := range st.Pools {
		pools[p.Name] = p
	}
	type pair struct {
		features []string
		missing  map[string]map[string]string
		vendors  map[string]string
	}
	want := map[[3]string]pair{} // (offer, host, host)
	for _, o := range st.Offers {
		hs := pools[o.Pool].Hosts
		for i := range hs {
			for j := i + 1; j < len(hs); j++ {
				a, b := deriveGuest(t, o, hs[i]), deriveGuest(t, o, hs[j])
				if a.gets.Equal(b.gets) && a.vendor == b.vendor {
					continue
				}
				p := pair{
					features: fixtures(t).cat72.Catalog().Registry().Names(a.gets.SymmetricDifference(b.gets)),
					missing:  map[string]map[string]string{hs[i].Name: {}, hs[j].Name: {}},
					vendors:  map[string]string{hs[i].Name: a.vendor, hs[j].Name: b.vendor},
				}
				for feat, l := range a.missing {
					if _, lacks := b.missing[feat]; !lacks {
						p.missing[hs[i].Name][feat] = l
					}
				}
				for feat, l := range b.missing {
					if _, lacks := a.missing[feat]; !lacks {
						p.missing[hs[j].Name][feat] = l
					}
				}
				want[[3]string{o.Name, hs[i].Name, hs[j].Name}] = p
			}
		}
	}
	got := map[[3]string]bool{}
	vendorOnly := 0
	for _, v := range run(t, "migration-safe", starlib.Input{Catalog: f.cat72, Site: st}) {
		offer, _ := v.Extra["offer"].(string)
		hs, _ := v.Extra["hosts"].([]any)
		if len(hs) != 2 {
			t.Errorf("offer %s: hosts %v, want a pair", offer, v.Extra["hosts"])
			continue
		}
		a, _ := hs[0].(string)
		b, _ := hs[1].(string)
		k := [3]string{offer, a, b}
		got[k] = true
		w, ok := want[k]
		if !ok {
			t.Errorf("offer %s between %s and %s: reported, want safe", offer, a, b)
			continue
		}
		if !slices.Equal(v.Features, w.features) {
			t.Errorf("offer %s between %s and %s: features %q, want %q", offer, a, b, v.Features, w.features)
		}
		m, _ := v.Extra["missing"].(map[string]any)
		for _, h := range []string{a, b} {
			if l := asStrings(m[h]); !maps.Equal(l, w.missing[h]) {
				t.Errorf("offer %s between %s and %s: %s lacks %v, want %v", offer, a, b, h, l, w.missing[h])
			}
			if len(w.missing[h]) > 0 && !strings.Contains(v.Message, h+" lacks "+layersString(w.missing[h])) {
				t.Errorf("offer %s between %s and %s: message %q does not say what %s lacks", offer, a, b, v.Message, h)
			}
		}
		if vs := asStrings(v.Extra["vendors"]); !maps.Equal(vs, w.vendors) {
			t.Errorf("offer %s between %s and %s: vendors %v, want %v", offer, a, b, vs, w.vendors)
		}
		if len(w.features) == 0 {
			vendorOnly++
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("offer %s between %s and %s: not reported, want %+v", k[0], k[1], k[2], want[k])
		}
	}
	if vendorOnly == 0 {
		t.Error("no pair differs by vendor alone: the mixed pool does not test it")
	}
	t.Logf("%d offers, %d unsafe pairs (%d by vendor alone)", len(st.Offers), len(want), vendorOnly)
}

// TestMigrationSafeMarkedModel: a model its catalog marks not
// migration-safe (as `catalog import libvirt` marks one with an xsaves or
// invtsc feature) is a violation on every pool, even of one host or of
// hosts that give it the same CPU, and the policy agrees with
// site.Judge, which fleet and labels use.
func TestMigrationSafeMarkedModel(t *testing.T) {
	f := fixtures(t)
	ref := f.cat72.Catalog()
	reg := ref.Registry()
	set, err := reg.Set("sse2", "xsave", "xsaves")
	if err != nil {
		t.Fatal(err)
	}
	models := []catalog.Model{
		{Name: "safe", Features: set, Static: true, MigrationSafe: true},
		{Name: "unsafe", Features: set, Static: true},
	}
	for i := range models {
		models[i].Props.Vendor = "GenuineIntel"
	}
	c, err := catalog.Uniform("marked", reg, ref.Machines(), models)
	if err != nil {
		t.Fatal(err)
	}
	h := f.hosts
	pools := []site.Pool{
		{Name: "one", Hosts: []*site.Host{h["xeon-gold-6130"].Site()}},
		{Name: "two", Hosts: []*site.Host{h["xeon-gold-6130"].Site(), h["core-i7-8550u"].Site()}},
	}
	st := &site.Site{Pools: pools}
	for _, p := range pools {
		for _, m := range []string{"safe", "unsafe"} {
			st.Offers = append(st.Offers, site.Offer{Name: m + "@" + p.Name, CPU: m, Pool: p.Name})
		}
	}
	var got []string
	for _, v := range run(t, "migration-safe", starlib.Input{Catalog: starlib.NewCatalog(c), Site: st}) {
		got = append(got, v.Extra["offer"].(string)+": "+v.Message)
	}
	want := []string{
		"unsafe@one: offer unsafe@one (unsafe on pc-q35-7.2) cannot live-migrate: catalog marked marks model unsafe not migration-safe",
		"unsafe@two: offer unsafe@two (unsafe on pc-q35-7.2) cannot live-migrate: catalog marked marks model unsafe not migration-safe",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// site.Judge, as fleet calls it, gives the same verdict.
	for _, o := range st.Offers {
		cfg, err := site.Resolve(c, o, "")
		if err != nil {
			t.Fatal(err)
		}
		var avail []site.Availability
		for _, sh := range pools[slices.IndexFunc(pools, func(p site.Pool) bool { return p.Name == o.Pool })].Hosts {
			rel, _, err := check.ReleaseFor(c.QEMUVersion())
			if err != nil {
				t.Fatal(err)
			}
			a, err := sh.Availability(reg, rel, core.KVM)
			if err != nil {
				t.Fatal(err)
			}
			avail = append(avail, site.Availability{Host: sh.Name, Vendor: sh.Snapshot.Vendor, Set: a.Set})
		}
		v, err := site.Judge(cfg, avail)
		if err != nil {
			t.Fatal(err)
		}
		if reported := slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, o.Name+":") }); v.MigrationSafe() == reported {
			t.Errorf("offer %s: site.Judge says migration-safe %v, the policy reported it: %v", o.Name, v.MigrationSafe(), reported)
		}
		if !v.Runnable() {
			t.Errorf("offer %s: not runnable on %s", o.Name, o.Pool)
		}
	}
}

// BenchmarkSuite runs every built-in policy over the whole embedded
// qemu-7.2 catalog: no-new-host-deps over its 130 models × 55 machine
// types, and the site rules over every model offered on pc-q35-7.2 in one
// pool of the four recorded hosts with KVM data (130 offers, 520 host
// checks, 780 host pairs). Goal: ≤ 100 ms an op.
func BenchmarkSuite(b *testing.B) {
	f := fixtures(b)
	var ps []*starlib.Policy
	for _, name := range policies.Names() {
		ps = append(ps, policy(b, name))
	}
	h := f.hosts
	st := &site.Site{Pools: []site.Pool{{Name: "fleet", Hosts: []*site.Host{
		h["xeon-gold-6130"].Site(), h["core-i7-8550u"].Site(), h["epyc-7502-32-core"].Site(), h["this-machine"].Site()}}}}
	for _, m := range f.cat72.Catalog().Models() {
		st.Offers = append(st.Offers, site.Offer{Name: m.Name, CPU: m.Name, Machine: "pc-q35-7.2", Pool: "fleet"})
	}
	in := starlib.Input{Catalog: f.cat72, Site: st}
	check := func(b *testing.B, ps []*starlib.Policy) int {
		n := 0
		for _, p := range ps {
			vs, err := p.Check(context.Background(), in)
			if err != nil {
				b.Fatal(err)
			}
			n += len(vs)
		}
		return n
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n = check(b, ps)
		}
		b.ReportMetric(float64(n), "violations")
	})
	for _, p := range ps {
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = check(b, []*starlib.Policy{p})
			}
			b.ReportMetric(float64(n), "violations")
		})
	}
}

// TestHistoryWaivers: examples/waivers/qemu-7.2-history.json, read as
// `cpupolicy check --waivers` reads it, waives every violation
// no-new-host-deps reports on the embedded qemu-7.2 catalog, each with
// exactly one waiver listing exactly its features, and every waiver is
// used.
func TestHistoryWaivers(t *testing.T) {
	f := fixtures(t)
	const file = "../examples/waivers/qemu-7.2-history.json"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := f.cat72.Catalog()
	ws, err := site.ParseWaivers(file, data, c.Registry())
	if err != nil {
		t.Fatal(err)
	}
	// ParseWaivers canonicalizes features: the file must list them so
	// already, for stricter matchers.
	var listed struct{ Waivers []struct{ Features []string } }
	if err := json.Unmarshal(data, &listed); err != nil || len(listed.Waivers) != len(ws) {
		t.Fatalf("%s: %d waivers listed, %d parsed (%v)", file, len(listed.Waivers), len(ws), err)
	}
	seen := map[[3]string]bool{}
	for i, w := range ws {
		where := fmt.Sprintf("%s: waiver %d (%s %s %s)", w.Source, i, w.Policy, w.Model, w.Machine)
		if !slices.Contains(policies.Names(), w.Policy) {
			t.Errorf("%s: unknown policy", where)
		}
		if _, err := c.Machine(w.Machine); w.Machine != site.WaiveAny && err != nil {
			t.Errorf("%s: %v", where, err)
		}
		if _, err := c.Model(w.Model); w.Model != site.WaiveAny && err != nil {
			t.Errorf("%s: %v", where, err)
		}
		if l := listed.Waivers[i].Features; len(l) == 0 || !slices.IsSorted(l) || !slices.Equal(l, w.Features) {
			t.Errorf("%s: features %q, want canonical names in canonical order (%q)", where, l, w.Features)
		}
		if len(w.Reason) < 40 {
			t.Errorf("%s: reason %q says too little", where, w.Reason)
		}
		k := [3]string{w.Policy, w.Model, w.Machine}
		if seen[k] {
			t.Errorf("%s: duplicate", where)
		}
		seen[k] = true
	}

	used := make([]int, len(ws))
	for _, v := range run(t, "no-new-host-deps", starlib.Input{Catalog: f.cat72}) {
		var by []int
		for i, w := range ws {
			if w.Matches(v) {
				by = append(by, i)
				used[i]++
			}
		}
		switch {
		case len(by) == 0:
			t.Errorf("not waived: %s on %s: %q", v.Model, v.Machine, v.Features)
		case len(by) > 1:
			t.Errorf("%s on %s: waived by %d waivers (%v), want one", v.Model, v.Machine, len(by), by)
		case !slices.Equal(ws[by[0]].Features, v.Features):
			t.Errorf("%s on %s: features %q, waived as %q: want them equal, for stricter matchers", v.Model, v.Machine, v.Features, ws[by[0]].Features)
		}
	}
	for i, n := range used {
		if n == 0 {
			w := ws[i]
			t.Errorf("%s: waiver %d (%s %s %q) waives nothing", w.Source, i, w.Model, w.Machine, w.Features)
		}
	}
}
