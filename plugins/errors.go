package plugins

import (
	"errors"
	"time"

	"github.com/cpupolicy/cpupolicy/plugins/internal/sandbox"
)

// Kinds of failure, for errors.Is. Every error from this package is an
// *Error wrapping one of them.
var (
	// ErrModule: the file is not a WebAssembly module the host can use
	// (truncated, random bytes, too large, does not compile).
	ErrModule = sandbox.ErrModule
	// ErrImports: the module imports something the host does not provide
	// (only WASI preview 1 and cpupolicy.log exist).
	ErrImports = errors.New("unknown imports")
	// ErrExports: the module lacks an export the ABI requires.
	ErrExports = errors.New("missing exports")
	// ErrABI: the plugin speaks another ABI version, or its manifest or a
	// reply is malformed.
	ErrABI = errors.New("wrong ABI")
	// ErrTimeout: a call (or the instantiation) outlived its deadline, or
	// the caller's context ended.
	ErrTimeout = sandbox.ErrTimeout
	// ErrMemory: the plugin ran out of its memory cap.
	ErrMemory = sandbox.ErrMemory
	// ErrTrap: the plugin trapped, panicked or exited.
	ErrTrap = sandbox.ErrTrap
	// ErrBadReply: a reply pointer outside the plugin's memory, a reply
	// over the size cap, or an unknown status.
	ErrBadReply = sandbox.ErrBadReply
	// ErrPlugin: the plugin returned an error on purpose (a check that
	// cannot run on its input, say). The instance is kept.
	ErrPlugin = sandbox.ErrPlugin
	// ErrClosed: the plugin was closed.
	ErrClosed = sandbox.ErrClosed
)

// Error is a failure of one plugin: the file, what the host was doing,
// and what the plugin did. Error() is one line: "zhaoxin.wasm: decode:
// did not return within 2s".
type Error struct {
	// File is the plugin's path as given to Load.
	File string
	// Op is what the host was doing: "load", "instantiate", "describe",
	// "decode", "models", "check NAME".
	Op string
	// Kind is one of the Err* values.
	Kind error
	// Detail says what the plugin did.
	Detail string
	// Stderr is the start and the end of the plugin's stderr when it
	// crashed (Go prints its panic and goroutine traces there), for
	// verbose output.
	Stderr string
	// Elapsed is how long the failing call or instantiation ran (0 when
	// the plugin never ran: a bad file, say).
	Elapsed time.Duration
}

func (e *Error) Error() string {
	if e.Op == "" {
		return e.File + ": " + e.Detail
	}
	return e.File + ": " + e.Op + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Kind }

// wrap turns err (a *sandbox.Failure or anything else) into an *Error.
func wrap(file, op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	out := &Error{File: file, Op: op, Kind: ErrModule, Detail: err.Error()}
	var f *sandbox.Failure
	if errors.As(err, &f) {
		out.Kind, out.Detail, out.Stderr, out.Elapsed = f.Kind, f.Detail, f.Stderr, f.Elapsed
	}
	return out
}
