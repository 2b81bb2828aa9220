// Command claim is a hostile plugin: decode's reply claims to be 1 GiB
// long.
package main

import "github.com/cpupolicy/cpupolicy/plugins/testdata/hostile/raw"

//go:wasmexport alloc
func alloc(n uint32) uint32 { return raw.Alloc(n) }

//go:wasmexport describe
func describe() uint32 { return raw.Describe(1, "claim") }

//go:wasmexport models
func models() uint32 { return raw.Empty() }

//go:wasmexport check
func check(p uint32) uint32 { return raw.Empty() }

var header = []byte{0, 0, 0, 0x40, 0} // length 1<<30, then a status byte

//go:wasmexport decode
func decode(p uint32) uint32 { return raw.Ptr(header) }

func main() {}
