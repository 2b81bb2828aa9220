// Package tinywasm assembles the smallest module that speaks the plugin
// ABI: its replies are constants in a data segment and its functions
// return their addresses. It is what a plugin costs without a language
// runtime (Go's is 1.8 MB of code that every load validates and every
// instance initialises), for the benchmarks that say what Go-built
// plugins pay for Go; a real plugin would need code only for decode's
// logic.
package tinywasm

import "github.com/cpupolicy/cpupolicy/plugins/internal/wire"

// Replies are the framed replies the module returns.
type Replies struct {
	Describe, Models, Decode, Check []byte
}

// reqBuf is where alloc puts requests, and dataAt where the replies start.
const (
	reqBuf = 0x8000
	dataAt = 0x400
)

// Module returns a module exporting memory, _initialize, alloc, describe,
// models, decode and check, whose replies are r.
func Module(r Replies) []byte {
	var data []byte
	at := func(b []byte) uint32 {
		off := uint32(dataAt + len(data))
		data = append(data, b...)
		for len(data)%4 != 0 {
			data = append(data, 0)
		}
		return off
	}
	describe, models, decode, check := at(r.Describe), at(r.Models), at(r.Decode), at(r.Check)
	if dataAt+len(data) > reqBuf {
		panic("tinywasm: replies too large")
	}

	m := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	// Types: 0 () -> (), 1 () -> i32, 2 (i32) -> i32.
	m = section(m, 1, vec(3, []byte{0x60, 0, 0}, []byte{0x60, 0, 1, 0x7f}, []byte{0x60, 1, 0x7f, 1, 0x7f}))
	// Functions: _initialize, alloc, describe, models, decode, check.
	m = section(m, 3, vec(6, []byte{0}, []byte{2}, []byte{1}, []byte{1}, []byte{2}, []byte{2}))
	// Memory: one page (64 KiB), no maximum.
	m = section(m, 5, vec(1, []byte{0, 1}))
	m = section(m, 7, vec(7,
		export("memory", 2, 0), export("_initialize", 0, 0), export("alloc", 0, 1),
		export("describe", 0, 2), export("models", 0, 3), export("decode", 0, 4), export("check", 0, 5)))
	m = section(m, 10, vec(6, body(), body(0x41, sleb(reqBuf)), body(0x41, sleb(describe)),
		body(0x41, sleb(models)), body(0x41, sleb(decode)), body(0x41, sleb(check))))
	seg := append([]byte{0, 0x41}, sleb(dataAt)...)
	seg = append(seg, 0x0b)
	seg = append(seg, uleb(uint32(len(data)))...)
	m = section(m, 11, vec(1, append(seg, data...)))
	return m
}

// Reply frames an OK reply with payload.
func Reply(payload []byte) []byte {
	return wire.Frame(nil, append([]byte{wire.StatusOK}, payload...))
}

func section(m []byte, id byte, content []byte) []byte {
	m = append(m, id)
	m = append(m, uleb(uint32(len(content)))...)
	return append(m, content...)
}

func vec(n uint32, items ...[]byte) []byte {
	b := uleb(n)
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func export(name string, kind byte, index uint32) []byte {
	b := append(uleb(uint32(len(name))), name...)
	b = append(b, kind)
	return append(b, uleb(index)...)
}

// body is a function body without locals: the instructions, then end.
func body(code ...any) []byte {
	b := []byte{0} // no locals
	for _, c := range code {
		switch c := c.(type) {
		case int:
			b = append(b, byte(c))
		case []byte:
			b = append(b, c...)
		}
	}
	b = append(b, 0x0b)
	return append(uleb(uint32(len(b))), b...)
}

func uleb(v uint32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v uint32) []byte {
	x := int64(v)
	var b []byte
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if x == 0 && c&0x40 == 0 || x == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
