package sdk

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// use registers p for one test.
func use(t *testing.T, p *Plugin) {
	t.Helper()
	registered, describeReply, modelsReply = nil, nil, nil
	Register(p)
	t.Cleanup(func() { registered, describeReply, modelsReply = nil, nil, nil })
}

// unframe checks a reply's framing and returns its status and payload.
func unframe(t *testing.T, b []byte) (byte, []byte) {
	t.Helper()
	if len(b) < 5 {
		t.Fatalf("reply of %d bytes", len(b))
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24
	if n != len(b)-4 {
		t.Fatalf("reply frame says %d bytes, has %d", n, len(b)-4)
	}
	return b[4], b[5:]
}

var acme = &Plugin{
	Name: "acme", Version: "1.0", Vendors: []string{"AcmeAcmeAcme"},
	Leaves:   []LeafRange{{0x40000100, 0x40000101}},
	Features: []Feature{{Name: "acme-turbo", Leaf: 0x40000101, Reg: EDX, Bit: 3}, {Name: "acme-msr", MSR: 0x1234, Bit: 40}},
	Models:   []Model{{Name: "Acme", Family: 6, Features: []string{"acme-turbo"}, Versions: []Version{{Version: 1}, {Version: 2, Props: []Prop{{"acme-turbo", "off"}}}}}},
	Checks: []Check{
		{Name: "echo", Run: func(in []byte) ([]byte, error) { return in, nil }},
		{Name: "fail", Run: func([]byte) ([]byte, error) { return nil, Error("cannot") }},
		{Name: "panic", Run: func([]byte) ([]byte, error) { var m map[string]int; m["x"] = 1; return nil, nil }},
	},
}

// acmeLeaves is an Acme CPU with acme-turbo.
var acmeLeaves = []Leaf{
	{Leaf: 0, EAX: 0xd, EBX: le("Acme"), EDX: le("Acme"), ECX: le("Acme")},
	{Leaf: 0x40000101, EDX: 1 << 3},
}

func le(s string) uint32 { return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24 }

func encode(enc func(*wire.Encoder)) []byte {
	var e wire.Encoder
	enc(&e)
	return e.B
}

func TestDescribe(t *testing.T) {
	use(t, acme)
	status, payload := unframe(t, handleDescribe())
	d := wire.NewDecoder(payload)
	m := wire.DecodeManifest(d)
	if status != wire.StatusOK || d.End() != nil || m.ABI != wire.ABI || m.Name != "acme" ||
		len(m.Features) != 2 || m.Features[1].Kind != wire.KindMSR || m.Features[1].Bit != 40 || len(m.Checks) != 3 {
		t.Errorf("describe: status %d, %+v, %v", status, m, d.Err())
	}
	status, payload = unframe(t, handleModels())
	d = wire.NewDecoder(payload)
	ms := wire.DecodeModels(d)
	if status != wire.StatusOK || d.End() != nil || len(ms) != 1 || len(ms[0].Versions) != 2 || ms[0].Versions[1].Props[0].Value != "off" {
		t.Errorf("models: %+v, %v", ms, d.Err())
	}
}

func TestDecodeDefault(t *testing.T) {
	use(t, acme)
	for _, tt := range []struct {
		name   string
		leaves []Leaf
		want   []string
	}{
		{"acme", acmeLeaves, []string{"acme-turbo"}},
		{"other vendor", []Leaf{{Leaf: 0, EBX: le("Genu"), EDX: le("ineI"), ECX: le("ntel")}, {Leaf: 0x40000101, EDX: 8}}, nil},
	} {
		req := encode(func(e *wire.Encoder) {
			var ws []wire.Leaf
			for _, l := range tt.leaves {
				ws = append(ws, wire.Leaf(l))
			}
			wire.EncodeLeaves(e, ws)
		})
		status, payload := unframe(t, handleDecode(req))
		d := wire.NewDecoder(payload)
		if got := d.Strs(); status != wire.StatusOK || d.End() != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: status %d, %v, %v", tt.name, status, got, d.Err())
		}
	}
	status, _ := unframe(t, handleDecode([]byte{1, 0, 0, 0}))
	if status != wire.StatusError {
		t.Errorf("short request: status %d", status)
	}
}

