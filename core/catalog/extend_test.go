package catalog

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// definitionOf reconstructs m's QEMU definition from c's answers on the
// newest pc-q35: the tcg answer with its latent features, plus vme,
// which only tcg's default props remove.
func definitionOf(t *testing.T, c *Catalog, m *Model) ModelDefinition {
	t.Helper()
	newest, _ := c.Newest("pc-q35")
	tf, tp := c.resolve(m, newest.Name, tcg)
	tf = tf.Union(c.latent(m, newest.Name, tcg))
	kf, _ := c.resolve(m, newest.Name, kvm)
	kf = kf.Union(c.latent(m, newest.Name, kvm))
	vme, _ := c.reg.Lookup("vme")
	if kf.Has(vme) {
		tf = tf.Add(vme)
	}
	d := ModelDefinition{Name: m.Name + "-def", Features: tf, Vendor: tp.Vendor, Family: tp.Family, Model: tp.Model,
		Stepping: tp.Stepping, ModelID: tp.ModelID,
		Level: tp.DefMinLevel, XLevel: tp.DefMinXLevel, XLevel2: tp.DefMinXLevel2,
		LevelExplicit: tp.LevelExplicit, XLevelExplicit: tp.XLevelExplicit, XLevel2Explicit: tp.XLevel2Explicit, Source: "test"}
	if d.LevelExplicit {
		d.Level = tp.Level
	}
	if d.XLevelExplicit {
		d.XLevel = tp.XLevel
	}
	if d.XLevel2Explicit {
		d.XLevel2 = tp.XLevel2
	}
	return d
}

// TestDefinitionsReproduceCatalog rebuilds every model of both embedded
// catalogs from its definition the way WithModels builds a plugin's
// model, and compares with the catalog's own answers (QEMU's) on every
// machine type under kvm and tcg: the accelerator default props and the
// use of machine defaults are right when they agree except where QEMU
// has compat properties naming the model itself.
func TestDefinitionsReproduceCatalog(t *testing.T) {
	for _, name := range EmbeddedNames() {
		t.Run(name, func(t *testing.T) {
			c, err := Embedded(name)
			if err != nil {
				t.Fatal(err)
			}
			total, bad := 0, 0
			byModel := map[string]int{}
			var first []string
			for i := range c.models {
				m := &c.models[i]
				if m.AliasOf != "" || m.Name == "base" {
					continue
				}
				d := definitionOf(t, c, m)
				for mi, mt := range c.machines {
					for _, acc := range c.accels {
						a, err := c.build(&d, mi, acc)
						if err != nil {
							t.Fatal(err)
						}
						f, p := c.resolve(m, mt.Name, acc)
						total++
						if f != a.f || p != a.p || (c.definitions && c.latent(m, mt.Name, acc) != a.lat) {
							bad++
							byModel[m.Name]++
							if len(first) < 10 {
								first = append(first, fmt.Sprintf("%s on %s (%s): features %s; latent %s; props equal %v",
									m.Name, mt.Name, acc, describeDiff(c.reg, a.f, f), describeDiff(c.reg, a.lat, c.latent(m, mt.Name, acc)), p == a.p))
							}
						}
					}
				}
			}
			var models []string
			for m, n := range byModel {
				models = append(models, fmt.Sprintf("%s:%d", m, n))
			}
			sort.Strings(models)
			t.Logf("%s: %d of %d answers differ; by model %v", name, bad, total, models)
			for _, f := range first {
				t.Error(f)
			}
		})
	}
}

