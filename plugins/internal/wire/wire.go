// Package wire is the compact binary encoding of the plugin ABI (version
// 1), shared by the host (package plugins) and the guest SDK (package
// plugins/sdk). plugins/ABI.md is its specification; this package is the
// only implementation of it, so that the two sides cannot drift.
//
// Everything is little-endian. An integer is a fixed-width u8 or u32; a
// string or byte string is a u32 length and that many bytes; a list is a
// u32 count and that many items. Messages are structs of these in a fixed
// order (see the code method of each type).
//
// The package imports only the standard library package unicode/utf8, so
// that a plugin built with it stays small: a guest that imports fmt,
// reflect or encoding/json grows by hundreds of kilobytes, which every
// load pays for (see ABI.md, "Why a compact encoding?").
package wire

import "unicode/utf8"

// ABI is the version of the plugin ABI this package speaks. A manifest
// starts with it, so that a host can reject a plugin of another version
// before parsing the rest.
const ABI = 1

// Reply status, the first byte of every reply payload.
const (
	// StatusOK: the rest of the reply is the call's result.
	StatusOK = 0
	// StatusError: the rest is a string, an error the plugin reports on
	// purpose (a check that cannot run on this input, say).
	StatusError = 1
	// StatusPanic: the rest is a string, a panic the SDK recovered. The
	// host treats it as a failure of the instance, like a trap.
	StatusPanic = 2
)

// MaxListLen bounds every count in a message: no real manifest, model
// list or leaf list comes near it, and it stops a hostile count from
// making a decoder allocate much before it notices the data is short.
const MaxListLen = 1 << 16

// Encoder appends the encoding of values to B.
type Encoder struct {
	B []byte
}

// U8 appends v.
func (e *Encoder) U8(v uint8) { e.B = append(e.B, v) }

// U32 appends v, little-endian.
func (e *Encoder) U32(v uint32) {
	e.B = append(e.B, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// Str appends s as a u32 length and its bytes.
func (e *Encoder) Str(s string) {
	e.U32(uint32(len(s)))
	e.B = append(e.B, s...)
}

// Bytes appends b as a u32 length and its bytes.
func (e *Encoder) Bytes(b []byte) {
	e.U32(uint32(len(b)))
	e.B = append(e.B, b...)
}

// Strs appends a list of strings.
func (e *Encoder) Strs(ss []string) {
	e.U32(uint32(len(ss)))
	for _, s := range ss {
		e.Str(s)
	}
}

// Decoder reads values from a message. The first error sticks: later reads
// return zero values, and Err reports where decoding stopped.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a decoder of b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Reset makes d a decoder of b (a Decoder on the stack allocates nothing).
func (d *Decoder) Reset(b []byte) { *d = Decoder{b: b} }

// Error is a malformed message: what was wrong and the byte offset in the
// payload where decoding stopped.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return "offset " + hex(e.Offset) + ": " + e.Msg }

func hex(v int) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0x0"
	}
	var b [18]byte
	i := len(b)
	for u := uint64(v); u > 0; u >>= 4 {
		i--
		b[i] = digits[u&15]
	}
	i -= 2
	b[i], b[i+1] = '0', 'x'
	return string(b[i:])
}

func (d *Decoder) fail(msg string) {
	if d.err == nil {
		d.err = &Error{Offset: d.off, Msg: msg}
	}
}

// Err returns the first error, or nil.
func (d *Decoder) Err() error { return d.err }

// End reports an error if bytes are left over.
func (d *Decoder) End() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes after the message")
	}
	return d.err
}

// U8 reads a byte.
func (d *Decoder) U8() uint8 {
	b := d.Next(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// U32 reads a little-endian u32.
func (d *Decoder) U32() uint32 {
	b := d.Next(4)
	if b == nil {
		return 0
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// Next returns the next n bytes (aliasing the input), or nil after an
// error.
func (d *Decoder) Next(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail("unexpected end of message")
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

// Bytes reads a length-prefixed byte string. The result aliases the
// decoder's input.
func (d *Decoder) Bytes() []byte {
	n := d.U32()
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(d.b)-d.off) {
		d.fail("length " + Itoa(int(n)) + " runs past the end of the message")
		return nil
	}
	b := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b
}

// Str reads a length-prefixed string, which must be valid UTF-8.
func (d *Decoder) Str() string {
	b := d.Bytes()
	if d.err == nil && !utf8.Valid(b) {
		d.fail("string is not valid UTF-8")
		return ""
	}
	return string(b)
}

// Count reads a list length. Each item takes at least min bytes, so a
// count that the rest of the message cannot hold is an error here, before
// anything is allocated for it.
func (d *Decoder) Count(min int) int {
	n := d.U32()
	if d.err != nil {
		return 0
	}
	if n > MaxListLen {
		d.fail("list of " + Itoa(int(n)) + " items, the limit is " + Itoa(MaxListLen))
		return 0
	}
	if uint64(n)*uint64(min) > uint64(len(d.b)-d.off) {
		d.fail("list of " + Itoa(int(n)) + " items runs past the end of the message")
		return 0
	}
	return int(n)
}

// Strs reads a list of strings.
func (d *Decoder) Strs() []string {
	n := d.Count(4)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.Str()
	}
	return ss
}

// Itoa formats v in decimal, as strconv.Itoa does, for the messages of
// this package and of the SDK (which avoid strconv to stay small).
func Itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for ; u > 0; u /= 10 {
		i--
		b[i] = byte('0' + u%10)
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Frame returns b with its u32 length prefix in front, the form in which
// every request and reply crosses the boundary.
func Frame(dst, payload []byte) []byte {
	n := uint32(len(payload))
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	return append(dst, payload...)
}
