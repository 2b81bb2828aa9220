// Package qmp is a small client for the QEMU Machine Protocol over a QEMU
// process's standard input and output.
//
// [Start] runs QEMU with "-qmp stdio", reads the greeting and negotiates
// capabilities; [Client.Execute] runs one command and decodes its
// "return". Execute may be called from several goroutines at once: every
// command carries an id and replies are matched by it, so concurrent
// callers pipeline their commands instead of waiting for each round trip.
// Asynchronous events are read and dropped.
//
// Every error is one line that names the QEMU binary. When QEMU exits or
// writes something that is not QMP, the error ends with the last lines QEMU
// wrote to its standard error, which is where it explains itself
// ("qemu-system-x86_64: exited with status 1: qemu-system-x86_64: -machine
// pc-q35-99: unsupported machine type").
package qmp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Grace is how long Close waits for QEMU to exit after "quit" before it
// kills the process, and how long a client waits for the process to be
// reaped after QEMU closed its standard output.
const Grace = 2 * time.Second

// maxLine bounds one QMP message. The largest replies a client of this
// package asks for (query-qmp-schema, full CPU model expansions) are well
// under a megabyte; a line longer than this is not QMP.
const maxLine = 64 << 20

// Error is an error QEMU answered to a command ({"error": {"class": …,
// "desc": …}}).
type Error struct {
	// Class is QMP's error class: "GenericError", "CommandNotFound",
	// "DeviceNotFound", …
	Class string `json:"class"`
	// Desc is QEMU's human-readable description.
	Desc string `json:"desc"`
}

func (e *Error) Error() string {
	return oneLine(e.Class + ": " + e.Desc)
}

// Version is a QEMU version, as the greeting and query-version report it.
type Version struct {
	QEMU struct {
		Major int `json:"major"`
		Minor int `json:"minor"`
		Micro int `json:"micro"`
	} `json:"qemu"`
	// Package is the distribution's package version, or "".
	Package string `json:"package"`
}

// String returns "major.minor.micro".
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.QEMU.Major, v.QEMU.Minor, v.QEMU.Micro)
}

// Greeting is the first message QEMU sends on a QMP connection.
type Greeting struct {
	Version      Version  `json:"version"`
	Capabilities []string `json:"capabilities"`
}

// Client is a QMP connection to a QEMU process it started. Its methods are
// safe for concurrent use.
type Client struct {
	binary   string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stderr   *tail
	greeting Greeting

	wmu sync.Mutex // serialises writes, so commands are not interleaved

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan result
	err     error // why the connection died (without the binary); set once, before dead closes
	closed  bool  // Close has been called

	dead    chan struct{} // closed when the reader has stopped
	greeted chan Greeting // the reader's first message
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // cmd.Wait's result, valid once exited is closed
	ctx     context.Context
}

type result struct {
	ret json.RawMessage
	err *Error
}

// Start runs binary with args followed by "-qmp stdio", reads QEMU's
// greeting and sends qmp_capabilities. ctx bounds the life of the process,
// as for exec.CommandContext: when it is done, QEMU is killed and every
// call fails. The caller must Close the client.
func Start(ctx context.Context, binary string, args []string) (*Client, error) {
	argv := append(append([]string(nil), args...), "-qmp", "stdio")
	cmd := exec.CommandContext(ctx, binary, argv...)
	// Bounds how long Wait waits for stderr to drain once QEMU has exited
	// (a helper it forked could hold the pipe open).
	cmd.WaitDelay = Grace
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// Our own pipe, not StdoutPipe: the reader must be free to read to EOF
	// while another goroutine waits for the process.
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = stdoutW
	c := &Client{
		binary:  binary,
		cmd:     cmd,
		stdin:   stdin,
		stderr:  &tail{},
		pending: map[uint64]chan result{},
		dead:    make(chan struct{}),
		greeted: make(chan Greeting, 1),
		exited:  make(chan struct{}),
		ctx:     ctx,
	}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		stdoutR.Close()
		stdoutW.Close()
		// exec's own errors name the binary: `exec: "qemu-system-x86_64":
		// executable file not found in $PATH`, "fork/exec /x: permission
		// denied".
		return nil, err
	}
	stdoutW.Close() // the child has its copy; EOF then means QEMU closed it
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	go c.read(stdoutR)

	select {
	case c.greeting = <-c.greeted:
	case <-c.dead:
		c.reap()
		return nil, fmt.Errorf("%s: %w", c.binary, c.err)
	}
	if err := c.Execute(ctx, "qmp_capabilities", nil, nil); err != nil {
		c.kill()
		c.reap()
		return nil, err
	}
	return c, nil
}

