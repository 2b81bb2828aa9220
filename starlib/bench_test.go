package starlib_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// resolveAll resolves every model of the catalog on every machine type,
// under kvm: the shape of the no-new-host-deps rule.
const resolveAll = `"""Resolves every model on every machine type."""

def check(ctx):
    n = 0
    machines = ctx.catalog.machine_types()
    for m in ctx.catalog.models():
        for mt in machines:
            n += len(ctx.catalog.resolve(m, mt).features)
    ctx.violation("resolved", n = n)
`

// newHostDeps is the no-new-host-deps rule in miniature: for every model
// and consecutive pair of machine types of a family, what the newer one
// requires beyond the older one.
const newHostDeps = `"""Newer machine types must not add host requirements."""

def check(ctx):
    for family in ["pc-i440fx", "pc-q35"]:
        machines = ctx.catalog.machine_types(family)
        for m in ctx.catalog.models():
            prev = None
            for mt in machines:
                f = m.features(mt)
                if prev != None and not (f <= prev):
                    ctx.violation("new host dependencies", model = m, machine = mt, features = f - prev)
                prev = f
`

func benchPolicy(b *testing.B, src string) []starlib.Violation {
	loadFixtures(b)
	fsys := fstest.MapFS{"p.star": {Data: []byte(src)}}
	p, err := starlib.LoadPolicy(fsys, "p.star", starlib.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := starlib.Input{Catalog: fixtures.cat72}
	var vs []starlib.Violation
	b.ReportAllocs()
	for b.Loop() {
		if vs, err = p.Check(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	return vs
}

// BenchmarkResolveAll: 130 models × 55 machine types of qemu-7.2.
func BenchmarkResolveAll(b *testing.B) {
	vs := benchPolicy(b, resolveAll)
	if len(vs) != 1 {
		b.Fatalf("got %v", vs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(130*55), "ns/resolve")
}

// BenchmarkNewHostDeps: the no-new-host-deps shape over qemu-7.2.
func BenchmarkNewHostDeps(b *testing.B) {
	vs := benchPolicy(b, newHostDeps)
	if len(vs) == 0 {
		b.Fatal("no violations")
	}
}

// BenchmarkResolveAllGo is the same work in Go, without Starlark: the
// floor the policy's cost is measured against.
func BenchmarkResolveAllGo(b *testing.B) {
	loadFixtures(b)
	c := fixtures.cat72.Catalog()
	machines := c.MachineTypes("")
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		catModels := c.Models()
		for i := range catModels {
			for _, mt := range machines {
				r, err := c.Resolve(catModels[i].Name, mt.Name, "kvm", "")
				if err != nil {
					b.Fatal(err)
				}
				n += r.Features.Count()
			}
		}
	}
}

// BenchmarkCheckSite: the runnable rule over the test site (3 offers, 4
// host checks).
func BenchmarkCheckSite(b *testing.B) {
	loadFixtures(b)
	p, err := starlib.LoadPolicyFile("testdata/policies/runnable.star", starlib.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := starlib.Input{Catalog: fixtures.cat72, Site: testSite()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Check(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
