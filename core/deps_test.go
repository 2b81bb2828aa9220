package core_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// leafHelpers are the module's internal packages that core may import:
// small helpers shared with starlib and cmd, which therefore cannot live
// under core/internal. They obey the same policy (TestImportPolicy walks
// them too).
var leafHelpers = map[string]string{
	"github.com/cpupolicy/cpupolicy/internal/jsonpos": "../internal/jsonpos",
	"github.com/cpupolicy/cpupolicy/internal/suggest": "../internal/suggest",
	"github.com/cpupolicy/cpupolicy/internal/ansi":    "../internal/ansi",
	"github.com/cpupolicy/cpupolicy/internal/english": "../internal/english",
	// fleetgen makes realistic fleets for core/fleet's benchmarks.
	"github.com/cpupolicy/cpupolicy/internal/fleetgen": "../internal/fleetgen",
	// testenv tells core's tests which real systems (QEMU, /dev/kvm,
	// cpuid, …) are here, and fails them under CPUPOLICY_REQUIRE.
	"github.com/cpupolicy/cpupolicy/internal/testenv": "../internal/testenv",
}

// allowed reports whether a core package may import path: the standard
// library (no dot in the first element), golang.org/x/sys, core and the
// leaf helpers.
func allowed(path string) bool {
	if _, ok := leafHelpers[path]; ok {
		return true
	}
	first, _, _ := strings.Cut(path, "/")
	// The rest of this module (starlib, plugins, cmd) has a dot in its
	// first element, so it falls to the last rule and is refused.
	switch {
	case path == "github.com/cpupolicy/cpupolicy/core" || strings.HasPrefix(path, "github.com/cpupolicy/cpupolicy/core/"):
		return true
	case path == "golang.org/x/sys" || strings.HasPrefix(path, "golang.org/x/sys/"):
		return true
	}
	return !strings.Contains(first, ".")
}

// TestImportPolicy parses every Go file under core/ (tests included, all
// build tags) and fails on an import outside the policy.
func TestImportPolicy(t *testing.T) {
	n := 0
	for _, dir := range leafHelpers {
		n += checkTree(t, dir)
	}
	n += checkTree(t, ".")
	if n < 10 {
		t.Fatalf("parsed only %d files under core/; is the walk broken?", n)
	}
}

// checkTree checks every Go file under root and returns how many it read.
func checkTree(t *testing.T, root string) int {
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		n++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowed(p) {
				t.Errorf("core/%s imports %q: core may import only the standard library, golang.org/x/sys, core and its leaf helpers", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAllowed(t *testing.T) {
	for path, want := range map[string]bool{
		"fmt":                   true,
		"encoding/json":         true,
		"golang.org/x/sys/unix": true,
		"github.com/cpupolicy/cpupolicy/core/feature":        true,
		"go.starlark.net/starlark":                           false,
		"github.com/tetratelabs/wazero":                      false,
		"golang.org/x/tools/go/ast":                          false,
		"github.com/cpupolicy/cpupolicy/starlib":             false,
		"github.com/cpupolicy/cpupolicy/internal/jsonpos":    true,
		"github.com/cpupolicy/cpupolicy/internal/plugintest": false,
	} {
		if got := allowed(path); got != want {
			t.Errorf("allowed(%q) = %v, want %v", path, got, want)
		}
	}
}
