// Command gen writes docs/starlark.md (go generate ./internal/starlarkdoc).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cpupolicy/cpupolicy/internal/atomicfile"
	"github.com/cpupolicy/cpupolicy/internal/starlarkdoc"
)

func main() {
	out := flag.String("o", "", "write to `FILE`")
	root := flag.String("root", "../..", "the repository's root `DIR`")
	flag.Parse()
	data, err := starlarkdoc.Generate(*root)
	if err == nil {
		err = atomicfile.Write(filepath.Clean(*out), data)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}
