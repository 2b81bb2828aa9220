package starlib_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// shortTimeout is the time limit of the hostile tests: long enough for a
// loaded -race machine to start a run, short enough to keep the suite
// fast.
const shortTimeout = 300 * time.Millisecond

// safetyNet bounds a hostile run whose limit is broken, so that the test
// fails (the run then stops with the caller's context.DeadlineExceeded,
// not the limit's error) instead of hanging. It is not a speed goal.
const safetyNet = time.Minute

// spin is a builtin that works until its run is interrupted, as a long
// plugin call would: it shows Interrupted reaching inside a builtin.
func spin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	for i := 0; ; i++ {
		if i%1000 == 0 {
			if err := starlib.Interrupted(thread); err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
		}
	}
}

// block is a builtin that waits for its run's context, as a call into a
// wasm plugin under the run's deadline would.
func block(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ctx := starlib.ThreadContext(thread)
	<-ctx.Done()
	return nil, fmt.Errorf("%s: %w", b.Name(), context.Cause(ctx))
}

// TestHostile runs policies that try to run away, exhaust memory or
// leave the sandbox. Each must end in an *Error naming the policy, with
// the reason and the kind of limit that stopped it (Error.Stop).
func TestHostile(t *testing.T) {
	loadFixtures(t)
	tests := []struct {
		file          string
		maxSteps      uint64
		maxViolations int
		maxMemory     int64
		want          []string // substrings of the error
		stop          error    // errors.Is target, or nil
	}{
		{file: "loop.star", maxSteps: math.MaxUint64, stop: starlib.ErrTimeout,
			want: []string{"policy testdata/hostile/loop.star: Starlark computation cancelled: time limit exceeded after 300ms", "testdata/hostile/loop.star:4:5: in check"}},
		{file: "loop.star", maxSteps: 1_000_000, stop: starlib.ErrMaxSteps,
			want: []string{"policy testdata/hostile/loop.star: Starlark computation cancelled: step budget exceeded (1000000 steps)", "testdata/hostile/loop.star:4:5: in check"}},
		{file: "toplevel_loop.star", maxSteps: math.MaxUint64, stop: starlib.ErrTimeout,
			want: []string{"testdata/hostile/toplevel_loop.star:3:1: Starlark computation cancelled: time limit exceeded"}},
		{file: "recursion.star",
			want: []string{"policy testdata/hostile/recursion.star: function deeper called recursively", "testdata/hostile/recursion.star:4:18: in deeper"}},
		{file: "mutual.star",
			want: []string{"policy testdata/hostile/mutual.star: function ping called recursively", "testdata/hostile/mutual.star:7:16: in pong"}},
		{file: "huge_string.star",
			want: []string{"policy testdata/hostile/huge_string.star: repeat count 10000000000 too large", "testdata/hostile/huge_string.star:4:13: in check"}},
		{file: "big_message.star", stop: nil,
			want: []string{"policy testdata/hostile/big_message.star: violation: message length 2097152 exceeds the limit of 1048576: size limit exceeded"}},
		{file: "flood.star", maxViolations: 1000,
			want: []string{"policy testdata/hostile/flood.star: violation: more than 1000 violations: size limit exceeded", "testdata/hostile/flood.star:5:22: in check"}},
		{file: "passwd.star",
			want: []string{"testdata/hostile/passwd.star:3:1: cannot load /etc/passwd: absolute paths are not allowed"}},
		{file: "escape.star",
			want: []string{"testdata/hostile/escape.star:3:1: cannot load ../policies/lib/report.star: path escapes the policy's directory"}},
		{file: "slow_builtin.star", maxSteps: math.MaxUint64, stop: starlib.ErrTimeout,
			want: []string{"policy testdata/hostile/slow_builtin.star: Starlark computation cancelled: time limit exceeded after 300ms", "testdata/hostile/slow_builtin.star:", "in check"}}, // stopped in the loop or in the call: either line
		{file: "spin.star", stop: starlib.ErrTimeout,
			want: []string{"policy testdata/hostile/spin.star: spin: time limit exceeded after 300ms", "testdata/hostile/spin.star:4:9: in check", "Error in spin"}},
		{file: "doubling.star", maxSteps: math.MaxUint64, maxMemory: 32 << 20, stop: starlib.ErrMemory,
			want: []string{"policy testdata/hostile/doubling.star: Starlark computation cancelled: memory limit exceeded: the heap grew by", "(limit 32 MiB)", "testdata/hostile/doubling.star:6:15: in check"}},
		{file: "block.star", stop: starlib.ErrTimeout,
			want: []string{"policy testdata/hostile/block.star: block: time limit exceeded after 300ms", "testdata/hostile/block.star:4:10: in check"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			// Not parallel: the limit is wall-clock time, and the
			// runs would compete for the machine's cores.
			// Where another limit must stop the run (steps, memory),
			// the time limit is only a safety net: a loaded machine must
			// not make it the one that fires.
			timeout := safetyNet
			if tt.stop == starlib.ErrTimeout {
				timeout = shortTimeout
			}
			opts := starlib.Options{Timeout: timeout, MaxSteps: tt.maxSteps, MaxViolations: tt.maxViolations, MaxMemory: tt.maxMemory,
				Predeclared: starlark.StringDict{"spin": starlark.NewBuiltin("spin", spin), "block": starlark.NewBuiltin("block", block)}}
			p, err := starlib.LoadPolicyFile(filepath.Join("testdata/hostile", tt.file), opts)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), safetyNet)
				defer cancel()
				_, err = p.Check(ctx, starlib.Input{Catalog: fixtures.cat72, Host: fixtures.hosts["xeon-gold-6130"]})
			}
			if err == nil {
				t.Fatal("no error")
			}
			var perr *starlib.Error
			if !errors.As(err, &perr) {
				t.Fatalf("got %T, want *starlib.Error: %v", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
			if tt.stop != nil && !errors.Is(err, tt.stop) {
				t.Errorf("errors.Is(err, %v) = false; err.Stop = %v", tt.stop, perr.Stop)
			}
			if tt.stop == nil && perr.Stop != nil {
				t.Errorf("Stop = %v, want nil", perr.Stop)
			}
		})
	}
}

