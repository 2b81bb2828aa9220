package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// sampleRaw is a committed sample of QEMU 7.2's own answers: 10 models
// × 7 machine types × kvm, tcg.
const sampleRaw = "../catalog/testdata/qemu-7.2-sample.raw.json"

func loadRaw(t testing.TB) *catalog.Raw {
	t.Helper()
	data, err := os.ReadFile(sampleRaw)
	if err != nil {
		t.Fatal(err)
	}
	var raw catalog.Raw
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", sampleRaw, err)
	}
	return &raw
}

func compact(t testing.TB, raw *catalog.Raw, name string) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Compact(raw, feature.Builtin(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// findExpansion returns the raw answer for a triple.
func findExpansion(t testing.TB, raw *catalog.Raw, model, machine, accel string) *catalog.RawExpansion {
	for i := range raw.Expansions {
		e := &raw.Expansions[i]
		if e.Model == model && e.Machine == machine && e.Accel == accel {
			return e
		}
	}
	t.Fatalf("no expansion of %s on %s under %s", model, machine, accel)
	return nil
}

func dropModel(raw *catalog.Raw, model string) {
	raw.Models = slices.DeleteFunc(raw.Models, func(m catalog.RawModel) bool { return m.Name == model })
	raw.Expansions = slices.DeleteFunc(raw.Expansions, func(e catalog.RawExpansion) bool { return e.Model == model })
}

func dropMachine(raw *catalog.Raw, machine string) {
	raw.Machines = slices.DeleteFunc(raw.Machines, func(m catalog.RawMachine) bool { return m.Name == machine })
	raw.Expansions = slices.DeleteFunc(raw.Expansions, func(e catalog.RawExpansion) bool { return e.Machine == machine })
}

// TestDiffAndVerify alters QEMU's answers the ways a new release can,
// builds a catalog from each with Compact, and requires Diff and Verify
// (of a lock of the unaltered sample) to name exactly the alteration.
func TestDiffAndVerify(t *testing.T) {
	for _, c := range []struct {
		name     string
		alter    func(t *testing.T, raw *catalog.Raw)
		diff     string // Diff's JSON
		findings []string
	}{{
		name:  "unchanged",
		alter: func(*testing.T, *catalog.Raw) {},
		diff:  `{"models_added":[],"models_removed":[],"machines_added":[],"machines_removed":[],"changed":[]}`,
	}, {
		name: "one triple gains a bit",
		alter: func(t *testing.T, raw *catalog.Raw) {
			e := findExpansion(t, raw, "Skylake-Client-v4", "pc-q35-2.4", "kvm")
			e.Features = append(e.Features, "avx512f")
			slices.Sort(e.Features)
		},
		diff:     `{"models_added":[],"models_removed":[],"machines_added":[],"machines_removed":[],"changed":[{"model":"Skylake-Client-v4","machine":"pc-q35-2.4","accel":"kvm","added":["avx512f"],"removed":[]}]}`,
		findings: []string{"Skylake-Client-v4 pc-q35-2.4 kvm: requires 1 more feature(s): +avx512f"},
	}, {
		name: "a model gains a bit on every machine type under tcg and loses one on one",
		alter: func(t *testing.T, raw *catalog.Raw) {
			for i := range raw.Expansions {
				e := &raw.Expansions[i]
				if e.Model == "Nehalem" && e.Accel == "tcg" {
					e.Features = append(e.Features, "rdrand")
					slices.Sort(e.Features)
				}
			}
			e := findExpansion(t, raw, "Nehalem", "pc-i440fx-2.0", "kvm")
			e.Features = slices.DeleteFunc(e.Features, func(f string) bool { return f == "popcnt" })
		},
		diff: `{"models_added":[],"models_removed":[],"machines_added":[],"machines_removed":[],"changed":[` +
			`{"model":"Nehalem","machine":"pc-i440fx-1.4","accel":"tcg","added":["rdrand"],"removed":[]},` +
			`{"model":"Nehalem","machine":"pc-i440fx-2.0","accel":"kvm","added":[],"removed":["popcnt"]},` +
			`{"model":"Nehalem","machine":"pc-i440fx-2.0","accel":"tcg","added":["rdrand"],"removed":[]},` +
			`{"model":"Nehalem","machine":"pc-i440fx-2.3","accel":"tcg","added":["rdrand"],"removed":[]},` +
			`{"model":"Nehalem","machine":"pc-i440fx-2.4","accel":"tcg","added":["rdrand"],"removed":[]},` +
			`{"model":"Nehalem","machine":"pc-i440fx-4.0","accel":"tcg","added":["rdrand"],"removed":[]},` +
			`{"model":"Nehalem","machine":"pc-q35-2.4","accel":"tcg","added":["rdrand"],"removed":[]},` +
			`{"model":"Nehalem","machine":"pc-q35-7.2","accel":"tcg","added":["rdrand"],"removed":[]}]}`,
		findings: []string{
			"Nehalem pc-i440fx-1.4 tcg: requires 1 more feature(s): +rdrand",
			"Nehalem pc-i440fx-2.0 tcg: requires 1 more feature(s): +rdrand",
			"Nehalem pc-i440fx-2.3 tcg: requires 1 more feature(s): +rdrand",
			"Nehalem pc-i440fx-2.4 tcg: requires 1 more feature(s): +rdrand",
			"Nehalem pc-i440fx-4.0 tcg: requires 1 more feature(s): +rdrand",
			"Nehalem pc-q35-2.4 tcg: requires 1 more feature(s): +rdrand",
			"Nehalem pc-q35-7.2 tcg: requires 1 more feature(s): +rdrand",
			"Nehalem pc-i440fx-2.0 kvm: definition changed without a new version name: -popcnt",
		},
	}, {
		name: "a triple trades one bit for another",
		alter: func(t *testing.T, raw *catalog.Raw) {
			e := findExpansion(t, raw, "EPYC-v3", "pc-i440fx-4.0", "kvm")
			e.Features = append(slices.DeleteFunc(e.Features, func(f string) bool { return f == "sha-ni" }), "avx512f")
			slices.Sort(e.Features)
		},
		diff:     `{"models_added":[],"models_removed":[],"machines_added":[],"machines_removed":[],"changed":[{"model":"EPYC-v3","machine":"pc-i440fx-4.0","accel":"kvm","added":["avx512f"],"removed":["sha-ni"]}]}`,
		findings: []string{"EPYC-v3 pc-i440fx-4.0 kvm: requires 1 more feature(s): +avx512f -sha-ni"},
	}, {
		// The features stay, so Diff sees nothing; the guest's CPUID
		// does change, so Verify does.
		name: "a model-id changes",
		alter: func(t *testing.T, raw *catalog.Raw) {
			findExpansion(t, raw, "qemu64", "pc-q35-7.2", "tcg").ModelID = "QEMU Virtual CPU version 10.0"
		},
		diff:     `{"models_added":[],"models_removed":[],"machines_added":[],"machines_removed":[],"changed":[]}`,
		findings: []string{"qemu64 pc-q35-7.2 tcg: definition changed without a new version name: CPUID properties differ"},
	}, {
		name: "a model and a machine type are dropped, a model is added",
		alter: func(t *testing.T, raw *catalog.Raw) {
			dropModel(raw, "Haswell")
			dropMachine(raw, "pc-i440fx-1.4")
			raw.Models = append(raw.Models, catalog.RawModel{Name: "Haswell-v9"})
			for _, m := range raw.Machines {
				for _, a := range []string{"kvm", "tcg"} {
					e := *findExpansion(t, raw, "Nehalem", m.Name, a)
					e.Model = "Haswell-v9"
					raw.Expansions = append(raw.Expansions, e)
				}
			}
			slices.SortFunc(raw.Models, func(x, y catalog.RawModel) int { return strings.Compare(x.Name, y.Name) })
		},
		diff: `{"models_added":["Haswell-v9"],"models_removed":["Haswell"],"machines_added":[],"machines_removed":["pc-i440fx-1.4"],"changed":[]}`,
		findings: []string{
			"model Haswell is gone: 14 locked triples cannot start",
			"machine type pc-i440fx-1.4 is gone: 20 locked triples cannot start",
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			before := compact(t, loadRaw(t), "before")
			raw := loadRaw(t)
			c.alter(t, raw)
			after := compact(t, raw, "after")

			d := Diff(before, after)
			got, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.diff {
				t.Errorf("Diff:\n got %s\nwant %s", got, c.diff)
			}
			common := (len(before.Models()) - len(d.ModelsRemoved)) * (len(before.Machines()) - len(d.MachinesRemoved)) * 2
			if d.Common != common {
				t.Errorf("Diff compared %d triples, want %d", d.Common, common)
			}

			lf, err := Lock(before, Scope{})
			if err != nil {
				t.Fatal(err)
			}
			rep := Verify(lf, after)
			var findings []string
			for i := range rep.Findings {
				findings = append(findings, rep.Findings[i].String())
			}
			if fmt.Sprintf("%q", findings) != fmt.Sprintf("%q", c.findings) {
				t.Errorf("Verify:\n got %q\nwant %q", findings, c.findings)
			}
			if rep.OK() != (len(c.findings) == 0) {
				t.Errorf("OK() = %v with %d findings", rep.OK(), len(rep.Findings))
			}
			if rep.Locked != 140 {
				t.Errorf("%d triples locked, want 140", rep.Locked)
			}
		})
	}
}

// TestDiffSwapped: B → A adds what A → B removes, and every change flips.
func TestDiffSwapped(t *testing.T) {
	a, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	raw := loadRaw(t)
	e := findExpansion(t, raw, "Haswell", "pc-q35-7.2", "tcg")
	e.Features = append(e.Features, "avx512f")
	slices.Sort(e.Features)
	dropModel(raw, "phenom")
	b := compact(t, raw, "b")
	ab, ba := Diff(a, b), Diff(b, a)
	if !slices.Equal(ab.ModelsAdded, ba.ModelsRemoved) || !slices.Equal(ab.ModelsRemoved, ba.ModelsAdded) ||
		!slices.Equal(ab.MachinesAdded, ba.MachinesRemoved) || !slices.Equal(ab.MachinesRemoved, ba.MachinesAdded) {
		t.Errorf("A→B %+v\nB→A %+v", ab, ba)
	}
	if len(ab.Changed) != len(ba.Changed) || ab.Common != ba.Common || len(ab.Changed) == 0 {
		t.Fatalf("%d and %d changes of %d and %d triples", len(ab.Changed), len(ba.Changed), ab.Common, ba.Common)
	}
	for i := range ab.Changed {
		x, y := ab.Changed[i], ba.Changed[i]
		if x.Model != y.Model || x.Machine != y.Machine || x.Accel != y.Accel || !slices.Equal(x.Added, y.Removed) || !slices.Equal(x.Removed, y.Added) {
			t.Errorf("A→B %+v, B→A %+v", x, y)
		}
	}
	if !slices.Contains(ab.ModelsRemoved, "Skylake-Server-v4") || !slices.IsSorted(ab.ModelsRemoved) {
		t.Errorf("models removed from the full catalog to the sample: %v", ab.ModelsRemoved)
	}
}

// TestDiffEmbeddedSelf: a catalog has no drift from itself, over all its
// triples, and the JSON form's lists are [] rather than null.
func TestDiffEmbeddedSelf(t *testing.T) {
	for _, name := range catalog.EmbeddedNames() {
		c, err := catalog.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		d := Diff(c, c)
		if want := len(c.Models()) * len(c.Machines()) * len(c.Accels()); d.Common != want || len(d.Changed) != 0 {
			t.Errorf("%s: %d changes over %d triples, want 0 over %d", name, len(d.Changed), d.Common, want)
		}
		data, _ := json.Marshal(d)
		if strings.Contains(string(data), "null") {
			t.Errorf("%s: %s", name, data)
		}
	}
}

// TestVerifyDefinitions: a change to what -cpu options apply to, and
// nothing else, fails a lock; a catalog without definitions (the sample,
// QEMU 7.2's own answers) verifies a lock that has them on expansions
// alone, and says so.
func TestVerifyDefinitions(t *testing.T) {
	data, err := os.ReadFile("../catalog/data/qemu-7.2.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	scope := Scope{Models: []string{"Skylake-Client-v4", "Nehalem"}, Machines: []string{"pc-q35-7.2", "pc-i440fx-2.4"}}
	lf, err := Lock(c, scope)
	if err != nil {
		t.Fatal(err)
	}
	if !lf.Definitions {
		t.Fatal("the qemu-7.2 lock has no definitions")
	}

	// Skylake-Client-v4 defines VMX capabilities its expansion hides
	// (no vmx); one more hidden one changes nothing a guest sees today.
	line := []byte(`{"name":"Skylake-Client-v4",`)
	i := bytes.Index(data, line)
	j := i + bytes.IndexByte(data[i:], '\n')
	if i < 0 || !bytes.Contains(data[i:j], []byte(`"latent":["`)) {
		t.Fatal("no latent features in Skylake-Client-v4's line")
	}
	altered := slices.Concat(data[:i], bytes.Replace(data[i:j], []byte(`"latent":["`), []byte(`"latent":["vmx-posted-intr","`), 1), data[j:])
	if bytes.Contains(data[i:j], []byte(`"vmx-posted-intr"`)) {
		t.Fatal("Skylake-Client-v4 already has vmx-posted-intr")
	}
	alt, err := catalog.Parse("altered.json", altered, feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(c, alt); len(d.Changed) != 0 {
		t.Errorf("Diff sees the hidden change: %v", d.Changed)
	}
	rep := Verify(lf, alt)
	var got []string
	for i := range rep.Findings {
		got = append(got, rep.Findings[i].String())
	}
	const msg = ": definition changed without a new version name: its hidden features or own levels differ (what -cpu options apply to)"
	want := []string{
		"Skylake-Client-v4 pc-i440fx-2.4 kvm" + msg, "Skylake-Client-v4 pc-i440fx-2.4 tcg" + msg,
		"Skylake-Client-v4 pc-q35-7.2 kvm" + msg, "Skylake-Client-v4 pc-q35-7.2 tcg" + msg,
	}
	if !slices.Equal(got, want) || rep.DefinitionsUnchecked {
		t.Errorf("Verify (unchecked %v):\n got %q\nwant %q", rep.DefinitionsUnchecked, got, want)
	}

	sample := compact(t, loadRaw(t), "sample")
	if sample.Definitions() {
		t.Fatal("the sample has definitions")
	}
	if rep := Verify(lf, sample); !rep.OK() || !rep.DefinitionsUnchecked || rep.Checked != 8 {
		t.Errorf("qemu-7.2 lock on QEMU 7.2's own sample: checked %d, unchecked definitions %v, findings %v", rep.Checked, rep.DefinitionsUnchecked, rep.Findings)
	}
	// And the other way round: a lock without definitions.
	lf2, err := Lock(sample, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if rep := Verify(lf2, c); !rep.OK() || !rep.DefinitionsUnchecked || rep.Checked != 140 {
		t.Errorf("sample lock on qemu-7.2: checked %d, unchecked definitions %v, findings %v", rep.Checked, rep.DefinitionsUnchecked, rep.Findings)
	}
}