// Greeting returns the greeting QEMU sent when the connection opened.
func (c *Client) Greeting() Greeting { return c.greeting }

// Binary returns the binary the client started, as given to Start.
func (c *Client) Binary() string { return c.binary }

// Execute sends {"execute": cmd, "arguments": args} and decodes the
// reply's "return" into reply. args may be nil, for a command without
// arguments; reply may be nil to ignore the return, or a *json.RawMessage
// to receive it undecoded (already checked to be valid JSON). A QMP error
// reply is returned as an error wrapping *Error. QMP cannot cancel a
// command in progress, so when ctx is done before the reply arrives
// Execute kills QEMU and the client is dead.
func (c *Client) Execute(ctx context.Context, cmd string, args any, reply any) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("%s: %s: client closed", c.binary, cmd)
	}
	if c.err != nil {
		c.mu.Unlock()
		return fmt.Errorf("%s: %s: %w", c.binary, cmd, c.err)
	}
	c.nextID++
	id := c.nextID
	ch := make(chan result, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	// Killing QEMU also unblocks a write stuck on a full pipe.
	stop := context.AfterFunc(ctx, c.kill)
	defer stop()

	msg, err := json.Marshal(request{Execute: cmd, Arguments: args, ID: id})
	if err != nil {
		return fmt.Errorf("%s: %s: encode arguments: %v", c.binary, cmd, err)
	}
	c.wmu.Lock()
	_, err = c.stdin.Write(append(msg, '\n'))
	c.wmu.Unlock()
	if err != nil {
		// Most likely QEMU has exited (EPIPE); its own reason is better
		// than ours, and the reader will find it shortly.
		select {
		case <-c.dead:
			return fmt.Errorf("%s: %s: %w", c.binary, cmd, c.err)
		case <-time.After(Grace):
			return fmt.Errorf("%s: %s: write: %v", c.binary, cmd, err)
		}
	}
	var r result
	select {
	case r = <-ch:
	case <-c.dead:
		// The reader delivers a reply before it can fail, so one that
		// arrived just before QEMU died is here.
		select {
		case r = <-ch:
		default:
			return fmt.Errorf("%s: %s: %w", c.binary, cmd, c.err)
		}
	case <-ctx.Done():
		return fmt.Errorf("%s: %s: %w", c.binary, cmd, context.Cause(ctx))
	}
	if r.err != nil {
		return fmt.Errorf("%s: %s: %w", c.binary, cmd, r.err)
	}
	switch r2 := reply.(type) {
	case nil:
		return nil
	case *json.RawMessage:
		// Already validated by the reader: no need to scan it again.
		*r2 = r.ret
		return nil
	}
	if err := json.Unmarshal(r.ret, reply); err != nil {
		return fmt.Errorf("%s: %s: decode reply: %v", c.binary, cmd, oneLine(err.Error()))
	}
	return nil
}

// Close sends "quit", waits up to Grace for QEMU to exit and kills it
// otherwise. It returns nil when QEMU quit cleanly or the client had
// already failed (its calls returned why).
func (c *Client) Close() error {
	c.mu.Lock()
	failed, closed := c.err != nil, c.closed
	c.mu.Unlock()
	if closed {
		return nil
	}
	defer func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
	}()
	if failed {
		c.kill()
		c.reap()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), Grace)
	defer cancel()
	// A dead connection after "quit" is what we asked for; only a QMP
	// error or the timeout is worth reporting.
	err := c.Execute(ctx, "quit", nil, nil)
	c.stdin.Close()
	if c.waitExit() {
		return fmt.Errorf("%s: did not exit after quit; killed", c.binary)
	}
	var qe *Error
	if errors.As(err, &qe) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if c.waitErr != nil && c.cmd.ProcessState != nil && !c.cmd.ProcessState.Success() {
		return fmt.Errorf("%s: quit: %w", c.binary, c.exitError())
	}
	return nil
}

// kill ends the process; harmless when it has already exited.
func (c *Client) kill() {
	if c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
}

// reap closes QEMU's standard input and waits for the process.
func (c *Client) reap() {
	c.stdin.Close()
	c.waitExit()
}

// waitExit waits for the process to be reaped, killing it when it
// outstays Grace, and reports whether it had to.
func (c *Client) waitExit() (killed bool) {
	select {
	case <-c.exited:
		return false
	case <-time.After(Grace):
		c.kill()
		<-c.exited
		return true
	}
}

type request struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
	ID        uint64 `json:"id"`
}

