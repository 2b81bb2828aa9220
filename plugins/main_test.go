package plugins_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// testConfig is the configuration tests load plugins with: the defaults,
// with the compilation cache in the test binary's scratch directory.
func testConfig(t testing.TB) plugins.Config {
	return plugins.Config{}.WithCacheDir(plugintest.CacheDir(t))
}

type loaded struct {
	once sync.Once
	p    *plugins.Plugin
	err  error
}

var shared sync.Map // package path → *loaded

// sharedPlugin builds and loads the plugin package pkg once per test
// binary; tests share the result (a Plugin is safe for concurrent use), so
// that wazero compiles each module once.
func sharedPlugin(t testing.TB, pkg string) *plugins.Plugin {
	t.Helper()
	path := plugintest.Build(t, pkg)
	v, _ := shared.LoadOrStore(pkg, &loaded{})
	l := v.(*loaded)
	l.once.Do(func() { l.p, l.err = plugins.Load(context.Background(), path, testConfig(t)) })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.p
}
