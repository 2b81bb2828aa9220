package drift

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// TestLockDeterministic: two locks of the same catalog are the same
// bytes, whether the catalog came from its embedded binary form or was
// parsed afresh from its JSON file, and parsing a lock and writing it
// again changes nothing.
func TestLockDeterministic(t *testing.T) {
	for _, name := range catalog.EmbeddedNames() {
		emb, err := catalog.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile("../catalog/data/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := catalog.Parse(name, data, feature.Builtin())
		if err != nil {
			t.Fatal(err)
		}
		l1, err := Lock(emb, Scope{})
		if err != nil {
			t.Fatal(err)
		}
		l2, err := Lock(fresh, Scope{})
		if err != nil {
			t.Fatal(err)
		}
		b1, b2 := l1.Marshal(), l2.Marshal()
		if !bytes.Equal(b1, b2) {
			t.Fatalf("%s: two locks differ (%d and %d bytes)", name, len(b1), len(b2))
		}
		parsed, err := Parse(name+".lock", b1, feature.Builtin())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(parsed.Marshal(), b1) {
			t.Errorf("%s: parse → marshal changes the lock", name)
		}
		if got := len(emb.Models()) * len(emb.Machines()) * len(emb.Accels()); Verify(parsed, emb).Checked != got {
			t.Errorf("%s: verify of its own lock checked %d triples, want %d", name, Verify(parsed, emb).Checked, got)
		}
		if !Verify(parsed, emb).OK() {
			t.Errorf("%s: its own lock does not verify: %v", name, Verify(parsed, emb).Findings)
		}
		t.Logf("%s: %d bytes, %d requirement lines", name, len(b1), len(l1.Requirements))
	}
}

// TestLockScope: --models, --machines and --accels lock only what they
// name; aliases resolve; unknown names are errors with a suggestion.
func TestLockScope(t *testing.T) {
	c, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := Lock(c, Scope{Models: []string{"Skylake-Client-v4", "EPYC-v3", "EPYC-v3"}, Machines: []string{"q35", "pc-i440fx-2.3"}, Accels: []string{"tcg"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lf.Machines, " "); got != "pc-i440fx-2.3 pc-q35-7.2" {
		t.Errorf("machines %s", got)
	}
	if len(lf.Models) != 2 || lf.Models[0].Name != "EPYC-v3" || len(lf.Accels) != 1 {
		t.Errorf("models %v, accels %v", lf.Models, lf.Accels)
	}
	for _, s := range []Scope{{Models: []string{"Skylake-Clinet-v4"}}, {Machines: []string{"pc-q35-7.3"}}, {Accels: []string{"hvf"}}} {
		if _, err := Lock(c, s); err == nil || !strings.Contains(err.Error(), "qemu-7.2") {
			t.Errorf("%+v: %v", s, err)
		}
	}
	_, err = Lock(c, Scope{Models: []string{"Skylake-Clinet-v4"}})
	if err == nil || !strings.Contains(err.Error(), `did you mean "Skylake-Client-v4"`) {
		t.Errorf("typo: %v", err)
	}
}

// smallLock is a lock of two models on two machine types.
func smallLock(t testing.TB) []byte {
	t.Helper()
	c, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := Lock(c, Scope{Models: []string{"Opteron_G2", "Skylake-Client-v4"}, Machines: []string{"pc-i440fx-2.3", "pc-q35-7.2"}})
	if err != nil {
		t.Fatal(err)
	}
	return lf.Marshal()
}

// resealed applies edit to a parsed copy of lock and recomputes the
// digest: a lock that is wrong in a way the digest cannot show.
func resealed(t *testing.T, lock []byte, edit func(*LockFile)) []byte {
	t.Helper()
	lf, err := Parse("small.lock", lock, feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	edit(lf)
	lf.Digest = lf.digest()
	return lf.Marshal()
}

// TestParseErrors: every bad lock is one line naming the file and, unless
// it is not a lock at all or its digest (over the whole file) does not
// match, the line and column of the bad JSON, key or entry.
func TestParseErrors(t *testing.T) {
	good := smallLock(t)
	catalogFile, err := os.ReadFile("../catalog/data/qemu-7.2.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"other schema", []byte(`{"schema":"cpupolicy/lock/v2","catalog":"x"}`), `small.lock: not a cpupolicy lock file: schema "cpupolicy/lock/v2", want "cpupolicy/lock/v1"`},
		{"a catalog file", catalogFile, `small.lock: not a cpupolicy lock file: schema "cpupolicy/catalog/v1", want "cpupolicy/lock/v1"`},
		{"no schema", []byte(`{"catalog":"x"}`), `small.lock: not a cpupolicy lock file: schema none, want "cpupolicy/lock/v1"`},
		{"empty", nil, `small.lock:1:1: malformed JSON: unexpected end of JSON input`},
		{"truncated", good[:len(good)/2], `small.lock:`},
		{"syntax", bytes.Replace(good, []byte(`"models":[`), []byte(`"models":[,`), 1), `small.lock:6:11: malformed JSON: invalid character ','`},
		{"wrong type", bytes.Replace(good, []byte(`"accels":["kvm","tcg"]`), []byte(`"accels":"kvm"`), 1), `small.lock:1:`},
		{"unknown field", bytes.Replace(good, []byte(`"catalog":`), []byte(`"extra":1,"catalog":`), 1), `small.lock:1:31: unknown key "extra"`},
		{"trailing data", append(bytes.Clone(good), "{}"...), `small.lock:`},
		{"tampered", bytes.Replace(good, []byte(`"sse2",`), []byte(``), 1), `small.lock: digest "sha256:`},
		{"unknown feature", resealed(t, good, func(lf *LockFile) { lf.Requirements[0].Requires[0] = "avx513f" }), `small.lock:11:1: requirements[0] (Opteron_G2, kvm): unknown feature "avx513f" (did you mean`},
		{"missing triple", resealed(t, good, func(lf *LockFile) { lf.Requirements = lf.Requirements[1:] }), `is not locked (every model × machine type × accel must be)`},
		{"locked twice", resealed(t, good, func(lf *LockFile) {
			// Two entries of one model and accel: the first takes the
			// second's machine types too.
			for i := 0; i+1 < len(lf.Requirements); i++ {
				r, next := &lf.Requirements[i], lf.Requirements[i+1]
				if r.Model == next.Model && r.Accel == next.Accel {
					r.Machines = append(r.Machines, next.Machines...)
					return
				}
			}
			t.Fatal("no model resolves differently on pc-i440fx-2.3 and pc-q35-7.2")
		}), `is locked twice`},
		{"fingerprint", resealed(t, good, func(lf *LockFile) { lf.Models[1].Fingerprint = "0000000000000000" }), `small.lock:8:1: model Skylake-Client-v4: fingerprint "0000000000000000" does not match`},
		{"unsorted models", resealed(t, good, func(lf *LockFile) { lf.Models[0], lf.Models[1] = lf.Models[1], lf.Models[0] }), `small.lock:8:1: models: empty, unsorted or repeated name "Opteron_G2"`},
		{"bad machine", resealed(t, good, func(lf *LockFile) { lf.Machines[0] = "pc" }), `small.lock:3:1: machines: "pc" is not FAMILY-VERSION`},
		{"bad accel", resealed(t, good, func(lf *LockFile) { lf.Accels[0] = "hvf" }), `accels: unknown accelerator "hvf"`},
		{"bad definition", resealed(t, good, func(lf *LockFile) { lf.Requirements[0].Definition = "xyz" }), `small.lock:11:1: requirements[0] (Opteron_G2, kvm): definition "xyz" is not 16 hex digits`},
		{"no definition", resealed(t, good, func(lf *LockFile) { lf.Requirements[0].Definition = "" }), `definition "" is not 16 hex digits`},
		{"definition without definitions", resealed(t, good, func(lf *LockFile) { lf.Definitions = false }), `(or empty, without definitions)`},
		{"bad expansion", resealed(t, good, func(lf *LockFile) { lf.Requirements[0].Expansion = "0123456789ABCDEF" }), `expansion "0123456789ABCDEF" is not 16 hex digits`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("small.lock", c.data, feature.Builtin())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "small.lock") || !strings.Contains(msg, c.want) {
				t.Errorf("got  %s\nwant %s", msg, c.want)
			}
			if strings.Contains(c.want, "schema") {
				if !errors.Is(err, ErrNotLock) {
					t.Errorf("%v is not ErrNotLock", err)
				}
			} else if c.name != "tampered" && !regexp.MustCompile(`^small\.lock:\d+:\d+: `).MatchString(msg) {
				t.Errorf("%s: no line and column", msg)
			}
		})
	}
}

// FuzzParse: Parse never panics, and whatever it accepts it writes back
// as bytes it reads again to the same lock.
func FuzzParse(f *testing.F) {
	good := smallLock(f)
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add(bytes.Replace(good, []byte(`"digest":"sha256:`), []byte(`"digest":"sha256:0`), 1))
	f.Add([]byte(`{"schema":"cpupolicy/lock/v1","catalog":"x","qemu_version":"","accels":["tcg"],"machines":["pc-q35-7.2"],"models":[{"name":"m","fingerprint":""}],"requirements":[],"digest":""}`))
	f.Add([]byte(`{"schema":"cpupolicy/catalog/v1"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := Parse("fuzz.lock", data, feature.Builtin())
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		out := lf.Marshal()
		again, err := Parse("again.lock", out, feature.Builtin())
		if err != nil {
			t.Fatalf("accepted lock does not re-parse: %v", err)
		}
		if !bytes.Equal(again.Marshal(), out) {
			t.Fatal("marshal is not stable")
		}
	})
}
