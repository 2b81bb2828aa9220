package cpuid

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The raw format of `cpuid -r`: a header per CPU ("CPU 0:", "CPU 1:", …, or
// "CPU:" alone for `cpuid -1 -r`), then one line per leaf and subleaf:
//
//	   0x00000007 0x01: eax=0x00000030 ebx=0x00000000 ecx=0x00000000 edx=0x00000000
//
// cpuid pads the leaf to 8 and the subleaf to 2 hex digits; a subleaf above
// 0xff simply prints wider, so the parser takes any width that fits.

// ParseDump reads `cpuid -r` or `cpuid -1 -r` output and returns CPU 0's
// leaves (for `cpuid -1 -r`, the only CPU's), sorted. name is used in error
// messages, which look like `dump.txt:12: malformed register "ebx=0xzz"`;
// the first problem found is reported.
//
// Blank lines and whitespace around lines are ignored. Every other line must
// be a CPU header or a leaf line; a malformed line is an error even in
// another CPU's section, since it means the file is not what it claims to
// be. Also rejected: a leaf line before any header, a second CPU 0 section,
// a (leaf, subleaf) that CPU 0 lists twice, and a dump without leaves for
// CPU 0.
func ParseDump(name string, r io.Reader) (Leaves, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var (
		ls        Leaves
		first     = map[[2]uint32]int{} // CPU 0's keys → line first seen
		sawHeader bool
		inCPU0    bool
		cpu0Line  int // line of CPU 0's header; 0 while none
	)
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if cpu, ok := parseHeader(line); ok {
			if cpu == 0 {
				if cpu0Line != 0 {
					return nil, fmt.Errorf("%s:%d: second section for CPU 0 (first at line %d)", name, n, cpu0Line)
				}
				cpu0Line = n
			}
			sawHeader, inCPU0 = true, cpu == 0
			continue
		}
		l, msg := parseLeafLine(line)
		if msg != "" {
			return nil, fmt.Errorf("%s:%d: %s", name, n, msg)
		}
		if !sawHeader {
			return nil, fmt.Errorf("%s:%d: leaf line before any \"CPU\" header", name, n)
		}
		if !inCPU0 {
			continue
		}
		k := [2]uint32{l.Leaf, l.Subleaf}
		if at, dup := first[k]; dup {
			return nil, fmt.Errorf("%s:%d: leaf 0x%08x subleaf 0x%02x appears twice (first at line %d)", name, n, l.Leaf, l.Subleaf, at)
		}
		first[k] = n
		ls = append(ls, l)
	}
	switch {
	case cpu0Line == 0 && sawHeader:
		return nil, fmt.Errorf("%s: no section for CPU 0", name)
	case cpu0Line == 0:
		return nil, fmt.Errorf("%s: no CPUID leaves", name)
	case len(ls) == 0:
		return nil, fmt.Errorf("%s:%d: no CPUID leaves for CPU 0", name, cpu0Line)
	}
	ls.Sort()
	return ls, nil
}

// parseHeader recognises "CPU:" (cpu 0, the only one) and "CPU <n>:".
func parseHeader(line string) (cpu uint64, ok bool) {
	f := strings.Fields(line)
	switch {
	case len(f) == 1 && f[0] == "CPU:":
		return 0, true
	case len(f) == 2 && f[0] == "CPU" && strings.HasSuffix(f[1], ":"):
		digits := strings.TrimSuffix(f[1], ":")
		if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseUint(digits, 10, 32)
		return n, err == nil
	}
	return 0, false
}

// parseLeafLine parses one leaf line (already trimmed). On failure it
// returns the reason, without file and line.
func parseLeafLine(line string) (Leaf, string) {
	f := strings.Fields(line)
	if !strings.HasPrefix(f[0], "0x") {
		return Leaf{}, fmt.Sprintf("malformed line %s", clip(line))
	}
	var l Leaf
	var ok bool
	if l.Leaf, ok = parseHex(f[0]); !ok {
		return Leaf{}, fmt.Sprintf("malformed leaf %s", clip(f[0]))
	}
	if len(f) < 2 {
		return Leaf{}, "missing subleaf"
	}
	sub, colon := strings.CutSuffix(f[1], ":")
	if l.Subleaf, ok = parseHex(sub); !ok || !colon {
		return Leaf{}, fmt.Sprintf("malformed subleaf %s", clip(f[1]))
	}
	for r := EAX; r <= EDX; r++ {
		i := 2 + int(r)
		if i >= len(f) {
			return Leaf{}, "missing register " + r.String()
		}
		name, value, _ := strings.Cut(f[i], "=")
		if name != r.String() && isLaterReg(name, r) {
			// "eax=… ecx=…": say what is absent, not that ecx is odd.
			return Leaf{}, "missing register " + r.String()
		}
		v, ok := parseHex(value)
		if name != r.String() || !ok {
			return Leaf{}, fmt.Sprintf("malformed register %s", clip(f[i]))
		}
		l.SetReg(r, v)
	}
	if len(f) > 6 {
		return Leaf{}, fmt.Sprintf("unexpected %s after edx", clip(f[6]))
	}
	return l, ""
}

// isLaterReg reports whether name is a register printed after r.
func isLaterReg(name string, r Reg) bool {
	for r++; r <= EDX; r++ {
		if name == r.String() {
			return true
		}
	}
	return false
}

// parseHex parses "0x" followed by hex digits that fit in 32 bits.
func parseHex(s string) (uint32, bool) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok || digits == "" {
		return 0, false
	}
	// Base 16 without prefix: ParseUint then takes neither "0x" nor "_".
	v, err := strconv.ParseUint(digits, 16, 32)
	return uint32(v), err == nil
}

// clip quotes s for an error message, shortened so that a binary or
// enormous line cannot turn the error into a wall of text.
func clip(s string) string {
	const limit = 60
	if len(s) > limit {
		// Cut on a rune boundary so %q shows no broken character.
		cut := limit
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// WriteDump prints ls in `cpuid -1 -r` format, ordered by (leaf, subleaf),
// so that ParseDump reads back exactly ls. It refuses an empty ls and one
// that holds a key twice, since neither would read back.
func WriteDump(w io.Writer, ls Leaves) error {
	if len(ls) == 0 {
		return errors.New("cannot write a CPUID dump without leaves")
	}
	sorted := slices.Clone(ls)
	slices.SortStableFunc(sorted, func(a, b Leaf) int {
		if a.Leaf != b.Leaf {
			return cmp.Compare(a.Leaf, b.Leaf)
		}
		return cmp.Compare(a.Subleaf, b.Subleaf)
	})
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Leaf == sorted[i-1].Leaf && sorted[i].Subleaf == sorted[i-1].Subleaf {
			return fmt.Errorf("cannot write a CPUID dump with leaf 0x%08x subleaf 0x%02x twice", sorted[i].Leaf, sorted[i].Subleaf)
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("CPU:\n")
	for _, l := range sorted {
		fmt.Fprintf(bw, "   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n",
			l.Leaf, l.Subleaf, l.EAX, l.EBX, l.ECX, l.EDX)
	}
	return bw.Flush()
}
