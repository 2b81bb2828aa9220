//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// The ABI's exports (plugins/ABI.md). Every pointer is an offset in the
// module's linear memory; every reply is a u32 length, then that many
// bytes, the first of which is the status.

//go:wasmexport alloc
func exportAlloc(size uint32) uint32 {
	return ptr(allocate(size))
}

//go:wasmexport describe
func exportDescribe() uint32 { return ptr(handleDescribe()) }

//go:wasmexport models
func exportModels() uint32 { return ptr(handleModels()) }

//go:wasmexport decode
func exportDecode(p uint32) uint32 {
	req, ok := requestAt(p)
	if !ok {
		return ptr(replyError(wire.StatusError, "decode: request is not in the alloc buffer"))
	}
	return ptr(handleDecode(req))
}

//go:wasmexport check
func exportCheck(p uint32) uint32 {
	req, ok := requestAt(p)
	if !ok {
		return ptr(replyError(wire.StatusError, "check: request is not in the alloc buffer"))
	}
	return ptr(handleCheck(req))
}

// requestAt returns the request framed at p, which must be the start of
// the buffer alloc returned.
func requestAt(p uint32) ([]byte, bool) {
	if len(in) == 0 || p != ptr(in) {
		return nil, false
	}
	return request(in)
}

func ptr(b []byte) uint32 {
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

//go:wasmimport cpupolicy log
func hostLog(p unsafe.Pointer, n uint32)

// Log sends msg to the host's plugin log (cpupolicy shows it with
// --verbose, prefixed with the plugin's name). The host caps what it
// keeps. A plugin that never calls Log does not import the host function.
func Log(msg string) {
	if msg == "" {
		return
	}
	hostLog(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}
