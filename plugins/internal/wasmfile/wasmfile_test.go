package wasmfile

import (
	"strings"
	"testing"
)

// module is a hand-assembled module: it imports wasi_snapshot_preview1.fd_write
// and env.mem (a memory), defines a memory of 2..16 pages and exports a
// function and the memory.
var module = []byte{
	0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
	// type section: one type () -> ()
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	// import section
	0x02, 0x2e, 0x02,
	0x16, 'w', 'a', 's', 'i', '_', 's', 'n', 'a', 'p', 's', 'h', 'o', 't', '_', 'p', 'r', 'e', 'v', 'i', 'e', 'w', '1',
	0x08, 'f', 'd', '_', 'w', 'r', 'i', 't', 'e', 0x00, 0x00,
	0x03, 'e', 'n', 'v', 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01,
	// memory section: min 2, max 16
	0x05, 0x04, 0x01, 0x01, 0x02, 0x10,
	// export section: "f" func 1, "memory" memory 0
	0x07, 0x0e, 0x02, 0x01, 'f', 0x00, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
	// a custom section
	0x00, 0x03, 0x01, 'x', 0xaa,
}

func TestParse(t *testing.T) {
	info, err := Parse(module)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Imports) != 2 || info.Imports[0] != (Import{"wasi_snapshot_preview1", "fd_write", Func}) ||
		info.Imports[1] != (Import{"env", "mem", Memory}) {
		t.Errorf("imports %+v", info.Imports)
	}
	if e, ok := info.Export("memory"); !ok || e.Kind != Memory {
		t.Errorf("exports %+v", info.Exports)
	}
	if _, ok := info.Export("nope"); ok {
		t.Error("found a missing export")
	}
	if info.MemoryMin != 2 || info.MemoryMax != 16 || !info.HasMemoryMax {
		t.Errorf("memory %d..%d %v", info.MemoryMin, info.MemoryMax, info.HasMemoryMax)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "offset 0x0: not a WebAssembly module: 0 bytes"},
		{"text", []byte("hello, world"), "offset 0x0: not a WebAssembly module: bad magic \"hell\""},
		{"version 2", []byte{0, 'a', 's', 'm', 2, 0, 0, 0}, "offset 0x4: WebAssembly binary version 2, want 1"},
		{"truncated", module[:len(module)-10], "runs past the end of the module"},
		{"long leb", append(append([]byte{}, module[:8]...), 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), "offset 0x9: integer too long"},
		{"unknown section", append(append([]byte{}, module[:8]...), 0x20, 0x00), "unknown section id 32"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.b)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzParse: no input makes Parse panic.
func FuzzParse(f *testing.F) {
	f.Add(module)
	f.Add(module[:20])
	f.Add([]byte{0, 'a', 's', 'm', 1, 0, 0, 0, 2, 5, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		Parse(b)
	})
}
