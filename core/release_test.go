package core_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
)

func TestParseRelease(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"5.2", "5.2"}, {"5.2.0", "5.2"}, {"7.2", "7.2"}, {"7.2.22", "7.2"}, {"10.0", "10.0"}, {"10.0.2", "10.0"}, {"11.1", "11.1"}, {"11.1.3", "11.1"},
	} {
		got, err := core.ParseRelease(c.in)
		if err != nil || got.String() != c.want {
			t.Errorf("ParseRelease(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "7", "7.", "5.1", "6.2.0", "8.2.0", "9.2", "10.1.0", "11.0", "11.2", "x.y", "7.2x", " 7.2", "-7.2", "+7.2", "07.2", "7.02"} {
		_, err := core.ParseRelease(in)
		if !errors.Is(err, core.ErrUnknownRelease) {
			t.Errorf("ParseRelease(%q): %v, want ErrUnknownRelease", in, err)
			continue
		}
		// TestReleases holds KnownReleases to its text.
		if want := `unknown QEMU release "` + in + `" (known: ` + core.KnownReleases() + `)`; err.Error() != want {
			t.Errorf("ParseRelease(%q): %q, want %q", in, err, want)
		}
	}
}

func TestReleases(t *testing.T) {
	rs := core.Releases()
	if len(rs) == 0 {
		t.Fatal("no known release")
	}
	for i, r := range rs {
		if got, err := core.ParseRelease(r.String()); err != nil || got != r {
			t.Errorf("ParseRelease(%s) = %v, %v", r, got, err)
		}
		if i > 0 && rs[i-1].Compare(r) >= 0 {
			t.Errorf("releases out of order: %s before %s", rs[i-1], r)
		}
	}
	rs[0] = core.Release{Major: 1}
	if core.Releases()[0] == rs[0] {
		t.Error("Releases returned the package's own slice")
	}
	if got := core.KnownReleases(); got != "5.2, 7.2, 10.0 and 11.1" {
		t.Errorf("KnownReleases() = %q", got)
	}
}

func TestReleaseCompare(t *testing.T) {
	r72, r100, zero := core.Release{Major: 7, Minor: 2}, core.Release{Major: 10, Minor: 0}, core.Release{}
	for _, c := range []struct {
		a, b core.Release
		want int
	}{
		{r72, r100, -1}, {r100, r72, 1}, {r72, r72, 0},
		{zero, r72, -1}, {core.Release{Major: 7, Minor: 10}, r72, 1},
	} {
		if got := c.a.Compare(c.b); got != c.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if zero.String() != "" {
		t.Errorf("zero Release prints %q", zero.String())
	}
}

func TestReleaseJSON(t *testing.T) {
	type doc struct {
		R core.Release `json:"r"`
	}
	b, err := json.Marshal(doc{core.Release{Major: 10, Minor: 0}})
	if err != nil || string(b) != `{"r":"10.0"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"r":"7.2.22"}`), &d); err != nil || d.R != (core.Release{Major: 7, Minor: 2}) {
		t.Errorf("Unmarshal 7.2.22 = %v, %v", d.R, err)
	}
	if err := json.Unmarshal([]byte(`{"r":""}`), &d); err != nil || d.R != (core.Release{}) {
		t.Errorf("Unmarshal \"\" = %v, %v", d.R, err)
	}
	if err := json.Unmarshal([]byte(`{"r":"9.2"}`), &d); !errors.Is(err, core.ErrUnknownRelease) {
		t.Errorf("Unmarshal 9.2: %v, want ErrUnknownRelease", err)
	}
}

func TestParseAccel(t *testing.T) {
	for _, a := range []core.Accel{core.KVM, core.TCG} {
		if got, err := core.ParseAccel(string(a)); err != nil || got != a {
			t.Errorf("ParseAccel(%q) = %q, %v", a, got, err)
		}
	}
	for _, in := range []string{"", "KVM", "hvf", "whpx"} {
		_, err := core.ParseAccel(in)
		if !errors.Is(err, core.ErrUnknownAccel) || !strings.Contains(err.Error(), `want "kvm" or "tcg"`) {
			t.Errorf("ParseAccel(%q): %v", in, err)
		}
	}
}

// FuzzParseRelease: ParseRelease never panics; what it accepts is a known
// release, and the release's own string parses back to it.
func FuzzParseRelease(f *testing.F) {
	for _, s := range []string{"7.2", "10.0.2", "", "9.2", "7.2.x", "99999999999999999999.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := core.ParseRelease(s)
		if err != nil {
			if r != (core.Release{}) {
				t.Errorf("ParseRelease(%q) = %v with error %v", s, r, err)
			}
			return
		}
		back, err := core.ParseRelease(r.String())
		if err != nil || back != r {
			t.Errorf("ParseRelease(%q) = %v, but %s parses to %v, %v", s, r, r, back, err)
		}
		if !strings.HasPrefix(s, r.String()) {
			t.Errorf("ParseRelease(%q) = %v: not the version's major.minor", s, r)
		}
	})
}
