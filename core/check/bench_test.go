package check_test

import (
	"os"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

var sink int

// BenchmarkAllModelsRunnable judges every qemu-7.2 model against one
// recorded host: resolve each model on a machine type under kvm, then
// required − available. The availability is computed once per host.
func BenchmarkAllModelsRunnable(b *testing.B) {
	data, err := os.ReadFile("../../testdata/hosts/this-machine.json")
	if err != nil {
		b.Fatal(err)
	}
	reg := feature.Builtin()
	s, err := host.Parse("this-machine.json", data, reg)
	if err != nil {
		b.Fatal(err)
	}
	c, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		b.Fatal(err)
	}
	a, err := check.Compute(reg, s, core.Release{Major: 7, Minor: 2}, core.KVM)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(len(c.Models())), "models")
	for b.Loop() {
		runnable := 0
		catModels := c.Models()
		for i := range catModels {
			req, err := c.Features(catModels[i].Name, "pc-q35-7.2", core.KVM)
			if err != nil {
				b.Fatal(err)
			}
			if req.SubsetOf(a.Set) {
				runnable++
			}
		}
		sink = runnable
	}
}

// BenchmarkResolveConfig resolves a -cpu line of the kind management
// software generates (a versioned model with features switched on and
// off, enforce) on qemu-10.0's newest pc-q35 under kvm, without a host
// (so enforce is not judged):
// the path of resolve --cpu, Starlark's config() and the libvirt and
// command-line importers.
func BenchmarkResolveConfig(b *testing.B) {
	c, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		b.Fatal(err)
	}
	const spec = "Skylake-Client-v4,-hle,-rtm,+pcid,+ssbd,+md-clear,+spec-ctrl,kvmclock=on,enforce"
	b.ReportAllocs()
	for b.Loop() {
		r, _, err := check.ResolveConfig(c, spec, "pc-q35-10.0", core.KVM, nil, "GenuineIntel")
		if err != nil {
			b.Fatal(err)
		}
		sink = r.Features.Count()
	}
}
