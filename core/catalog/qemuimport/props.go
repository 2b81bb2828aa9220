package qemuimport

import (
	"encoding/json"
	"errors"
	"fmt"
)

// scanExpansion walks a query-cpu-model-expansion return,
// {"model": {"name": …, "props": {…}}}, calling fn for each property with
// its name (valid only during the call) and its raw JSON value, in the order QEMU wrote them.
//
// It exists for speed. A full import decodes some 20,000 expansions of
// 400-500 properties each; decoding each into a map[string]RawMessage
// (two passes over the text and a thousand allocations) was half the
// importer's own CPU time. This is one pass, and allocates only for names
// with escapes or non-ASCII bytes. The input is a QMP reply the client
// has already checked to be valid JSON, so it need not re-validate what
// it skips; on anything else it fails (never panics or loops).
func scanExpansion(data []byte, fn func(name, value []byte) error) error {
	s := &scanner{data: data}
	sawModel := false
	err := s.object(func(key []byte) error {
		if string(key) != "model" {
			return s.skip()
		}
		// QEMU never repeats a member; refusing to lets this scanner
		// and encoding/json agree on what any input means.
		if sawModel {
			return s.errorf(`duplicate "model"`)
		}
		sawModel = true
		sawProps := false
		err := s.object(func(key []byte) error {
			if string(key) != "props" {
				return s.skip()
			}
			if sawProps {
				return s.errorf(`duplicate "props"`)
			}
			sawProps = true
			return s.object(func(key []byte) error {
				start := s.pos
				if err := s.skip(); err != nil {
					return err
				}
				return fn(key, s.data[start:s.pos])
			})
		})
		if err == nil && !sawProps {
			err = errors.New(`no "props" in "model"`)
		}
		return err
	})
	if err == nil && !sawModel {
		err = errors.New(`no "model" in the reply`)
	}
	if err == nil {
		s.ws()
		if s.pos != len(s.data) {
			err = s.errorf("data after the reply")
		}
	}
	return err
}

type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// object reads an object, calling member with each key (unescaped) with
// the position at the start of the value, which member must consume.
func (s *scanner) object(member func(key []byte) error) error {
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return s.errorf("want an object")
	}
	s.pos++
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		key, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.errorf("want ':'")
		}
		s.pos++
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.errorf("unterminated object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or '}'")
		}
	}
}

// str reads a string and returns its contents, unescaped, as
// encoding/json would.
func (s *scanner) str() ([]byte, error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, s.errorf("want a string")
	}
	start := s.pos
	plain := true // no escapes, no bytes beyond ASCII
	for i := s.pos + 1; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '\\':
			plain = false
			i++
		case c >= 0x80:
			plain = false
		case c == '"':
			s.pos = i + 1
			if plain {
				return s.data[start+1 : i], nil
			}
			// Rare (QEMU's property names are plain ASCII): let
			// encoding/json get escapes, surrogates and invalid
			// UTF-8 right.
			var v string
			if err := json.Unmarshal(s.data[start:s.pos], &v); err != nil {
				return nil, s.errorf("bad string: %v", err)
			}
			return []byte(v), nil
		}
	}
	return nil, s.errorf("unterminated string")
}

// skip moves past one value of any type.
func (s *scanner) skip() error {
	s.ws()
	if s.pos >= len(s.data) {
		return s.errorf("want a value")
	}
	switch c := s.data[s.pos]; c {
	case '"':
		_, err := s.str()
		return err
	case '{':
		return s.object(func([]byte) error { return s.skip() })
	case '[':
		s.pos++
		s.ws()
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			s.pos++
			return nil
		}
		for {
			if err := s.skip(); err != nil {
				return err
			}
			s.ws()
			if s.pos >= len(s.data) {
				return s.errorf("unterminated array")
			}
			switch s.data[s.pos] {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return nil
			default:
				return s.errorf("want ',' or ']'")
			}
		}
	default:
		// A number, true, false or null: up to the next delimiter.
		start := s.pos
		for s.pos < len(s.data) && !delimiter(s.data[s.pos]) {
			s.pos++
		}
		if s.pos == start {
			return s.errorf("want a value")
		}
		return nil
	}
}

// delimiter says whether c ends a number or literal.
func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', ']', '}', '[', '{', '"':
		return true
	}
	return false
}