func TestChecks(t *testing.T) {
	use(t, acme)
	check := func(name, in string) (byte, string) {
		status, payload := unframe(t, handleCheck(encode(func(e *wire.Encoder) { wire.EncodeCheckRequest(e, name, []byte(in)) })))
		d := wire.NewDecoder(payload)
		if status == wire.StatusOK {
			return status, string(d.Bytes())
		}
		return status, d.Str()
	}
	if s, out := check("echo", `{"a":1}`); s != wire.StatusOK || out != `{"a":1}` {
		t.Errorf("echo: %d %s", s, out)
	}
	if s, out := check("fail", `{}`); s != wire.StatusError || out != "cannot" {
		t.Errorf("fail: %d %s", s, out)
	}
	if s, out := check("panic", `{}`); s != wire.StatusPanic || !strings.Contains(out, "assignment to entry in nil map") {
		t.Errorf("panic: %d %s", s, out)
	}
	if s, out := check("nope", `{}`); s != wire.StatusError || out != `no check named "nope"` {
		t.Errorf("nope: %d %s", s, out)
	}
}

func TestRegisterValidates(t *testing.T) {
	for _, p := range []*Plugin{
		{},
		{Name: "x", Features: []Feature{{Name: "f", Bit: 32}}},
		{Name: "x", Features: []Feature{{Name: "f", Reg: 4}}},
		{Name: "x", Features: []Feature{{Name: "f", MSR: 1, Bit: 64}}},
		{Name: "x", Checks: []Check{{Name: "c"}}},
	} {
		if msg := p.validate(); msg == "" {
			t.Errorf("%+v validated", p)
		}
	}
	registered = nil
	defer func() {
		registered = nil
		if recover() == nil {
			t.Error("second Register did not panic")
		}
	}()
	Register(&Plugin{Name: "a"})
	Register(&Plugin{Name: "b"})
}

func TestRequestFraming(t *testing.T) {
	buf := allocate(8)
	copy(buf, []byte{3, 0, 0, 0, 'a', 'b', 'c'})
	if got, ok := request(buf); !ok || string(got) != "abc" {
		t.Errorf("request = %q, %v", got, ok)
	}
	copy(buf, []byte{200, 0, 0, 0})
	if _, ok := request(buf); ok {
		t.Error("oversized frame accepted")
	}
}

func TestCPUID(t *testing.T) {
	tests := []struct {
		sig           uint32
		family, model int
	}{
		{0x00b00f21, 26, 2},   // this development host: AMD family 1Ah
		{0x000806ec, 6, 0x8e}, // Core i7-8550U
		{0x00000673, 6, 7},
		{0x000b07c3, 7, 0xbc}, // family 7 with an extended model
		{0x00000f41, 15, 4},
	}
	for _, tt := range tests {
		c := NewCPUID([]Leaf{{Leaf: 1, EAX: tt.sig}})
		if c.Family() != tt.family || c.Model() != tt.model {
			t.Errorf("signature %#x: family %d model %#x, want %d %#x", tt.sig, c.Family(), c.Model(), tt.family, tt.model)
		}
	}
	c := NewCPUID([]Leaf{acmeLeaves[0], {Leaf: 0x80000000, EAX: 0x80000021}, {Leaf: 0xC0000000, EAX: 3}})
	if c.Vendor() != "AcmeAcmeAcme" || c.MaxLeaf(0) != 0xd || c.MaxLeaf(0x80000000) != 0x80000021 || c.MaxLeaf(0xC0000000) != 0 || c.MaxLeaf(0x40000000) != 0 {
		t.Errorf("vendor %q, max %#x %#x %#x", c.Vendor(), c.MaxLeaf(0), c.MaxLeaf(0x80000000), c.MaxLeaf(0xC0000000))
	}
	if NewCPUID(nil).Vendor() != "" {
		t.Error("vendor of nothing")
	}
}

