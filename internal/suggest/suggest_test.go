package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"avx512", "avx512f", 1}, {"kitten", "sitting", 3}, {"abc", "", 3}, {"sse4.1", "sse4_1", 1}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"pc-q35-7.1", "pc-q35-7.2", "Skylake-Client-v4", "runnable"}
	for _, c := range []struct{ in, want string }{
		{"runable", "runnable"},
		{"Skylake-Clinet-v4", "Skylake-Client-v4"},
		{"pc-q35-7.3", "pc-q35-7.1"}, // first on ties
		{"zzzzzzzz", ""},
		{strings.Repeat("x", MaxLen+1), ""},
	} {
		if got := Nearest(c.in, names); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
