// Command initloop is a hostile plugin: an init function never returns,
// so _initialize does not either.
package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

var spins int

func init() {
	sdk.Register(&sdk.Plugin{Name: "initloop"})
	for {
		spins++
	}
}

func main() {}
