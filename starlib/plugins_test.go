package starlib_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// fakePlugins is a Go stand-in for loaded WebAssembly plugins.
type fakePlugins struct{ calls []string }

func (f *fakePlugins) Checks() []string { return []string{"acme.echo", "acme.hang"} }

func (f *fakePlugins) Call(ctx context.Context, name string, input []byte) ([]byte, error) {
	f.calls = append(f.calls, name+" "+string(input))
	switch name {
	case "acme.echo":
		return []byte(`{"got": ` + string(input) + `, "n": 1.5}`), nil
	case "acme.hang":
		<-ctx.Done() // as a plugin call does, it ends with the run's deadline
		return nil, errors.New("acme.wasm: check hang: did not return")
	}
	return nil, errors.New("unreachable")
}

func runPluginScript(t *testing.T, src string, opts starlib.Options) error {
	t.Helper()
	_, err := starlib.LoadScript(fstest.MapFS{"p.star": {Data: []byte(src)}}, "p.star", opts)
	return err
}

func TestPluginsCall(t *testing.T) {
	fake := &fakePlugins{}
	opts := starlib.Options{Plugins: fake}
	err := runPluginScript(t, `
r = plugins.call("acme.echo", {"a": [1, "x"], "s": features("avx2", "sse2")})
if r != {"got": {"a": [1, "x"], "s": ["avx2", "sse2"]}, "n": 1.5}:
    fail(r)
if plugins.checks() != ["acme.echo", "acme.hang"]:
    fail(plugins.checks())
`, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.calls) != 1 || fake.calls[0] != `acme.echo {"a":[1,"x"],"s":["avx2","sse2"]}` {
		t.Errorf("calls = %q", fake.calls)
	}

	for _, c := range []struct{ src, want string }{
		{`plugins.call("acme.nope", 1)`, `plugins.call: no check "acme.nope" (have acme.echo, acme.hang)`},
		{`plugins.call("acme.echo", lambda: 1)`, `plugins.call: input: json.encode: cannot encode function as JSON`},
		{`plugins.call("acme.echo")`, `plugins.call: got 1 arguments, want 2`},
	} {
		if err := runPluginScript(t, c.src, opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.src, err, c.want)
		}
	}
	if err := runPluginScript(t, `plugins.call("acme.echo", 1)`, starlib.Options{}); err == nil ||
		!strings.Contains(err.Error(), `plugins.call: no plugin is loaded (load one with --plugin FILE.wasm)`) {
		t.Errorf("without plugins: err = %v", err)
	}

	// A plugin call that outlives the script's deadline ends the run with
	// the deadline, not the plugin's own message.
	err = runPluginScript(t, `plugins.call("acme.hang", 1)`, starlib.Options{Plugins: fake, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, starlib.ErrTimeout) {
		t.Errorf("hanging plugin: err = %v, want ErrTimeout", err)
	}
}
