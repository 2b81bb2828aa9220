package starlib_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarktest"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// hostsDir holds the recorded snapshots the tests use as fixtures.
const hostsDir = "../testdata/hosts"

var fixtures struct {
	once     sync.Once
	cat72    *starlib.Catalog
	cat100   *starlib.Catalog
	hosts    map[string]*starlib.Host // by file name without .json
	hostDict *starlark.Dict
	err      error
}

// loadFixtures loads the embedded catalogs and every recorded host once.
func loadFixtures(t testing.TB) {
	t.Helper()
	f := &fixtures
	f.once.Do(func() {
		c72, err := catalog.Embedded("qemu-7.2")
		if err != nil {
			f.err = err
			return
		}
		c100, err := catalog.Embedded("qemu-10.0")
		if err != nil {
			f.err = err
			return
		}
		f.cat72, f.cat100 = starlib.NewCatalog(c72), starlib.NewCatalog(c100)
		if f.hosts, f.err = starlib.LoadTestHosts(hostsDir, true, starlib.Options{}); f.err != nil {
			return
		}
		f.hostDict = starlark.NewDict(len(f.hosts))
		for _, name := range slices.Sorted(maps.Keys(f.hosts)) {
			_ = f.hostDict.SetKey(starlark.String(name), f.hosts[name])
		}
		f.hostDict.Freeze()
	})
	if f.err != nil {
		t.Fatal(f.err)
	}
}

// TestStarlark runs testdata/*.star, each with the assert module, the
// qemu-7.2 catalog as the thread's catalog and the globals catalog,
// catalog10 and hosts (every recorded snapshot, by file name).
func TestStarlark(t *testing.T) {
	loadFixtures(t)
	files, err := filepath.Glob("testdata/*.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.star (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			thread, done := starlib.NewThread(context.Background(), file, fixtures.cat72, starlib.Options{})
			defer done()
			thread.Load = func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
				if module == "assert.star" {
					return starlarktest.LoadAssertModule()
				}
				return nil, fmt.Errorf("load not implemented")
			}
			thread.Print = func(_ *starlark.Thread, msg string) { t.Log(msg) }
			starlarktest.SetReporter(thread, t)
			predeclared := starlark.StringDict{
				"catalog":   fixtures.cat72,
				"catalog10": fixtures.cat100,
				"hosts":     fixtures.hostDict,
			}
			for k, v := range starlib.Module.Members {
				predeclared[k] = v
			}
			if _, err := starlark.ExecFileOptions(starlib.FileOptions(), thread, file, nil, predeclared); err != nil {
				if err, ok := err.(*starlark.EvalError); ok {
					t.Fatal(err.Backtrace())
				}
				t.Fatal(err)
			}
		})
	}
}
