package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fill writes what wazero would: one entry in a version directory.
func fill(t *testing.T, d *Dir, content string) string {
	t.Helper()
	sub := filepath.Join(d.Path(), "wazero-v1-amd64-linux")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(sub, "5ba021fc")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKey(t *testing.T) {
	a, b := Key([]byte("a"), "wazevo"), Key([]byte("b"), "wazevo")
	if a == b || !strings.HasSuffix(a, "-wazevo") || len(a) != 32+len("-wazevo") {
		t.Errorf("Key: %q, %q", a, b)
	}
}

func TestOpenSealReopen(t *testing.T) {
	base := t.TempDir()
	d, err := Open(base, "k")
	if err != nil {
		t.Fatal(err)
	}
	if d.Hit() || d.Wiped != "" {
		t.Fatalf("fresh directory: hit %v, wiped %q", d.Hit(), d.Wiped)
	}
	fill(t, d, "WAZEVO compiled code")
	if err := d.Seal(); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(base, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !d2.Hit() || d2.Wiped != "" {
		t.Fatalf("sealed directory: hit %v, wiped %q", d2.Hit(), d2.Wiped)
	}
}

func TestCorruptionWipes(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, entry, dir string)
		why     string
	}{
		{"same size, bytes changed", func(t *testing.T, entry, dir string) {
			os.WriteFile(entry, []byte("WAZEVO compiled cOde"), 0o600)
		}, "does not match its sum"},
		{"truncated", func(t *testing.T, entry, dir string) {
			os.WriteFile(entry, []byte("WAZEVO"), 0o600)
		}, "does not match its sum"},
		{"entry removed", func(t *testing.T, entry, dir string) {
			os.Remove(entry)
		}, "is missing"},
		{"stray file", func(t *testing.T, entry, dir string) {
			os.WriteFile(filepath.Join(dir, "stray"), []byte("x"), 0o600)
		}, "not in the sums file"},
		{"sums garbled", func(t *testing.T, entry, dir string) {
			os.WriteFile(filepath.Join(dir, "sums"), []byte("garbage\n"), 0o600)
		}, "malformed sums file"},
		{"sums removed", func(t *testing.T, entry, dir string) {
			os.Remove(filepath.Join(dir, "sums"))
		}, "entries without sums"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			d, err := Open(base, "k")
			if err != nil {
				t.Fatal(err)
			}
			entry := fill(t, d, "WAZEVO compiled code")
			if err := d.Seal(); err != nil {
				t.Fatal(err)
			}
			tt.corrupt(t, entry, d.Path())
			d2, err := Open(base, "k")
			if err != nil {
				t.Fatal(err)
			}
			if d2.Hit() || !strings.Contains(d2.Wiped, tt.why) {
				t.Errorf("hit %v, wiped %q; want a wipe because %q", d2.Hit(), d2.Wiped, tt.why)
			}
			left, _ := os.ReadDir(d2.Path())
			if len(left) != 0 {
				t.Errorf("%d entries left after the wipe", len(left))
			}
		})
	}
}

func TestSealEmpty(t *testing.T) {
	d, err := Open(t.TempDir(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.Path(), "sums")); err == nil {
		t.Error("sealing an empty directory wrote sums")
	}
}
