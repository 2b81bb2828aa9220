package plugins_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins"
	"github.com/cpupolicy/cpupolicy/plugins/internal/cache"
)

// copyTree copies the directory tree src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCompilationCache: a warm cache is used; a corrupt entry (its header
// overwritten, which would make wazero allocate whatever the bytes say)
// is wiped and the module compiled again, and the next load is warm again.
func TestCompilationCache(t *testing.T) {
	t.Parallel()
	shared := sharedPlugin(t, zhaoxinPkg) // compiles into the shared cache
	if shared.Info().CacheHit {
		t.Logf("the shared cache was warm already")
	}
	path := plugintest.Build(t, zhaoxinPkg)
	// What is compiled, and keyed, is the module's code without its
	// declaration section: the unsealed build.
	wasm, err := os.ReadFile(plugintest.BuildUnsealed(t, zhaoxinPkg))
	if err != nil {
		t.Fatal(err)
	}
	key := cache.Key(wasm, "wazevo")
	dir := t.TempDir()
	copyTree(t, filepath.Join(plugintest.CacheDir(t), key), filepath.Join(dir, key))
	cfg := plugins.Config{}.WithCacheDir(dir)
	ctx := context.Background()

	load := func() plugins.Info {
		t.Helper()
		p, err := plugins.Load(ctx, path, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		got, err := p.Decode(ctx, zhaoxinLeaves)
		if err != nil || !reflect.DeepEqual(got, zhaoxinWant) {
			t.Fatalf("decode: %v, %v", got, err)
		}
		return p.Info()
	}
	if info := load(); !info.CacheHit || info.CacheNote != "" {
		t.Fatalf("warm cache: hit %v, note %q", info.CacheHit, info.CacheNote)
	}

	var entries []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(p) != "sums" {
			entries = append(entries, p)
		}
		return nil
	})
	if len(entries) == 0 {
		t.Fatal("no cache entries")
	}
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 32 && i < len(b); i++ {
			b[i] = 0xff
		}
		if err := os.WriteFile(e, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	info := load()
	if info.CacheHit || !strings.Contains(info.CacheNote, "corrupt entry") {
		t.Errorf("corrupt cache: hit %v, note %q; want a miss noting the corrupt entry", info.CacheHit, info.CacheNote)
	}
	if info := load(); !info.CacheHit {
		t.Errorf("after recompiling: hit %v, note %q", info.CacheHit, info.CacheNote)
	}
}

// TestNoCache: with the cache off nothing is written and nothing hit.
func TestNoCache(t *testing.T) {
	t.Parallel()
	if raceEnabled {
		t.Skip("compiles a module without a cache: over 5 s under -race, and TestCompilationCache covers the recompilation")
	}
	path := plugintest.Build(t, zhaoxinPkg)
	p, err := plugins.Load(context.Background(), path, plugins.Config{}.WithCacheDir(""))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if info := p.Info(); info.CacheHit || info.Engine != "compiler" {
		t.Errorf("info %+v", info)
	}
}
