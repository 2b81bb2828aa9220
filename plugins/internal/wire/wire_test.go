package wire

import (
	"reflect"
	"strings"
	"testing"
)

var manifest = &Manifest{
	ABI: ABI, Name: "zhaoxin", Version: "1.0.0", Description: "d",
	Vendors: []string{"CentaurHauls", "  Shanghai  "},
	Leaves:  []LeafRange{{0xC0000000, 0xC0000001}},
	Features: []Feature{
		{Name: "phe2", Leaf: 0xC0000001, Reg: 3, Bit: 25, Linux: "phe2", Aliases: []string{"phe_2"}, Description: "PHE v2"},
		{Name: "vmx-x", Kind: KindMSR, MSR: 0x48f, Bit: 60},
	},
	Checks: []Check{{"padlock", "units"}},
}

var models = []Model{{
	Name: "YongFeng", Vendor: "CentaurHauls", Family: 7, Model: 11, Stepping: 3, Level: 0x1f, XLevel: 0x80000008,
	ModelID: "Zhaoxin YongFeng Processor", Note: "n", Features: []string{"sse2", "xstore"},
	Versions: []Version{{Version: 1}, {Version: 2, Alias: "YF", Note: "n2", Props: []Prop{{"xstore", "off"}}}},
}}

func TestRoundTrip(t *testing.T) {
	var e Encoder
	EncodeManifest(&e, manifest)
	d := NewDecoder(e.B)
	got := DecodeManifest(d)
	if err := d.End(); err != nil || !reflect.DeepEqual(got, manifest) {
		t.Errorf("manifest: %v\n got %+v\nwant %+v", err, got, manifest)
	}

	e = Encoder{}
	EncodeModels(&e, models)
	d = NewDecoder(e.B)
	gotModels := DecodeModels(d)
	if err := d.End(); err != nil || !reflect.DeepEqual(gotModels, models) {
		t.Errorf("models: %v\n got %+v", err, gotModels)
	}

	leaves := []Leaf{{0, 0, 1, 2, 3, 4}, {0xC0000001, 0, 5, 6, 7, 8}}
	e = Encoder{}
	EncodeLeaves(&e, leaves)
	if len(e.B) != 4+2*LeafSize {
		t.Errorf("leaves take %d bytes, want %d", len(e.B), 4+2*LeafSize)
	}
	d = NewDecoder(e.B)
	if got := DecodeLeaves(d, nil); d.End() != nil || !reflect.DeepEqual(got, leaves) {
		t.Errorf("leaves: %v", got)
	}
}

func TestWrongABIStopsEarly(t *testing.T) {
	var e Encoder
	e.U32(2)
	e.Str("from the future, in a layout this version cannot read")
	d := NewDecoder(e.B)
	if m := DecodeManifest(d); m.ABI != 2 || d.Err() != nil {
		t.Errorf("ABI 2 manifest: %+v, %v", m, d.Err())
	}
}

func TestDecodeErrors(t *testing.T) {
	str := func(d *Decoder) { d.Str() }
	strs := func(d *Decoder) { d.Strs() }
	tests := []struct {
		name string
		read func(*Decoder)
		b    []byte
		want string
	}{
		{"empty", str, nil, "offset 0x0: unexpected end of message"},
		{"short string", str, []byte{5, 0, 0, 0, 'a'}, "offset 0x4: length 5 runs past the end of the message"},
		{"huge count", strs, []byte{0xff, 0xff, 0xff, 0x7f}, "offset 0x4: list of 2147483647 items, the limit is 65536"},
		{"count past end", strs, []byte{10, 0, 0, 0}, "offset 0x4: list of 10 items runs past the end of the message"},
		{"bad utf-8", str, []byte{1, 0, 0, 0, 0xff}, "string is not valid UTF-8"},
	}
	for _, tt := range tests {
		d := NewDecoder(tt.b)
		tt.read(d)
		if err := d.End(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	d := NewDecoder([]byte{0, 0, 0, 0, 9})
	d.Strs()
	if err := d.End(); err == nil || !strings.Contains(err.Error(), "trailing bytes") {
		t.Errorf("trailing: %v", err)
	}
}

func TestFrame(t *testing.T) {
	if got := Frame(nil, []byte("ab")); string(got) != "\x02\x00\x00\x00ab" {
		t.Errorf("Frame = %q", got)
	}
}

// FuzzDecode: no input makes a decoder panic or allocate without bound,
// and what decodes re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	var e Encoder
	EncodeManifest(&e, manifest)
	f.Add(e.B)
	e = Encoder{}
	EncodeModels(&e, models)
	f.Add(e.B)
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		if m := DecodeManifest(d); d.End() == nil && m.ABI == ABI {
			var e Encoder
			EncodeManifest(&e, m)
			if string(e.B) != string(b) {
				t.Errorf("manifest does not round-trip")
			}
		}
		d = NewDecoder(b)
		if ms := DecodeModels(d); d.End() == nil {
			var e Encoder
			EncodeModels(&e, ms)
			if string(e.B) != string(b) {
				t.Errorf("models do not round-trip")
			}
		}
	})
}
