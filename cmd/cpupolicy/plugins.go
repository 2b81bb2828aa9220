package main

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
	"github.com/cpupolicy/cpupolicy/plugins"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// pluginEnv is the environment variable naming a directory of plugins
// (every *.wasm in it) that every command loads, before any --plugin.
const pluginEnv = "CPUPOLICY_PLUGINS"

// pluginState is the plugins a command runs with: the files the global
// flags and CPUPOLICY_PLUGINS name, loaded on first use, and the registry
// extended with their features.
type pluginState struct {
	paths []string
	cfg   plugins.Config

	once sync.Once
	ps   []*plugins.Plugin
	reg  *feature.Registry
	err  error
}

// takePluginFlags removes the global plugin flags from args (anywhere
// before "--"): --plugin FILE (repeatable), --plugin-memory SIZE,
// --plugin-timeout DURATION, each also as -flag and flag=value.
func takePluginFlags(args []string, getenv func(string) string) ([]string, *pluginState, error) {
	st := &pluginState{}
	if dir := getenv(pluginEnv); dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
		if err == nil && len(files) == 0 {
			if _, serr := os.Stat(dir); serr != nil {
				err = serr
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s=%s: %v", pluginEnv, dir, err)
		}
		sort.Strings(files)
		st.paths = append(st.paths, files...)
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "plugin" && name != "plugin-memory" && name != "plugin-timeout" {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag needs an argument: --%s", name)
			}
			i++
			value = args[i]
		}
		if err := st.setFlag(name, value); err != nil {
			return nil, nil, err
		}
	}
	return rest, st, nil
}

// setFlag applies one global plugin flag.
func (st *pluginState) setFlag(name, value string) error {
	switch name {
	case "plugin":
		st.paths = append(st.paths, value)
	case "plugin-memory":
		n, err := parseSize(value)
		if err == nil && n < 1<<16 {
			err = errors.New("smaller than one 64 KiB WebAssembly page")
		}
		if err != nil {
			return fmt.Errorf("invalid value %q for flag --plugin-memory: %v", value, err)
		}
		st.cfg = st.cfg.WithMemoryLimit(n)
	case "plugin-timeout":
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return fmt.Errorf("invalid value %q for flag --plugin-timeout: want a positive duration such as 2s", value)
		}
		st.cfg = st.cfg.WithTimeout(d)
	}
	return nil
}

// parseSize reads a byte count: "67108864", "64MiB", "64M", "512KiB",
// "1GiB" (binary units; "MB" is taken as MiB too, as memory sizes are).
func parseSize(s string) (uint64, error) {
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

// load loads the plugins once and extends the built-in registry with
// their features.
// A nil state has no plugins.
func (st *pluginState) load() ([]*plugins.Plugin, *feature.Registry, error) {
	if st == nil {
		return nil, feature.Builtin(), nil
	}
	st.once.Do(func() {
		st.reg = feature.Builtin()
		if len(st.paths) == 0 {
			return
		}
		st.ps, st.err = plugins.LoadAll(context.Background(), st.paths, st.cfg)
		if st.err == nil {
			var reg *feature.Registry
			if reg, st.err = plugins.Registry(st.reg, st.ps); st.err == nil {
				st.reg = reg
			}
		}
		if st.err != nil {
			// The command fails; none of the plugins is used.
			st.close()
			st.ps = nil
		}
	})
	return st.ps, st.reg, st.err
}

func (st *pluginState) close() {
	if st == nil {
		return
	}
	for _, p := range st.ps {
		if p != nil {
			p.Close(context.Background())
		}
	}
}

// registry is the feature registry of the command: the built-in one,
// extended by the plugins.
func (e *env) registry() (*feature.Registry, error) {
	_, reg, err := e.plugins.load()
	return reg, err
}

// loadCatalog loads --catalog (default: the newest embedded catalog) and
// adds the plugins' models to it. A plugin model the catalog already has
// with the same definition is skipped with a notice on stderr.
func (e *env) loadCatalog(name string) (*catalog.Catalog, error) {
	ps, reg, err := e.plugins.load()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = catalog.DefaultName()
	}
	cat, err := catalog.Load(name, feature.Builtin())
	if err != nil || len(ps) == 0 {
		return cat, err
	}
	cat, notices, err := plugins.Catalog(context.Background(), cat, reg, ps)
	if err != nil {
		return nil, err
	}
	for _, n := range notices {
		fmt.Fprintf(e.stderr, "cpupolicy: note: %s\n", n)
	}
	return cat, nil
}

// loadSnapshot reads and validates a snapshot file, and runs the
// plugins' decoders on it.
func (e *env) loadSnapshot(path string) (*host.HostSnapshot, error) {
	ps, reg, err := e.plugins.load()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := host.Parse(path, data, reg)
	if err != nil {
		return nil, err
	}
	return s, plugins.DecodeSnapshot(context.Background(), reg, ps, s)
}

// probeLive probes this machine, and runs the plugins' decoders on it.
func (e *env) probeLive() (*host.HostSnapshot, error) {
	ps, reg, err := e.plugins.load()
	if err != nil {
		return nil, err
	}
	s, err := host.Probe(host.Live(host.LiveConfig{}), reg, e.now())
	if err != nil {
		return nil, err
	}
	return s, plugins.DecodeSnapshot(context.Background(), reg, ps, s)
}

// pluginConfig is the plugin configuration of the global flags.
func (e *env) pluginConfig() plugins.Config {
	if e.plugins == nil {
		return plugins.Config{}
	}
	return e.plugins.cfg
}

// starlibOptions are the Starlark sandbox's options for the command, with
// the default limits: its registry, its plugins' checks for plugins.call,
// and their decoders for the snapshots starlib reads (site files, test
// fixtures). A plugin load error is reported by whoever loads the catalog.
func (e *env) starlibOptions() starlib.Options {
	ps, reg, _ := e.plugins.load()
	opts := starlib.Options{Registry: reg}
	if len(ps) > 0 {
		opts.Plugins = plugins.Checks(ps)
		opts.DecodeSnapshot = func(s *host.HostSnapshot) error {
			return plugins.DecodeSnapshot(context.Background(), reg, ps, s)
		}
	}
	return opts
}
