// Package wasmfile reads what a WebAssembly binary imports and exports
// without compiling it. The host checks a plugin's imports and exports
// with it before it spends any time compiling (hundreds of milliseconds
// for a Go-built module), so that a module that could never work fails
// fast and says why, with the byte offset of what is wrong.
package wasmfile

import (
	"fmt"
	"unicode/utf8"
)

// Kinds of imports and exports.
const (
	Func   = 0
	Table  = 1
	Memory = 2
	Global = 3
	Tag    = 4
)

// KindName returns "func", "table", "memory", "global" or "tag".
func KindName(k byte) string {
	switch k {
	case Func:
		return "func"
	case Table:
		return "table"
	case Memory:
		return "memory"
	case Global:
		return "global"
	case Tag:
		return "tag"
	}
	return fmt.Sprintf("kind %d", k)
}

// Import is one entry of the import section.
type Import struct {
	Module, Name string
	Kind         byte
}

// Export is one entry of the export section.
type Export struct {
	Name string
	Kind byte
}

// Info is what a module imports, exports and declares as memory.
type Info struct {
	Imports []Import
	Exports []Export
	// MemoryMin and MemoryMax are the defined memory's limits in 64 KiB
	// pages (MemoryMax is 0 when the module sets none).
	MemoryMin, MemoryMax uint64
	HasMemoryMax         bool
	// Customs are the custom sections, in file order.
	Customs []Custom
}

// Custom is a custom section: its name, where the section starts (its id
// byte) and ends, and where its content after the name starts.
type Custom struct {
	Name                     string
	Start, ContentStart, End int
}

// Export returns the export named name, if any.
func (in *Info) Export(name string) (Export, bool) {
	for _, e := range in.Exports {
		if e.Name == name {
			return e, true
		}
	}
	return Export{}, false
}

// Error is a malformed binary: the byte offset and what is wrong there.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %#x: %s", e.Offset, e.Msg) }

// reader reads a module's bytes. The first error sticks, as in
// bufio.Scanner: later reads return zero values, so that a parser reads a
// whole entry and checks err once.
type reader struct {
	b   []byte
	off int
	err error
}

// fail records an error at the current offset, unless one is recorded
// already, and returns the recorded one.
func (r *reader) fail(format string, args ...any) error {
	if r.err == nil {
		r.err = &Error{Offset: r.off, Msg: fmt.Sprintf(format, args...)}
	}
	return r.err
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("unexpected end of module")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) uint64 {
	start := r.off
	var v uint64
	for n, shift := 0, uint(0); r.err == nil; n, shift = n+1, shift+7 {
		if n == int(bits+6)/7 {
			r.off = start
			r.fail("integer too long")
			break
		}
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if r.err == nil && c < 0x80 {
			if bits < 64 && v>>bits != 0 {
				r.off = start
				r.fail("integer too large")
				break
			}
			return v
		}
	}
	return 0
}

func (r *reader) name() string {
	n := r.uleb(32)
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail("name of %d bytes runs past the end", n)
		return ""
	}
	s := r.b[r.off : r.off+int(n)]
	if !utf8.Valid(s) {
		r.fail("name is not valid UTF-8")
		return ""
	}
	r.off += int(n)
	return string(s)
}

func (r *reader) limits() (min, max uint64, hasMax bool) {
	flag := r.byte()
	bits := uint(32)
	if flag&4 != 0 {
		bits = 64 // memory64
	}
	if flag&^7 != 0 {
		r.fail("bad limits flag %#x", flag)
	}
	min = r.uleb(bits)
	if flag&1 != 0 {
		hasMax = true
		max = r.uleb(bits)
	}
	return min, max, hasMax
}

// vec reads a vector: its count, then each entry with entry, until the
// first error.
func (r *reader) vec(entry func(i uint64)) {
	n := r.uleb(32)
	for i := uint64(0); i < n && r.err == nil; i++ {
		entry(i)
	}
}

// Parse reads the imports, exports and memory of the module in b. It
// checks the header and the framing of every section, and the contents of
// the import, export and memory sections; it does not validate code.
func Parse(b []byte) (*Info, error) {
	r := &reader{b: b}
	if len(b) < 8 {
		return nil, r.fail("not a WebAssembly module: %d bytes, shorter than the 8-byte header", len(b))
	}
	if string(b[:4]) != "\x00asm" {
		return nil, r.fail("not a WebAssembly module: bad magic %q", b[:4])
	}
	if v := uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24; v != 1 {
		r.off = 4
		return nil, r.fail("WebAssembly binary version %d, want 1", v)
	}
	r.off = 8
	info := &Info{}
	for r.off < len(b) {
		start := r.off
		id := r.byte()
		size := r.uleb(32)
		if r.err != nil {
			return nil, r.err
		}
		if size > uint64(len(b)-r.off) {
			return nil, r.fail("section %d of %d bytes runs past the end of the module (%d bytes left): truncated?", id, size, len(b)-r.off)
		}
		end := r.off + int(size)
		sec := &reader{b: b[:end], off: r.off}
		switch id {
		case 2:
			parseImports(sec, info)
		case 5:
			parseMemory(sec, info)
		case 7:
			parseExports(sec, info)
		case 0:
			name := sec.name()
			if sec.err == nil {
				info.Customs = append(info.Customs, Custom{Name: name, Start: start, ContentStart: sec.off, End: end})
			}
		case 1, 3, 4, 6, 8, 9, 10, 11, 12, 13:
			// type, function, table, global, start, element,
			// code, data, data count, tag: not needed here.
		default:
			sec.fail("unknown section id %d", id)
		}
		if sec.err != nil {
			return nil, sec.err
		}
		if (id == 2 || id == 5 || id == 7) && sec.off != end {
			return nil, sec.fail("section %d has %d trailing bytes", id, end-sec.off)
		}
		r.off = end
	}
	return info, nil
}

func parseImports(r *reader, info *Info) {
	r.vec(func(uint64) {
		mod, name, kind := r.name(), r.name(), r.byte()
		if r.err != nil {
			return
		}
		switch kind {
		case Func:
			r.uleb(32)
		case Table:
			r.byte()
			r.limits()
		case Memory:
			r.limits()
		case Global:
			r.byte()
			r.byte()
		case Tag:
			r.byte()
			r.uleb(32)
		default:
			r.fail("import %s.%s has unknown kind %d", mod, name, kind)
		}
		if r.err == nil {
			info.Imports = append(info.Imports, Import{mod, name, kind})
		}
	})
}

func parseMemory(r *reader, info *Info) {
	r.vec(func(i uint64) {
		min, max, hasMax := r.limits()
		if i == 0 && r.err == nil {
			info.MemoryMin, info.MemoryMax, info.HasMemoryMax = min, max, hasMax
		}
	})
}

func parseExports(r *reader, info *Info) {
	r.vec(func(uint64) {
		name, kind := r.name(), r.byte()
		r.uleb(32)
		if r.err == nil {
			info.Exports = append(info.Exports, Export{name, kind})
		}
	})
}
