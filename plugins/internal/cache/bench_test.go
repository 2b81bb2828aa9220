package cache

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOpenVerify is the cost a warm load pays to check an entry the
// size of a Go plugin's (about 7 MB of machine code) against its sums.
func BenchmarkOpenVerify(b *testing.B) {
	base := b.TempDir()
	d, err := Open(base, "k")
	if err != nil {
		b.Fatal(err)
	}
	entry := make([]byte, 7<<20)
	rand.Read(entry)
	sub := filepath.Join(d.Path(), "wazero")
	os.MkdirAll(sub, 0o700)
	os.WriteFile(filepath.Join(sub, "entry"), entry, 0o600)
	if err := d.Seal(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(entry)))
	for i := 0; i < b.N; i++ {
		d, err := Open(base, "k")
		if err != nil || !d.Hit() {
			b.Fatal(err)
		}
	}
}

// BenchmarkKey is hashing a 2 MB module for its cache key.
func BenchmarkKey(b *testing.B) {
	wasm := make([]byte, 2<<20)
	b.SetBytes(int64(len(wasm)))
	for i := 0; i < b.N; i++ {
		Key(wasm, "wazevo")
	}
}
