package report

import (
	"testing"

	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// TestViolationOffer: a violation is about the offer its "offer" value
// names, else about the only offer whose spec is its model; otherwise
// about none (it gets no region).
func TestViolationOffer(t *testing.T) {
	offers := []site.Offer{
		{Name: "web", CPU: "Haswell-v4", Source: "site.star:3:6"},
		{Name: "db", CPU: "EPYC-v3", Source: "site.star:4:6"},
		{Name: "db2", CPU: "EPYC-v3", Source: "site.star:5:6"},
	}
	for _, c := range []struct {
		name string
		v    starlib.Violation
		want string // the offer's name, or ""
	}{
		{"named", starlib.Violation{Model: "EPYC-v3", Extra: map[string]any{"offer": "db2"}}, "db2"},
		{"named, unknown", starlib.Violation{Model: "Haswell-v4", Extra: map[string]any{"offer": "gone"}}, ""},
		{"the one offer of the model", starlib.Violation{Model: "Haswell-v4"}, "web"},
		{"two offers of the model", starlib.Violation{Model: "EPYC-v3"}, ""},
		{"a catalog model", starlib.Violation{Model: "Skylake-Client-v4"}, ""},
		{"no model", starlib.Violation{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, ok := violationOffer(offers, c.v)
			if got := o.Name; got != c.want || ok != (c.want != "") {
				t.Errorf("offer %q (%v), want %q", got, ok, c.want)
			}
		})
	}
}
