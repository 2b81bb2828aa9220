// Command json is the JSON-speaking twin of testdata/compact: a decode
// export whose request and reply are JSON documents, read and written
// with encoding/json.
package main

import (
	"encoding/json"
	"unsafe"
)

var in, out []byte

//go:wasmexport alloc
func alloc(n uint32) uint32 {
	if uint32(cap(in)) < n {
		in = make([]byte, n)
	}
	in = in[:cap(in)]
	return ptr(in)
}

func ptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

type request struct {
	Leaves [][6]uint32 `json:"leaves"`
}

type reply struct {
	Features []string `json:"features,omitempty"`
	Error    string   `json:"error,omitempty"`
}

var edxNames = [32]string{2: "xstore", 3: "xstore-en", 6: "xcrypt", 7: "xcrypt-en", 8: "ace2", 9: "ace2-en",
	10: "phe", 11: "phe-en", 12: "pmm", 13: "pmm-en", 25: "phe2", 26: "phe2-en", 27: "rsa", 28: "rsa-en"}

//go:wasmexport decode
func decode(p uint32) uint32 {
	n := uint32(in[0]) | uint32(in[1])<<8 | uint32(in[2])<<16 | uint32(in[3])<<24
	var req request
	var rep reply
	if err := json.Unmarshal(in[4:4+n], &req); err != nil {
		rep.Error = err.Error()
	}
	for _, l := range req.Leaves {
		if l[0] == 0xC0000001 && l[1] == 0 {
			for bit, name := range edxNames {
				if name != "" && l[5]>>bit&1 == 1 {
					rep.Features = append(rep.Features, name)
				}
			}
		}
	}
	b, _ := json.Marshal(rep)
	k := len(b) + 1 // the status byte, then the JSON document
	out = append(out[:0], byte(k), byte(k>>8), byte(k>>16), byte(k>>24), 0)
	out = append(out, b...)
	return ptr(out)
}

func main() {}
