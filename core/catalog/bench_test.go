package catalog

import (
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

var benchFeatures feature.FeatureSet

// BenchmarkResolveAllModels resolves every model of qemu-7.2 on one
// machine type under kvm.
func BenchmarkResolveAllModels(b *testing.B) {
	c, err := Embedded("qemu-7.2")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(len(c.models)), "models")
	for b.Loop() {
		for i := range c.models {
			r, err := c.Resolve(c.models[i].Name, "pc-i440fx-2.3", core.KVM, "GenuineIntel")
			if err != nil {
				b.Fatal(err)
			}
			benchFeatures = r.Features
		}
	}
}

// BenchmarkParseEmbedded is the start-up cost of a command that loads
// the default catalog.
func BenchmarkParseEmbedded(b *testing.B) {
	data, err := embedded.ReadFile("data/qemu-10.0.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("qemu-10.0", data, feature.Builtin()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeriveKVM derives all 9,272 kvm answers of qemu-10.0 from its
// tcg answers: what an import without /dev/kvm adds to the tcg import.
func BenchmarkDeriveKVM(b *testing.B) {
	c, err := Embedded("qemu-10.0")
	if err != nil {
		b.Fatal(err)
	}
	raw := rawOf(b, c, tcg)
	b.ReportAllocs()
	b.ReportMetric(float64(len(raw.Expansions)), "answers")
	for b.Loop() {
		if _, err := DeriveKVM(raw, c.reg, "AuthenticAMD"); err != nil {
			b.Fatal(err)
		}
	}
}
