package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

func loadRaw(t testing.TB, path string) *Raw {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw Raw
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &raw
}

func TestEmbeddedCatalogs(t *testing.T) {
	names := EmbeddedNames()
	if len(names) == 0 {
		t.Fatal("no embedded catalogs")
	}
	for _, n := range names {
		c, err := Embedded(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if c.name != n || !strings.HasPrefix(c.qemuVersion, strings.TrimPrefix(n, "qemu-")+".") {
			t.Errorf("%s: name %q, QEMU %q", n, c.name, c.qemuVersion)
		}
		if len(c.models) < 100 || len(c.machines) < 30 { // 11.1 dropped the types up to 2.12: 36 left
			t.Errorf("%s: %d models, %d machine types", n, len(c.models), len(c.machines))
		}
		data, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 1<<20 {
			t.Errorf("%s: %d bytes, over the 1 MB budget", n, len(data))
		}
		again, err := Parse(n, data, feature.Builtin())
		if err != nil {
			t.Fatal(err)
		}
		data2, _ := again.Marshal()
		if string(data) != string(data2) {
			t.Errorf("%s: parse → marshal is not stable", n)
		}
	}
	if DefaultName() != names[len(names)-1] {
		t.Errorf("default %q is not the newest of %v", DefaultName(), names)
	}
}

// TestFidelitySample: the embedded qemu-7.2 catalog resolves a committed
// sample of QEMU 7.2's own expansions (old and new machine types, kvm and
// tcg, models that exercise compat properties) bit for bit.
func TestFidelitySample(t *testing.T) {
	raw := loadRaw(t, "testdata/qemu-7.2-sample.raw.json")
	c, err := Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Expansions) < 100 {
		t.Fatalf("sample has %d expansions", len(raw.Expansions))
	}
	if err := c.Verify(raw); err != nil {
		t.Fatal(err)
	}
}