// TestWithModels adds models by definition: a new name resolves as its
// definition says on every machine type, the same definition under a
// name the catalog has is skipped with a notice, and a different one is
// an error naming both.
func TestWithModels(t *testing.T) {
	c, err := Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := c.Model("EPYC-Genoa-v1")
	same := definitionOf(t, c, src)
	same.Name, same.Source = "EPYC-Genoa-v1", "plugin amd"
	renamed := same
	renamed.Name = "EPYC-Genoa-Copy-v1"
	changed := same
	avx, _ := c.reg.Lookup("avx512-fp16")
	changed.Features = changed.Features.Add(avx)

	n, notices, err := c.WithModels(c.reg, []ModelDefinition{same, renamed})
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "EPYC-Genoa-v1 of plugin amd is already in catalog qemu-10.0") {
		t.Errorf("notices = %q", notices)
	}
	if len(n.models) != len(c.models)+1 || len(c.models) != 152 {
		t.Errorf("%d models, want %d (and the original unchanged: %d)", len(n.models), len(c.models)+1, len(c.models))
	}
	m, err := n.Model("EPYC-Genoa-Copy-v1")
	if err != nil || m.Source != "plugin amd" || m.Base != "EPYC-Genoa-Copy" || m.Version != 1 {
		t.Fatalf("added model: %+v, %v", m, err)
	}
	for _, mt := range n.machines {
		for _, a := range n.accels {
			acc := core.Accel(a)
			want, _ := c.Resolve("EPYC-Genoa-v1", mt.Name, acc, "AuthenticAMD")
			got, err := n.Resolve("EPYC-Genoa-Copy-v1", mt.Name, acc, "AuthenticAMD")
			if err != nil || got.Features != want.Features || got.Props != want.Props {
				t.Errorf("%s (%s): copy resolves to %s", mt.Name, acc, describeDiff(c.reg, got.Features, want.Features))
			}
		}
	}

	_, _, err = c.WithModels(c.reg, []ModelDefinition{changed})
	if err == nil || !strings.Contains(err.Error(), "model EPYC-Genoa-v1 of plugin amd differs from catalog qemu-10.0's model EPYC-Genoa-v1") ||
		!strings.Contains(err.Error(), "avx512-fp16") {
		t.Errorf("changed definition: err = %v", err)
	}
	_, _, err = c.WithModels(c.reg, []ModelDefinition{renamed, {Name: renamed.Name, Source: "plugin other"}})
	if err == nil || !strings.Contains(err.Error(), "defined by both plugin amd and plugin other") {
		t.Errorf("two definitions of one name: err = %v", err)
	}
	// A catalog of a release without expansion rules takes no models
	// (and does not panic), but still takes a plugin's features.
	old := *c
	old.qemuVersion = "8.2.2"
	if _, _, err := old.WithModels(c.reg, []ModelDefinition{renamed}); err == nil ||
		!strings.Contains(err.Error(), "catalog qemu-10.0 is of QEMU 8.2.2: models of plugin amd are built with a known QEMU release's rules ("+core.KnownReleases()+"), so they join only catalogs of those") {
		t.Errorf("QEMU 8.2 catalog: err = %v", err)
	}
	if _, _, err := old.WithModels(c.reg, nil); err != nil {
		t.Errorf("QEMU 8.2 catalog, no models: %v", err)
	}
	other, _ := feature.Builtin().Extend("plugin x", feature.Feature{Name: "x-only", Loc: feature.Location{Leaf: 0xc0000001, Reg: 3, Bit: 30}})
	if _, _, err := c.WithModels(other, nil); err != nil {
		t.Errorf("extended registry refused: %v", err)
	}
}

// rawOf returns c's answers under accel as a Raw, as the importer would
// have recorded them from QEMU.
func rawOf(t testing.TB, c *Catalog, accel string) *Raw {
	t.Helper()
	raw := &Raw{QEMUVersion: c.qemuVersion, QEMUPackage: c.qemuPackage, HostVendor: c.importHostVendor, Definitions: c.definitions}
	for _, mt := range c.machines {
		raw.Machines = append(raw.Machines, RawMachine{Name: mt.Name, Alias: mt.Alias, Deprecated: mt.Deprecated})
	}
	for i := range c.models {
		m := &c.models[i]
		raw.Models = append(raw.Models, RawModel{Name: m.Name, AliasOf: m.AliasOf, Static: m.Static, MigrationSafe: m.MigrationSafe, Deprecated: m.Deprecated})
		for _, mt := range c.machines {
			r, err := c.Resolve(m.Name, mt.Name, core.Accel(accel), c.importHostVendor)
			if err != nil {
				t.Fatal(err)
			}
			p := r.Props
			e := RawExpansion{Model: m.Name, Machine: mt.Name, Accel: accel, Features: c.reg.Names(r.Features),
				Level: p.Level, XLevel: p.XLevel, XLevel2: p.XLevel2, Family: p.Family, ModelNum: p.Model, Stepping: p.Stepping,
				ModelID: p.ModelID, Vendor: p.Vendor, MinLevel: p.MinLevel, MinXLevel: p.MinXLevel, MinXLevel2: p.MinXLevel2,
				FullCPUIDAutoLevel: p.FullCPUIDAutoLevel, IntelPTAutoLevel: p.IntelPTAutoLevel,
				DefMinLevel: p.DefMinLevel, DefMinXLevel: p.DefMinXLevel, DefMinXLevel2: p.DefMinXLevel2,
				LevelExplicit: p.LevelExplicit, XLevelExplicit: p.XLevelExplicit, XLevel2Explicit: p.XLevel2Explicit}
			if lat := c.latent(m, mt.Name, accel); !lat.IsEmpty() {
				e.Latent = c.reg.Names(lat)
			}
			raw.Expansions = append(raw.Expansions, e)
		}
	}
	return raw
}

