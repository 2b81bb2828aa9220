package drift

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/catalog/qemuimport"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

var fullLive = flag.Bool("full", false, "TestDiffLive: import every common machine type, not one per behaviour class")

// liveQEMU finds the QEMU binary whose release the embedded catalog name
// was imported from: Debian's 7.2 in $PATH, the 10.0 that
// scripts/qemu-release.sh unpacks into /opt/qemu-10.0.
func liveQEMU(t *testing.T, name string) string {
	t.Helper()
	req := map[string]testenv.Req{"qemu-7.2": testenv.QEMU, "qemu-10.0": testenv.QEMU10}[name]
	return testenv.Need(t, req, "compare catalog "+name+" with the QEMU it was imported from")
}

// machineHelp lists the pc-i440fx and pc-q35 machine types of bin, as
// `-machine help` prints them: the whole list, independent of the
// machine types a test imports.
func machineHelp(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command(bin, "-machine", "help").Output()
	if err != nil {
		t.Fatalf("%s -machine help: %v", bin, err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && (strings.HasPrefix(f[0], "pc-i440fx-") || strings.HasPrefix(f[0], "pc-q35-")) {
			names = append(names, f[0])
		}
	}
	return names
}

// behaviourClasses returns one machine type (the newest) of each run of
// consecutive common machine types on which every model resolves alike,
// in both catalogs: a resolution that differs between the releases on
// some machine type either differs on its whole run — and shows on the
// run's representative — or splits the run in one of the catalogs, and
// the split makes a new run. It rests on the catalogs being faithful to
// their QEMUs, which TestFidelityLive checks against the same binaries.
func behaviourClasses(a, b *catalog.Catalog, common []string) []string {
	same := func(c *catalog.Catalog, m1, m2 string) bool {
		catModels := c.Models()
		for i := range catModels {
			for _, acc := range c.Accels() {
				h1, _ := hashTriple(c, catModels[i].Name, m1, acc)
				h2, _ := hashTriple(c, catModels[i].Name, m2, acc)
				if h1 != h2 {
					return false
				}
			}
		}
		return true
	}
	var out []string
	for i, m := range common {
		last := i+1 == len(common) || family(common[i+1]) != family(m) ||
			!same(a, m, common[i+1]) || !same(b, m, common[i+1])
		if last {
			out = append(out, m)
		}
	}
	return out
}

func family(m string) string { f, _, _ := catalog.ParseMachineName(m); return f }

// setDiff returns the members of y not in x, sorted.
func setDiff(x, y []string) []string {
	in := map[string]bool{}
	for _, s := range x {
		in[s] = true
	}
	out := []string{}
	for _, s := range y {
		if !in[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestDiffLive derives `catalog diff qemu-7.2 qemu-10.0` from what the
// two real QEMUs say — query-cpu-definitions, `-machine help` and the
// raw query-cpu-model-expansion answers, compared as lists of names,
// without Compact, Resolve or FeatureSet — and requires Diff on the
// embedded catalogs to say the same. It also requires Verify of a
// qemu-7.2 lock against qemu-10.0 to flag exactly the triples whose raw
// answers differ in any way.
func TestDiffLive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: imports from two QEMU releases")
	}
	binA, binB := liveQEMU(t, "qemu-7.2"), liveQEMU(t, "qemu-10.0")
	a, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	got := Diff(a, b)

	// Machine types: the whole lists, from each binary.
	machA, machB := machineHelp(t, binA), machineHelp(t, binB)
	if want := setDiff(machA, machB); !slices.Equal(sortedCopy(got.MachinesAdded), want) {
		t.Errorf("machines added: Diff says %v, the QEMUs %v", got.MachinesAdded, want)
	}
	if want := setDiff(machB, machA); !slices.Equal(sortedCopy(got.MachinesRemoved), want) {
		t.Errorf("machines removed: Diff says %v, the QEMUs %v", got.MachinesRemoved, want)
	}
	var common []string
	for _, mt := range a.Machines() {
		if slices.Contains(machB, mt.Name) && slices.Contains(machA, mt.Name) {
			common = append(common, mt.Name)
		}
	}
	machines := common
	if !*fullLive {
		machines = behaviourClasses(a, b, common)
	}
	t.Logf("importing %d of %d common machine types: %v", len(machines), len(common), machines)

	start := time.Now()
	import1 := func(bin string) *catalog.Raw {
		raw, err := qemuimport.Import(context.Background(), qemuimport.Options{Binary: bin, Machines: machines})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	rawA, rawB := import1(binA), import1(binB)
	t.Logf("imported %d + %d expansions in %v", len(rawA.Expansions), len(rawB.Expansions), time.Since(start).Round(time.Millisecond))

	// Models: query-cpu-definitions, whole.
	names := func(r *catalog.Raw) []string {
		var out []string
		for _, m := range r.Models {
			out = append(out, m.Name)
		}
		return out
	}
	if want := setDiff(names(rawA), names(rawB)); !slices.Equal(got.ModelsAdded, want) {
		t.Errorf("models added: Diff says %v, the QEMUs %v", got.ModelsAdded, want)
	}
	if want := setDiff(names(rawB), names(rawA)); !slices.Equal(got.ModelsRemoved, want) {
		t.Errorf("models removed: Diff says %v, the QEMUs %v", got.ModelsRemoved, want)
	}

	// Triples: every expansion both QEMUs answered.
	type key struct{ model, machine, accel string }
	byKey := map[key]catalog.RawExpansion{}
	var accels []string
	for _, e := range rawB.Expansions {
		byKey[key{e.Model, e.Machine, e.Accel}] = e
		if !slices.Contains(accels, e.Accel) {
			accels = append(accels, e.Accel)
		}
	}
	var want []Change
	wantFindings := map[key]bool{}
	compared := 0
	for _, ea := range rawA.Expansions {
		eb, ok := byKey[key{ea.Model, ea.Machine, ea.Accel}]
		if !ok {
			continue
		}
		compared++
		added, removed := setDiff(ea.Features, eb.Features), setDiff(eb.Features, ea.Features)
		if len(added)+len(removed) > 0 {
			want = append(want, Change{Model: ea.Model, Machine: ea.Machine, Accel: core.Accel(ea.Accel), Added: added, Removed: removed})
		}
		if !sameDefinition(ea, eb) {
			wantFindings[key{ea.Model, ea.Machine, ea.Accel}] = true
		}
	}
	if compared == 0 {
		t.Fatal("no triple in both imports")
	}
	var have []Change
	for _, c := range got.Changed {
		if slices.Contains(machines, c.Machine) && slices.Contains(accels, string(c.Accel)) {
			have = append(have, c)
		}
	}
	key1 := func(c Change) string { return c.Model + " " + c.Machine + " " + string(c.Accel) }
	slices.SortFunc(want, func(x, y Change) int { return strings.Compare(key1(x), key1(y)) })
	slices.SortFunc(have, func(x, y Change) int { return strings.Compare(key1(x), key1(y)) })
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Errorf("changed triples on %v:\nDiff says %v\nthe QEMUs %v", machines, have, want)
	}

	// Verify flags exactly the triples whose answers differ.
	lf, err := Lock(a, Scope{Machines: machines, Accels: accels})
	if err != nil {
		t.Fatal(err)
	}
	rep := Verify(lf, b)
	flagged := map[key]bool{}
	for _, f := range rep.Findings {
		switch f.Kind {
		case Requirements, Definition:
			flagged[key{f.Model, f.Machine, f.Accel}] = true
		case ModelGone:
			if !slices.Contains(got.ModelsRemoved, f.Model) {
				t.Errorf("Verify: %s", f.String())
			}
		default:
			t.Errorf("Verify: %s (every imported machine type and accel is in both)", f.String())
		}
	}
	if fmt.Sprint(flagged) != fmt.Sprint(wantFindings) {
		t.Errorf("Verify flags %v, the QEMUs' answers differ on %v", flagged, wantFindings)
	}
	t.Logf("%d triples compared on %d machine types × %v: %d changed features, %d changed definitions; %d models added, %d removed; %d machine types added, %d removed",
		compared, len(machines), accels, len(want), len(wantFindings), len(got.ModelsAdded), len(got.ModelsRemoved), len(got.MachinesAdded), len(got.MachinesRemoved))
}

// sameDefinition compares two raw answers on everything a lock hashes:
// features, latent definition features and every CPUID property. The
// vendor under kvm is the import host's in both (the same host).
func sameDefinition(x, y catalog.RawExpansion) bool {
	x.Model, x.Machine, x.Accel = "", "", ""
	y.Model, y.Machine, y.Accel = "", "", ""
	return fmt.Sprintf("%+v", x) == fmt.Sprintf("%+v", y)
}

func sortedCopy(s []string) []string {
	return slices.Sorted(slices.Values(s))
}