// read runs in its own goroutine: it reads messages until the connection
// fails, delivering the greeting and replies and dropping events.
func (c *Client) read(r io.ReadCloser) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	first := true
	for {
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				c.fail(c.garbage(line, err))
				return
			}
			c.fail(c.closedError())
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := decodeMessage(line)
		if err != nil {
			c.fail(c.garbage(line, err))
			return
		}
		if first != (m.kind == kindGreeting) {
			why := "a second greeting"
			if first {
				why = "no greeting"
			}
			c.fail(c.garbage(line, errors.New(why)))
			return
		}
		switch m.kind {
		case kindGreeting:
			c.greeted <- *m.greeting
		case kindEvent:
			// Dropped: no caller of this package waits for events.
		case kindReply:
			if !m.hasID {
				// QEMU could not parse a command well enough to find
				// its id. We only send what json.Marshal made, so this
				// is a protocol failure, not a command's error.
				if m.err != nil {
					c.kill()
					c.fail(fmt.Errorf("QEMU could not read a command: %v", m.err))
				} else {
					c.fail(c.garbage(line, errors.New("a reply without an id")))
				}
				return
			}
			c.mu.Lock()
			ch := c.pending[m.id]
			c.mu.Unlock()
			// No one waiting: the reply to a call whose context ended.
			// A full channel: a second reply with the same id, which
			// QEMU never sends; dropped rather than block the reader.
			if ch != nil {
				select {
				case ch <- result{m.ret, m.err}:
				default:
				}
			}
		}
		first = false
	}
}

// fail records why the connection died and releases every waiter.
func (c *Client) fail(err error) {
	c.kill()
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	close(c.dead)
}

// closedError explains why QEMU closed its standard output: normally
// because it exited, with its exit status and its last words on stderr.
func (c *Client) closedError() error {
	c.waitExit()
	return c.exitError()
}

// exitError describes how the (reaped) process ended.
func (c *Client) exitError() error {
	if err := c.ctx.Err(); err != nil {
		return context.Cause(c.ctx)
	}
	var how string
	switch ps := c.cmd.ProcessState; {
	case ps == nil:
		how = fmt.Sprintf("closed its output (%v)", c.waitErr)
	case ps.ExitCode() >= 0:
		how = fmt.Sprintf("exited with status %d", ps.ExitCode())
	default:
		how = "died: " + ps.String() // "signal: killed"
	}
	return c.withStderr(errors.New(how))
}

// garbage describes output that is not QMP. The process is killed: after
// garbage nothing it says can be trusted.
func (c *Client) garbage(line []byte, why error) error {
	c.kill()
	// The process is being killed, so reaping is quick; stderr is then
	// complete.
	select {
	case <-c.exited:
	case <-time.After(Grace):
	}
	return c.withStderr(fmt.Errorf("bad QMP output %s: %s", quoteShort(line), oneLine(why.Error())))
}

// withStderr appends QEMU's last words to err.
func (c *Client) withStderr(err error) error {
	if s := c.stderr.lastLines(3); s != "" {
		return fmt.Errorf("%w: %s", err, s)
	}
	return err
}

// quoteShort quotes the start of a line of output for an error message.
func quoteShort(b []byte) string {
	const max = 60
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}

// oneLine joins the lines of s with "; ", for error messages.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var parts []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

var errLineTooLong = fmt.Errorf("message longer than %d bytes", maxLine)

// readLine reads one newline-terminated line, without the newline. QEMU's
// QMP server on a chardev without pretty=on writes exactly one message per
// line, which lets a bad message be quoted in the error and skipped past
// rather than derailing a streaming decoder. A final line without a
// newline is returned with io.EOF dropped only if it is non-empty.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return buf[:64], errLineTooLong
		}
		switch err {
		case nil:
			return buf[:len(buf)-1], nil
		case bufio.ErrBufferFull:
			continue
		default:
			if len(buf) > 0 && err == io.EOF {
				return buf, nil
			}
			return nil, err
		}
	}
}

// tail is an io.Writer that keeps the last few KiB written to it: QEMU's
// standard error, for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

// lastLines returns up to n of the last non-empty lines, joined by "; ".
// Warnings are skipped when there is anything else: with kvm QEMU warns
// about every feature the host lacks, and the line that says why it died
// comes after them.
func (t *tail) lastLines(n int) string {
	t.mu.Lock()
	s := string(t.buf)
	t.mu.Unlock()
	var lines, other []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		lines = append(lines, l)
		if !strings.Contains(l, "warning: ") {
			other = append(other, l)
		}
	}
	if len(other) > 0 {
		lines = other
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
