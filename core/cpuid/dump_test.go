package cpuid

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hostDump is `taskset -c 0 cpuid -1 -r` on the machine the package was
// written on (AMD EPYC under nested KVM); allDump is `cpuid -r` there, both
// CPUs.
const (
	hostDump = "../../testdata/hosts/this-machine.cpuid.txt"
	allDump  = "testdata/this-machine-all.txt"
)

func TestParseDumpGood(t *testing.T) {
	one := Leaves{
		{Leaf: 0, EAX: 0x10, EBX: 0x68747541, ECX: 0x444d4163, EDX: 0x69746e65},
		{Leaf: 7, Subleaf: 1, EAX: 0x30},
	}
	tests := []struct {
		name, in string
		want     Leaves
	}{
		{
			name: "-1 form",
			in: "CPU:\n" +
				"   0x00000000 0x00: eax=0x00000010 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n" +
				"   0x00000007 0x01: eax=0x00000030 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n",
			want: one,
		},
		{
			name: "CPU 0 of several",
			in: "CPU 0:\n" +
				"   0x00000000 0x00: eax=0x00000010 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n" +
				"   0x00000007 0x01: eax=0x00000030 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n" +
				"CPU 1:\n" +
				"   0x00000000 0x00: eax=0x00000011 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n" +
				"   0x00000001 0x00: eax=0x00000011 ebx=0x01000000 ecx=0x00000000 edx=0x00000000\n",
			want: one,
		},
		{
			name: "CPU 0 after CPU 1",
			in: "CPU 1:\n" +
				"   0x00000000 0x00: eax=0x00000011 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n" +
				"CPU 0:\n" +
				"   0x00000000 0x00: eax=0x00000010 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n" +
				"   0x00000007 0x01: eax=0x00000030 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n",
			want: one,
		},
		{
			name: "whitespace, CRLF and blank lines",
			in: "\n\n  CPU:  \r\n\r\n" +
				"0x00000000    0x00:\teax=0x00000010 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65   \r\n" +
				"\n" +
				"\t  0x00000007 0x01: eax=0x00000030 ebx=0x00000000 ecx=0x00000000 edx=0x00000000",
			want: one,
		},
		{
			name: "short and upper-case hex, wide subleaf, any order",
			in: "CPU:\n" +
				"   0x0000000d 0x100: eax=0x1 ebx=0x0 ecx=0x0 edx=0xABCDEF01\n" +
				"   0x0 0x0: eax=0x2 ebx=0x0 ecx=0x0 edx=0x0\n",
			want: Leaves{
				{Leaf: 0, EAX: 2},
				{Leaf: 0xd, Subleaf: 0x100, EAX: 1, EDX: 0xabcdef01},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDump("dump.txt", strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParseDumpMultiCPU takes CPU 0 out of a real two-CPU `cpuid -r` and
// checks it against a `cpuid -1 -r` pinned to CPU 0 on the same machine;
// CPU 1 differs in its APIC IDs, so mixing the sections up would show.
func TestParseDumpMultiCPU(t *testing.T) {
	all := readDump(t, allDump)
	one := readDump(t, hostDump)
	if !slices.Equal(all, one) {
		t.Errorf("CPU 0 of %s differs from %s:\n%s", allDump, hostDump, diffLeaves(all, one, nil))
	}
	l, ok := all.Find(1, 0)
	if !ok || l.EBX>>24 != 0 {
		t.Errorf("leaf 1 = %+v, want CPU 0's initial APIC ID 0", l)
	}
	raw, err := os.ReadFile(allDump)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("\nCPU 1:\n")) || !bytes.Contains(raw, []byte("ebx=0x01020800")) {
		t.Errorf("%s no longer holds CPU 1 with APIC ID 1; the test above proves nothing", allDump)
	}
}

// TestWithoutProcessorIDs: the two CPUs of the real two-CPU dump differ, and
// only in the fields WithoutProcessorIDs clears (leaf 1's APIC ID and
// leaf 0x8000001E's core ID here).
func TestWithoutProcessorIDs(t *testing.T) {
	raw, err := os.ReadFile(allDump)
	if err != nil {
		t.Fatal(err)
	}
	_, cpu1, ok := bytes.Cut(raw, []byte("\nCPU 1:\n"))
	if !ok {
		t.Fatalf("%s has no CPU 1", allDump)
	}
	second, err := ParseDump(allDump+" (CPU 1)", bytes.NewReader(append([]byte("CPU:\n"), cpu1...)))
	if err != nil {
		t.Fatal(err)
	}
	first := readDump(t, allDump)
	if slices.Equal(first, second) {
		t.Fatalf("CPU 0 and CPU 1 of %s are equal; the test proves nothing", allDump)
	}
	if d := diffLeaves(withoutProcessorIDs(second), withoutProcessorIDs(first), nil); d != "" {
		t.Errorf("CPU 1 differs from CPU 0 beyond the APIC IDs:\n%s", d)
	}
	l := Leaf{Leaf: 1, EAX: 1, EBX: 0x0102_0800, ECX: 3, EDX: 4}.WithoutProcessorIDs()
	if l != (Leaf{Leaf: 1, EAX: 1, EBX: 0x0002_0800, ECX: 3, EDX: 4}) {
		t.Errorf("leaf 1 masked to %+v", l)
	}
	for _, k := range []uint32{0xb, 0x1f} {
		l := Leaf{Leaf: k, Subleaf: 1, EAX: 1, EBX: 2, ECX: 0x201, EDX: 7}.WithoutProcessorIDs()
		if l != (Leaf{Leaf: k, Subleaf: 1, EAX: 1, EBX: 2, ECX: 0x201}) {
			t.Errorf("leaf %#x masked to %+v", k, l)
		}
	}
	if l := (Leaf{Leaf: 0x8000_001e, EAX: 9, EBX: 0x102, ECX: 0x301, EDX: 5}).WithoutProcessorIDs(); l != (Leaf{Leaf: 0x8000_001e, EBX: 0x100, ECX: 0x300, EDX: 5}) {
		t.Errorf("leaf 0x8000001e masked to %+v", l)
	}
	if l := (Leaf{Leaf: 4, EAX: 0xff00_0000, EBX: 1, ECX: 2, EDX: 3}); l.WithoutProcessorIDs() != l {
		t.Errorf("leaf 4 changed")
	}
}

func TestParseDumpErrors(t *testing.T) {
	const l0 = "   0x00000000 0x00: eax=0x00000010 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "dump.txt: no CPUID leaves"},
		{"blank only", " \n\t\n\r\n", "dump.txt: no CPUID leaves"},
		{"header only", "\nCPU:\n\n", "dump.txt:2: no CPUID leaves for CPU 0"},
		{"no CPU 0", "CPU 1:\n" + l0, "dump.txt: no section for CPU 0"},
		{"leaf before header", l0 + "CPU:\n", `dump.txt:1: leaf line before any "CPU" header`},
		{"garbage line", "CPU:\n" + l0 + "hello world\n", `dump.txt:3: malformed line "hello world"`},
		{"bad header", "CPU x:\n" + l0, `dump.txt:1: malformed line "CPU x:"`},
		{"header without colon", "CPU 0\n" + l0, `dump.txt:1: malformed line "CPU 0"`},
		{"CPU number too big", "CPU 99999999999:\n" + l0, `dump.txt:1: malformed line "CPU 99999999999:"`},
		{"second CPU 0", "CPU:\n" + l0 + "CPU 0:\n" + l0, "dump.txt:3: second section for CPU 0 (first at line 1)"},
		{"duplicate key", "CPU:\n" + l0 + l0, "dump.txt:3: leaf 0x00000000 subleaf 0x00 appears twice (first at line 2)"},
		{"bad leaf hex", "CPU:\n   0x1g 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed leaf "0x1g"`},
		{"leaf too big", "CPU:\n   0x100000000 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed leaf "0x100000000"`},
		{"bare 0x", "CPU:\n   0x 0x00: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed leaf "0x"`},
		{"missing subleaf", "CPU:\n   0x00000000\n", "dump.txt:2: missing subleaf"},
		{"subleaf without colon", "CPU:\n   0x0 0x00 eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed subleaf "0x00"`},
		{"bad subleaf hex", "CPU:\n   0x0 0xq: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed subleaf "0xq:"`},
		{"bad register hex", "CPU:\n   0x0 0x0: eax=0x0 ebx=0xzz ecx=0x0 edx=0x0\n", `dump.txt:2: malformed register "ebx=0xzz"`},
		{"register too big", "CPU:\n   0x0 0x0: eax=0x100000000 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed register "eax=0x100000000"`},
		{"register without 0x", "CPU:\n   0x0 0x0: eax=10 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed register "eax=10"`},
		{"register with sign", "CPU:\n   0x0 0x0: eax=0x-1 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed register "eax=0x-1"`},
		{"register with underscore", "CPU:\n   0x0 0x0: eax=0x1_0 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed register "eax=0x1_0"`},
		{"unknown register", "CPU:\n   0x0 0x0: eax=0x0 ebp=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed register "ebp=0x0"`},
		{"missing last register", "CPU:\n   0x0 0x0: eax=0x0 ebx=0x0 ecx=0x0\n", "dump.txt:2: missing register edx"},
		{"missing middle register", "CPU:\n   0x0 0x0: eax=0x0 ecx=0x0 edx=0x0\n", "dump.txt:2: missing register ebx"},
		{"trailing text", "CPU:\n   0x0 0x0: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0 foo\n", `dump.txt:2: unexpected "foo" after edx`},
		{"legacy format without subleaf", "CPU:\n   0x00000000: eax=0x0 ebx=0x0 ecx=0x0 edx=0x0\n", `dump.txt:2: malformed leaf "0x00000000:"`},
		{"bad line in another CPU", "CPU 0:\n" + l0 + "CPU 1:\n   0x0 0x0: eax=0x0\n", "dump.txt:4: missing register ebx"},
		{"long line is clipped", "CPU:\n" + strings.Repeat("x", 100) + "\n", `dump.txt:2: malformed line "` + strings.Repeat("x", 60) + `"…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := ParseDump("dump.txt", strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error; got %+v", ls)
			}
			if err.Error() != tt.want {
				t.Errorf("error %q\nwant  %q", err, tt.want)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseDumpReadError(t *testing.T) {
	_, err := ParseDump("dump.txt", failingReader{})
	if err == nil || err.Error() != "dump.txt: disk on fire" {
		t.Errorf("error %v, want %q", err, "dump.txt: disk on fire")
	}
}

// TestWriteDumpIsCpuidOutput checks that WriteDump prints exactly what
// `cpuid -1 -r` printed, byte for byte.
func TestWriteDumpIsCpuidOutput(t *testing.T) {
	raw, err := os.ReadFile(hostDump)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteDump(&buf, readDump(t, hostDump)); err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(raw) {
		t.Errorf("WriteDump output differs from %s:\n%s", hostDump, buf.String())
	}
}

func TestRoundTrip(t *testing.T) {
	inputs := map[string]Leaves{
		"host":     readDump(t, hostDump),
		"all CPUs": readDump(t, allDump),
	}
	for _, name := range fakeCPUs {
		table := readDump(t, filepath.Join("testdata", "fake", name+".table.txt"))
		inputs[name+" table"] = table
		inputs[name+" walk"] = Enumerate(table.Func())
	}
	for name, ls := range inputs {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteDump(&buf, ls); err != nil {
				t.Fatal(err)
			}
			got, err := ParseDump(name, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, ls) {
				t.Errorf("round trip changed the leaves:\n%s", diffLeaves(got, ls, nil))
			}
		})
	}
}

func TestWriteDump(t *testing.T) {
	t.Run("sorts", func(t *testing.T) {
		var buf bytes.Buffer
		err := WriteDump(&buf, Leaves{{Leaf: 7, Subleaf: 1, EAX: 1}, {Leaf: 0x8000_0000, EDX: 0xffffffff}, {Leaf: 7}})
		if err != nil {
			t.Fatal(err)
		}
		want := "CPU:\n" +
			"   0x00000007 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n" +
			"   0x00000007 0x01: eax=0x00000001 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n" +
			"   0x80000000 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0xffffffff\n"
		if buf.String() != want {
			t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
		}
	})
	t.Run("empty", func(t *testing.T) {
		err := WriteDump(&bytes.Buffer{}, nil)
		if err == nil || err.Error() != "cannot write a CPUID dump without leaves" {
			t.Errorf("error %v", err)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		err := WriteDump(&bytes.Buffer{}, Leaves{{Leaf: 4, Subleaf: 2}, {Leaf: 4, Subleaf: 2, EAX: 1}})
		if err == nil || err.Error() != "cannot write a CPUID dump with leaf 0x00000004 subleaf 0x02 twice" {
			t.Errorf("error %v", err)
		}
	})
	t.Run("write error", func(t *testing.T) {
		if err := WriteDump(failingWriter{}, Leaves{{}}); err == nil {
			t.Error("no error from a failing writer")
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// FuzzParseDump: ParseDump never panics, and whatever it accepts is a
// sorted, duplicate-free, non-empty set that survives WriteDump → ParseDump.
func FuzzParseDump(f *testing.F) {
	// Seeds stay a few lines long: the fuzzer minimises every new
	// interesting input, and minimising a whole 170-line dump takes it most
	// of a minute, stalling the run. TestRoundTrip covers the full dumps.
	for _, path := range []string{hostDump, allDump, "testdata/fake/intel.want.txt"} {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.SplitAfter(string(raw), "\n")
		f.Add([]byte(strings.Join(lines[:min(6, len(lines))], "")))
	}
	f.Add([]byte("CPU:\n   0x0 0x0: eax=0x1 ebx=0x2 ecx=0x3 edx=0x4\n"))
	f.Add([]byte("CPU 3:\n   0x0 0x0: eax=0x1 ebx=0x2 ecx=0x3 edx=0x4\nCPU 0:\n   0x1 0xff: eax=0xffffffff ebx=0x2 ecx=0x3 edx=0x4\n"))
	f.Add([]byte("CPU:\n   0x0 0x0: eax=0x1 ebx=0x2 ecx=0x3\n"))
	f.Add([]byte("\xff\xfe CPU:\x00\n0x 0x:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := ParseDump("fuzz.txt", bytes.NewReader(data))
		if err != nil {
			if ls != nil {
				t.Fatalf("error %v with leaves %+v", err, ls)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(ls) == 0 {
			t.Fatal("no error and no leaves")
		}
		for i := 1; i < len(ls); i++ {
			a, b := ls[i-1], ls[i]
			if a.Leaf > b.Leaf || (a.Leaf == b.Leaf && a.Subleaf >= b.Subleaf) {
				t.Fatalf("not sorted and unique at %d: %+v then %+v", i, a, b)
			}
		}
		var buf bytes.Buffer
		if err := WriteDump(&buf, ls); err != nil {
			t.Fatalf("WriteDump: %v", err)
		}
		again, err := ParseDump("again.txt", &buf)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, buf.String())
		}
		if !slices.Equal(again, ls) {
			t.Fatalf("round trip changed the leaves:\n%s", diffLeaves(again, ls, nil))
		}
	})
}
