package host

import (
	"bytes"
	"time"
)

// Identity keys: the values that differ between hosts that are otherwise
// the same machine as far as any verdict goes (same CPU, kernel, KVM and
// plugins). A fleet of thousands of hosts has a few hundred distinct
// snapshots once these are dropped.
var identityKeys = [...]string{"hostname", "probed_at"}

// AppendAnonymous appends to dst the snapshot file data without the
// values of its identity keys ("hostname" and "probed_at"), returns the
// hostname (what Parse would make of it), and reports whether it could: two files whose anonymous forms are equal parse to
// snapshots that differ in those two fields only, so a program judging
// many hosts (a fleet) parses one of them and reuses the result for the
// other.
//
// It reads only as far as the identity keys of the top-level object (the
// first keys of a file Marshal wrote) and checks their values as Parse
// would: the hostname a JSON string, probed_at an RFC 3339 time. A file
// where it finds either missing or unlike that (escapes in a string,
// another type) is not anonymised (ok is false, dst is returned as it
// was, hostname is ""): it must be parsed, which reports what is wrong with it. The rest
// of the file is copied as it is, so it is only the same as another's if
// it is byte for byte.
func AppendAnonymous(dst, data []byte) (out []byte, hostname string, ok bool) {
	spans, ok := identitySpans(data)
	if !ok {
		return dst, "", false
	}
	hostname = string(data[spans[0][0]+1 : spans[0][1]-1])
	first, second := spans[0], spans[1]
	if first[0] > second[0] {
		first, second = second, first
	}
	dst = append(dst, data[:first[0]]...)
	dst = append(dst, data[first[1]:second[0]]...)
	return append(dst, data[second[1]:]...), hostname, true
}

// identitySpans returns where the values of the identity keys are in
// data (start and end offsets, in the order of identityKeys), checked as
// AppendAnonymous says.
func identitySpans(data []byte) (spans [len(identityKeys)][2]int, ok bool) {
	found := 0
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return spans, false
	}
	i++
	for found < len(identityKeys) {
		i = skipSpace(data, i)
		ks, ke := i, stringEnd(data, i)
		if ke < 0 {
			return spans, false
		}
		i = skipSpace(data, ke)
		if i >= len(data) || data[i] != ':' {
			return spans, false
		}
		i = skipSpace(data, i+1)
		vs, ve := i, valueEnd(data, i)
		if ve < 0 {
			return spans, false
		}
		key := data[ks+1 : ke-1]
		for k, name := range identityKeys {
			if string(key) == name {
				if spans[k][1] != 0 || !plainString(data[vs:ve]) {
					return spans, false
				}
				spans[k] = [2]int{vs, ve}
				found++
			}
		}
		i = skipSpace(data, ve)
		if i >= len(data) || data[i] != ',' {
			return spans, false // the object ended, or is malformed
		}
		i++
	}
	at := spans[1]
	if _, err := time.Parse(time.RFC3339, string(data[at[0]+1:at[1]-1])); err != nil {
		return spans, false
	}
	return spans, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the offset just past the JSON string at b[i], or -1.
func stringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// valueEnd returns the offset just past the JSON value at b[i], or -1.
// It finds the value's end without checking what is inside it: a
// malformed value makes the whole file differ from every well-formed one.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				e := stringEnd(b, i)
				if e < 0 {
					return -1
				}
				i = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\n', '\t', '\r':
			return j
		}
	}
	return len(b)
}

// plainString reports whether v is a JSON string without escapes or
// control characters: one whose value is its bytes between the quotes.
func plainString(v []byte) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		return false
	}
	for _, c := range inner {
		if c < 0x20 {
			return false
		}
	}
	return true
}
