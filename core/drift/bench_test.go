package drift

import (
	"testing"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

func embedded(b *testing.B, name string) *catalog.Catalog {
	b.Helper()
	c, err := catalog.Embedded(name)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkDiff: `catalog diff qemu-7.2 qemu-10.0` without loading or
// printing: 12,220 common triples.
func BenchmarkDiff(b *testing.B) {
	a, c := embedded(b, "qemu-7.2"), embedded(b, "qemu-10.0")
	Diff(a, c) // resolve every table once, as any command's first use does
	for b.Loop() {
		Diff(a, c)
	}
}

// BenchmarkLock: the whole qemu-7.2 catalog (14,300 triples) locked and
// written.
func BenchmarkLock(b *testing.B) {
	a := embedded(b, "qemu-7.2")
	for b.Loop() {
		lf, err := Lock(a, Scope{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(lf.Marshal())))
	}
}

// BenchmarkParse: that lock read back and checked (digest included).
func BenchmarkParse(b *testing.B) {
	lf, err := Lock(embedded(b, "qemu-7.2"), Scope{})
	if err != nil {
		b.Fatal(err)
	}
	data := lf.Marshal()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("qemu-7.2.lock", data, feature.Builtin()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify: the qemu-7.2 lock against qemu-10.0 (12,220 triples
// re-resolved and hashed).
func BenchmarkVerify(b *testing.B) {
	lf, err := Lock(embedded(b, "qemu-7.2"), Scope{})
	if err != nil {
		b.Fatal(err)
	}
	c := embedded(b, "qemu-10.0")
	for b.Loop() {
		if rep := Verify(lf, c); rep.Checked != 12220 {
			b.Fatalf("%d triples checked", rep.Checked)
		}
	}
}
