package plugins_test

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins"
)

// zhaoxinLeaves is a Zhaoxin CPU with a few PadLock bits.
var zhaoxinLeaves = leafSet(vendorLeaf0("  Shanghai  ", 0x1f), signature(7, 0x3b),
	cpuid.Leaf{Leaf: 0xC0000000, EAX: 0xC0000001}, cpuid.Leaf{Leaf: 0xC0000001, EDX: 1<<2 | 1<<3 | 1<<25})

var zhaoxinWant = []string{"phe2", "xstore", "xstore-en"}

// healthyWatch calls a healthy plugin over and over until stopped, and
// reports whether every call answered right.
type healthyWatch struct {
	p     *plugins.Plugin
	stop  chan struct{}
	done  sync.WaitGroup
	calls atomic.Int64
	mu    sync.Mutex
	err   error
}

func watchHealthy(p *plugins.Plugin) *healthyWatch {
	w := &healthyWatch{p: p, stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			w.check()
		}
	}()
	return w
}

func (w *healthyWatch) check() {
	got, err := w.p.Decode(context.Background(), zhaoxinLeaves)
	if err == nil && !reflect.DeepEqual(got, zhaoxinWant) {
		err = errors.New("healthy plugin decoded " + strings.Join(got, ","))
	}
	if err == nil {
		_, err = w.p.Models(context.Background())
	}
	w.calls.Add(1)
	if err != nil {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	}
}

func (w *healthyWatch) finish(t *testing.T) {
	close(w.stop)
	w.done.Wait()
	w.check() // at least one call after every hostile one
	if w.err != nil {
		t.Errorf("the healthy plugin failed while hostile ones ran: %v", w.err)
	}
	t.Logf("the healthy plugin answered %d calls while hostile ones ran", w.calls.Load())
}

// hostile builds a plugin from plugins/testdata/hostile.
func hostile(t *testing.T, name string) string {
	// Unsealed: they are loaded by running them, where their faults show.
	return plugintest.BuildUnsealed(t, "github.com/cpupolicy/cpupolicy/plugins/testdata/hostile/"+name)
}

// TestHostile runs every hostile plugin: each must end with one error,
// of the right kind (the deadline, the memory cap, a trap, …), that names
// its file and says what it did; meanwhile a healthy plugin in the same process
// keeps answering.
func TestHostile(t *testing.T) {
	healthy := sharedPlugin(t, zhaoxinPkg)
	watch := watchHealthy(healthy)
	// The group returns when its parallel subtests are done.
	t.Run("group", func(t *testing.T) { runHostile(t, watch) })
	watch.finish(t)
}

