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

type reader struct {
	b   []byte
	off int
}

func (r *reader) fail(format string, args ...any) error {
	return &Error{Offset: r.off, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.fail("unexpected end of module")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	start := r.off
	var v uint64
	for n, shift := 0, uint(0); ; n, shift = n+1, shift+7 {
		if n == int(bits+6)/7 {
			r.off = start
			return 0, r.fail("integer too long")
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if bits < 64 && v>>bits != 0 {
				r.off = start
				return 0, r.fail("integer too large")
			}
			return v, nil
		}
	}
}

func (r *reader) name() (string, error) {
	n, err := r.uleb(32)
	if err != nil {
		return "", err
	}
	if n > uint64(len(r.b)-r.off) {
		return "", r.fail("name of %d bytes runs past the end", n)
	}
	s := r.b[r.off : r.off+int(n)]
	if !utf8.Valid(s) {
		return "", r.fail("name is not valid UTF-8")
	}
	r.off += int(n)
	return string(s), nil
}

func (r *reader) limits() (min, max uint64, hasMax bool, err error) {
	flag, err := r.byte()
	if err != nil {
		return 0, 0, false, err
	}
	bits := uint(32)
	if flag&4 != 0 {
		bits = 64 // memory64
	}
	if flag&^7 != 0 {
		return 0, 0, false, r.fail("bad limits flag %#x", flag)
	}
	if min, err = r.uleb(bits); err != nil {
		return 0, 0, false, err
	}
	if flag&1 != 0 {
		hasMax = true
		if max, err = r.uleb(bits); err != nil {
			return 0, 0, false, err
		}
	}
	return min, max, hasMax, nil
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
		id, _ := r.byte()
		size, err := r.uleb(32)
		if err != nil {
			return nil, err
		}
		if size > uint64(len(b)-r.off) {
			return nil, r.fail("section %d of %d bytes runs past the end of the module (%d bytes left): truncated?", id, size, len(b)-r.off)
		}
		end := r.off + int(size)
		sec := &reader{b: b[:end], off: r.off}
		switch id {
		case 2:
			err = parseImports(sec, info)
		case 5:
			err = parseMemory(sec, info)
		case 7:
			err = parseExports(sec, info)
		case 0, 1, 3, 4, 6, 8, 9, 10, 11, 12, 13:
			// custom, type, function, table, global, start, element,
			// code, data, data count, tag: not needed here.
		default:
			err = sec.fail("unknown section id %d", id)
		}
		if err != nil {
			return nil, err
		}
		if (id == 2 || id == 5 || id == 7) && sec.off != end {
			return nil, sec.fail("section %d has %d trailing bytes", id, end-sec.off)
		}
		r.off = end
	}
	return info, nil
}

func parseImports(r *reader, info *Info) error {
	n, err := r.uleb(32)
	if err != nil {
		return err
	}
	for i := uint64(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return err
		}
		name, err := r.name()
		if err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case Func:
			_, err = r.uleb(32)
		case Table:
			if _, err = r.byte(); err == nil {
				_, _, _, err = r.limits()
			}
		case Memory:
			_, _, _, err = r.limits()
		case Global:
			if _, err = r.byte(); err == nil {
				_, err = r.byte()
			}
		case Tag:
			if _, err = r.byte(); err == nil {
				_, err = r.uleb(32)
			}
		default:
			return r.fail("import %s.%s has unknown kind %d", mod, name, kind)
		}
		if err != nil {
			return err
		}
		info.Imports = append(info.Imports, Import{mod, name, kind})
	}
	return nil
}

func parseMemory(r *reader, info *Info) error {
	n, err := r.uleb(32)
	if err != nil {
		return err
	}
	for i := uint64(0); i < n; i++ {
		min, max, hasMax, err := r.limits()
		if err != nil {
			return err
		}
		if i == 0 {
			info.MemoryMin, info.MemoryMax, info.HasMemoryMax = min, max, hasMax
		}
	}
	return nil
}

func parseExports(r *reader, info *Info) error {
	n, err := r.uleb(32)
	if err != nil {
		return err
	}
	for i := uint64(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if _, err := r.uleb(32); err != nil {
			return err
		}
		info.Exports = append(info.Exports, Export{name, kind})
	}
	return nil
}
