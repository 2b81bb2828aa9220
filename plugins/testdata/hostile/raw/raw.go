// Package raw implements the plugin ABI by hand for hostile test plugins
// that must send replies the SDK never would.
package raw

import (
	"unsafe"

	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

var in, out []byte

// Alloc is the ABI's alloc.
func Alloc(n uint32) uint32 {
	if uint32(cap(in)) < n || n == 0 {
		in = make([]byte, n+1)
	}
	return Ptr(in)
}

// Ptr returns b's address in linear memory.
func Ptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// Reply frames a reply with status and payload and returns its address.
func Reply(status byte, payload []byte) uint32 {
	out = wire.Frame(out[:0], append([]byte{status}, payload...))
	return Ptr(out)
}

// Describe returns the describe reply of a plugin named name speaking
// ABI version abi.
func Describe(abi uint32, name string) uint32 {
	e := wire.Encoder{}
	wire.EncodeManifest(&e, &wire.Manifest{ABI: abi, Name: name, Version: "0.0.0"})
	return Reply(wire.StatusOK, e.B)
}

// Empty returns an OK reply with an empty list.
func Empty() uint32 { return Reply(wire.StatusOK, []byte{0, 0, 0, 0}) }
