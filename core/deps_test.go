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

// allowed reports whether a core package may import path: the standard
// library (no dot in the first element), golang.org/x/sys, and core.
func allowed(path string) bool {
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
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
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
				t.Errorf("core/%s imports %q: core may import only the standard library, golang.org/x/sys and core", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("parsed only %d files under core/; is the walk broken?", n)
	}
}

func TestAllowed(t *testing.T) {
	for path, want := range map[string]bool{
		"fmt":                   true,
		"encoding/json":         true,
		"golang.org/x/sys/unix": true,
		"github.com/cpupolicy/cpupolicy/core/feature": true,
		"go.starlark.net/starlark":                    false,
		"github.com/tetratelabs/wazero":               false,
		"golang.org/x/tools/go/ast":                   false,
		"github.com/cpupolicy/cpupolicy/starlib":      false,
	} {
		if got := allowed(path); got != want {
			t.Errorf("allowed(%q) = %v, want %v", path, got, want)
		}
	}
}
