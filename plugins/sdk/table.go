package sdk

// Table decodes a fixed list of CPUID features fast: their bits are
// grouped by register when the table is made, so decoding looks each
// register up once and does no allocation when given room for the names.
// Go's WebAssembly code pays tens of nanoseconds per function call and
// microseconds per allocation, so a decoder built on a Table answers a
// decode call several times faster than one that tests feature by
// feature (see plugins/ABI.md, "Cost of guest code").
type Table struct {
	words []tableWord
}

type tableWord struct {
	leaf, subleaf uint32
	reg           Reg
	mask          uint32
	names         [32]string
}

// NewTable returns the table of fs's CPUID features (MSR features are
// left out: decode sees no MSRs).
func NewTable(fs []Feature) *Table {
	t := &Table{}
	for _, f := range fs {
		if f.MSR != 0 || f.Bit > 31 {
			continue
		}
		i := 0
		for ; i < len(t.words); i++ {
			w := &t.words[i]
			if w.leaf == f.Leaf && w.subleaf == f.Subleaf && w.reg == f.Reg {
				break
			}
		}
		if i == len(t.words) {
			t.words = append(t.words, tableWord{leaf: f.Leaf, subleaf: f.Subleaf, reg: f.Reg})
		}
		t.words[i].mask |= 1 << f.Bit
		t.words[i].names[f.Bit] = f.Name
	}
	return t
}

// Decode appends to dst the names of the table's features whose bits are
// set in c, in bit order per register, and returns the extended slice.
// keep, if not nil, filters them.
func (t *Table) Decode(c CPUID, dst []string, keep func(name string) bool) []string {
	for i := range t.words {
		w := &t.words[i]
		l, ok := c.Get(w.leaf, w.subleaf)
		if !ok {
			continue
		}
		set := l.Reg(w.reg) & w.mask
		for bit := 0; set != 0; bit++ {
			if set&1 != 0 && (keep == nil || keep(w.names[bit])) {
				dst = append(dst, w.names[bit])
			}
			set >>= 1
		}
	}
	return dst
}
