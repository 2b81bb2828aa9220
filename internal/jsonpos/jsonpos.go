// Package jsonpos places the errors of encoding/json at their line and
// column in the document, so that every JSON file cpupolicy reads
// (snapshots, catalogs, locks, waivers) reports bad input as one line
// "FILE:LINE:COL: …".
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// LineCol returns the 1-based line and column (in bytes) of offset off in
// data; off is clamped to data.
func LineCol(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// ValueStart backs up from end, the offset just past a scalar JSON value
// (json.UnmarshalTypeError.Offset), to the value's first byte, so that a
// type error points at the value rather than past it.
func ValueStart(data []byte, end int64) int64 {
	i := max(0, min(end, int64(len(data))))
	for i > 0 && strings.IndexByte(":,[{ \t\r\n", data[i-1]) < 0 {
		i--
	}
	return i
}

// KeyOffset returns the offset of the first object key quoted (with its
// quotes, as encoding/json's "unknown field" error writes it) that is
// followed by a colon.
func KeyOffset(data []byte, quoted string) (int64, bool) {
	for from := 0; ; {
		i := bytes.Index(data[from:], []byte(quoted))
		if i < 0 {
			return 0, false
		}
		from += i + len(quoted)
		rest := bytes.TrimLeft(data[from:], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			return int64(from - len(quoted)), true
		}
	}
}

// Error returns err, from decoding all of data (json.Unmarshal, or a
// Decoder reading data from its start), as a one-line error placed in
// the file name: a syntax error ("name:L:C: malformed JSON: …"), the data
// ending early, a value of the wrong type at its first byte ("name:L:C:
// FIELD: got JSON number, want string") and, with DisallowUnknownFields,
// an unknown key at the key. ok is false for any other error, which the
// caller reports as it sees fit.
func Error(name string, data []byte, err error) (_ error, ok bool) {
	at := func(off int64, format string, args ...any) error {
		line, col := LineCol(data, off)
		return fmt.Errorf("%s:%d:%d: %s", name, line, col, fmt.Sprintf(format, args...))
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return at(se.Offset-1, "malformed JSON: %v", se), true // Offset is just past the bad byte
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return at(int64(len(data)), "malformed JSON: unexpected end of JSON input"), true
	case errors.As(err, &te):
		return at(ValueStart(data, te.Offset), "%s: got JSON %s, want %s", te.Field, te.Value, te.Type), true
	}
	if field, found := strings.CutPrefix(err.Error(), "json: unknown field "); found {
		if off, found := KeyOffset(data, field); found {
			return at(off, "unknown key %s", field), true
		}
	}
	return err, false
}