// TestCancel: the caller's context stops a run as the time limit does.
func TestCancel(t *testing.T) {
	loadFixtures(t)
	p, err := starlib.LoadPolicyFile("testdata/hostile/loop.star", starlib.Options{MaxSteps: math.MaxUint64})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = p.Check(ctx, starlib.Input{Catalog: fixtures.cat72})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, starlib.ErrTimeout) {
		t.Errorf("got %v, want the context's own error", err)
	}
}

// TestSymlinkOut: LoadPolicyFile's tree refuses a symbolic link that
// points out of it, even to a .star file.
func TestSymlinkOut(t *testing.T) {
	outside := t.TempDir()
	tree := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.star"), []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.star"), filepath.Join(tree, "link.star")); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	// A link inside the tree is fine.
	if err := os.WriteFile(filepath.Join(tree, "real.star"), []byte("y = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.star", filepath.Join(tree, "inside.star")); err != nil {
		t.Fatal(err)
	}
	src := "\"\"\"Loads through links.\"\"\"\n\nload(%q, %q)\n\ndef check(ctx):\n    pass\n"
	write := func(name, module, sym string) string {
		p := filepath.Join(tree, name)
		if err := os.WriteFile(p, fmt.Appendf(nil, src, module, sym), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := starlib.LoadPolicyFile(write("ok.star", "inside.star", "y"), starlib.Options{}); err != nil {
		t.Errorf("link inside the tree: %v", err)
	}
	_, err := starlib.LoadPolicyFile(write("bad.star", "link.star", "x"), starlib.Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot load link.star: path escapes from parent") {
		t.Errorf("link out of the tree: got %v", err)
	}
}
