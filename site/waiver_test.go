package site_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/site"
)

func TestWaiverMatches(t *testing.T) {
	v := site.Violation{Policy: "no-new-host-deps", Model: "Haswell", Machine: "pc-i440fx-2.3", Features: []string{"f16c", "rdrand"}}
	tests := []struct {
		name string
		w    site.Waiver
		want bool
	}{
		{"exact", site.Waiver{Policy: "no-new-host-deps", Model: "Haswell", Machine: "pc-i440fx-2.3", Features: []string{"f16c", "rdrand"}}, true},
		{"superset of features", site.Waiver{Policy: "no-new-host-deps", Model: "Haswell", Machine: "pc-i440fx-2.3", Features: []string{"f16c", "rdrand", "vme"}}, true},
		{"any model and machine", site.Waiver{Policy: "no-new-host-deps", Model: "*", Machine: "*", Features: []string{"f16c", "rdrand"}}, true},
		{"a feature short", site.Waiver{Policy: "no-new-host-deps", Model: "*", Machine: "*", Features: []string{"f16c"}}, false},
		{"other policy", site.Waiver{Policy: "runnable", Model: "*", Machine: "*", Features: []string{"f16c", "rdrand"}}, false},
		{"other model", site.Waiver{Policy: "no-new-host-deps", Model: "Haswell-v1", Machine: "*", Features: []string{"f16c", "rdrand"}}, false},
		{"other machine", site.Waiver{Policy: "no-new-host-deps", Model: "*", Machine: "pc-q35-2.3", Features: []string{"f16c", "rdrand"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Matches(v); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
	// A violation without features is matched by a waiver without.
	if w := (site.Waiver{Policy: "p", Model: "*", Machine: "*"}); !w.Matches(site.Violation{Policy: "p", Message: "m"}) {
		t.Error("a featureless waiver does not match a featureless violation")
	}
}

func TestWaiverExpired(t *testing.T) {
	w := site.Waiver{Expires: "2026-03-31"}
	for _, tt := range []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), false}, // holds through its day
		{time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		if got := w.Expired(tt.now); got != tt.want {
			t.Errorf("Expired(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
	if (&site.Waiver{}).Expired(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("a waiver without a date expired")
	}
}

func TestApplyWaivers(t *testing.T) {
	vs := []site.Violation{
		{Policy: "p", Model: "A", Machine: "m", Features: []string{"x"}},
		{Policy: "p", Model: "B", Machine: "m", Features: []string{"x"}},
		{Policy: "q", Model: "A", Machine: "m"},
	}
	ws := []site.Waiver{
		{Policy: "p", Model: "A", Machine: "*", Features: []string{"x"}, Reason: "a", Source: "w:1"},
		{Policy: "p", Model: "*", Machine: "*", Features: []string{"x"}, Reason: "old", Expires: "2020-01-01", Source: "w:2"},
		{Policy: "r", Model: "*", Machine: "*", Reason: "unused", Source: "w:3"},
	}
	got := site.ApplyWaivers(vs, ws, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(got.Violations) != 2 || got.Violations[0].Model != "B" || got.Violations[1].Policy != "q" {
		t.Errorf("violations %+v, want B of p and A of q", got.Violations)
	}
	if len(got.Waived) != 1 || got.Waived[0].Violation.Model != "A" || got.Waived[0].Waiver.Source != "w:1" {
		t.Errorf("waived %+v", got.Waived)
	}
	if len(got.Expired) != 1 || got.Expired[0].Source != "w:2" {
		t.Errorf("expired %+v, want w:2", got.Expired)
	}
	if len(got.Unused) != 1 || got.Unused[0].Source != "w:3" {
		t.Errorf("unused %+v, want w:3", got.Unused)
	}
}

func TestParseWaivers(t *testing.T) {
	good := `{"waivers": [
  {"policy": "no-new-host-deps", "model": "*", "machine": "pc-i440fx-2.0", "features": ["x2apic"], "reason": "QEMU 2.0"},
  {"policy": "runnable", "model": "Haswell-v4", "machine": "*", "features": ["sse4_1", "pni"], "reason": "r", "expires": "2027-01-31"}
]}`
	ws, err := site.ParseWaivers("w.json", []byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Source != "w.json:2" || ws[1].Source != "w.json:3" {
		t.Fatalf("got %+v", ws)
	}
	// Aliases become canonical names in canonical order.
	if !slices.Equal(ws[1].Features, []string{"pni", "sse4.1"}) || ws[1].Expires != "2027-01-31" {
		t.Errorf("features %q, expires %q", ws[1].Features, ws[1].Expires)
	}
	for _, tt := range []struct{ name, doc, want string }{
		{"not an object", `[]`, `w.json:1:1: got [, want "{"`},
		{"null", `null`, `w.json:1:1: got null, want "{"`},
		{"a string", `"waivers"`, `w.json:1:1: got "waivers", want "{"`},
		{"no waivers key", `{}`, `w.json: no "waivers" key`},
		{"other key", `{"exceptions": []}`, `w.json:1: unexpected key exceptions`},
		{"syntax", "{\"waivers\": [\n{\"policy\": }]}", `w.json:2:12: malformed JSON: invalid character '}'`},
		{"truncated", `{"waivers": [`, `w.json:1:14: malformed JSON: unexpected end of JSON input`},
		{"trailing data", `{"waivers": []} {}`, `w.json:1:17: malformed JSON: invalid character '{' after top-level value`},
		{"wrong type", `{"waivers": [{"policy": 1}]}`, `w.json:1: waiver 1: policy: got JSON number, want string`},
		{"wrong type, line of the value", "{\"waivers\": [\n  {\"policy\": \"p\", \"model\": \"*\", \"machine\": \"*\", \"features\": [], \"reason\": \"r\"},\n\n  {\"policy\": \"p\",\n   \"model\": 5}\n]}",
			`w.json:5: waiver 2: model: got JSON number, want string`},
		{"waiver not an object", "{\"waivers\": [\n  {}, 1]}", `w.json:2: waiver 2: got JSON number, want an object`},
		{"missing keys", `{"waivers": [{"policy": "p"}]}`, `w.json:1: waiver 1: no model, machine, features, reason`},
		{"empty reason", `{"waivers": [{"policy": "p", "model": "*", "machine": "*", "features": [], "reason": " "}]}`, `reason is empty`},
		{"empty model", `{"waivers": [{"policy": "p", "model": "", "machine": "*", "features": [], "reason": "r"}]}`, `model is empty (use "*" for any)`},
		{"bad date", `{"waivers": [{"policy": "p", "model": "*", "machine": "*", "features": [], "reason": "r", "expires": "31/12/2026"}]}`, `expires: got "31/12/2026", want a date YYYY-MM-DD`},
		{"unknown feature", `{"waivers": [{"policy": "p", "model": "*", "machine": "*", "features": ["avx512"], "reason": "r"}]}`, `features: unknown feature "avx512" (did you mean "avx512f"?)`},
		{"unknown key", `{"waivers": [{"policy": "p", "model": "*", "machine": "*", "features": [], "reason": "r", "until": "x"}]}`, `waiver 1: unknown field "until"`},
		{"unknown key, its line", "{\"waivers\": [\n  {\"policy\": \"p\", \"model\": \"*\", \"machine\": \"*\", \"features\": [],\n   \"reason\": \"r\",\n   \"until\": \"x\"}]}", `w.json:4: waiver 1: unknown field "until"`},
		{"unknown feature, its line", "{\"waivers\": [\n  {\"policy\": \"p\", \"model\": \"*\", \"machine\": \"*\",\n   \"features\": [\"avx513\"], \"reason\": \"r\"}]}", `w.json:3: waiver 1: features: unknown feature "avx513" (did you mean "avx512f"?)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := site.ParseWaivers("w.json", []byte(tt.doc), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// Every problem is reported, one a line.
	two := `{"waivers": [
  {"policy": "p"},
  {"policy": "p", "model": "*", "machine": "*", "features": ["nope"], "reason": "r"}
]}`
	_, err = site.ParseWaivers("w.json", []byte(two), nil)
	if err == nil || strings.Count(err.Error(), "\n") != 1 || !strings.HasPrefix(err.Error(), "w.json:2: waiver 1:") {
		t.Errorf("got %v, want two lines", err)
	}
}

// FuzzParseWaivers: no input panics, and every waiver of an accepted file
// is complete, with canonical features.
func FuzzParseWaivers(f *testing.F) {
	f.Add([]byte(`{"waivers": [{"policy": "p", "model": "*", "machine": "*", "features": ["pni"], "reason": "r", "expires": "2027-01-01"}]}`))
	f.Add([]byte(`{"waivers": []}`))
	f.Add([]byte(`{"waivers": [{"policy": "p"}, {}]}`))
	f.Add([]byte("{\"waivers\": [\n"))
	f.Add([]byte{0xff, '{'})
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := site.ParseWaivers("f.json", data, reg)
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.Policy == "" || w.Model == "" || w.Machine == "" || strings.TrimSpace(w.Reason) == "" || w.Source == "" {
				t.Fatalf("incomplete waiver %+v", w)
			}
			set, err := reg.Set(w.Features...)
			if err != nil || !slices.Equal(reg.Names(set), w.Features) {
				t.Fatalf("features %q not canonical (%v)", w.Features, err)
			}
		}
	})
}

// Waivers accept known violations; an expired one accepts nothing and is
// reported itself.
func ExampleApplyWaivers() {
	waivers, err := site.ParseWaivers("waivers.json", []byte(`{"waivers": [
  {"policy": "no-new-host-deps", "model": "Haswell", "machine": "pc-i440fx-2.3",
   "features": ["f16c", "rdrand", "vme"], "reason": "QEMU 2.3 added them to the model"},
  {"policy": "no-new-host-deps", "model": "*", "machine": "pc-i440fx-2.0",
   "features": ["x2apic"], "reason": "reviewed in 2020", "expires": "2020-12-31"}
]}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	violations := []site.Violation{
		{Policy: "no-new-host-deps", Model: "Haswell", Machine: "pc-i440fx-2.3", Features: []string{"f16c", "rdrand"}},
		{Policy: "no-new-host-deps", Model: "qemu64", Machine: "pc-i440fx-2.0", Features: []string{"x2apic"}},
	}
	w := site.ApplyWaivers(violations, waivers, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, v := range w.Violations {
		fmt.Println("violation:", v.Model, v.Features)
	}
	for _, wv := range w.Waived {
		fmt.Println("waived:", wv.Violation.Model, "by", wv.Waiver.Source)
	}
	for _, x := range w.Expired {
		fmt.Println("expired:", x.Source, x.Expires)
	}
	// Output:
	// violation: qemu64 [x2apic]
	// waived: Haswell by waivers.json:2
	// expired: waivers.json:4 2020-12-31
}
