package plugins_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cpupolicy/cpupolicy/plugins"
	"github.com/cpupolicy/cpupolicy/plugins/internal/tinywasm"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// tinyPlugin writes a plugin with no language runtime (see
// plugins/internal/tinywasm): a manifest with the zhaoxin plugin's kind of
// content, one model, and a decode that always answers the same names.
func tinyPlugin(t testing.TB) string {
	var e wire.Encoder
	wire.EncodeManifest(&e, &wire.Manifest{
		ABI: wire.ABI, Name: "tiny", Version: "1.0.0",
		Vendors: []string{"  Shanghai  "}, Leaves: []wire.LeafRange{{First: 0xC0000000, Last: 0xC0000001}},
		Features: []wire.Feature{
			{Name: "tiny-phe2", Leaf: 0xC0000001, Reg: 3, Bit: 25},
			{Name: "tiny-rsa", Leaf: 0xC0000001, Reg: 3, Bit: 27},
		},
	})
	describe := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	wire.EncodeModels(&e, []wire.Model{{Name: "Tiny", Vendor: "  Shanghai  ", Family: 7, Features: []string{"sse2", "tiny-phe2"}}})
	models := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	e.Strs([]string{"tiny-phe2", "xstore"})
	decode := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	e.Str("no checks")
	check := wire.Frame(nil, append([]byte{wire.StatusError}, e.B...))
	path := filepath.Join(t.TempDir(), "tiny.wasm")
	if err := os.WriteFile(path, tinywasm.Module(tinywasm.Replies{Describe: describe, Models: models, Decode: decode, Check: check}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTinyPlugin: a module assembled by hand, with no Go runtime, is a
// plugin like any other.
func TestTinyPlugin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, err := plugins.Load(ctx, tinyPlugin(t), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	got, err := p.Decode(ctx, zhaoxinLeaves)
	if err != nil || !reflect.DeepEqual(got, []string{"tiny-phe2", "xstore"}) {
		t.Errorf("decode: %v, %v", got, err)
	}
	ms, err := p.Models(ctx)
	if err != nil || len(ms) != 1 || ms[0].Name != "Tiny" {
		t.Errorf("models: %+v, %v", ms, err)
	}
	if info := p.Info(); info.Size > 1024 || len(info.Imports) != 0 {
		t.Errorf("info %+v", info)
	}
}

// BenchmarkTiny measures the hand-assembled plugin: what loading and
// calling cost without Go's runtime in the guest.
func BenchmarkTiny(b *testing.B) {
	leaves := thisMachine(b)
	path := tinyPlugin(b)
	ctx := context.Background()
	b.Run("load-warm+first-call", func(b *testing.B) {
		cfg := plugins.Config{}.WithCacheDir(b.TempDir())
		p, err := plugins.Load(ctx, path, cfg)
		if err != nil {
			b.Fatal(err)
		}
		p.Close(ctx)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := plugins.Load(ctx, path, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Decode(ctx, leaves); err != nil {
				b.Fatal(err)
			}
			p.Close(ctx)
		}
	})
	b.Run("decode", func(b *testing.B) {
		p, err := plugins.Load(ctx, path, plugins.Config{}.WithCacheDir(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(ctx)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := p.Decode(ctx, leaves); err != nil {
				b.Fatal(err)
			}
		}
	})
}
