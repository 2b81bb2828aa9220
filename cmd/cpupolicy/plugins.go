package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/plugins"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// pluginEnv is the environment variable naming a directory of plugins
// (every *.wasm in it) that every command loads, before any --plugin.
const pluginEnv = "CPUPOLICY_PLUGINS"

// pluginState is the plugins a command runs with: the files the global
// flags and CPUPOLICY_PLUGINS name.
type pluginState = plugins.Set

// takePluginFlags removes the global plugin flags from args (anywhere
// before "--"): --plugin FILE (repeatable), --plugin-memory SIZE,
// --plugin-timeout DURATION, each also as -flag and flag=value.
func takePluginFlags(args []string, getenv func(string) string) ([]string, *pluginState, error) {
	st := &pluginState{}
	if dir := getenv(pluginEnv); dir != "" {
		files, err := plugins.Dir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("%s=%s: %v", pluginEnv, dir, err)
		}
		st.Paths = append(st.Paths, files...)
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
		if err := setPluginFlag(st, name, value); err != nil {
			return nil, nil, err
		}
	}
	return rest, st, nil
}

// setPluginFlag applies one global plugin flag.
func setPluginFlag(st *pluginState, name, value string) error {
	switch name {
	case "plugin":
		st.Paths = append(st.Paths, value)
	case "plugin-memory":
		n, err := plugins.ParseSize(value)
		if err == nil && n < 1<<16 {
			err = errors.New("smaller than one 64 KiB WebAssembly page")
		}
		if err != nil {
			return fmt.Errorf("invalid value %q for flag --plugin-memory: %v", value, err)
		}
		st.Config = st.Config.WithMemoryLimit(n)
	case "plugin-timeout":
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return fmt.Errorf("invalid value %q for flag --plugin-timeout: want a positive duration such as 2s", value)
		}
		st.Config = st.Config.WithTimeout(d)
	}
	return nil
}

// parseSize reads a byte count (plugins.ParseSize), as the size flags
// take it.
func parseSize(s string) (uint64, error) { return plugins.ParseSize(s) }

// registry is the feature registry of the command: the built-in one,
// extended by the plugins.
func (e *env) registry() (*feature.Registry, error) {
	_, reg, err := e.plugins.Load(context.Background())
	return reg, err
}

// loadCatalog loads --catalog (default: the newest embedded catalog) and
// adds the plugins' models to it. A plugin model the catalog already has
// with the same definition is skipped with a notice on stderr.
func (e *env) loadCatalog(name string) (*catalog.Catalog, error) {
	cat, notices, err := e.plugins.Catalog(context.Background(), name)
	for _, n := range notices {
		fmt.Fprintf(e.stderr, "cpupolicy: note: %s\n", n)
	}
	return cat, err
}

// loadSnapshot reads and validates a snapshot file, and runs the
// plugins' decoders on it.
func (e *env) loadSnapshot(path string) (*host.HostSnapshot, error) {
	return e.plugins.ReadSnapshot(context.Background(), path)
}

// parseSnapshot is loadSnapshot on a file's data.
func (e *env) parseSnapshot(name string, data []byte) (*host.HostSnapshot, error) {
	return e.plugins.ParseSnapshot(context.Background(), name, data)
}

// probeLive probes this machine, and runs the plugins' decoders on it.
func (e *env) probeLive() (*host.HostSnapshot, error) {
	return e.plugins.Probe(context.Background(), e.now())
}

// pluginConfig is the plugin configuration of the global flags.
func (e *env) pluginConfig() plugins.Config {
	if e.plugins == nil {
		return plugins.Config{}
	}
	return e.plugins.Config
}

// starlibOptions are the Starlark sandbox's options for the command, with
// the default limits: its registry, its plugins' checks for plugins.call,
// and their decoders for the snapshots starlib reads (site files, test
// fixtures). A plugin load error is reported by whoever loads the catalog.
func (e *env) starlibOptions() starlib.Options {
	ps, reg, _ := e.plugins.Load(context.Background())
	// libvirt's CPU map is read-only system data, as catalog import
	// libvirt reads it; export() loads it only when a script asks.
	opts := starlib.Options{Registry: reg, LibvirtMap: sync.OnceValues(func() (*libvirt.Map, error) {
		return libvirt.LoadMap(libvirt.DefaultMapDir, reg)
	})}
	if len(ps) > 0 {
		opts.Plugins = plugins.Checks(ps)
		opts.DecodeSnapshot = func(s *host.HostSnapshot) error {
			return plugins.DecodeSnapshot(context.Background(), reg, ps, s)
		}
	}
	return opts
}
