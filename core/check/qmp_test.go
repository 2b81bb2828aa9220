package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// qemuProc is a QEMU process driven over QMP on its stdin/stdout: the
// small client these tests need, independent of any QMP package.
type qemuProc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	dec     *json.Decoder
	stderr  *lockedBuffer
	Version string // "major.minor.micro" from the greeting
}

// lockedBuffer collects QEMU's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startQEMU starts bin paused, without devices, with QMP on stdio, and
// negotiates capabilities. The process is killed when the test ends.
func startQEMU(t testing.TB, bin, machine, accel string) *qemuProc {
	t.Helper()
	cmd := exec.Command(bin, "-machine", machine, "-accel", accel,
		"-nodefaults", "-S", "-display", "none", "-qmp", "stdio")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	q := &qemuProc{cmd: cmd, in: in, dec: json.NewDecoder(out), stderr: &lockedBuffer{}}
	cmd.Stderr = q.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(q.close)
	var greeting struct {
		QMP struct {
			Version struct {
				QEMU struct{ Major, Minor, Micro int } `json:"qemu"`
			} `json:"version"`
		} `json:"QMP"`
	}
	if err := q.read(&greeting); err != nil {
		t.Fatalf("%s %s: no QMP greeting: %v (stderr: %s)", bin, machine, err, q.stderr)
	}
	v := greeting.QMP.Version.QEMU
	q.Version = fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
	if err := q.call("qmp_capabilities", nil, nil); err != nil {
		t.Fatal(err)
	}
	return q
}

// read decodes the next message that is not an event into v.
func (q *qemuProc) read(v any) error {
	for {
		var raw json.RawMessage
		if err := q.dec.Decode(&raw); err != nil {
			return err
		}
		var probe struct {
			Event *string `json:"event"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.Event != nil {
			continue
		}
		return json.Unmarshal(raw, v)
	}
}

// call runs command with args and decodes its "return" into ret (which
// may be nil). A QMP error is returned as an error.
func (q *qemuProc) call(command string, args, ret any) error {
	msg := map[string]any{"execute": command}
	if args != nil {
		msg["arguments"] = args
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := q.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %v (stderr: %s)", command, err, q.stderr)
	}
	var reply struct {
		Return json.RawMessage `json:"return"`
		Error  *struct {
			Class string `json:"class"`
			Desc  string `json:"desc"`
		} `json:"error"`
	}
	if err := q.read(&reply); err != nil {
		return fmt.Errorf("%s: %v (stderr: %s)", command, err, q.stderr)
	}
	if reply.Error != nil {
		return fmt.Errorf("%s: %s: %s", command, reply.Error.Class, reply.Error.Desc)
	}
	if ret == nil {
		return nil
	}
	return json.Unmarshal(reply.Return, ret)
}

func (q *qemuProc) close() {
	q.call("quit", nil, nil) // best effort: the process is killed below if need be
	q.in.Close()
	done := make(chan error, 1)
	go func() { done <- q.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		q.cmd.Process.Kill()
		<-done
	}
}

// cpuDefinition is one query-cpu-definitions entry.
type cpuDefinition struct {
	Name                string   `json:"name"`
	UnavailableFeatures []string `json:"unavailable-features"`
}

// expansion is query-cpu-model-expansion's answer: the model's properties.
type expansion struct {
	Model struct {
		Name  string                     `json:"name"`
		Props map[string]json.RawMessage `json:"props"`
	} `json:"model"`
}

// trueProps returns the names of the boolean properties that are true.
func (e *expansion) trueProps() []string {
	var out []string
	for k, raw := range e.Model.Props {
		var b bool
		if json.Unmarshal(raw, &b) == nil && b {
			out = append(out, k)
		}
	}
	return out
}

// qemuSession is everything one QEMU process said.
type qemuSession struct {
	version    string
	defs       []cpuDefinition
	expansions map[string]*expansion // by model name, host and max included
}

// querySession asks q for its CPU definitions and the full expansion of
// every model, plus "host" and "max".
func querySession(q *qemuProc) (*qemuSession, error) {
	s := &qemuSession{version: q.Version, expansions: map[string]*expansion{}}
	if err := q.call("query-cpu-definitions", nil, &s.defs); err != nil {
		return nil, err
	}
	names := []string{"host", "max"}
	for _, d := range s.defs {
		names = append(names, d.Name)
	}
	var errs []error
	for _, n := range names {
		if _, ok := s.expansions[n]; ok {
			continue
		}
		var e expansion
		args := map[string]any{"type": "full", "model": map[string]any{"name": n}}
		if err := q.call("query-cpu-model-expansion", args, &e); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
			continue
		}
		s.expansions[n] = &e
	}
	return s, errors.Join(errs...)
}

// findQEMU returns the binary of QEMU release want ("7.2", "10.0") and the
// q35 machine type to run it with, or skips the test.
func findQEMU(t testing.TB, want string) (bin, machine string) {
	t.Helper()
	// A release's own prefix first (scripts/qemu-release.sh unpacks 5.2
	// and 10.0 into /opt/qemu-5.2 and /opt/qemu-10.0), then $PATH and the
	// system's.
	cands := []string{"/opt/qemu-" + want + "/bin/qemu-system-x86_64"}
	if p, err := exec.LookPath("qemu-system-x86_64"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/qemu-system-x86_64")
	for _, c := range cands {
		out, err := exec.Command(c, "--version").Output()
		if err != nil {
			continue
		}
		if strings.HasPrefix(strings.TrimPrefix(string(out), "QEMU emulator version "), want+".") {
			return c, "pc-q35-" + want
		}
	}
	req, ok := map[string]testenv.Req{"5.2": testenv.QEMU52, "10.0": testenv.QEMU10, "11.1": testenv.QEMU111}[want]
	if !ok {
		req = testenv.QEMU
	}
	testenv.Missing(t, req, "QEMU %s not found (tried %v)", want, cands)
	return "", ""
}
