package site

import (
	"bytes"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// hostFacts is what the fleet keeps of a snapshot: its vendor and what it
// offers a KVM guest, or why it cannot (check.Compute's error, with the
// snapshot's kvm_error for check.ErrNoKVM). Hosts whose snapshots are the
// same but for their identity (host.AppendAnonymous) share one.
type hostFacts struct {
	anon     []byte // the anonymous file, to tell hash collisions apart
	vendor   string
	set      feature.FeatureSet
	err      error
	kvmError string
}

// hostRead is what readHosts returns of one file: its snapshot's facts,
// shared with its twins, and its own hostname.
type hostRead struct {
	*hostFacts
	hostname string
}

// hostCache holds the facts of each distinct snapshot read so far.
type hostCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64][]*hostFacts
	// busy marks a distinct snapshot being parsed, so that a worker
	// that meets its twin meanwhile waits rather than parsing it again.
	busy map[uint64]*sync.WaitGroup
}

func (c *hostCache) lookup(h uint64, anon []byte) *hostFacts {
	for _, f := range c.m[h] {
		if bytes.Equal(f.anon, anon) {
			return f
		}
	}
	return nil
}

// readers is how many files are read at once per core: a file not in
// the page cache waits for the disk, and others' reads fill that wait.
const readers = 4

// readHosts reads the files and returns each one's facts, in order,
// parsing each distinct snapshot once: a fleet's cost grows with its
// distinct hosts (a few hundred in real fleets) rather than its hosts,
// leaving mostly reading the files. The files are read on every core,
// several at a time. A
// file that cannot be read or parsed is an error; the first such in file
// order is returned.
func readHosts(files []FleetFile, parse func(string, []byte) (*host.HostSnapshot, error), reg *feature.Registry, rel core.Release) ([]hostRead, error) {
	out := make([]hostRead, len(files))
	c := &hostCache{seed: maphash.MakeSeed(), m: map[uint64][]*hostFacts{}, busy: map[uint64]*sync.WaitGroup{}}
	errs := make([]error, len(files))
	var next atomic.Int64
	var failedAt atomic.Int64 // the lowest index that failed, len(files) if none
	failedAt.Store(int64(len(files)))
	var wg sync.WaitGroup
	for range min(readers*runtime.GOMAXPROCS(0), max(1, len(files))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var anon, buf []byte
			for {
				k := int(next.Add(1) - 1)
				if k >= len(files) || int64(k) > failedAt.Load() {
					return
				}
				var err error
				out[k], anon, buf, err = c.read(files[k].Path, anon[:0], buf, parse, reg, rel)
				if err != nil {
					errs[k] = err
					for {
						cur := failedAt.Load()
						if int64(k) >= cur || failedAt.CompareAndSwap(cur, int64(k)) {
							break
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	if k := failedAt.Load(); k < int64(len(files)) {
		return nil, errs[k]
	}
	return out, nil
}

// read returns the facts of the file at path, from the cache when a
// snapshot the same but for its identity was read before. anon and buf
// are scratch space, returned for reuse.
func (c *hostCache) read(path string, anon, buf []byte, parse func(string, []byte) (*host.HostSnapshot, error), reg *feature.Registry, rel core.Release) (hostRead, []byte, []byte, error) {
	data, err := readFileInto(path, buf)
	if err != nil {
		return hostRead{}, anon, data, err
	}
	f, anon, err := c.lookupOrParse(path, data, anon, parse, reg, rel)
	return f, anon, data, err
}

// lookupOrParse is read's work on the file's data.
func (c *hostCache) lookupOrParse(path string, data, anon []byte, parse func(string, []byte) (*host.HostSnapshot, error), reg *feature.Registry, rel core.Release) (hostRead, []byte, error) {
	anon, hostname, ok := host.AppendAnonymous(anon, data)
	if !ok {
		f, hostname, err := facts(path, data, parse, reg, rel)
		return hostRead{f, hostname}, anon, err
	}
	h := maphash.Bytes(c.seed, anon)
	for {
		c.mu.Lock()
		if f := c.lookup(h, anon); f != nil {
			c.mu.Unlock()
			return hostRead{f, hostname}, anon, nil
		}
		if wait := c.busy[h]; wait != nil {
			c.mu.Unlock()
			wait.Wait()
			continue // the twin is in the cache now (or failed: then parse this one)
		}
		wait := &sync.WaitGroup{}
		wait.Add(1)
		c.busy[h] = wait
		c.mu.Unlock()

		f, _, err := facts(path, data, parse, reg, rel)
		c.mu.Lock()
		if err == nil {
			f.anon = bytes.Clone(anon)
			c.m[h] = append(c.m[h], f)
		}
		delete(c.busy, h)
		c.mu.Unlock()
		wait.Done()
		return hostRead{f, hostname}, anon, err
	}
}

// facts parses a snapshot file and computes what it offers a KVM guest;
// it returns the snapshot's hostname too.
func facts(path string, data []byte, parse func(string, []byte) (*host.HostSnapshot, error), reg *feature.Registry, rel core.Release) (*hostFacts, string, error) {
	s, err := parse(path, data)
	if err != nil {
		return nil, "", err
	}
	f := &hostFacts{vendor: s.Vendor, kvmError: s.KVMError}
	a, err := check.Compute(reg, s, rel, core.KVM)
	if err != nil {
		f.err = err
	} else {
		f.set = a.Set
	}
	return f, s.Hostname, nil
}
