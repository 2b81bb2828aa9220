package libvirt

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

const testMap = "testdata/cpu_map"

// byName is the registry's features whose libvirt name is in names: the
// join by name, against which the map's join by location is checked.
func byName(t *testing.T, reg *feature.Registry, names []string) feature.FeatureSet {
	t.Helper()
	var s feature.FeatureSet
	for _, n := range names {
		found := false
		for _, f := range reg.Features() {
			if f.Libvirt == n {
				s, found = s.Add(f.ID), true
			}
		}
		if !found {
			t.Errorf("no registry feature has libvirt name %q", n)
		}
	}
	return s
}

func TestLoadTestdataMap(t *testing.T) {
	reg := feature.Builtin()
	m, err := LoadMap(testMap, reg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mo := range m.Models {
		names = append(names, mo.Name)
	}
	// In include order, as libvirt loads them; ppc64's include (absent
	// here) is not read.
	want := []string{"486", "pentium", "qemu64", "Haswell-noTSX-IBRS", "Skylake-Server", "EPYC"}
	if !slices.Equal(names, want) {
		t.Fatalf("models %v, want %v", names, want)
	}
	if len(m.Vendors) != 3 || len(m.Features) != 212 {
		t.Errorf("%d vendors, %d features; want 3, 212", len(m.Vendors), len(m.Features))
	}
	epyc, _ := m.Model("EPYC")
	if epyc.Vendor != "AMD" || !slices.Equal(epyc.Removed, []string{"monitor"}) || slices.Contains(epyc.Features, "monitor") {
		t.Errorf("EPYC: vendor %q, removed %v, features have monitor: %v", epyc.Vendor, epyc.Removed, slices.Contains(epyc.Features, "monitor"))
	}
	if got := epyc.Signatures; len(got) != 1 || got[0] != (Signature{Family: 23, Model: 1}) {
		t.Errorf("EPYC signatures %v", got)
	}
	sky, _ := m.Model("Skylake-Server")
	if got := sky.Signatures; len(got) != 1 || got[0] != (Signature{Family: 6, Model: 85, Steppings: 0b11111}) {
		t.Errorf("Skylake-Server signatures %+v, want family 6 model 85 steppings 0-4", got)
	}
	for _, mo := range m.Models {
		if got, want := mo.Set, byName(t, reg, mo.Features); got != want {
			t.Errorf("%s: by location %v, by name %v", mo.Name, reg.Names(got), reg.Names(want))
		}
		if mo.Set.Count() != len(mo.Features) {
			t.Errorf("%s: %d features, %d libvirt names", mo.Name, mo.Set.Count(), len(mo.Features))
		}
	}
	h, _ := m.Model("Haswell-noTSX-IBRS")
	if !h.Set.Has(mustID(t, reg, "pclmulqdq")) || !h.Set.Has(mustID(t, reg, "lahf-lm")) || h.Set.Has(mustID(t, reg, "hle")) {
		t.Errorf("Haswell-noTSX-IBRS: pclmuldq and lahf_lm should map to pclmulqdq and lahf-lm, and it has no hle: %v", reg.Names(h.Set))
	}
}

func mustID(t *testing.T, reg *feature.Registry, name string) feature.ID {
	t.Helper()
	id, err := reg.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestDebianMap loads the CPU map Debian's libvirt0 installs: every
// feature a model uses maps to the registry by location, and agrees with
// the registry's libvirt names.
func TestDebianMap(t *testing.T) {
	if _, err := os.Stat(DefaultMapDir + "/index.xml"); err != nil {
		testenv.Missing(t, testenv.LibvirtCPUMap, "no libvirt CPU map: %v", err)
	}
	reg := feature.Builtin()
	m, err := LoadMap(DefaultMapDir, reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Models) < 50 {
		t.Errorf("%d models, want libvirt 9.0's 58 or more", len(m.Models))
	}
	used := map[string]bool{}
	for _, mo := range m.Models {
		for _, f := range mo.Features {
			used[f] = true
		}
		if got, want := mo.Set, byName(t, reg, mo.Features); got != want {
			t.Errorf("%s: by location %v, by name %v", mo.Name, reg.Names(got), reg.Names(want))
		}
	}
	for _, f := range m.Features {
		for id := range f.IDs.All() {
			if lv := reg.Feature(id).Libvirt; lv != f.Name {
				t.Errorf("libvirt feature %s is at the bit of %s, whose libvirt name is %q", f.Name, reg.Name(id), lv)
			}
		}
		if len(f.Unmapped) > 0 && used[f.Name] {
			t.Errorf("feature %s is used by a model but maps to no registry feature", f.Name)
		}
	}
}

func TestInheritance(t *testing.T) {
	fsys := testFS(t, `<cpus>
  <model name='Base'>
    <signature family='6' model='60'/>
    <vendor name='Intel'/>
    <feature name='fpu'/>
    <feature name='sse2'/>
  </model>
  <model name='Derived'>
    <model name='Base'/>
    <feature name='avx'/>
    <feature name='sse2' removed='yes'/>
  </model>
  <model name='Other'>
    <model name='Derived'/>
    <signature family='23' model='1' stepping='1,3-4'/>
    <vendor name='AMD'/>
  </model>
</cpus>`)
	reg := feature.Builtin()
	m, err := LoadMapFS(fsys, "map", reg)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := m.Model("Derived")
	if d.Ancestor != "Base" || d.Vendor != "Intel" || !slices.Equal(d.Features, []string{"avx", "fpu", "sse2"}) ||
		!slices.Equal(d.Removed, []string{"sse2"}) || len(d.Signatures) != 1 || d.Signatures[0].Model != 60 {
		t.Errorf("Derived: %+v", d)
	}
	o, _ := m.Model("Other")
	if o.Vendor != "AMD" || len(o.Features) != 3 || len(o.Signatures) != 1 || o.Signatures[0] != (Signature{23, 1, 0b11010}) {
		t.Errorf("Other: %+v", o)
	}
	machines := []catalog.MachineType{{Name: "pc-q35-7.2"}, {Name: "pc-i440fx-7.2"}}
	cat, err := m.Catalog("libvirt-test", reg, machines)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range machines {
		for _, acc := range []core.Accel{core.KVM, core.TCG} {
			r, err := cat.Resolve("Other", mt.Name, acc, "GenuineIntel")
			if err != nil {
				t.Fatal(err)
			}
			if got := reg.Names(r.Features); !slices.Equal(got, []string{"avx", "fpu", "sse2"}) {
				t.Errorf("Other on %s (%s): %v", mt.Name, acc, got)
			}
			wantVendor := "AuthenticAMD"
			if acc == core.KVM {
				wantVendor = "GenuineIntel" // the host's, as QEMU gives kvm guests
			}
			if r.Vendor != wantVendor || r.Family != 23 || r.Props.Model != 1 || r.Stepping != 1 {
				t.Errorf("Other on %s (%s): vendor %s family %d model %d stepping %d", mt.Name, acc, r.Vendor, r.Family, r.Props.Model, r.Stepping)
			}
		}
	}
	// The file form round-trips.
	data, err := cat.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := catalog.Parse("libvirt-test.json", data, reg)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Marshal()
	if string(again) != string(data) {
		t.Errorf("catalog does not round-trip:\n%s\n---\n%s", data, again)
	}
}

// testFS is the test map's vendors and features with models as the
// only model file.
func testFS(t testing.TB, models string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{
		"index.xml": {Data: []byte(`<cpus><arch name='x86'>
  <include filename='x86_vendors.xml'/>
  <include filename='x86_features.xml'/>
  <include filename='models.xml'/>
</arch></cpus>`)},
		"models.xml": {Data: []byte(models)},
	}
	for _, f := range []string{"x86_vendors.xml", "x86_features.xml"} {
		data, err := os.ReadFile(testMap + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	return fsys
}

func TestMapErrors(t *testing.T) {
	for _, tc := range []struct{ name, models, want string }{
		{"malformed", "<cpus>\n  <model name='X'>\n    <feature name='fpu'>\n  </model>\n</cpus>",
			"map/models.xml:4: malformed XML: element <feature> closed by </model>"},
		{"unknown feature", "<cpus>\n  <model name='X'>\n    <feature name='avx2x'/>\n  </model>\n</cpus>",
			`map/models.xml:3: model X: unknown libvirt feature "avx2x" (did you mean "avx2"?)`},
		{"qemu spelling", "<cpus>\n<model name='X'>\n<feature name='pclmulqdq'/>\n</model>\n</cpus>",
			`map/models.xml:3: model X: unknown libvirt feature "pclmulqdq" (did you mean "pclmuldq"?)`},
		{"unmapped", "<cpus>\n<model name='X'>\n<feature name='osxsave'/>\n</model>\n</cpus>",
			`map/models.xml:3: model X: libvirt feature "osxsave" (defined at map/x86_features.xml:`},
		{"ancestor", "<cpus>\n<model name='X'>\n<model name='Haswel'/>\n</model>\n<model name='Haswell'/>\n</cpus>",
			`map/models.xml:3: model X: ancestor model "Haswel" is not defined before it`},
		{"vendor", "<cpus>\n<model name='X'>\n<vendor name='intel'/>\n</model>\n</cpus>",
			`map/models.xml:3: model X: unknown vendor "intel" (did you mean "Intel"?)`},
		{"duplicate", "<cpus>\n<model name='X'/>\n<model name='X'/>\n</cpus>",
			"map/models.xml:3: model X defined again (first at map/models.xml:2)"},
		{"stepping", "<cpus>\n<model name='X'>\n<signature family='6' model='1' stepping='3-2'/>\n</model>\n</cpus>",
			`map/models.xml:3: model X: signature stepping="3-2": "3-2" is not a range of steppings 0-15`},
		{"root", "<cpu/>", "map/models.xml:1: root element is <cpu>, want <cpus>"},
		{"empty", "", "map/models.xml:1: malformed XML: no root element"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadMapFS(testFS(t, tc.models), "map", feature.Builtin())
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %s…", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestIndexErrors(t *testing.T) {
	for _, tc := range []struct{ name, index, want string }{
		{"escape", "<cpus><arch name='x86'>\n<include filename='../etc/passwd'/></arch></cpus>",
			`map/index.xml:2: include "../etc/passwd": not a file name in the map's directory`},
		{"missing", "<cpus><arch name='x86'>\n<include filename='nope.xml'/></arch></cpus>",
			`map/index.xml:2: include "nope.xml": map/nope.xml: file does not exist`},
		{"twice", "<cpus><arch name='x86'>\n<include filename='x86_vendors.xml'/>\n<include filename='x86_vendors.xml'/></arch></cpus>",
			`map/index.xml:3: include "x86_vendors.xml" again (first at line 2)`},
		{"no x86", "<cpus>\n<arch name='arm'/></cpus>", "map/index.xml:1: no <arch name='x86'>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := testFS(t, "<cpus/>")
			fsys["index.xml"] = &fstest.MapFile{Data: []byte(tc.index)}
			_, err := LoadMapFS(fsys, "map", feature.Builtin())
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// FuzzLoadMap loads the test map's vendors and features with the fuzzed
// model file. Seeds: the real model files in testdata. Property: no
// panic, one-line errors that name the file, and every loaded model's
// feature set is exactly its names joined by name.
func FuzzLoadMap(f *testing.F) {
	for _, s := range []string{"x86_486.xml", "x86_pentium.xml", "x86_qemu64.xml", "x86_Haswell-noTSX-IBRS.xml", "x86_EPYC.xml", "x86_Skylake-Server.xml"} {
		data, err := os.ReadFile(testMap + "/" + s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("<cpus><model name='A'><feature name='fpu'/></model><model name='B'><model name='A'/><feature name='fpu' removed='yes'/></model></cpus>")
	reg := feature.Builtin()
	lv := libvirtNames(reg)
	// The features the seeds use, alone: the full 21 KiB feature file
	// would make each run mostly a re-parse of it.
	base := testFS(f, "")
	full, err := LoadMap(testMap, reg)
	if err != nil {
		f.Fatal(err)
	}
	feats := string(base["x86_features.xml"].Data)
	var sub strings.Builder
	sub.WriteString("<cpus>\n")
	for _, ft := range full.Features {
		for _, mo := range full.Models {
			if slices.Contains(mo.Features, ft.Name) || slices.Contains(mo.Removed, ft.Name) {
				start := strings.Index(feats, "<feature name='"+ft.Name+"'")
				end := start + strings.Index(feats[start:], "</feature>") + len("</feature>")
				sub.WriteString(feats[start:end] + "\n")
				break
			}
		}
	}
	sub.WriteString("</cpus>\n")
	base["x86_features.xml"] = &fstest.MapFile{Data: []byte(sub.String())}
	f.Fuzz(func(t *testing.T, models string) {
		fsys := maps.Clone(base)
		fsys["models.xml"] = &fstest.MapFile{Data: []byte(models)}
		m, err := LoadMapFS(fsys, "map", reg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "map/") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the file on one line", err)
			}
			return
		}
		for _, mo := range m.Models {
			var want feature.FeatureSet
			for _, n := range mo.Features {
				want = want.Add(lv.ids[n])
			}
			if mo.Set != want {
				t.Fatalf("%s: set %v, names %v", mo.Name, reg.Names(mo.Set), mo.Features)
			}
		}
	})
}
