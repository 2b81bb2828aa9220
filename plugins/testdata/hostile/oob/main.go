// Command oob is a hostile plugin: decode returns a reply pointer outside
// its linear memory.
package main

import "github.com/cpupolicy/cpupolicy/plugins/testdata/hostile/raw"

//go:wasmexport alloc
func alloc(n uint32) uint32 { return raw.Alloc(n) }

//go:wasmexport describe
func describe() uint32 { return raw.Describe(1, "oob") }

//go:wasmexport models
func models() uint32 { return raw.Empty() }

//go:wasmexport check
func check(p uint32) uint32 { return raw.Empty() }

//go:wasmexport decode
func decode(p uint32) uint32 { return 0xfffffff0 }

func main() {}
