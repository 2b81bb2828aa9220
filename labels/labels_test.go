package labels_test

import (
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/labels"
)

func TestPart(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"model.Skylake-Client-v4", "model.Skylake-Client-v4"},
		{"model.Opteron_G5", "model.Opteron_G5"},
		{"offer.tcg only", "offer.tcg_only-0c1d5785"},
		{strings.Repeat("a", 63), strings.Repeat("a", 63)},
	} {
		if got := labels.Part(tc.in); got != tc.want {
			t.Errorf("labels.Part(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Everything comes out valid, and distinct inputs stay distinct.
	seen := map[string]string{}
	for _, in := range []string{"", "-", ".a.", strings.Repeat("é", 40), strings.Repeat("a", 64), strings.Repeat("a", 65),
		"offer.a b", "offer.a_b", "offer.a/b", "model." + strings.Repeat("Z", 80)} {
		got := labels.Part(in)
		if !labels.Valid(got) {
			t.Errorf("labels.Part(%q) = %q: not a valid label", in, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("labels.Part(%q) = labels.Part(%q) = %q", in, other, got)
		}
		seen[got] = in
	}
}
