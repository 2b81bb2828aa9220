// Package cpuid reads, enumerates, parses and prints raw CPUID results.
//
// A [Leaf] is one CPUID answer: the inputs (EAX = leaf, ECX = subleaf) and
// the four output registers. [Leaves] is a sorted list of them: what the
// CPUID instruction returned on one CPU ([Enumerate] walks every leaf and
// subleaf the way `cpuid -r` does), what a `cpuid -r` dump recorded
// ([ParseDump]), or what KVM says it can give a guest.
//
// The package knows nothing of feature names; core/feature maps bits to
// names.
package cpuid

import (
	"fmt"
	"sort"
)

// Reg names one of the four CPUID output registers.
type Reg uint8

// The CPUID output registers, in the order the instruction's manuals and
// `cpuid -r` print them.
const (
	EAX Reg = iota
	EBX
	ECX
	EDX
)

// String returns the register's lowercase name ("eax").
func (r Reg) String() string {
	switch r {
	case EAX:
		return "eax"
	case EBX:
		return "ebx"
	case ECX:
		return "ecx"
	case EDX:
		return "edx"
	}
	return fmt.Sprintf("reg(%d)", uint8(r))
}

// Leaf is one CPUID result.
type Leaf struct {
	Leaf, Subleaf      uint32
	EAX, EBX, ECX, EDX uint32
}

// Reg returns the value of register r.
func (l Leaf) Reg(r Reg) uint32 {
	switch r {
	case EAX:
		return l.EAX
	case EBX:
		return l.EBX
	case ECX:
		return l.ECX
	default:
		return l.EDX
	}
}

// SetReg sets register r to v.
func (l *Leaf) SetReg(r Reg, v uint32) {
	switch r {
	case EAX:
		l.EAX = v
	case EBX:
		l.EBX = v
	case ECX:
		l.ECX = v
	default:
		l.EDX = v
	}
}

// WithoutProcessorIDs returns l with the fields that name the logical
// processor cleared: the initial APIC ID (leaf 1 EBX[31:24]), the x2APIC
// ID (EDX of leaves 0xB and 0x1F), and AMD's extended APIC ID, core ID
// and node ID (leaf 0x8000001E EAX, EBX[7:0], ECX[7:0]). They say which
// CPU answered, not what it can do, and some hypervisors fill them from
// the physical CPU the vCPU runs on at that moment: on one of this
// project's CI machines (an AMD VM) a walk pinned to CPU 0 saw initial
// APIC ID 0xc0 and a `taskset -c 0 cpuid -1 -r` a second later saw 0x7b;
// on another, CPUs 0 and 1 report 0x3f and 0x3a. Two walks of "the same
// CPU" can only be expected to agree with these cleared.
func (l Leaf) WithoutProcessorIDs() Leaf {
	switch l.Leaf {
	case 1:
		l.EBX &^= 0xff00_0000
	case 0xb, 0x1f:
		l.EDX = 0
	case 0x8000_001e:
		l.EAX = 0
		l.EBX &^= 0xff
		l.ECX &^= 0xff
	}
	return l
}

// Leaves is a list of CPUID results sorted by (Leaf, Subleaf), without
// duplicates. Use [Leaves.Sort] after building one by hand.
type Leaves []Leaf

// Sort orders ls by (Leaf, Subleaf); later duplicates of a key are dropped.
func (ls *Leaves) Sort() {
	s := *ls
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Leaf != s[j].Leaf {
			return s[i].Leaf < s[j].Leaf
		}
		return s[i].Subleaf < s[j].Subleaf
	})
	out := s[:0]
	for i, l := range s {
		if i > 0 && l.Leaf == out[len(out)-1].Leaf && l.Subleaf == out[len(out)-1].Subleaf {
			continue
		}
		out = append(out, l)
	}
	*ls = out
}

// Find returns the result for (leaf, subleaf) by binary search.
func (ls Leaves) Find(leaf, subleaf uint32) (Leaf, bool) {
	i := sort.Search(len(ls), func(i int) bool {
		return ls[i].Leaf > leaf || (ls[i].Leaf == leaf && ls[i].Subleaf >= subleaf)
	})
	if i < len(ls) && ls[i].Leaf == leaf && ls[i].Subleaf == subleaf {
		return ls[i], true
	}
	return Leaf{}, false
}

// Vendor returns the vendor string of leaf 0 ("GenuineIntel",
// "AuthenticAMD"): EBX, EDX, ECX as little-endian bytes.
func Vendor(leaf0 Leaf) string {
	b := make([]byte, 0, 12)
	for _, r := range []uint32{leaf0.EBX, leaf0.EDX, leaf0.ECX} {
		b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	return string(b)
}
