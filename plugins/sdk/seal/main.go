// Command seal writes a plugin's declaration into its .wasm: the
// post-link step of building a cpupolicy plugin.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o acme.wasm .
//	go run github.com/cpupolicy/cpupolicy/plugins/sdk/seal acme.wasm
//
// It runs each module once (in wazero's interpreter, so that sealing
// costs tens of milliseconds rather than a compilation), asks it what
// describe and models answer, and writes both as the module's first
// section, a custom section named "cpupolicy.declaration"
// (plugins.DeclarationSection), together with the SHA-256 of the module
// as the compiler wrote it. cpupolicy then learns the plugin's features
// and models by reading that section, without compiling the module, and
// compiles it only when a decoder or a check is called; at that point a
// module whose declaration disagrees with its code is refused.
//
// Sealing an already sealed module replaces its declaration. The file is
// replaced atomically. Exit status: 0 sealed, 1 a module could not be
// sealed (the message names the file), 2 usage.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cpupolicy/cpupolicy/plugins"
)

// sealTimeout bounds each call into the module while sealing: the Go
// runtime's start in the interpreter takes tens of milliseconds on a
// quiet machine, seconds on a loaded one or under the race detector, and
// a build step should not fail for that (2 s is the default for calls at
// run time).
const sealTimeout = 2 * time.Minute

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: seal FILE.wasm...")
		os.Exit(2)
	}
	// The interpreter: a module is run once here, so compiling it to
	// machine code (hundreds of milliseconds) would be wasted; no cache
	// either, for the same reason.
	cfg := plugins.Config{}.WithInterpreter(true).WithCacheDir("").WithTimeout(sealTimeout)
	code := 0
	for _, path := range os.Args[1:] {
		if err := plugins.SealFile(context.Background(), path, cfg); err != nil {
			fmt.Fprintf(os.Stderr, "seal: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
