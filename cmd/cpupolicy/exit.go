package main

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes, the same in every command.
const (
	exitOK        = 0
	exitViolation = 1
	exitUsage     = 2
)

// A command returns nil (exit 0) or one of these errors; exitCode is the
// one place that turns them into a message and an exit code.
var (
	// errHelp: the command printed its help on -h. Exit 0.
	errHelp = errors.New("help printed")
	// errFailed: the command wrote its full report, and the report says
	// violations were found or something is not runnable. Exit 1 with no
	// further message.
	errFailed = errors.New("violations or not runnable")
	// errIncomplete: the command printed why it could not do all it was
	// asked (a report with a policy or test file that failed to load or
	// run; `catalog` without a subcommand, after its usage). Exit 2 with
	// no further message.
	errIncomplete = errors.New("incomplete")
)

// usageErr is a bad command line. Exit 2 with
// "cpupolicy CMD: MSG; run 'cpupolicy CMD -h' for usage".
type usageErr struct {
	cmd, msg string
}

func (u *usageErr) Error() string { return u.msg }

// usagef returns a usage error of cmd.
func usagef(cmd, format string, args ...any) error {
	return &usageErr{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// cmdErr is a failure the command itself words; it prints as
// "cpupolicy CMD: MSG" and exits with code (1 when a live host cannot be
// probed or a plugin call fails at run time, 2 otherwise). A script's
// error is printed whole: it ends with a Starlark backtrace of several
// lines.
type cmdErr struct {
	cmd    string
	err    error
	code   int
	script bool
}

func (c *cmdErr) Error() string { return c.err.Error() }
func (c *cmdErr) Unwrap() error { return c.err }

// failf is a failure of cmd with exit code 1 (not runnable: e.g. the
// live host could not be probed).
func failf(cmd string, err error) error { return &cmdErr{cmd: cmd, err: err, code: exitViolation} }

// cmdError is a failure of cmd with exit code 2 that the input's own
// message does not place (e.g. writing -o FILE).
func cmdError(cmd string, err error) error { return &cmdErr{cmd: cmd, err: err, code: exitUsage} }

// exitCode prints err as one line on e.stderr and returns the exit code.
// Any other error is an input error: its message names the file and
// position, and it prints as "cpupolicy: MSG" with exit 2.
func exitCode(e *env, err error) int {
	var u *usageErr
	var c *cmdErr
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errFailed):
		return exitViolation
	case errors.Is(err, errIncomplete):
		return exitUsage
	case errors.As(err, &u):
		fmt.Fprintf(e.stderr, "cpupolicy %s: %s; run 'cpupolicy %s -h' for usage\n", u.cmd, oneLine(u), u.cmd)
		return exitUsage
	case errors.As(err, &c) && c.script:
		fmt.Fprintf(e.stderr, "cpupolicy %s: %s\n", c.cmd, strings.TrimRight(c.err.Error(), "\n"))
		return c.code
	case errors.As(err, &c):
		fmt.Fprintf(e.stderr, "cpupolicy %s: %s\n", c.cmd, oneLine(c.err))
		return c.code
	}
	fmt.Fprintf(e.stderr, "cpupolicy: %s\n", oneLine(err))
	return exitUsage
}

// scriptFailure is the failure of a script that cmd loads or runs. Exit 2.
func scriptFailure(cmd string, err error) error {
	return &cmdErr{cmd: cmd, err: err, code: exitUsage, script: true}
}