// TestCompactSample: Compact on the sample alone builds a catalog that
// verifies, and a broken answer is caught.
func TestCompactSample(t *testing.T) {
	raw := loadRaw(t, "testdata/qemu-7.2-sample.raw.json")
	c, err := Compact(raw, feature.Builtin(), "sample")
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("sample.json", data, feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Verify(raw); err != nil {
		t.Fatal(err)
	}
	raw.Expansions[7].Level++
	var me *MismatchError
	if err := c2.Verify(raw); !errors.As(err, &me) || me.Count != 1 {
		t.Errorf("Verify of a changed answer: %v", err)
	}
}

func TestResolveKnownFacts(t *testing.T) {
	c, err := Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	reg := c.Registry()
	has := func(r *Resolution, name string) bool {
		id, err := reg.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return r.Features.Has(id)
	}
	for _, tc := range []struct {
		model, machine string
		accel          core.Accel
		on, off        []string
	}{
		// QEMU turns its KVM paravirt bits on under kvm, never under tcg.
		{"Skylake-Client-v4", "pc-q35-7.2", core.KVM, []string{"kvmclock", "kvm-pv-eoi", "x2apic", "avx2"}, []string{"hle", "rtm"}},
		{"Skylake-Client-v4", "pc-q35-7.2", core.TCG, []string{"avx2"}, []string{"kvmclock", "vme"}},
		// x2apic joined the kvm defaults with pc-i440fx-2.0.
		{"Nehalem", "pc-i440fx-1.7", core.KVM, []string{"kvmclock"}, []string{"x2apic"}},
		{"Nehalem", "pc-i440fx-2.0", core.KVM, []string{"x2apic"}, nil},
	} {
		r, err := c.Resolve(tc.model, tc.machine, tc.accel, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tc.on {
			if !has(r, n) {
				t.Errorf("%s on %s (%s) lacks %s", tc.model, tc.machine, tc.accel, n)
			}
		}
		for _, n := range tc.off {
			if has(r, n) {
				t.Errorf("%s on %s (%s) has %s", tc.model, tc.machine, tc.accel, n)
			}
		}
	}
	r, _ := c.Resolve("EPYC-v3", "pc-q35-7.2", core.KVM, "GenuineIntel")
	if r.Vendor != "GenuineIntel" {
		t.Errorf("under kvm the vendor is the host's: got %q", r.Vendor)
	}
	r, _ = c.Resolve("EPYC-v3", "pc-q35-7.2", core.TCG, "GenuineIntel")
	if r.Vendor != "AuthenticAMD" {
		t.Errorf("under tcg the vendor is the model's: got %q", r.Vendor)
	}
}

func TestUnknownNamesSuggest(t *testing.T) {
	c, err := Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ model, machine, want string }{
		{"Skylake-Clinet-v4", "pc-q35-7.2", `unknown CPU model "Skylake-Clinet-v4" in catalog qemu-7.2 (did you mean "Skylake-Client-v4"?)`},
		{"Skylake-Client-v4", "pc-q35-7.3", `unknown machine type "pc-q35-7.3" in catalog qemu-7.2 (did you mean "pc-q35-7.2"?)`},
		{"EPYC-v3", "q35", ""},
	} {
		_, err := c.Resolve(tc.model, tc.machine, core.TCG, "")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Resolve(%s, %s): %q, want %q", tc.model, tc.machine, got, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	reg := feature.Builtin()
	good, _ := embedded.ReadFile("data/qemu-7.2.json")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"noise", []byte("\x00\x01garbage"), "cat.json:1:1: not a cpupolicy catalog"},
		{"snapshot", []byte(`{"schema": "cpupolicy/host-snapshot/v1"}`), `cat.json:1:2: not a cpupolicy catalog: schema "cpupolicy/host-snapshot/v1", want "cpupolicy/catalog/v1"`},
		{"truncated", good[:len(good)/2], "cat.json:"},
		{"unknown feature", []byte(strings.Replace(string(good), `"features":["`, `"features":["avx512","`, 1)), `unknown feature "avx512" (did you mean "avx512f"?)`},
	} {
		_, err := Parse("cat.json", tc.data, reg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "cat.json") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestParseRejectsAt: an entry that decodes but makes no sense is
// reported at its line and column, whichever array holds it.
func TestParseRejectsAt(t *testing.T) {
	reg := feature.Builtin()
	doc := func(accels, machines, models, defaults, overrides string) []byte {
		return []byte(`{"schema":"cpupolicy/catalog/v1","name":"t",
"accels": ` + accels + `,
"machines": [
{"name":"pc-q35-9.0"},
` + machines + `],
"models": [
{"name":"a","props":{},"features":["avx"]},
  ` + models + `],
"defaults": [
` + defaults + `],
"overrides": [
` + overrides + `]
}`)
	}
	const m1 = `{"name":"pc-i440fx-9.0"}`
	const a1 = `{"name":"b","props":{},"features":[]}`
	if _, err := Parse("cat.json", doc(`["kvm","tcg"]`, m1, a1, "", ""), reg); err != nil {
		t.Fatalf("the base document: %v", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"accel", doc(`["kvm", "hvf"]`, m1, a1, "", ""), `cat.json:2:19: accels: unknown accelerator "hvf"`},
		{"no accels", doc(`[]`, m1, a1, "", ""), `cat.json:2:11: accels: empty`},
		{"kvm data", doc(`["kvm"], "kvm_data": "guessed"`, m1, a1, "", ""), `cat.json:2:32: kvm_data: "guessed", want "derived" or none (captured)`},
		{"machine name", doc(`["kvm"]`, `{"name":"pc"}`, a1, "", ""), `cat.json:5:1: machines: "pc" is not FAMILY-VERSION`},
		{"machine repeated", doc(`["kvm"]`, `{"name":"pc-q35-9.0"}`, a1, "", ""), `cat.json:5:1: machines: "pc-q35-9.0" is repeated`},
		{"model repeated", doc(`["kvm"]`, m1, `{"name":"a","props":{},"features":[]}`, "", ""), `cat.json:8:3: models: empty or repeated name "a"`},
		{"model feature", doc(`["kvm"]`, m1, `{"name":"b","props":{},"features":["avx512"]}`, "", ""), `cat.json:8:3: model b: unknown feature "avx512"`},
		{"model accel", doc(`["kvm"]`, m1, `{"name":"b","props":{},"features":[],"accel":[{"accel":"tcg"}]}`, "", ""), `cat.json:8:3: model b: accelerator "tcg" is not in accels`},
		{"alias", doc(`["kvm"]`, m1, `{"name":"b","alias_of":"c","props":{},"features":[]}`, "", ""), `cat.json:8:3: model b: alias_of names unknown model "c"`},
		{"default", doc(`["kvm"]`, m1, a1, `{"machine":"pc-q35-1.0","accel":"kvm"}`, ""), `cat.json:10:1: defaults: bad entry for machine "pc-q35-1.0"`},
		{"default delta", doc(`["kvm"]`, m1, a1, `{"machine":"pc-q35-9.0","accel":"kvm"},{"machine":"pc-q35-9.0","accel":"kvm","on":["nosuch"]}`, ""), `cat.json:10:40: defaults for pc-q35-9.0: unknown feature "nosuch"`},
		{"override model", doc(`["kvm"]`, m1, a1, "", `{"model":"c","machine":"pc-q35-9.0","accel":"kvm"}`), `cat.json:12:1: overrides: `},
		{"override delta", doc(`["kvm"]`, m1, a1, "", `{"model":"a","machine":"pc-q35-9.0","accel":"tcg"}`), `cat.json:12:1: override of a on pc-q35-9.0: accelerator "tcg" is not in accels`},
		{"unknown key", doc(`["kvm"]`, m1, `{"name":"b","props":{},"features":[],"colour":"red"}`, "", ""), `cat.json:8:40: unknown key "colour"`},
		{"wrong type", doc(`["kvm"]`, m1, `{"name":"b","props":{},"features":[7]}`, "", ""), `cat.json:8:38: models[1].features[0]: got JSON number, want string`},
	} {
		_, err := Parse("cat.json", tc.data, reg)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q…", tc.name, err, tc.want)
		}
	}
}

func FuzzParseCatalog(f *testing.F) {
	good, _ := embedded.ReadFile("data/qemu-7.2.json")
	f.Add(good[:4000])
	f.Add([]byte(`{"schema":"cpupolicy/catalog/v1","accels":["tcg"],"machines":[{"name":"pc-q35-1.0"}],"models":[{"name":"a","props":{},"features":["avx"]}],"defaults":[],"overrides":[]}`))
	f.Add([]byte(`{"schema":"cpupolicy/catalog/v1"}`))
	f.Add([]byte(`{"schema":"cpupolicy/catalog/v1","accels":["kvm","tcg"],"kvm_data":"derived","machines":[{"name":"pc-q35-1.0"}],"models":[{"name":"a","props":{},"features":["avx"]}],"defaults":[],"overrides":[]}`))
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.json", data, reg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error does not name the file on one line: %q", err)
			}
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("again.json", out, reg); err != nil {
			t.Fatalf("a marshalled catalog does not parse: %v", err)
		}
		for _, m := range c.models {
			for _, mt := range c.machines {
				for _, a := range c.accels {
					if _, err := c.Resolve(m.Name, mt.Name, core.Accel(a), ""); err != nil {
						t.Fatalf("Resolve(%s, %s, %s): %v", m.Name, mt.Name, a, err)
					}
				}
			}
		}
	})
}

