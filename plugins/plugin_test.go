package plugins_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins"
	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

// TestConcurrentCalls: many goroutines share one plugin; each call gets
// an instance no other goroutine is using, and every answer is right.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	p := sharedPlugin(t, zhaoxinPkg)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				got, err := p.Decode(context.Background(), zhaoxinLeaves)
				if err == nil && !reflect.DeepEqual(got, zhaoxinWant) {
					err = errors.New("decoded " + strings.Join(got, ","))
				}
				if err == nil {
					_, err = p.Check(context.Background(), "padlock", []byte(`["phe"]`))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConfig(t *testing.T) {
	var c plugins.Config
	if c.MemoryLimit() != 64<<20 || c.Timeout() != 2*time.Second || c.MaxReply() != 4<<20 || c.Interpreter() {
		t.Errorf("zero Config: %d %v %d %v", c.MemoryLimit(), c.Timeout(), c.MaxReply(), c.Interpreter())
	}
	if !strings.HasSuffix(c.CacheDir(), "cpupolicy/wazero") && c.CacheDir() != "" {
		t.Errorf("default cache dir %q", c.CacheDir())
	}
	d := c.WithMemoryLimit(1 << 20).WithTimeout(time.Second).WithMaxReply(10).WithCacheDir("").WithInterpreter(true)
	if d.MemoryLimit() != 1<<20 || d.Timeout() != time.Second || d.MaxReply() != 10 || d.CacheDir() != "" || !d.Interpreter() {
		t.Errorf("configured: %d %v %d %q %v", d.MemoryLimit(), d.Timeout(), d.MaxReply(), d.CacheDir(), d.Interpreter())
	}
	if c.MemoryLimit() != 64<<20 || c.Interpreter() {
		t.Errorf("With… changed the original")
	}
}

// TestLog: what a plugin logs reaches the configured writer, prefixed
// with its name, and a flood is capped.
func TestLog(t *testing.T) {
	t.Parallel()
	path := plugintest.Build(t, "github.com/cpupolicy/cpupolicy/plugins/testdata/chatty")
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(b)
	})
	ctx := context.Background()
	p, err := plugins.Load(ctx, path, testConfig(t).WithLog(w))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Decode(ctx, zhaoxinLeaves); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := buf.String()
	mu.Unlock()
	if got != "chatty: decoding   Shanghai  \n" {
		t.Errorf("log %q", got)
	}
	if _, err := p.Check(ctx, "flood", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := buf.Len(); n > 1<<20+64<<10 || !strings.Contains(buf.String(), "log limit reached") {
		t.Errorf("flood: %d bytes logged, limit message %v", n, strings.Contains(buf.String(), "log limit reached"))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestClosed: calls after Close fail with ErrClosed.
func TestClosed(t *testing.T) {
	t.Parallel()
	path := plugintest.Build(t, "github.com/cpupolicy/cpupolicy/plugins/testdata/chatty")
	ctx := context.Background()
	p, err := plugins.Load(ctx, path, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Close(ctx)
	if _, err := p.Decode(ctx, zhaoxinLeaves); !errors.Is(err, plugins.ErrClosed) {
		t.Errorf("decode after close: %v", err)
	}
}

// TestInfo: what plugin inspect will show.
func TestInfo(t *testing.T) {
	t.Parallel()
	p := sharedPlugin(t, zhaoxinPkg)
	info := p.Info()
	if info.Size < 1<<20 || info.ABI != plugins.ABIVersion || info.Manifest.Name != "zhaoxin" ||
		info.Engine != "compiler" || info.Compile <= 0 || info.Instantiate <= 0 || info.MemoryPages == 0 {
		t.Errorf("info %+v", info)
	}
	for _, e := range []string{"_initialize", "alloc", "check", "decode", "describe", "memory", "models"} {
		if !contains(info.Exports, e) {
			t.Errorf("exports %v lack %s", info.Exports, e)
		}
	}
	for _, im := range info.Imports {
		if !strings.HasPrefix(im, "wasi_snapshot_preview1.") {
			t.Errorf("import %s", im)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestModelDefExpand: versions apply in order, aliases name a version,
// properties that are not features are kept, unknown features are errors
// with a suggestion.
func TestModelDefExpand(t *testing.T) {
	reg := feature.Builtin()
	d := plugins.ModelDef{
		Name: "Acme", Vendor: "AcmeAcmeAcme", Family: 6, Model: 1, Level: 0xd, ModelID: "Acme v1",
		Features: []string{"sse2", "avx", "pni"},
		Versions: []sdk.Version{
			{Version: 1},
			{Version: 2, Alias: "Acme-noAVX", Props: []sdk.Prop{{Name: "avx", Value: "off"}, {Name: "model-id", Value: "Acme v2"}, {Name: "x-force-cpuid-0x1f", Value: "on"}}},
			{Version: 3, Props: []sdk.Prop{{Name: "avx2", Value: "on"}, {Name: "stepping", Value: "4"}, {Name: "level", Value: "0x1f"}}},
		},
	}
	defs, err := d.Expand(reg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Name+"→"+d.AliasOf)
	}
	if want := []string{"Acme→Acme-v1", "Acme-v1→", "Acme-v2→", "Acme-v3→", "Acme-noAVX→Acme-v2"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	v3 := defs[3]
	if got := reg.Names(v3.Features); !reflect.DeepEqual(got, []string{"avx2", "pni", "sse2"}) {
		t.Errorf("v3 features %v", got)
	}
	if v3.ModelID != "Acme v2" || v3.Stepping != 4 || v3.Level != 0x1f || v3.Props["x-force-cpuid-0x1f"] != "on" {
		t.Errorf("v3 %+v", v3)
	}
	if defs[1].ModelID != "Acme v1" || defs[1].Props != nil {
		t.Errorf("v1 changed by later versions: %+v", defs[1])
	}
	d.Versions[2].Props = append(d.Versions[2].Props, sdk.Prop{Name: "avx512", Value: "on"}, sdk.Prop{Name: "sse2", Value: "maybe"})
	_, err = d.Expand(reg)
	if err == nil || !strings.Contains(err.Error(), `unknown feature "avx512" (did you mean`) || !strings.Contains(err.Error(), `sse2="maybe"`) {
		t.Errorf("bad props: %v", err)
	}
}

// TestLoadAll: plugins load together; failures are joined, each naming
// its file, and the good ones are returned.
func TestLoadAll(t *testing.T) {
	t.Parallel()
	sharedPlugin(t, zhaoxinPkg) // warms the shared cache
	good := plugintest.Build(t, zhaoxinPkg)
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	os.WriteFile(bad, []byte("not wasm"), 0o644)
	ctx := context.Background()
	ps, err := plugins.LoadAll(ctx, []string{good, bad, good}, testConfig(t))
	if err == nil || !strings.Contains(err.Error(), bad+": offset 0x0") || !errors.Is(err, plugins.ErrModule) {
		t.Errorf("LoadAll error %v", err)
	}
	if len(ps) != 3 || ps[0] == nil || ps[1] != nil || ps[2] == nil || ps[0] == ps[2] {
		t.Fatalf("LoadAll plugins %v", ps)
	}
	for _, p := range []*plugins.Plugin{ps[0], ps[2]} {
		if got, err := p.Decode(ctx, zhaoxinLeaves); err != nil || !reflect.DeepEqual(got, zhaoxinWant) {
			t.Errorf("decode %v, %v", got, err)
		}
		p.Close(ctx)
	}
}

// TestMemoryLimitBelowModule: a cap below what the module starts with is
// an error at load, saying both.
func TestMemoryLimitBelowModule(t *testing.T) {
	t.Parallel()
	_, err := plugins.Load(context.Background(), tinyPlugin(t), plugins.Config{}.WithCacheDir("").WithMemoryLimit(0x8000))
	if !errors.Is(err, plugins.ErrModule) || !strings.Contains(err.Error(), "over limit") {
		t.Errorf("got %v", err)
	}
}
