package starlib_test

import (
	"context"
	"fmt"
	"log"
	"testing/fstest"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// A site policy, loaded from a file system and checked over the embedded
// QEMU 7.2 catalog.
func ExamplePolicy_Check() {
	policy := `"""Offers must not get KVM paravirtual bits they did not ask for."""

KVM_BITS = features("kvmclock", "kvm-nopiodelay", "kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi", "kvmclock-stable-bit")

def check(ctx):
    for offer in ctx.site.offers:
        unasked = offer.config.implicit & KVM_BITS
        if unasked:
            ctx.violation("offer %s gets KVM bits it did not ask for" % offer.name,
                          model = offer.cpu, machine = offer.machine, features = unasked)
`
	fsys := fstest.MapFS{"kvm-bits.star": {Data: []byte(policy)}}
	p, err := starlib.LoadPolicy(fsys, "kvm-bits.star", starlib.Options{})
	if err != nil {
		log.Fatal(err)
	}
	cat, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		log.Fatal(err)
	}
	site := &site.Site{Offers: []site.Offer{
		{Name: "plain", CPU: "Haswell-v4", Machine: "pc-q35-7.2"},
		{Name: "named", CPU: "Haswell-v4,kvmclock=on,kvm-nopiodelay=on,kvm-asyncpf=on,kvm-steal-time=on,kvm-pv-eoi=on,kvmclock-stable-bit=on"},
	}}
	violations, err := p.Check(context.Background(), starlib.Input{Catalog: starlib.NewCatalog(cat), Site: site})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name+":", p.Doc)
	for _, v := range violations {
		fmt.Printf("%s (%s on %s): %v\n", v.Message, v.Model, v.Machine, v.Features)
	}
	// Output:
	// kvm-bits: Offers must not get KVM paravirtual bits they did not ask for.
	// offer plain gets KVM bits it did not ask for (Haswell-v4 on pc-q35-7.2): [kvm-asyncpf kvm-nopiodelay kvm-pv-eoi kvm-steal-time kvmclock kvmclock-stable-bit]
}