// TestDeriveKVMReproducesCatalog derives every kvm answer of each
// embedded catalog whose kvm data QEMU answered under kvm (captured)
// from its tcg answers, and requires QEMU's: the rules DeriveKVM applies
// (accelerator defaults, vme, expansion) are those of the release.
func TestDeriveKVMReproducesCatalog(t *testing.T) {
	for _, name := range EmbeddedNames() {
		t.Run(name, func(t *testing.T) {
			c, err := Embedded(name)
			if err != nil {
				t.Fatal(err)
			}
			if !c.HasAccel(core.KVM) || c.KVMData() != "" {
				t.Skipf("%s has no captured kvm data to compare with", name)
			}
			raw := rawOf(t, c, tcg)
			kvmExps, err := DeriveKVM(raw, c.reg, c.importHostVendor)
			if err != nil {
				t.Fatal(err)
			}
			if len(kvmExps) != len(raw.Expansions) {
				t.Fatalf("%d kvm answers derived from %d tcg answers", len(kvmExps), len(raw.Expansions))
			}
			tcgExps := raw.Expansions
			raw.Expansions = kvmExps
			if err := c.Verify(raw); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d derived kvm answers equal QEMU's", name, len(kvmExps))
			// And the catalog made of them is the embedded one, byte for
			// byte, but for its marker.
			raw.Expansions = append(tcgExps, kvmExps...)
			raw.KVMData = KVMDerived
			d, err := Compact(raw, c.reg, name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := embedded.ReadFile("data/" + name + ".json")
			marker := `,"kvm_data":"derived"`
			if !bytes.Contains(got, []byte(marker)) {
				t.Errorf("the derived catalog has no %s", marker)
			}
			if got := bytes.Replace(got, []byte(marker), nil, 1); !bytes.Equal(got, want) {
				t.Errorf("the catalog with derived kvm data differs from the embedded one: %s", firstDiffLine(got, want))
			}
			bin, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if b, err := parseBinary(bin, c.reg); err != nil {
				t.Error(err)
			} else if b.KVMData() != KVMDerived {
				t.Errorf("binary form: kvm_data %q", b.KVMData())
			}
			if p, err := Parse(name, got, c.reg); err != nil {
				t.Error(err)
			} else if p.KVMData() != KVMDerived {
				t.Errorf("JSON form: kvm_data %q", p.KVMData())
			}
		})
	}
}

// TestDeriveKVMRefuses: without definitions, or for an unknown release,
// nothing is derived.
func TestDeriveKVMRefuses(t *testing.T) {
	c, err := Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	raw := &Raw{QEMUVersion: "10.0.2"}
	if _, err := DeriveKVM(raw, c.reg, "AuthenticAMD"); err == nil || !strings.Contains(err.Error(), "needs the models' definitions") {
		t.Errorf("no definitions: err = %v", err)
	}
	raw = &Raw{QEMUVersion: "8.2.2", Definitions: true}
	if _, err := DeriveKVM(raw, c.reg, "AuthenticAMD"); err == nil {
		t.Error("QEMU 8.2: no error")
	}
}

// firstDiffLine shows the first line where a and b differ.
func firstDiffLine(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range max(len(la), len(lb)) {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) {
			return fmt.Sprintf("line %d: %.200s, want %.200s", i+1, x, y)
		}
	}
	return "equal"
}

// TestCompareDerivedKVM: a capture that the derivation reproduces has
// nothing to report; one whose QEMU turned a bit on that the rules do not
// (as a distribution's patch might) is named.
func TestCompareDerivedKVM(t *testing.T) {
	c, err := Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	raw := rawOf(t, c, tcg)
	raw.Expansions = append(raw.Expansions, rawOf(t, c, kvm).Expansions...)
	first, n, err := CompareDerivedKVM(raw, c.reg)
	if err != nil || n != 0 || len(first) != 0 {
		t.Fatalf("QEMU's own answers: %d differences %q, %v", n, first, err)
	}
	for i := range raw.Expansions {
		if e := &raw.Expansions[i]; e.Accel == kvm && e.Model == "qemu64-v1" {
			e.Features = append(slices.Clone(e.Features), "avx512f")
			slices.Sort(e.Features)
		}
	}
	first, n, err = CompareDerivedKVM(raw, c.reg)
	if err != nil || n != len(c.machines) || len(first) != 5 ||
		!strings.HasPrefix(first[0], "qemu64-v1 on pc-i440fx-1.4 (kvm): derived [] more, [avx512f] fewer features") {
		t.Errorf("avx512f on for qemu64-v1: %d differences %q, %v", n, first, err)
	}
}
