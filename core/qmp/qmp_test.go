package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// The test binary doubles as a fake QEMU: run with "-fake-qemu=MODE" as its
// first argument it speaks (or fails to speak) QMP on stdin/stdout, so the
// failure paths real QEMU will not take on demand can be tested.
const fakeFlag = "-fake-qemu="

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], fakeFlag) {
		os.Exit(fakeQEMU(strings.TrimPrefix(os.Args[1], fakeFlag)))
	}
	// A fake built with -race would otherwise sleep a second at exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// fakeQEMU plays QEMU in one of these modes:
//
//	ok        greets, answers "echo" with its arguments, "fail" with a
//	          GenericError, anything else with {}; events between replies;
//	          answers a batch of "later" commands in reverse order
//	exit      complains on stderr and exits 1 without greeting
//	garbage   greets, then answers the first command with garbage
//	die       greets, then exits 3 on the first command after capabilities
//	hang      greets, then never answers after capabilities
//	noquit    like ok, but ignores quit and never exits by itself
//	noid      answers with an error without an id (QEMU's answer to
//	          a command it cannot parse)
//	dupid     answers every command twice
//	nogreet   answers {"return": {}} before any greeting
func fakeQEMU(mode string) int {
	out := bufio.NewWriter(os.Stdout)
	send := func(s string) {
		out.WriteString(s + "\n")
		out.Flush()
	}
	if mode == "exit" {
		fmt.Fprintln(os.Stderr, "fake: warning: something harmless")
		fmt.Fprintln(os.Stderr, "fake: -machine pc-q35-99: unsupported machine type")
		fmt.Fprintln(os.Stderr, "Use -machine help to list supported machines")
		return 1
	}
	if mode == "nogreet" {
		send(`{"return": {}}`)
	}
	send(`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 0, "major": 99}, "package": "fake"}, "capabilities": ["oob"]}}`)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<20)
	var later []json.RawMessage // ids of "later" commands, answered in reverse
	for in.Scan() {
		var req struct {
			Execute   string          `json:"execute"`
			Arguments json.RawMessage `json:"arguments"`
			ID        json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			send(`{"error": {"class": "GenericError", "desc": "JSON parse error"}}`)
			continue
		}
		id := string(req.ID)
		if req.Execute == "qmp_capabilities" {
			send(`{"return": {}, "id": ` + id + `}`)
			continue
		}
		switch mode {
		case "garbage":
			fmt.Fprintln(os.Stderr, "fake: about to misbehave")
			send(`Hello, I am not QMP`)
			continue
		case "die":
			fmt.Fprintln(os.Stderr, "fake: assertion failed: cpu != NULL")
			return 3
		case "hang":
			continue
		case "noid":
			send(`{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'garbage'"}}`)
			continue
		case "dupid":
			send(`{"return": {"first": 1}, "id": ` + id + `}`)
			send(`{"return": {"second": 2}, "id": ` + id + `}`)
			continue
		}
		send(`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SOMETHING", "data": {}}`)
		switch req.Execute {
		case "echo":
			send(`{"return": ` + string(req.Arguments) + `, "id": ` + id + `}`)
		case "fail":
			send(`{"id": ` + id + `, "error": {"class": "GenericError", "desc": "CPU model 'nosuch' not found"}}`)
		case "later":
			later = append(later, req.ID)
			if len(later) == 3 {
				for i := len(later) - 1; i >= 0; i-- {
					send(fmt.Sprintf(`{"return": %d, "id": %s}`, i, later[i]))
				}
				later = nil
			}
		case "quit":
			if mode == "noquit" {
				send(`{"return": {}, "id": ` + id + `}`)
				continue
			}
			send(`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {}}`)
			send(`{"return": {}, "id": ` + id + `}`)
			return 0
		default:
			send(`{"return": {}, "id": ` + id + `}`)
		}
	}
	if mode == "noquit" {
		time.Sleep(time.Hour) // like a QEMU stuck in a device's teardown
	}
	return 0
}

func startFake(t *testing.T, ctx context.Context, mode string) (*Client, error) {
	t.Helper()
	return Start(ctx, os.Args[0], []string{fakeFlag + mode})
}

func checkOneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}

