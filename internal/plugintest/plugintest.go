// Package plugintest builds Go plugin packages to WebAssembly for tests,
// each once per test binary.
//
// Building a plugin runs `go build` for GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared, exactly as plugins/vendors/gen.go does; Go's build
// cache makes a rebuild of an unchanged package cost about a second. The
// expensive step is wazero compiling the module (about half a second,
// over five seconds under -race), which tests avoid repeating by sharing
// loaded plugins and a compilation cache directory (CacheDir).
//
// It is public so that tests elsewhere (the CLI's, say) can build the
// vendor plugins the same way:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		plugintest.Cleanup()
//		os.Exit(code)
//	}
//
//	wasm := plugintest.Build(t, "github.com/cpupolicy/cpupolicy/plugins/vendors/zhaoxin")
//	p, err := plugins.Load(ctx, wasm, plugins.Config{}.WithCacheDir(plugintest.CacheDir(t)))
package plugintest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/plugins"
)

// sealTimeout is plugins/sdk/seal's: sealing runs the module in the
// interpreter, which under -race on a loaded machine takes seconds.
const sealTimeout = 2 * time.Minute

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	builds sync.Map // package path → *build
	// slots bounds concurrent go builds to the number of CPUs.
	slots = make(chan struct{}, runtime.NumCPU())

	tmp = sync.OnceValues(func() (string, error) {
		return os.MkdirTemp("", "cpupolicy-plugintest-")
	})
)

// Dir returns this test binary's scratch directory (created once; remove
// it with Cleanup from TestMain).
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := tmp()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// CacheDir returns a compilation cache directory shared by this test
// binary's tests.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Dir(t), "wazero-cache")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Cleanup removes the scratch directory. Call it from TestMain after
// m.Run.
func Cleanup() {
	if dir, err := tmp(); err == nil {
		os.RemoveAll(dir)
	}
}

// Command returns the command that builds the Go main package pkg to the
// .wasm file out, as a vendor builds a plugin.
func Command(pkg, out string) *exec.Cmd {
	cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
	return cmd
}

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Build builds the Go main package pkg (an import path, such as
// "github.com/cpupolicy/cpupolicy/plugins/vendors/zhaoxin") to WebAssembly and seals it
// (plugins.SealFile, as plugins/sdk/seal does after go build), once per
// test binary, and returns the .wasm file's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	return buildOnce(t, pkg, true)
}

// BuildUnsealed is Build without the seal: a module cpupolicy loads by
// running it, as it loads one built without the post-link step (and
// modules that cannot be sealed, such as hostile ones).
func BuildUnsealed(t testing.TB, pkg string) string {
	t.Helper()
	return buildOnce(t, pkg, false)
}

func buildOnce(t testing.TB, pkg string, sealed bool) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a WebAssembly plugin (skipped in -short mode)")
	}
	dir := Dir(t)
	key := pkg
	if !sealed {
		key += " unsealed"
	}
	v, _ := builds.LoadOrStore(key, &build{})
	b := v.(*build)
	b.once.Do(func() {
		slots <- struct{}{}
		defer func() { <-slots }()
		name := strings.ReplaceAll(strings.TrimPrefix(pkg, "github.com/cpupolicy/cpupolicy/"), "/", "_")
		if !sealed {
			name += "-unsealed"
		}
		b.path = filepath.Join(dir, name+".wasm")
		out, err := Command(pkg, b.path).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
			return
		}
		if sealed {
			cfg := plugins.Config{}.WithInterpreter(true).WithCacheDir("").WithTimeout(sealTimeout)
			if err := plugins.SealFile(context.Background(), b.path, cfg); err != nil {
				b.err = fmt.Errorf("sealing %s: %v", pkg, err)
			}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}
