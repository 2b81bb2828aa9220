package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"avx512", "avx512f", 1}, {"kitten", "sitting", 3}, {"abc", "", 3},
		{"sse4.1", "sse4_1", 1}, {"Clinet", "Client", 1}, {"ab", "ba", 1}, {"abc", "ca", 3},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"pc-q35-7.1", "pc-q35-7.2", "Skylake-Client-v4", "runnable", "format", "fsrc", "avx10", "avx512f", "avx512bw", "Skylake-Client-IBRS"}
	for _, c := range []struct{ in, want string }{
		{"runable", "runnable"},
		{"Skylake-Clinet-v4", "Skylake-Client-v4"}, // a swap is one edit
		{"skylake-client-v4", "Skylake-Client-v4"}, // case is no edit
		{"Skylake-Client", "Skylake-Client-v4"},    // a start completes
		{"pc-q35-7.3", "pc-q35-7.1"},               // first on ties
		{"frmat", "format"},
		{"fromat", "format"},
		{"avx513", "avx512f"}, // not avx10: two edits of six is close, three is not
		{"nosuch", ""},        // fsrc is four edits away
		{"enforce", ""},
		{"avx", ""}, // too short to complete
		{"zzzzzzzz", ""},
		{"", ""},
		{strings.Repeat("x", MaxLen+1), ""},
	} {
		if got := Nearest(c.in, names); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestClose(t *testing.T) {
	for _, c := range []struct {
		name, cand string
		ok         bool
	}{
		{"a", "b", true},    // one edit is always close
		{"ab", "cd", false}, // two edits of two characters
		{"xormat", "format", true},
		{"xxrmat", "format", false}, // two edits, and the first letter differs
		{"abcdef", "abcxyz", false}, // three edits of six
		{"abcdef", "abcdxy", true},  // two edits of six
	} {
		if _, ok := Close(c.name, c.cand); ok != c.ok {
			t.Errorf("Close(%q, %q) = %v, want %v", c.name, c.cand, ok, c.ok)
		}
	}
}

func TestNearestFunc(t *testing.T) {
	later := func(a, b string) bool { return a > b }
	if got := NearestFunc("pc-q35-7.3", []string{"pc-q35-7.1", "pc-q35-7.2"}, later); got != "pc-q35-7.2" {
		t.Errorf("got %q, want pc-q35-7.2", got)
	}
}

func FuzzNearest(f *testing.F) {
	f.Add("avx513", "avx512f")
	f.Add("Clinet", "Client")
	f.Fuzz(func(t *testing.T, name, cand string) {
		got := Nearest(name, []string{cand})
		if got != "" && got != cand {
			t.Fatalf("Nearest(%q, [%q]) = %q", name, cand, got)
		}
		if d := Distance(name, cand); d != Distance(cand, name) || d > max(len(name), len(cand)) {
			t.Fatalf("Distance(%q, %q) = %d, not symmetric or too large", name, cand, d)
		}
	})
}