func TestFake(t *testing.T) {
	ctx := context.Background()
	c, err := startFake(t, ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if g := c.Greeting(); g.Version.String() != "99.0.0" || g.Version.Package != "fake" {
		t.Errorf("greeting = %+v", g)
	}
	t.Run("echo", func(t *testing.T) {
		var got map[string]int
		if err := c.Execute(ctx, "echo", map[string]int{"a": 1}, &got); err != nil {
			t.Fatal(err)
		}
		if got["a"] != 1 {
			t.Errorf("echo = %v", got)
		}
	})
	t.Run("qmp error", func(t *testing.T) {
		err := c.Execute(ctx, "fail", nil, nil)
		var qe *Error
		if !errors.As(err, &qe) || qe.Class != "GenericError" || qe.Desc != "CPU model 'nosuch' not found" {
			t.Fatalf("err = %v, want a *qmp.Error", err)
		}
		checkOneLine(t, err, os.Args[0], "fail: GenericError: CPU model 'nosuch' not found")
	})
	t.Run("bad reply type", func(t *testing.T) {
		var got []string
		err := c.Execute(ctx, "echo", map[string]int{"a": 1}, &got)
		checkOneLine(t, err, "echo: decode reply:")
	})
	t.Run("pipelined out of order", func(t *testing.T) {
		// Three concurrent calls; the fake answers them only once all
		// three have arrived, in reverse order.
		var wg sync.WaitGroup
		got := make([]int, 3)
		errs := make([]error, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = c.Execute(ctx, "later", nil, &got[i])
			}()
		}
		wg.Wait()
		seen := map[int]bool{}
		for i := range 3 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			seen[got[i]] = true
		}
		if len(seen) != 3 {
			t.Errorf("replies %v: each call must get its own", got)
		}
	})
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkOneLine(t, c.Execute(ctx, "echo", nil, nil), "echo: client closed")
}

func TestFakeFailures(t *testing.T) {
	for _, tc := range []struct {
		mode string
		// startErr: Start fails with these; else the first Execute does.
		startErr, execErr []string
	}{
		{mode: "exit", startErr: []string{"exited with status 1: fake: -machine pc-q35-99: unsupported machine type; Use -machine help"}},
		{mode: "nogreet", startErr: []string{`bad QMP output "{\"return\": {}}": no greeting`}},
		{mode: "garbage", execErr: []string{`: echo: bad QMP output "Hello, I am not QMP": invalid character 'H'`, "fake: about to misbehave"}},
		{mode: "die", execErr: []string{": echo: exited with status 3: fake: assertion failed: cpu != NULL"}},
		{mode: "noid", execErr: []string{": echo: QEMU could not read a command: GenericError: JSON parse error, invalid keyword 'garbage'"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			c, err := startFake(t, context.Background(), tc.mode)
			if tc.startErr != nil {
				if err == nil {
					c.Close()
				}
				checkOneLine(t, err, append(tc.startErr, os.Args[0])...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Execute(context.Background(), "echo", map[string]int{}, nil)
			checkOneLine(t, err, append(tc.execErr, os.Args[0])...)
			// The client stays dead, with the same explanation.
			err2 := c.Execute(context.Background(), "echo", map[string]int{}, nil)
			if err2 == nil || !strings.Contains(err2.Error(), tc.execErr[len(tc.execErr)-1]) {
				t.Errorf("second call: %v", err2)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close after failure: %v", err)
			}
		})
	}
}

// TestDuplicateReplies: a second reply with an id already answered is
// dropped, and the connection carries on.
func TestDuplicateReplies(t *testing.T) {
	c, err := startFake(t, context.Background(), "dupid")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		var got map[string]int
		if err := c.Execute(context.Background(), "anything", nil, &got); err != nil {
			t.Fatal(err)
		}
		if got["first"] != 1 {
			t.Errorf("call %d got %v, want the first reply", i, got)
		}
	}
}

func TestMissingBinary(t *testing.T) {
	for _, bin := range []string{"qemu-system-nosuch", "/nonexistent/qemu-system-x86_64"} {
		t.Run(bin, func(t *testing.T) {
			_, err := Start(context.Background(), bin, nil)
			checkOneLine(t, err, bin)
		})
	}
}

func TestCancel(t *testing.T) {
	t.Run("execute", func(t *testing.T) {
		t.Parallel()
		c, err := startFake(t, context.Background(), "hang")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err = c.Execute(ctx, "echo", nil, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		checkOneLine(t, err, "echo")
		// The process was killed (the wait is a safety net, not a
		// speed goal).
		select {
		case <-c.exited:
			checkKilled(t, c)
		case <-time.After(time.Minute):
			t.Error("QEMU still running after a cancelled Execute")
		}
	})
	t.Run("start context", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		c, err := startFake(t, ctx, "hang")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		time.AfterFunc(50*time.Millisecond, cancel)
		err = c.Execute(context.Background(), "echo", nil, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
	})
}

func TestCloseKillsStuckQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the grace period")
	}
	t.Parallel()
	c, err := startFake(t, context.Background(), "noquit")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Close()
	checkOneLine(t, err, "did not exit after quit; killed")
	checkKilled(t, c)
}