func runHostile(t *testing.T, watch *healthyWatch) {

	cfg := testConfig(t)
	ctx := context.Background()

	// An outcome is the error and how long the failing step took (logged,
	// not asserted): the call, timed here, or, for a plugin that fails
	// inside Load after it compiled, the instantiation or describe call
	// (Error.Elapsed), not the compilation before it.
	type outcome struct {
		err     error
		elapsed time.Duration
	}
	loadTimed := func(t *testing.T, path string, cfg plugins.Config) outcome {
		t0 := time.Now()
		_, err := plugins.Load(ctx, path, cfg)
		o := outcome{err, time.Since(t0)}
		var pe *plugins.Error
		if errors.As(err, &pe) && pe.Elapsed > 0 {
			o.elapsed = pe.Elapsed
		}
		return o
	}
	callTimed := func(t *testing.T, path string, cfg plugins.Config, call func(*plugins.Plugin) error) outcome {
		p, err := plugins.Load(ctx, path, cfg)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		t.Cleanup(func() { p.Close(ctx) })
		t0 := time.Now()
		err = call(p)
		return outcome{err, time.Since(t0)}
	}
	decode := func(p *plugins.Plugin) error {
		_, err := p.Decode(ctx, zhaoxinLeaves)
		return err
	}

	tests := []struct {
		name string
		run  func(t *testing.T) (path string, o outcome)
		kind error
		want []string // substrings of the message, after the file name
	}{
		{"initloop", func(t *testing.T) (string, outcome) {
			path := hostile(t, "initloop")
			return path, loadTimed(t, path, cfg)
		}, plugins.ErrTimeout, []string{"instantiate: _initialize did not return within 2s"}},

		{"loop", func(t *testing.T) (string, outcome) {
			path := hostile(t, "loop")
			return path, callTimed(t, path, cfg, decode)
		}, plugins.ErrTimeout, []string{"decode: decode did not return within 2s"}},

		{"loop-interpreter", func(t *testing.T) (string, outcome) {
			path := hostile(t, "loop")
			return path, callTimed(t, path, cfg.WithInterpreter(true), decode)
		}, plugins.ErrTimeout, []string{"decode: decode did not return within 2s"}},

		{"bomb", func(t *testing.T) (string, outcome) {
			path := hostile(t, "bomb")
			// Filling 64 MiB takes 0.3 s alone, 1.7 s under -race, and
			// over 10 s with this suite's parallel subtests on a loaded
			// 2-core machine: the deadline must not be what stops the
			// bomb, with or without -race.
			return path, callTimed(t, path, cfg.WithTimeout(30*time.Second), decode)
		}, plugins.ErrMemory, []string{"decode: decode ran out of memory (limit 64 MiB)"}},

		{"bomb-16MiB", func(t *testing.T) (string, outcome) {
			path := hostile(t, "bomb")
			return path, callTimed(t, path, cfg.WithMemoryLimit(16<<20), decode)
		}, plugins.ErrMemory, []string{"decode: decode ran out of memory (limit 16 MiB)"}},

		{"oob", func(t *testing.T) (string, outcome) {
			path := hostile(t, "oob")
			return path, callTimed(t, path, cfg, func(p *plugins.Plugin) error {
				err := decode(p)
				// The instance was discarded; the plugin's other
				// exports still answer from a fresh one.
				if _, merr := p.Models(ctx); merr != nil {
					t.Errorf("models after a bad decode: %v", merr)
				}
				return err
			})
		}, plugins.ErrBadReply, []string{"decode: reply pointer 0xfffffff0 is outside its", "-byte memory"}},

		{"panic", func(t *testing.T) (string, outcome) {
			path := hostile(t, "panic")
			return path, callTimed(t, path, cfg, decode)
		}, plugins.ErrTrap, []string{"decode: decode crashed: panic: boom from a goroutine"}},

		{"panic-recovered", func(t *testing.T) (string, outcome) {
			path := hostile(t, "panic")
			return path, callTimed(t, path, cfg, func(p *plugins.Plugin) error {
				_, err := p.Check(ctx, "boom", []byte(`{}`))
				return err
			})
		}, plugins.ErrTrap, []string{"check boom: panicked: boom in a check"}},

		{"claim", func(t *testing.T) (string, outcome) {
			path := hostile(t, "claim")
			return path, callTimed(t, path, cfg, decode)
		}, plugins.ErrBadReply, []string{"decode: reply claims 1073741824 bytes, over the 4 MiB limit"}},

		{"import", func(t *testing.T) (string, outcome) {
			path := hostile(t, "import")
			return path, loadTimed(t, path, cfg)
		}, plugins.ErrImports, []string{"load: imports env.steal_secrets, which the host does not provide"}},

		{"escape", func(t *testing.T) (string, outcome) {
			path := hostile(t, "escape")
			o := callTimed(t, path, cfg, decode)
			if _, err := os.Stat("/tmp/cpupolicy-escape"); err == nil {
				t.Errorf("the plugin created /tmp/cpupolicy-escape on the host")
			}
			return path, o
		}, plugins.ErrPlugin, []string{
			"decode: read /etc/passwd: open /etc/passwd: ",
			"list /: open /: ",
			"create /tmp/cpupolicy-escape: open /tmp/cpupolicy-escape: ",
			"dial 127.0.0.1:22: dial tcp 127.0.0.1:22: ",
			"environ: empty", "args: none", "clock: fake, reads 2022-01-01T00:00:",
		}},

		{"abi2", func(t *testing.T) (string, outcome) {
			path := hostile(t, "abi2")
			return path, loadTimed(t, path, cfg)
		}, plugins.ErrABI, []string{"describe: the plugin speaks ABI 2, this cpupolicy speaks ABI 1"}},

		{"truncated", func(t *testing.T) (string, outcome) {
			good, err := os.ReadFile(plugintest.Build(t, zhaoxinPkg))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "truncated.wasm")
			if err := os.WriteFile(path, good[:len(good)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			return path, loadTimed(t, path, cfg)
		}, plugins.ErrModule, []string{"runs past the end of the module", "truncated?"}},

		{"no-exports", func(t *testing.T) (string, outcome) {
			path := filepath.Join(t.TempDir(), "empty.wasm")
			if err := os.WriteFile(path, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
				t.Fatal(err)
			}
			return path, loadTimed(t, path, cfg)
		}, plugins.ErrExports, []string{"load: does not export _initialize, alloc, describe, decode, models, check, memory"}},

		{"random", func(t *testing.T) (string, outcome) {
			b := make([]byte, 64<<10)
			rand.New(rand.NewSource(1)).Read(b)
			path := filepath.Join(t.TempDir(), "random.wasm")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return path, loadTimed(t, path, cfg)
		}, plugins.ErrModule, []string{"offset 0x0: not a WebAssembly module: bad magic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, o := tt.run(t)
			if o.err == nil {
				t.Fatalf("no error")
			}
			msg := o.err.Error()
			t.Logf("%v after %v", msg, o.elapsed.Round(time.Millisecond))
			if !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error %q does not start with the file name %s", msg, path)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if !errors.Is(o.err, tt.kind) {
				t.Errorf("error %q is not %v", msg, tt.kind)
			}
			var pe *plugins.Error
			if !errors.As(o.err, &pe) || pe.File != path {
				t.Errorf("error %T does not name the file as *plugins.Error", o.err)
			}
			watch.check()
		})
	}
}
