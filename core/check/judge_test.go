package check

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// TestFeatureLayersJSON: the "why" object keeps canonical order (a map
// would sort its keys) and escapes as encoding/json does.
func TestFeatureLayersJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   FeatureLayers
		want string
	}{
		{"empty", FeatureLayers{}, `{}`},
		{"order kept", FeatureLayers{{"zx-rng", "qemu"}, {"avx2", "kvm"}}, `{"zx-rng":"qemu","avx2":"kvm"}`},
		{"escaped", FeatureLayers{{"a\"<b>&", "hw"}}, `{"a\"\u003cb\u003e\u0026":"hw"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func testJudge(t *testing.T, snap *host.HostSnapshot, accel core.Accel) *Judge {
	t.Helper()
	cat, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	mt, err := Machine(cat, "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := HostAvailability("this-machine.json", cat.Registry(), snap, rel(t, "7.2"), accel)
	if err != nil {
		t.Fatal(err)
	}
	return &Judge{Catalog: cat, Machine: mt, Accel: accel, Avail: a, Vendor: snap.Vendor, Host: HostLabel(snap, "")}
}

// TestJudge: models and why agree on a recorded host, and name the
// layer of each missing feature.
func TestJudge(t *testing.T) {
	j := testJudge(t, loadMachine(t), core.KVM)
	rows, err := j.Models()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(j.Catalog.Models())+2 {
		t.Fatalf("%d rows for %d models and host and max", len(rows), len(j.Catalog.Models()))
	}
	for _, r := range rows {
		if r.Name != "Skylake-Client-v4" {
			continue
		}
		why, err := j.Why(r.Name, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if why.Runnable != r.Runnable() || len(why.Missing) != len(r.UnavailableFeatures) || len(r.Why) != len(r.UnavailableFeatures) {
			t.Errorf("models says %v, why says %+v", r, why)
		}
		for _, m := range why.Missing {
			if m.Feature == "avx2" && m.Layer != LayerKVM {
				t.Errorf("avx2: layer %s, want kvm", m.Layer)
			}
		}
		return
	}
	t.Fatal("no Skylake-Client-v4 row")
}

// TestHostAvailabilityNoKVM: a host without KVM data judged under kvm is
// ErrNoKVM, named, with what to do; under tcg it is judged.
func TestHostAvailabilityNoKVM(t *testing.T) {
	data, err := os.ReadFile("../../testdata/hosts/this-machine.from-dump.json")
	if err != nil {
		t.Fatal(err)
	}
	reg := feature.Builtin()
	s, err := host.Parse("dump.json", data, reg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = HostAvailability("dump.json", reg, s, rel(t, "7.2"), core.KVM)
	if !errors.Is(err, ErrNoKVM) {
		t.Fatalf("got %v, want ErrNoKVM", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "dump.json: snapshot has no KVM data (") || !strings.HasSuffix(msg, "; probe the host with a readable /dev/kvm or pass --accel tcg") {
		t.Errorf("message %q", msg)
	}
	if _, err := HostAvailability("dump.json", reg, s, rel(t, "7.2"), core.TCG); err != nil {
		t.Errorf("tcg: %v", err)
	}
}

// TestAccelerator: the default is kvm wherever the catalog has kvm data,
// whatever the machine running the check has.
func TestAccelerator(t *testing.T) {
	cat, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want core.Accel
		err  string
	}{
		{"", core.KVM, ""}, {"tcg", core.TCG, ""}, {"kvm", core.KVM, ""}, {"hvf", "", `--accel: got "hvf", want kvm or tcg`},
	} {
		got, err := Accelerator(cat, tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("Accelerator(%q) = %q, %v; want %q, %s", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseOperand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Operand
	}{
		{"EPYC", Operand{Text: "EPYC", Name: "EPYC"}},
		{"EPYC@pc-q35-7.2", Operand{Text: "EPYC@pc-q35-7.2", Name: "EPYC", Machine: "pc-q35-7.2"}},
		{"EPYC,+avx,x=a:b", Operand{Text: "EPYC,+avx,x=a:b", Name: "EPYC,+avx,x=a:b"}},
		{"libvirt:EPYC", Operand{Text: "libvirt:EPYC", Catalog: "libvirt", Name: "EPYC"}},
		{"host:", Operand{Text: "host:", Host: true}},
		{"host:a.json", Operand{Text: "host:a.json", Host: true, HostFile: "a.json"}},
		{":x", Operand{Text: ":x", Name: ":x"}},
		{"EPYC@", Operand{Text: "EPYC@", Name: "EPYC@"}},
	} {
		if got := ParseOperand(tc.in); got != tc.want {
			t.Errorf("ParseOperand(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestFeatureLayersRoundTrip(t *testing.T) {
	in := FeatureLayers{{"zx-rng", "qemu"}, {"avx2", "kvm"}}
	data, _ := json.Marshal(in)
	var out FeatureLayers
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Errorf("got %v, want %v", out, in)
	}
	if err := json.Unmarshal([]byte(`["x"]`), &out); err == nil {
		t.Error("an array unmarshalled")
	}
}

// FuzzParseOperand: any argument parses (no panic), and its parts put
// back together are the argument: nothing is dropped or invented.
func FuzzParseOperand(f *testing.F) {
	for _, s := range []string{"Skylake-Client-v4", "EPYC-v3@pc-q35-7.2", "qemu-7.2:EPYC-v3@pc-q35-7.2",
		"host:", "host:x.json", "Haswell-v4,+avx512f", "lib.json:Haswell,+a@b", ":x", "a@", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		o := ParseOperand(arg)
		back := o.Name
		switch {
		case o.Host:
			back = "host:" + o.HostFile
		default:
			if o.Catalog != "" {
				back = o.Catalog + ":" + back
			}
			if o.Machine != "" {
				back += "@" + o.Machine
			}
		}
		if back != arg || o.Text != arg {
			t.Errorf("ParseOperand(%q) = %+v: parts give %q", arg, o, back)
		}
	})
}
