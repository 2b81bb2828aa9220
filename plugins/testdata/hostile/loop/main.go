// Command loop is a hostile plugin: decode never returns.
package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

var spins int

func init() {
	sdk.Register(&sdk.Plugin{
		Name: "loop",
		Decode: func(sdk.CPUID) ([]string, error) {
			for {
				spins++
			}
		},
	})
}

func main() {}
