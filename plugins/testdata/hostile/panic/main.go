// Command panic is a hostile plugin. decode panics on another goroutine,
// which nothing can recover (Go's runtime prints the panic and exits with
// code 2); the check "boom" panics in its handler, which the SDK recovers
// and reports.
package main

import (
	"runtime"

	"github.com/cpupolicy/cpupolicy/plugins/sdk"
)

func init() {
	sdk.Register(&sdk.Plugin{
		Name: "panic",
		Decode: func(sdk.CPUID) ([]string, error) {
			go func() { panic("boom from a goroutine") }()
			for {
				runtime.Gosched()
			}
		},
		Checks: []sdk.Check{{
			Name: "boom",
			Run:  func([]byte) ([]byte, error) { panic("boom in a check") },
		}},
	})
}

func main() {}
