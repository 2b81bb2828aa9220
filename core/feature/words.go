package feature

import "sync"

// Word is one of QEMU's feature words (the FeatureWord enum of
// target/i386/cpu.h) as the built-in table declares it. Code that speaks
// of a whole word — QEMU's feature dependencies clear whole words, its
// automatic CPUID levels look at whole words — names it and takes its
// location from here, so that no leaf, register or MSR index is written
// twice.
type Word struct {
	// Name is QEMU's FeatureWord name, e.g. "FEAT_7_0_EBX".
	Name string
	// Loc is where the word lives: a CPUID leaf, subleaf and register, or
	// a feature MSR. Bit is 0.
	Loc Location
	// Gate, for an MSR word, is the CPUID feature that enumerates the MSR
	// (the MSR exists when the CPU has the feature): arch-capabilities
	// for IA32_ARCH_CAPABILITIES, pdcm for IA32_PERF_CAPABILITIES, vmx for
	// every VMX capability MSR. "" for CPUID words.
	Gate string
}

var builtinWords = sync.OnceValue(func() []Word {
	ws := make([]Word, len(words))
	for i, w := range words {
		ws[i] = Word{Name: w.qemu, Loc: Location{MSR: w.msr, Leaf: w.leaf, Subleaf: w.subleaf, Reg: w.reg}, Gate: w.gate}
	}
	return ws
})

// Words returns the built-in feature words in QEMU's enum order.
func Words() []Word { return append([]Word(nil), builtinWords()...) }

// LookupWord returns the built-in feature word QEMU calls name
// ("FEAT_VMX_BASIC").
func LookupWord(name string) (Word, bool) {
	for _, w := range builtinWords() {
		if w.Name == name {
			return w, true
		}
	}
	return Word{}, false
}

// WordOfMSR returns the built-in feature word that lives in MSR msr.
func WordOfMSR(msr uint32) (Word, bool) {
	for _, w := range builtinWords() {
		if msr != 0 && w.Loc.MSR == msr {
			return w, true
		}
	}
	return Word{}, false
}

// InWord returns r's features with a bit in word w whose bit number
// (Location.Bit, so 32 and up for the may-be-one VMX controls) is in
// lo..hi. A feature with several bits (Feature.Also) is in it when any of
// its bits is.
func (r *Registry) InWord(w Word, lo, hi uint8) FeatureSet {
	in := func(l Location) bool {
		if l.Bit < lo || l.Bit > hi {
			return false
		}
		if w.Loc.IsMSR() {
			return l.MSR == w.Loc.MSR
		}
		return !l.IsMSR() && l.Leaf == w.Loc.Leaf && l.Subleaf == w.Loc.Subleaf && l.Reg == w.Loc.Reg
	}
	var s FeatureSet
	for _, f := range r.features {
		hit := in(f.Loc)
		for _, a := range f.Also {
			hit = hit || in(a)
		}
		if hit {
			s = s.Add(f.ID)
		}
	}
	return s
}
