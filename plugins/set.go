package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Set is the plugins a program runs with: the files Paths names, loaded
// together with Config on first use, and the built-in registry extended
// with their features. A nil or empty Set has no plugins. Its methods
// are safe for concurrent use once Paths and Config are set.
type Set struct {
	Paths  []string
	Config Config

	once sync.Once
	ps   []*Plugin
	reg  *feature.Registry
	err  error
}

// Load loads the plugins once and returns them with the extended
// registry; after an error none of them is used.
func (s *Set) Load(ctx context.Context) ([]*Plugin, *feature.Registry, error) {
	if s == nil {
		return nil, feature.Builtin(), nil
	}
	s.once.Do(func() {
		s.reg = feature.Builtin()
		if len(s.Paths) == 0 {
			return
		}
		s.ps, s.err = LoadAll(ctx, s.Paths, s.Config)
		if s.err == nil {
			var reg *feature.Registry
			if reg, s.err = Registry(s.reg, s.ps); s.err == nil {
				s.reg = reg
			}
		}
		if s.err != nil {
			s.Close(ctx)
			s.ps = nil
		}
	})
	return s.ps, s.reg, s.err
}

// Close closes the loaded plugins.
func (s *Set) Close(ctx context.Context) {
	if s == nil {
		return
	}
	for _, p := range s.ps {
		if p != nil {
			p.Close(ctx)
		}
	}
}

// Catalog loads the catalog nameOrFile ("" for catalog.DefaultName) and
// adds the plugins' models to it (Catalog); notices name the plugin
// models the catalog already has with the same definition, skipped.
func (s *Set) Catalog(ctx context.Context, nameOrFile string) (*catalog.Catalog, []string, error) {
	ps, reg, err := s.Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	if nameOrFile == "" {
		nameOrFile = catalog.DefaultName()
	}
	cat, err := catalog.Load(nameOrFile, feature.Builtin())
	if err != nil || len(ps) == 0 {
		return cat, nil, err
	}
	return Catalog(ctx, cat, reg, ps)
}

// ReadSnapshot reads and validates a snapshot file, and runs the
// plugins' decoders on it.
func (s *Set) ReadSnapshot(ctx context.Context, path string) (*host.HostSnapshot, error) {
	ps, reg, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := host.ReadFile(path, reg)
	if err != nil {
		return nil, err
	}
	return snap, DecodeSnapshot(ctx, reg, ps, snap)
}

// ParseSnapshot parses and validates a snapshot file's data (name names
// it in errors), and runs the plugins' decoders on it.
func (s *Set) ParseSnapshot(ctx context.Context, name string, data []byte) (*host.HostSnapshot, error) {
	ps, reg, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := host.Parse(name, data, reg)
	if err != nil {
		return nil, err
	}
	return snap, DecodeSnapshot(ctx, reg, ps, snap)
}

// Probe probes this machine at time now, and runs the plugins' decoders
// on the snapshot.
func (s *Set) Probe(ctx context.Context, now time.Time) (*host.HostSnapshot, error) {
	ps, reg, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := host.Probe(host.Live(host.LiveConfig{}), reg, now)
	if err != nil {
		return nil, err
	}
	return snap, DecodeSnapshot(ctx, reg, ps, snap)
}

// Dir lists the plugins of a directory: every *.wasm in it, sorted. A
// directory that does not exist is an error.
func Dir(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err == nil && len(files) == 0 {
		if _, serr := os.Stat(dir); serr != nil {
			err = serr
		}
	}
	sort.Strings(files)
	return files, err
}

// ParseSize reads a byte count: "67108864", "64MiB", "64M", "512KiB",
// "1GiB" (binary units; "MB" is taken as MiB too, as memory sizes are).
func ParseSize(s string) (uint64, error) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, errors.New("want a size such as 64MiB")
	}
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20, "g": 30, "gb": 30, "gib": 30}
	sh, ok := shift[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (want KiB, MiB or GiB)", unit)
	}
	if n > (1<<40)>>sh {
		return 0, errors.New("too large")
	}
	return n << sh, nil
}