// TestEmbeddedBinaryUpToDate: each embedded .bin is exactly the binary
// form of its .json (regenerate both with go generate ./core/catalog/),
// and decodes to the same catalog.
func TestEmbeddedBinaryUpToDate(t *testing.T) {
	reg := feature.Builtin()
	for _, n := range EmbeddedNames() {
		js, _ := embedded.ReadFile("data/" + n + ".json")
		bin, err := embedded.ReadFile("data/" + n + ".bin")
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		c, err := Parse(n, js, reg)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != string(bin) {
			t.Fatalf("data/%s.bin is stale: run go generate ./core/catalog/ (or go run ./core/catalog/internal/mkbin core/catalog/data/*.json)", n)
		}
		fromBin, err := parseBinary(bin, reg)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := c.Marshal()
		b, _ := fromBin.Marshal()
		if string(a) != string(b) {
			t.Errorf("%s: the binary form decodes to a different catalog", n)
		}
		for i := len(bin) - 1; i > len(bin)-50; i-- {
			if _, err := parseBinary(bin[:i], reg); err == nil {
				t.Errorf("%s: a binary truncated to %d bytes decoded", n, i)
			}
		}
	}
}

func BenchmarkParseEmbeddedBinary(b *testing.B) {
	data, err := embedded.ReadFile("data/qemu-10.0.bin")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseBinary(data, feature.Builtin()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestForRelease(t *testing.T) {
	newest := DefaultName()
	for _, tc := range []struct {
		code, want string
		exact      bool
	}{
		{"7.2", "qemu-7.2", true},
		{"10.0", "qemu-10.0", true},
		{"pre-7.2", "qemu-7.2", false},
		{"pre-5.2", "qemu-5.2", false}, // the libvirt captures: the oldest embedded
		{"5.2", "qemu-5.2", true},
		{"post-11.1", newest, false},
		{"near-10.0", "qemu-10.0", false},
	} {
		got, exact, err := ForRelease(tc.code)
		if err != nil || got != tc.want || exact != tc.exact {
			t.Errorf("ForRelease(%q) = %q, %v, %v; want %q, %v", tc.code, got, exact, err, tc.want, tc.exact)
		}
	}
	if _, _, err := ForRelease("9.9"); err == nil {
		t.Error("ForRelease(9.9): no error")
	}
}

// TestAuto: --catalog auto takes the capture's own catalog silently, the
// nearest with a note saying so, and refuses a snapshot without a
// release or with an unknown one, naming its file.
func TestAuto(t *testing.T) {
	if name, note, err := Auto("h.json", "10.0"); name != "qemu-10.0" || note != "" || err != nil {
		t.Errorf("10.0: %q, %q, %v", name, note, err)
	}
	if name, note, err := Auto("h.json", "pre-5.2"); name != "qemu-5.2" || !strings.Contains(note, "nearest embedded catalog to the capture's QEMU release (pre-5.2)") || err != nil {
		t.Errorf("pre-5.2: %q, %q, %v", name, note, err)
	}
	for _, code := range []string{"", "9.9"} {
		if _, _, err := Auto("h.json", code); err == nil || !strings.HasPrefix(err.Error(), "h.json: ") {
			t.Errorf("%q: %v, want an error naming h.json", code, err)
		}
	}
}

// TestEmbeddedBudget holds the embedded catalogs to RATIONALE's budget
// ("What may the embedded catalogs cost?"): per release 512 KB of JSON
// and 128 KB of binary form, 3 MB in all.
func TestEmbeddedBudget(t *testing.T) {
	total := 0
	for _, n := range EmbeddedNames() {
		js, err := embedded.ReadFile("data/" + n + ".json")
		if err != nil {
			t.Fatal(err)
		}
		bin, err := embedded.ReadFile("data/" + n + ".bin")
		if err != nil {
			t.Fatal(err)
		}
		if len(js) > 512<<10 || len(bin) > 128<<10 {
			t.Errorf("%s: %d bytes of JSON, %d of binary form; the budget is 512 KB and 128 KB", n, len(js), len(bin))
		}
		t.Logf("%s: %d + %d bytes", n, len(js), len(bin))
		total += len(js) + len(bin)
	}
	if total > 3<<20 {
		t.Errorf("the embedded catalogs take %d bytes, over the 3 MB budget", total)
	}
	t.Logf("%d bytes in all", total)
}
