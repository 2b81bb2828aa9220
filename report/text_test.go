package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

func TestViolationLine(t *testing.T) {
	tests := []struct {
		name string
		v    starlib.Violation
		want string
	}{
		{"message says it all", starlib.Violation{Message: "Haswell requires f16c on pc-i440fx-2.3", Model: "Haswell", Machine: "pc-i440fx-2.3", Features: []string{"f16c"}}, "Haswell requires f16c on pc-i440fx-2.3"},
		{"terse message", starlib.Violation{Message: "bad", Model: "Haswell", Machine: "pc-q35-7.2", Features: []string{"f16c", "rdrand"}}, "bad (model Haswell; machine pc-q35-7.2; features f16c rdrand)"},
		{"no details", starlib.Violation{Message: "bad"}, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := violationLine(tt.v); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteTextColor(t *testing.T) {
	rep := &Report{Results: []*Result{
		{Policy: Policy{Name: "a"}, Violations: []starlib.Violation{{Policy: "a", Message: "m"}}},
		{Policy: Policy{Name: "b"}},
	}}
	var plain, color bytes.Buffer
	if err := WriteText(&plain, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&color, rep, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain text has escapes:\n%q", plain.String())
	}
	if !strings.Contains(color.String(), "\x1b[31mFAIL\x1b[0m") || !strings.Contains(color.String(), "\x1b[32mok\x1b[0m") {
		t.Errorf("coloured text:\n%q", color.String())
	}
	want := "FAIL  a: 1 violation\n      m\nok    b\n\nFAIL: 2 policies, 1 violation\n"
	if plain.String() != want {
		t.Errorf("got\n%s\nwant\n%s", plain.String(), want)
	}
}

// TestWriteTextNoOffers: a run that had no offers says the offer
// policies judged nothing, unless only the catalog was judged.
func TestWriteTextNoOffers(t *testing.T) {
	for _, c := range []struct {
		policies []Policy
		offers   int
		note     bool
	}{
		{[]Policy{{Name: "runnable", Builtin: true}}, 0, true},
		{[]Policy{{Name: "runnable", Builtin: true}}, 1, false},
		{[]Policy{{Name: "no-new-host-deps", Builtin: true}}, 0, false},
		{[]Policy{{Name: "site", File: "site.star"}}, 0, true},
	} {
		r := &Report{Offers: make([]site.Offer, c.offers)}
		for _, p := range c.policies {
			r.Results = append(r.Results, &Result{Policy: p})
		}
		var b strings.Builder
		if err := WriteText(&b, r, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "no offers to judge"); got != c.note {
			t.Errorf("%+v, %d offers: note %v, want %v:\n%s", c.policies, c.offers, got, c.note, b.String())
		}
	}
}
