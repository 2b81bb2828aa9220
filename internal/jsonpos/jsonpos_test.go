package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// head is embedded: encoding/json names its Go type in the error's
// Field ("head.name"), which no message may show.
type head struct {
	Name string `json:"name"`
}

type doc struct {
	head
	Count int               `json:"count"`
	List  []int             `json:"list"`
	Items []struct{ N int } `json:"items"`
	Rate  float64           `json:"rate"`
	Tags  map[string]bool   `json:"tags"`
}

func decode(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d doc
	return dec.Decode(&d)
}

func TestError(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"{\n  \"name\": \"a\",\n  \"count\": \"x\"\n}", `f.json:3:12: count: got JSON string, want integer`},
		{"{\n  \"list\": [1, true]\n}", `f.json:2:15: list[1]: got JSON bool, want integer`},
		{"{\n  \"name\": 5\n}", `f.json:2:11: name: got JSON number, want string`},
		{"[\n  1\n]\n", `f.json:1:1: got JSON array, want object`},
		{"\"doc\"", `f.json:1:1: got JSON string, want object`},
		{"{\"items\": [{\"N\": 1}, {\"N\": 2}, {\"N\": [3]}]}", `f.json:1:38: items[2].N: got JSON array, want integer`},
		{"{\"list\": {\"a\": 1}}", `f.json:1:10: list: got JSON object, want array`},
		{"{\"tags\": {\"a\": 1}, \"rate\": \"x\"}", `f.json:1:16: tags.a: got JSON number, want true or false`},
		{"{\"tags\": {}, \"rate\": \"x\"}", `f.json:1:22: rate: got JSON string, want number`},
		{"{\n  \"list\": [\n    1,\n", `f.json:3:7: malformed JSON: unexpected end of JSON input`},
		{"{\n  \"name\": \"a\",\n  \"extra\": 1\n}", `f.json:3:3: unknown key "extra"`},
		{"{\n  \"name\": \"a\"\n  \"count\": 1\n}", `f.json:3:3: malformed JSON: invalid character '"' after object key:value pair`},
		{"{\n  \"name\": ", `f.json:2:10: malformed JSON: unexpected end of JSON input`},
		{"", `f.json:1:1: malformed JSON: unexpected end of JSON input`},
	} {
		err, ok := Error("f.json", []byte(c.in), decode([]byte(c.in)))
		if !ok || err.Error() != c.want {
			t.Errorf("%q: got %v (%v), want %s", c.in, err, ok, c.want)
		}
	}
	other := errors.New("not JSON's")
	if err, ok := Error("f.json", nil, other); ok || err != other {
		t.Errorf("other error: %v, %v", err, ok)
	}
}

func TestLineCol(t *testing.T) {
	data := []byte("ab\ncd\n")
	for _, c := range []struct {
		off       int64
		line, col int
	}{{-5, 1, 1}, {0, 1, 1}, {1, 1, 2}, {3, 2, 1}, {4, 2, 2}, {6, 3, 1}, {99, 3, 1}} {
		if l, col := LineCol(data, c.off); l != c.line || col != c.col {
			t.Errorf("LineCol(%d) = %d:%d, want %d:%d", c.off, l, col, c.line, c.col)
		}
	}
}

func FuzzError(f *testing.F) {
	f.Add([]byte(`{"name": "a", "count": 1, "list": [1]}`))
	f.Add([]byte(`{"count": "x"}`))
	f.Add([]byte(`{"zz": 1}`))
	f.Add([]byte(`{"items": [{"N": 1}, {"N": [2]}], "tags": {"a": 1}}`))
	f.Add([]byte(`[1, {"a": [2]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := decode(data)
		if err == nil {
			return
		}
		if placed, ok := Error("f", data, err); ok && !bytes.HasPrefix([]byte(placed.Error()), []byte("f:")) {
			t.Fatalf("placed error %q does not name the file", placed)
		}
	})
}

// TestPath: the keys and indexes to the value at an offset, read from
// the document.
func TestPath(t *testing.T) {
	data := []byte(`{"a": [1, {"b": [true, "x"]}], "c": {"d": null}}`)
	for _, c := range []struct {
		at   string // the value's first bytes, found in data
		want string
	}{
		{`{"a"`, ""}, {`[1,`, "a"}, {`1,`, "a[0]"}, {`{"b"`, "a[1]"}, {`true`, "a[1].b[0]"},
		{`"x"`, "a[1].b[1]"}, {`{"d"`, "c"}, {`null`, "c.d"},
	} {
		off := bytes.Index(data, []byte(c.at))
		if got := Path(data, int64(off)); got != c.want {
			t.Errorf("Path at %s = %q, want %q", c.at, got, c.want)
		}
	}
}

// FuzzPath: Path never panics, on any bytes and offset, and names a
// path of keys and indexes no longer than the document allows.
func FuzzPath(f *testing.F) {
	f.Add([]byte(`{"a": [1, {"b": [true, "x"]}], "c": {"d": null}}`), int64(20))
	f.Add([]byte(`[[[`), int64(2))
	f.Add([]byte(`{"a": }`), int64(6))
	f.Fuzz(func(t *testing.T, data []byte, off int64) {
		if p := Path(data, off); len(p) > 4*len(data)+16 {
			t.Fatalf("Path(%q, %d) = %q: longer than the document allows", data, off, p)
		}
	})
}
