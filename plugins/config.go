package plugins

import (
	"io"
	"os"
	"path/filepath"
	"time"
)

// Defaults, each with its reason.
const (
	// DefaultMemoryLimit caps an instance's linear memory. A Go-built
	// plugin starts with about 2.5 MiB and a real one stays under 8 MiB;
	// 64 MiB is room to spare and still a small fraction of a host.
	DefaultMemoryLimit = 64 << 20
	// DefaultTimeout bounds every call into a plugin, instantiation and
	// _initialize included. Real calls take microseconds (instantiation
	// milliseconds), so 2 s only ever stops a runaway plugin, even on a
	// loaded machine or under the race detector.
	DefaultTimeout = 2 * time.Second
	// DefaultMaxReply caps the size of one reply. A manifest or a model
	// list is a few kilobytes; 4 MiB leaves room for a large catalog of
	// models and stops a plugin from making the host copy its memory.
	DefaultMaxReply = 4 << 20
	// maxModuleSize caps the size of a plugin file read by Load.
	maxModuleSize = 64 << 20
)

// Config says how plugins are run. It is immutable: the With… methods
// return a changed copy. The zero value uses every default: a 64 MiB
// memory cap, a 2 s deadline per call, a 4 MiB reply cap, wazero's
// compiler with the compilation cache in the user cache directory
// (os.UserCacheDir()/cpupolicy/wazero), and no plugin log.
type Config struct {
	memoryLimit uint64
	timeout     time.Duration
	maxReply    uint32
	cacheSet    bool
	cacheDir    string
	interpreter bool
	log         io.Writer
}

// WithMemoryLimit caps each instance's linear memory at n bytes
// (--plugin-memory). n is rounded down to 64 KiB pages; 0 restores the
// default.
func (c Config) WithMemoryLimit(n uint64) Config {
	c.memoryLimit = n
	return c
}

// WithTimeout sets the deadline of every call into a plugin
// (--plugin-timeout); 0 restores the default.
func (c Config) WithTimeout(d time.Duration) Config {
	c.timeout = d
	return c
}

// WithMaxReply caps the size of a reply, in bytes; 0 restores the
// default.
func (c Config) WithMaxReply(n uint32) Config {
	c.maxReply = n
	return c
}

// WithCacheDir keeps compiled plugins in dir, so that the next process
// loads them in milliseconds instead of compiling them again. "" turns
// the disk cache off. Without this call the cache is
// os.UserCacheDir()/cpupolicy/wazero (off if there is no such
// directory).
func (c Config) WithCacheDir(dir string) Config {
	c.cacheSet, c.cacheDir = true, dir
	return c
}

// WithInterpreter runs plugins in wazero's interpreter instead of
// compiling them to machine code. Loading skips compilation (tens of
// milliseconds instead of hundreds, without a cache) and calls run several
// times slower; a warm compilation cache beats both, so this suits one-off
// use without a cache, and tests under the race detector.
func (c Config) WithInterpreter(on bool) Config {
	c.interpreter = on
	return c
}

// WithLog sends what plugins log (sdk.Log) to w, one line per message,
// prefixed with the plugin's name. nil drops it (the default).
func (c Config) WithLog(w io.Writer) Config {
	c.log = w
	return c
}

// MemoryLimit returns the memory cap in bytes.
func (c Config) MemoryLimit() uint64 {
	if c.memoryLimit == 0 {
		return DefaultMemoryLimit
	}
	return c.memoryLimit
}

// Timeout returns the deadline of each call.
func (c Config) Timeout() time.Duration {
	if c.timeout <= 0 {
		return DefaultTimeout
	}
	return c.timeout
}

// MaxReply returns the reply cap in bytes.
func (c Config) MaxReply() uint32 {
	if c.maxReply == 0 {
		return DefaultMaxReply
	}
	return c.maxReply
}

// CacheDir returns the compilation cache directory, "" if none.
func (c Config) CacheDir() string {
	if c.cacheSet {
		return c.cacheDir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "cpupolicy", "wazero")
}

// Interpreter reports whether plugins run in the interpreter.
func (c Config) Interpreter() bool { return c.interpreter }
