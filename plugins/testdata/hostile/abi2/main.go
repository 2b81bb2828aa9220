// Command abi2 is a plugin from the future: it speaks ABI version 2.
package main

import "github.com/cpupolicy/cpupolicy/plugins/testdata/hostile/raw"

//go:wasmexport alloc
func alloc(n uint32) uint32 { return raw.Alloc(n) }

//go:wasmexport describe
func describe() uint32 { return raw.Describe(2, "abi2") }

//go:wasmexport models
func models() uint32 { return raw.Empty() }

//go:wasmexport check
func check(p uint32) uint32 { return raw.Empty() }

//go:wasmexport decode
func decode(p uint32) uint32 { return raw.Empty() }

func main() {}
