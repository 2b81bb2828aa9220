package sdk

import "github.com/cpupolicy/cpupolicy/plugins/internal/wire"

// Small JSON helpers for checks, so that a plugin need not import
// encoding/json (which adds about half a megabyte to a plugin; see
// plugins/ABI.md).

// ParseStrings reads a JSON array of strings, such as the feature names a
// check receives. Escapes are decoded (a surrogate pair to the one
// character it stands for, as encoding/json does); anything else is an
// error that gives the byte offset where reading stopped.
func ParseStrings(b []byte) ([]string, error) {
	p := jsonParser{b: b}
	p.space()
	if !p.eat('[') {
		return nil, p.fail("want a JSON array of strings")
	}
	var out []string
	p.space()
	if p.eat(']') {
		return out, p.end()
	}
	for {
		p.space()
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.space()
		if p.eat(']') {
			return out, p.end()
		}
		if !p.eat(',') {
			return nil, p.fail("want ',' or ']' in the array")
		}
	}
}

type jsonParser struct {
	b []byte
	i int
}

// fail returns msg as an error at the parser's offset.
func (p *jsonParser) fail(msg string) error {
	return Error("offset " + wire.Itoa(p.i) + ": " + msg)
}

func (p *jsonParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) end() error {
	p.space()
	if p.i != len(p.b) {
		return p.fail("trailing data after the JSON value")
	}
	return nil
}

func (p *jsonParser) str() (string, error) {
	if !p.eat('"') {
		return "", p.fail("want a string")
	}
	var out []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch {
		case c == '"':
			return string(out), nil
		case c < 0x20:
			p.i--
			return "", p.fail("control character in a string")
		case c != '\\':
			out = append(out, c)
			continue
		}
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			// A high surrogate followed by an escaped low one is one
			// character beyond U+FFFF.
			if 0xD800 <= r && r < 0xDC00 && p.i+6 <= len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
				save := p.i
				p.i += 2
				if lo, ok := p.hex4(); ok && 0xDC00 <= lo && lo <= 0xDFFF {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				} else {
					p.i = save
				}
			}
			out = appendRune(out, r)
		default:
			p.i--
			return "", p.fail("bad escape in a string")
		}
	}
	return "", p.fail("unterminated string")
}

// hex4 reads the four hex digits of a \u escape.
func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, h := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case '0' <= h && h <= '9':
			r |= rune(h - '0')
		case 'a' <= h && h <= 'f':
			r |= rune(h - 'a' + 10)
		case 'A' <= h && h <= 'F':
			r |= rune(h - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// appendRune appends r as UTF-8 (a lone surrogate becomes U+FFFD). It is
// utf8.AppendRune, which the SDK does not import to stay small.
func appendRune(b []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(b, byte(r))
	case r < 0x800:
		return append(b, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
	case r >= 0x10000:
		return append(b, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	case 0xD800 <= r && r <= 0xDFFF:
		r = 0xFFFD
	}
	return append(b, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
}

// AppendString appends s to b as a JSON string.
func AppendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// AppendStrings appends ss to b as a JSON array of strings.
func AppendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}
