// Package psabi computes the x86-64 micro-architecture levels of the
// x86-64 psABI (x86-64-v1 … x86-64-v4): the names distributions use for
// what a CPU must have to run their binaries (RHEL 9 is built for
// x86-64-v2, RHEL 10 for x86-64-v3). A [Level] is reached by a feature
// set that has every feature of that level and of the levels below; [Of]
// gives the highest level a set reaches, [Requires] what a level needs
// and [Missing] what a set lacks for one.
//
// The levels are written once, in [table], as QEMU feature names. The
// psABI states them as CPUID flags; the two differ in two places, each
// said where it applies: OSXSAVE (an operating-system bit, not a CPU
// model's) is asked of a CPU as xsave, and LZCNT is QEMU's abm.
package psabi

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Level is an x86-64 micro-architecture level: 1 … 4 for x86-64-v1 …
// x86-64-v4, 0 for a feature set that is not even x86-64 (a 32-bit
// model such as pentium3).
type Level int

// Max is the highest level the psABI defines.
const Max Level = 4

// String is "x86-64-vN", or "none" for 0.
func (l Level) String() string {
	if l <= 0 {
		return "none"
	}
	return fmt.Sprintf("x86-64-v%d", int(l))
}

// table lists, for each level, the features it adds to the one below:
// the x86-64 psABI (gitlab.com/x86-psABIs/x86-64-ABI, "Micro-architecture
// levels", section 3.1.1, table 3.1), in QEMU's names.
var table = [Max + 1][]string{
	// The baseline: CMOV CX8 FPU FXSR MMX OSFXSR SCE SSE SSE2. OSFXSR is
	// the OS's CR4 bit that FXSR makes possible; SCE is syscall. lm (long
	// mode) is the x86-64 instruction set itself, which the psABI takes
	// for granted: without it nothing 64-bit runs.
	1: {"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"},
	// CMPXCHG16B LAHF-SAHF POPCNT SSE3 SSE4_1 SSE4_2 SSSE3.
	2: {"cx16", "lahf-lm", "popcnt", "pni", "sse4.1", "sse4.2", "ssse3"},
	// AVX AVX2 BMI1 BMI2 F16C FMA LZCNT MOVBE OSXSAVE: LZCNT is abm's
	// bit (CPUID 0x80000001 ECX[5]); OSXSAVE is set by the guest's
	// kernel when the CPU has xsave, so a CPU model provides it as xsave.
	3: {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
	// AVX512F AVX512BW AVX512CD AVX512DQ AVX512VL.
	4: {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}

// Adds returns the features level l adds to the level below (nil outside
// 1 … Max), in the psABI's order.
func Adds(l Level) []string {
	if l < 1 || l > Max {
		return nil
	}
	return append([]string(nil), table[l]...)
}

// Requires returns every feature level l needs: its own and those of the
// levels below.
func Requires(l Level) []string {
	var out []string
	for k := Level(1); k <= min(l, Max); k++ {
		out = append(out, table[k]...)
	}
	return out
}

// Of returns the highest level whose features has reports present, and
// the levels below it all.
func Of(has func(name string) bool) Level {
	l := Level(0)
	for k := Level(1); k <= Max; k++ {
		for _, n := range table[k] {
			if !has(n) {
				return l
			}
		}
		l = k
	}
	return l
}

// Missing returns the features of levels up to l that has reports absent,
// in the psABI's order.
func Missing(l Level, has func(name string) bool) []string {
	var out []string
	for _, n := range Requires(l) {
		if !has(n) {
			out = append(out, n)
		}
	}
	return out
}

// Sets is the levels as feature sets of one registry, so that judging a
// set is a few subset tests.
type Sets struct {
	reg *feature.Registry
	// cum[l] is everything level l requires.
	cum [Max + 1]feature.FeatureSet
}

// NewSets returns the levels in reg's features; every name of the table
// must be in reg (the built-in registry has them all).
func NewSets(reg *feature.Registry) (*Sets, error) {
	s := &Sets{reg: reg}
	for l := Level(1); l <= Max; l++ {
		add, err := reg.Set(table[l]...)
		if err != nil {
			return nil, fmt.Errorf("x86-64 level %d: %v", l, err)
		}
		s.cum[l] = s.cum[l-1].Union(add)
	}
	return s, nil
}

// Of returns the highest level set reaches.
func (s *Sets) Of(set feature.FeatureSet) Level {
	l := Level(0)
	for k := Level(1); k <= Max && s.cum[k].SubsetOf(set); k++ {
		l = k
	}
	return l
}

// Requires returns everything level l needs (empty for 0).
func (s *Sets) Requires(l Level) feature.FeatureSet {
	return s.cum[max(0, min(l, Max))]
}

// Missing returns what set lacks to reach level l.
func (s *Sets) Missing(l Level, set feature.FeatureSet) feature.FeatureSet {
	return s.Requires(l).Difference(set)
}

// OfNames returns the highest level a list of feature names reaches
// (names as a snapshot's layers list them).
func OfNames(names []string) Level {
	in := make(map[string]bool, len(names))
	for _, n := range names {
		in[n] = true
	}
	return Of(func(n string) bool { return in[n] })
}
