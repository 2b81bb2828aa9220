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
	"reflect"
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

// End is the offset an "unexpected end" error points at: just past the
// last byte that is not white space, so that a truncated file is placed
// on its last line rather than on the empty one after its final newline.
func End(data []byte) int64 {
	return int64(len(bytes.TrimRight(data, " \t\r\n")))
}

// Kind names the JSON value a Go type decodes from, as a message to a
// user says what was expected: "string", "number", "integer", "true or
// false", "unsigned integer", "array", "object" (struct or map). A user never wrote a Go
// type, so a message never shows one.
func Kind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "unsigned integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return "string" // []byte decodes from base64
		}
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "a JSON value" // interface{}: anything decodes into it
}

// Path returns the keys and indexes leading to the value starting at
// offset off of data ("features.hw[1]", "" for the document itself), read
// from the document: encoding/json's own UnmarshalTypeError.Field names
// the Go fields of embedded structs too, which a user never wrote.
func Path(data []byte, off int64) string {
	type frame struct {
		object bool
		key    string // object: the latest key
		n      int    // array: values begun
		keyNow bool   // object: the next string is a key
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(data[:max(0, min(off, int64(len(data))))]))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].keyNow = true
			}
			continue
		}
		switch {
		case top != nil && top.object && top.keyNow:
			top.key, _ = tok.(string)
			top.keyNow = false
			continue
		case top != nil && !top.object:
			top.n++
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, keyNow: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		default: // a scalar value ends
			if top != nil && top.object {
				top.keyNow = true
			}
		}
	}
	var b strings.Builder
	for i, f := range stack {
		switch {
		case f.object && f.keyNow: // no key yet: the value is the object
		case f.object:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		case i == len(stack)-1:
			fmt.Fprintf(&b, "[%d]", f.n)
		default:
			fmt.Fprintf(&b, "[%d]", f.n-1)
		}
	}
	return b.String()
}

// Explain returns the offset and the one-line message of err, from
// decoding all of data (json.Unmarshal, or a Decoder reading data from its
// start): a syntax error ("malformed JSON: …") at its byte, the data ending
// early after its last byte, a value of the wrong type at its first byte
// ("features.hw[1]: got JSON number, want string"; "got JSON array, want
// object" for the document itself) and, with DisallowUnknownFields, an
// unknown key at the key. ok is false for any other error.
func Explain(data []byte, err error) (off int64, msg string, ok bool) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		if se.Offset >= int64(len(data)) && strings.Contains(se.Error(), "end of JSON input") {
			return End(data), "malformed JSON: unexpected end of JSON input", true
		}
		return se.Offset - 1, "malformed JSON: " + se.Error(), true // Offset is just past the bad byte
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return End(data), "malformed JSON: unexpected end of JSON input", true
	case errors.As(err, &te):
		at := ValueStart(data, te.Offset)
		if (te.Value == "array" || te.Value == "object") && at > 0 && (data[at-1] == '[' || data[at-1] == '{') {
			at-- // the offset is past the opening bracket
		}
		msg := fmt.Sprintf("got JSON %s, want %s", te.Value, Kind(te.Type))
		if path := Path(data, at); path != "" {
			msg = path + ": " + msg
		}
		return at, msg, true
	}
	if field, found := strings.CutPrefix(err.Error(), "json: unknown field "); found {
		if off, found := KeyOffset(data, field); found {
			return off, "unknown key " + field, true
		}
	}
	return 0, "", false
}

// Error returns err, from decoding all of data (json.Unmarshal, or a
// Decoder reading data from its start), as a one-line error placed in
// the file name: "name:L:C: MSG" with Explain's position and message. ok
// is false for any other error, which the caller reports as it sees fit.
func Error(name string, data []byte, err error) (_ error, ok bool) {
	off, msg, ok := Explain(data, err)
	if !ok {
		return err, false
	}
	line, col := LineCol(data, off)
	return fmt.Errorf("%s:%d:%d: %s", name, line, col, msg), true
}
