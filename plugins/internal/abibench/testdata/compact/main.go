// Command compact is the compact-encoding twin of testdata/json: the same
// decode export, its request and reply in plugins/internal/wire's
// encoding.
package main

import (
	"unsafe"

	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

var (
	in, out []byte
	leaves  []wire.Leaf
	names   []string
)

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	if uint32(cap(in)) < n {
		in = make([]byte, n)
	}
	in = in[:cap(in)]
	return ptr(in)
}

func ptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

var edxNames = [32]string{2: "xstore", 3: "xstore-en", 6: "xcrypt", 7: "xcrypt-en", 8: "ace2", 9: "ace2-en",
	10: "phe", 11: "phe-en", 12: "pmm", 13: "pmm-en", 25: "phe2", 26: "phe2-en", 27: "rsa", 28: "rsa-en"}

//go:wasmexport decode
func decode(p uint32) uint32 {
	n := uint32(in[0]) | uint32(in[1])<<8 | uint32(in[2])<<16 | uint32(in[3])<<24
	var d wire.Decoder
	d.Reset(in[4 : 4+n])
	leaves = wire.DecodeLeaves(&d, leaves)
	names = names[:0]
	status := byte(wire.StatusOK)
	if err := d.End(); err != nil {
		status = wire.StatusError
	}
	for _, l := range leaves {
		if l.Leaf == 0xC0000001 && l.Subleaf == 0 {
			for bit, name := range edxNames {
				if name != "" && l.EDX>>bit&1 == 1 {
					names = append(names, name)
				}
			}
		}
	}
	e := wire.Encoder{B: append(out[:0], 0, 0, 0, 0, status)}
	e.Strs(names)
	k := uint32(len(e.B) - 4)
	e.B[0], e.B[1], e.B[2], e.B[3] = byte(k), byte(k>>8), byte(k>>16), byte(k>>24)
	out = e.B
	return ptr(out)
}

func main() {}
