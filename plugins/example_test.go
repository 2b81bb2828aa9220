package plugins_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/plugins"
	"github.com/cpupolicy/cpupolicy/plugins/internal/tinywasm"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// exampleWasm writes a small plugin (assembled by hand, so that the
// example needs no Go build) and returns its path.
func exampleWasm(dir string) string {
	var e wire.Encoder
	wire.EncodeManifest(&e, &wire.Manifest{
		ABI: wire.ABI, Name: "acme", Version: "1.0.0", Vendors: []string{"AcmeAcmeAcme"},
		Leaves:   []wire.LeafRange{{First: 0x40000101, Last: 0x40000101}},
		Features: []wire.Feature{{Name: "acme-turbo", Leaf: 0x40000101, Reg: 3, Bit: 0}},
	})
	describe := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	wire.EncodeModels(&e, []wire.Model{{Name: "Acme-Roadrunner", Vendor: "AcmeAcmeAcme", Family: 6,
		Features: []string{"sse2", "acme-turbo"}}})
	models := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	e.Strs([]string{"acme-turbo"})
	decode := tinywasm.Reply(e.B)
	path := filepath.Join(dir, "acme.wasm")
	os.WriteFile(path, tinywasm.Module(tinywasm.Replies{Describe: describe, Models: models, Decode: decode, Check: decode}), 0o644)
	return path
}

func Example() {
	dir, _ := os.MkdirTemp("", "plugins-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// Load a plugin: compile (or fetch from the cache), start, describe.
	p, err := plugins.Load(ctx, exampleWasm(dir), plugins.Config{}.WithCacheDir(filepath.Join(dir, "cache")))
	if err != nil {
		log.Fatal(err) // one line naming the file and what went wrong
	}
	defer p.Close(ctx)
	m := p.Describe()
	fmt.Println(m.Name, m.Version, "ABI", m.ABI)

	// Its features join the registry (a clash would name both sides).
	reg, err := feature.Builtin().Extend(m.Name, p.Features()...)
	if err != nil {
		log.Fatal(err)
	}

	// Decode a host's CPUID.
	names, err := p.Decode(ctx, cpuid.Leaves{{Leaf: 0x40000101, EDX: 1}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("decoded:", names)

	// Its models resolve under the extended registry.
	models, err := p.Models(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defs, err := models[0].Expand(reg)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range defs {
		fmt.Println(d.Name, reg.Names(d.Features))
	}
	// Output:
	// acme 1.0.0 ABI 1
	// decoded: [acme-turbo]
	// Acme-Roadrunner [sse2 acme-turbo]
	// Acme-Roadrunner-v1 [sse2 acme-turbo]
}