// checkKilled: c's process has been reaped, and it ended by SIGKILL, not
// by exiting.
func checkKilled(t *testing.T, c *Client) {
	t.Helper()
	if ps := c.cmd.ProcessState; ps == nil || ps.String() != "signal: killed" {
		t.Errorf("QEMU ended with %v, want signal: killed", ps)
	}
}

func qemuBinary(t testing.TB) string {
	t.Helper()
	return testenv.Need(t, testenv.QEMU, "talk QMP to a real QEMU")
}

func TestRealQEMU(t *testing.T) {
	bin := qemuBinary(t)
	ctx := context.Background()
	c, err := Start(ctx, bin, []string{"-machine", "none", "-accel", "tcg", "-nodefaults", "-S", "-display", "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var v Version
	if err := c.Execute(ctx, "query-version", nil, &v); err != nil {
		t.Fatal(err)
	}
	if v != c.Greeting().Version || v.QEMU.Major == 0 {
		t.Errorf("query-version = %+v, greeting %+v", v, c.Greeting().Version)
	}
	t.Run("error", func(t *testing.T) {
		err := c.Execute(ctx, "query-cpu-model-expansion", map[string]any{"type": "full", "model": map[string]string{"name": "nosuch"}}, nil)
		var qe *Error
		if !errors.As(err, &qe) || qe.Class != "GenericError" {
			t.Fatalf("err = %v, want a GenericError", err)
		}
		checkOneLine(t, err, bin, "query-cpu-model-expansion: GenericError: CPU model 'nosuch' not found")
	})
	t.Run("unknown command", func(t *testing.T) {
		err := c.Execute(ctx, "no-such-command", nil, nil)
		var qe *Error
		if !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
			t.Fatalf("err = %v, want CommandNotFound", err)
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		var wg sync.WaitGroup
		names := []string{"qemu64", "Skylake-Client-v4", "EPYC-v1", "Nehalem", "kvm64", "pentium"}
		got := make([]string, len(names))
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r struct {
					Model struct {
						Name string `json:"name"`
					} `json:"model"`
				}
				if err := c.Execute(ctx, "query-cpu-model-expansion", map[string]any{"type": "static", "model": map[string]string{"name": n}}, &r); err != nil {
					t.Error(err)
				}
				got[i] = r.Model.Name
			}()
		}
		wg.Wait()
		for i := range names {
			if got[i] != "base" {
				t.Errorf("%s: static expansion is of %q, want base", names[i], got[i])
			}
		}
	})
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRealQEMUFailsToStart(t *testing.T) {
	bin := qemuBinary(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-machine", "pc-q35-99", "-nodefaults", "-display", "none"}, "exited with status 1: " + "qemu-system-x86_64: unsupported machine type"},
		{[]string{"-machine", "none", "-accel", "xyz", "-nodefaults", "-display", "none"}, "exited with status 1: qemu-system-x86_64: -accel xyz: invalid accelerator xyz"},
	} {
		t.Run(tc.args[1], func(t *testing.T) {
			_, err := Start(context.Background(), bin, tc.args)
			checkOneLine(t, err, bin+": ", tc.want)
		})
	}
}
