package plugins_test

import (
	"context"
	"os"
	"path"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins"
)

// The plugin benchmarks; bench/plugins.sh runs them and records the
// numbers in bench/RESULTS.md form. Run them alone, not under -race:
//
//	go test -run '^$' -bench . -benchtime 10x ./plugins/

func thisMachine(b *testing.B) cpuid.Leaves {
	f, err := os.Open("../testdata/hosts/this-machine.cpuid.txt")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	leaves, err := cpuid.ParseDump(f.Name(), f)
	if err != nil {
		b.Fatal(err)
	}
	return leaves
}

// BenchmarkLoadCold is Load with an empty compilation cache: wazero
// compiles the module to machine code.
func BenchmarkLoadCold(b *testing.B) {
	for _, pkg := range vendorPkgs {
		b.Run(path.Base(pkg), func(b *testing.B) {
			wasm := plugintest.Build(b, pkg)
			for i := 0; i < b.N; i++ {
				cfg := plugins.Config{}.WithCacheDir(b.TempDir())
				p, err := plugins.Load(context.Background(), wasm, cfg)
				if err != nil {
					b.Fatal(err)
				}
				p.Close(context.Background())
			}
		})
	}
}

// BenchmarkLoadWarm is Load from a warm compilation cache, then the first
// decode of a full dump: what a command pays per plugin when the cache is
// warm (the goal is 25 ms).
func BenchmarkLoadWarm(b *testing.B) {
	leaves := thisMachine(b)
	for _, pkg := range vendorPkgs {
		b.Run(path.Base(pkg), func(b *testing.B) {
			wasm := plugintest.Build(b, pkg)
			cfg := plugins.Config{}.WithCacheDir(b.TempDir())
			ctx := context.Background()
			p, err := plugins.Load(ctx, wasm, cfg) // fills the cache
			if err != nil {
				b.Fatal(err)
			}
			p.Close(ctx)
			var compile, inst float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := plugins.Load(ctx, wasm, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Decode(ctx, leaves); err != nil {
					b.Fatal(err)
				}
				info := p.Info()
				if !info.CacheHit {
					b.Fatal("cache miss")
				}
				compile += float64(info.Compile.Microseconds())
				inst += float64(info.Instantiate.Microseconds())
				p.Close(ctx)
			}
			b.ReportMetric(compile/float64(b.N)/1000, "compile-ms")
			b.ReportMetric(inst/float64(b.N)/1000, "instantiate-ms")
		})
	}
}

// BenchmarkLoadInterpreter is a one-shot load in wazero's interpreter
// (nothing to compile, no cache), then the first decode.
func BenchmarkLoadInterpreter(b *testing.B) {
	leaves := thisMachine(b)
	for _, pkg := range vendorPkgs {
		b.Run(path.Base(pkg), func(b *testing.B) {
			wasm := plugintest.Build(b, pkg)
			cfg := plugins.Config{}.WithInterpreter(true)
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				p, err := plugins.Load(ctx, wasm, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Decode(ctx, leaves); err != nil {
					b.Fatal(err)
				}
				p.Close(ctx)
			}
		})
	}
}

// BenchmarkDecode is one decode call on a full dump of this host (85
// leaves) by a loaded plugin: encode the request, call into the
// instance, read and check the reply (the goal is 10 µs).
func BenchmarkDecode(b *testing.B) {
	leaves := thisMachine(b)
	for _, engine := range []string{"compiler", "interpreter"} {
		for _, pkg := range vendorPkgs {
			b.Run(engine+"/"+path.Base(pkg), func(b *testing.B) {
				cfg := plugins.Config{}.WithCacheDir(plugintest.CacheDir(b)).WithInterpreter(engine == "interpreter")
				p, err := plugins.Load(context.Background(), plugintest.Build(b, pkg), cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close(context.Background())
				// A sealed plugin compiles on its first call: not part of
				// a decode.
				if err := p.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := p.Decode(context.Background(), leaves); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLoadAllWarm loads the three vendor plugins from a warm cache,
// one after another and with LoadAll.
func BenchmarkLoadAllWarm(b *testing.B) {
	var paths []string
	for _, pkg := range vendorPkgs {
		paths = append(paths, plugintest.Build(b, pkg))
	}
	cfg := plugins.Config{}.WithCacheDir(b.TempDir())
	ctx := context.Background()
	ps, err := plugins.LoadAll(ctx, paths, cfg) // fills the cache
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range ps {
		p.Close(ctx)
	}
	b.Run("sequential", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, path := range paths {
				p, err := plugins.Load(ctx, path, cfg)
				if err != nil {
					b.Fatal(err)
				}
				p.Close(ctx)
			}
		}
	})
	b.Run("LoadAll", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ps, err := plugins.LoadAll(ctx, paths, cfg)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range ps {
				p.Close(ctx)
			}
		}
	})
}