func TestJSON(t *testing.T) {
	got, err := ParseStrings([]byte(` [ "a", "b\"c", "\u00e9\n" ] `))
	if err != nil || !reflect.DeepEqual(got, []string{"a", `b"c`, "é\n"}) {
		t.Errorf("ParseStrings = %q, %v", got, err)
	}
	for _, bad := range []string{``, `{}`, `["a"`, `["a",]`, `["a"] x`, `[1]`, `["\x"]`, "[\"\x01\"]"} {
		if _, err := ParseStrings([]byte(bad)); err == nil {
			t.Errorf("ParseStrings(%q) succeeded", bad)
		}
	}
	if got := string(AppendStrings(nil, []string{"a", "b\"\\\x01"})); got != `["a","b\"\\\u0001"]` {
		t.Errorf("AppendStrings = %s", got)
	}
}

// TestJSONAgainstStdlib: ParseStrings answers what encoding/json answers
// (surrogate pairs included), and its errors give the offset.
func TestJSONAgainstStdlib(t *testing.T) {
	for _, in := range []string{
		`["\ud83d\ude00", "\u00e9", "\ud83d", "\ude00x", "\ud83d\u0041", "\ud83d\ud83d\ude00"]`,
		"[\"😀\", \"\\/\"]",
	} {
		var want []string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if got, err := ParseStrings([]byte(in)); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseStrings(%s) = %q, %v; encoding/json says %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		`  {}`:       "offset 2: want a JSON array of strings",
		`["a" "b"]`:  "offset 5: want ',' or ']' in the array",
		`["a", 1]`:   "offset 6: want a string",
		`["\x"]`:     "offset 3: bad escape in a string",
		`["\u12"]`:   "offset 4: bad \\u escape",
		"[\"\x01\"]": "offset 2: control character in a string",
		`["a`:        "offset 3: unterminated string",
		`[] x`:       "offset 3: trailing data after the JSON value",
	} {
		if _, err := ParseStrings([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("ParseStrings(%q): %v, want %q", in, err, want)
		}
	}
}

// FuzzParseStrings: ParseStrings accepts what encoding/json accepts as a
// list of strings (but null), with the same strings, and what it parses
// survives AppendStrings and a second parse.
func FuzzParseStrings(f *testing.F) {
	for _, s := range []string{`[]`, ` [ "a", "b\"c", "\u00e9\n" ] `, `["\ud83d\ude00"]`, `["\ud83d\u0041"]`, `["a",]`, `["\x"]`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseStrings(b)
		if utf8.Valid(b) {
			var want []string
			jerr := json.Unmarshal(b, &want)
			if jerr == nil && want == nil {
				jerr = errors.New("null")
			}
			switch {
			case (err == nil) != (jerr == nil):
				t.Fatalf("ParseStrings(%q): %v; encoding/json: %v", b, err, jerr)
			case err == nil && len(got)+len(want) > 0 && !reflect.DeepEqual(got, want):
				t.Fatalf("ParseStrings(%q) = %q; encoding/json: %q", b, got, want)
			}
		}
		if err != nil {
			return
		}
		again, err := ParseStrings(AppendStrings(nil, got))
		if err != nil || len(got)+len(again) > 0 && !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
	})
}

func TestTable(t *testing.T) {
	fs := []Feature{
		{Name: "a", Leaf: 7, Reg: EBX, Bit: 0},
		{Name: "b", Leaf: 7, Reg: EBX, Bit: 31},
		{Name: "c", Leaf: 7, Subleaf: 1, Reg: EAX, Bit: 4},
		{Name: "m", MSR: 0x10a, Bit: 3},
	}
	tab := NewTable(fs)
	c := NewCPUID([]Leaf{{Leaf: 7, EBX: 1<<31 | 1 | 2}, {Leaf: 7, Subleaf: 1, EAX: 1 << 4}})
	if got := tab.Decode(c, nil, nil); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Decode = %v", got)
	}
	buf := make([]string, 0, 8)
	got := tab.Decode(c, buf, func(n string) bool { return n != "b" })
	if !reflect.DeepEqual(got, []string{"a", "c"}) || &got[0] != &buf[:1][0] {
		t.Errorf("Decode with keep = %v (or it allocated)", got)
	}
	if got := tab.Decode(NewCPUID(nil), nil, nil); got != nil {
		t.Errorf("no leaves: %v", got)
	}
}
