package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins"
)

// TestPluginScripts runs the scripts in testdata/script-plugins with the
// vendor plugins and one hostile plugin built to WebAssembly: $AMD_WASM,
// $INTEL_WASM, $ZHAOXIN_WASM and $LOOP_WASM (decode never returns). The
// scripts' commands share one compilation cache (XDG_CACHE_HOME), warmed
// here, so that each module is compiled once rather than per command
// (over five seconds each under -race).
func TestPluginScripts(t *testing.T) {
	td, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	var paths []string
	for name, pkg := range map[string]string{
		"AMD_WASM":     "github.com/cpupolicy/cpupolicy/plugins/vendors/amd",
		"INTEL_WASM":   "github.com/cpupolicy/cpupolicy/plugins/vendors/intel",
		"ZHAOXIN_WASM": "github.com/cpupolicy/cpupolicy/plugins/vendors/zhaoxin",
		"LOOP_WASM":    "github.com/cpupolicy/cpupolicy/plugins/testdata/hostile/loop",
	} {
		env[name] = plugintest.Build(t, pkg)
		paths = append(paths, env[name])
	}
	xdg := filepath.Join(plugintest.Dir(t), "xdg-cache")
	cfg := plugins.Config{}.WithCacheDir(filepath.Join(xdg, "cpupolicy", "wazero"))
	ps, err := plugins.LoadAll(context.Background(), paths, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		// Sealed plugins compile on first use: start them now, into the
		// cache the scripts share.
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.Close(context.Background())
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script-plugins",
		Setup: func(e *testscript.Env) error {
			e.Setenv("TESTDATA", td)
			e.Setenv("NO_COLOR", "1")
			e.Setenv("XDG_CACHE_HOME", xdg)
			for k, v := range env {
				e.Setenv(k, v)
			}
			return nil
		},
		Condition: scriptCondition,
	})
}

// TestTakePluginFlags: the global plugin flags come out of any command's
// arguments, before "--", in every spelling; the rest stay in order.
func TestTakePluginFlags(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.wasm", "a.wasm", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	getenv := func(k string) string {
		if k == pluginEnv {
			return dir
		}
		return ""
	}
	rest, st, err := takePluginFlags([]string{"EPYC", "--plugin", "x.wasm", "-plugin=y.wasm", "--plugin-memory", "16MiB",
		"--accel", "tcg", "--plugin-timeout=1500ms", "--", "--plugin", "z"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"EPYC", "--accel", "tcg", "--", "--plugin", "z"}
	if fmt.Sprint(rest) != fmt.Sprint(want) {
		t.Errorf("rest = %q, want %q", rest, want)
	}
	wantPaths := []string{filepath.Join(dir, "a.wasm"), filepath.Join(dir, "b.wasm"), "x.wasm", "y.wasm"}
	if fmt.Sprint(st.Paths) != fmt.Sprint(wantPaths) {
		t.Errorf("paths = %q, want %q", st.Paths, wantPaths)
	}
	if st.Config.MemoryLimit() != 16<<20 || st.Config.Timeout().Milliseconds() != 1500 {
		t.Errorf("config: memory %d, timeout %v", st.Config.MemoryLimit(), st.Config.Timeout())
	}
	for _, bad := range [][]string{{"--plugin"}, {"--plugin-memory", "1KiB"}, {"--plugin-memory", "lots"},
		{"--plugin-memory", "9TiB"}, {"--plugin-timeout", "-1s"}, {"--plugin-timeout", "soon"}} {
		if _, _, err := takePluginFlags(bad, func(string) string { return "" }); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	for in, want := range map[string]uint64{"65536": 65536, "64MiB": 64 << 20, "64M": 64 << 20, "512kib": 512 << 10, "1GiB": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
