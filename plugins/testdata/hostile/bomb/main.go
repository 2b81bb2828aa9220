// Command bomb is a hostile plugin: decode allocates until memory runs
// out.
package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

var hoard [][]byte

func init() {
	sdk.Register(&sdk.Plugin{
		Name: "bomb",
		Decode: func(sdk.CPUID) ([]string, error) {
			for {
				b := make([]byte, 1<<20)
				b[0] = 1
				hoard = append(hoard, b)
			}
		},
	})
}

func main() {}
