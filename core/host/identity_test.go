package host

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

func TestAppendAnonymous(t *testing.T) {
	good, err := os.ReadFile("../../testdata/hosts/xeon-gold-6130.json")
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("fixture lacks %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	s, err := Parse("good.json", good, feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	host, _ := json.Marshal(s.Hostname)
	at := `"` + s.ProbedAt.Format(time.RFC3339) + `"`
	base, name, ok := AppendAnonymous(nil, good)
	if name != s.Hostname {
		t.Errorf("hostname %q, want %q", name, s.Hostname)
	}
	if !ok {
		t.Fatal("a snapshot Marshal wrote is not anonymised")
	}
	if want := len(good) - len(host) - len(at); len(base) != want {
		t.Errorf("anonymous form is %d bytes, want %d (the file less its two values)", len(base), want)
	}
	for _, c := range []struct {
		name string
		data []byte
		ok   bool
		same bool // the same anonymous form as the fixture's
	}{
		{"another hostname", replace(`"hostname": `+string(host), `"hostname": "rack7-node42"`), true, true},
		{"another time", replace(`"probed_at": `+at, `"probed_at": "2030-01-02T03:04:05Z"`), true, true},
		{"an empty hostname", replace(`"hostname": `+string(host), `"hostname": ""`), true, true},
		{"another kernel", replace(`"kernel": "`, `"kernel": "x`), true, false},
		{"other spacing", replace(`"source": `, `"source":`), true, false},
		{"an escape in the hostname", replace(`"hostname": `+string(host), `"hostname": "a\"b"`), false, false},
		{"a hostname that is not a string", replace(`"hostname": `+string(host), `"hostname": 7`), false, false},
		{"a time that is not RFC 3339", replace(`"probed_at": `+at, `"probed_at": "yesterday"`), false, false},
		{"no time", replace(`"probed_at": `+at+`,`, ``), false, false},
		{"the hostname twice", replace(`"source": `, `"hostname": "x", "source": `), false, false},
		{"not an object", []byte(`["hostname", "probed_at"]`), false, false},
		{"truncated", good[:40], false, false},
		{"empty", nil, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _, ok := AppendAnonymous([]byte("prefix"), c.data)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if !ok {
				if string(out) != "prefix" {
					t.Errorf("dst changed to %q on failure", out)
				}
				return
			}
			if same := bytes.Equal(out[len("prefix"):], base); same != c.same {
				t.Errorf("same anonymous form = %v, want %v", same, c.same)
			}
		})
	}
}

// FuzzAppendAnonymous: two files with the same anonymous form (data, and
// data with other identity values) parse alike: both fail, or both parse
// to the same snapshot but for the hostname and time. That is what lets a
// fleet parse one of them for both.
func FuzzAppendAnonymous(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/hosts/*.json")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, "node-1", int64(1e9))
		}
	}
	f.Add([]byte(`{"hostname": "a", "probed_at": "2026-01-01T00:00:00Z", "schema": "cpupolicy/host-snapshot/v1"}`), "b", int64(0))
	f.Add([]byte(`{"schema":"cpupolicy/host-snapshot/v1","source":"live","hostname":"h","probed_at":"2026-01-01T00:00:00Z","cpuid":[],"kvm":null,"kvm_error":"x","features":{"hw":[],"os":[],"kvm":[]}}`), "other", int64(5))
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, data []byte, name string, sec int64) {
		anon, _, ok := AppendAnonymous(nil, data)
		if !ok {
			return
		}
		spans, _ := identitySpans(data)
		hostJSON, _ := json.Marshal(name)
		at := `"` + time.Unix(sec%(1<<33), 0).UTC().Format(time.RFC3339) + `"`
		// Replace the later value first, so the earlier span stays put.
		vals := [2][]byte{hostJSON, []byte(at)}
		order := [2]int{0, 1}
		if spans[0][0] < spans[1][0] {
			order = [2]int{1, 0}
		}
		other := bytes.Clone(data)
		for _, k := range order {
			sp := spans[k]
			other = append(other[:sp[0]:sp[0]], append(vals[k], other[sp[1]:]...)...)
		}
		anon2, name2, ok := AppendAnonymous(nil, other)
		if !ok {
			return // the new values are not plain (escapes in name, a year past 9999)
		}
		if !bytes.Equal(anon, anon2) {
			t.Fatalf("changing the identity values changed the anonymous form")
		}
		if name2 != name {
			t.Fatalf("hostname %q, want %q", name2, name)
		}
		s1, err1 := Parse("a.json", data, reg)
		s2, err2 := Parse("b.json", other, reg)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("one parses, the other not: %v / %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if s2.Hostname != name2 {
			t.Fatalf("AppendAnonymous's hostname %q, Parse's %q", name2, s2.Hostname)
		}
		s1.Hostname, s1.ProbedAt = s2.Hostname, s2.ProbedAt
		m1, _ := s1.Marshal()
		m2, _ := s2.Marshal()
		if !bytes.Equal(m1, m2) {
			t.Fatalf("snapshots differ beyond hostname and time")
		}
	})
}
