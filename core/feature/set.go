package feature

import (
	"iter"
	"math/bits"
)

// ID is a feature's index in its [Registry]: its bit in a [FeatureSet].
// Built-in features come first, sorted by canonical name; features that
// plugins add follow in the order they were added. That order is the
// canonical order in which sets are iterated and printed.
type ID uint16

// setWords is the size of a FeatureSet in 64-bit words. QEMU 10.0 names
// 382 features; 640 bits leave room for the vendor features that plugins
// add while keeping a set at 80 bytes, so a subset test is ten AND-NOTs.
const setWords = 10

// Capacity is the number of distinct features a Registry can hold.
const Capacity = setWords * 64

// FeatureSet is a fixed-size bitset of feature IDs. The zero value is the
// empty set. FeatureSet is a plain value: it is copied by assignment,
// compared with ==, and none of its methods allocate.
type FeatureSet struct {
	w [setWords]uint64
}

// Add returns s with id added.
func (s FeatureSet) Add(id ID) FeatureSet {
	s.w[id>>6] |= 1 << (id & 63)
	return s
}

// Remove returns s without id.
func (s FeatureSet) Remove(id ID) FeatureSet {
	s.w[id>>6] &^= 1 << (id & 63)
	return s
}

// Has reports whether id is in s.
func (s FeatureSet) Has(id ID) bool {
	return int(id) < Capacity && s.w[id>>6]&(1<<(id&63)) != 0
}

// Union returns s ∪ t.
func (s FeatureSet) Union(t FeatureSet) FeatureSet {
	for i := range s.w {
		s.w[i] |= t.w[i]
	}
	return s
}

// Intersect returns s ∩ t.
func (s FeatureSet) Intersect(t FeatureSet) FeatureSet {
	for i := range s.w {
		s.w[i] &= t.w[i]
	}
	return s
}

// Difference returns s − t: the members of s that are not in t.
func (s FeatureSet) Difference(t FeatureSet) FeatureSet {
	for i := range s.w {
		s.w[i] &^= t.w[i]
	}
	return s
}

// SymmetricDifference returns the members of exactly one of s and t.
func (s FeatureSet) SymmetricDifference(t FeatureSet) FeatureSet {
	for i := range s.w {
		s.w[i] ^= t.w[i]
	}
	return s
}

// SubsetOf reports whether every member of s is in t. It is the hot path of
// every runnability verdict: one pass, no early exit, no branches.
func (s FeatureSet) SubsetOf(t FeatureSet) bool {
	var extra uint64
	for i := range s.w {
		extra |= s.w[i] &^ t.w[i]
	}
	return extra == 0
}

// Equal reports whether s and t have the same members (the same as s == t).
func (s FeatureSet) Equal(t FeatureSet) bool { return s.w == t.w }

// IsEmpty reports whether s has no members.
func (s FeatureSet) IsEmpty() bool { return s.w == [setWords]uint64{} }

// Count returns the number of members of s.
func (s FeatureSet) Count() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

// Next returns the smallest member of s that is ≥ from, and whether there
// is one. It is the allocation-free way to iterate:
//
//	for id, ok := s.Next(0); ok; id, ok = s.Next(id + 1) { … }
func (s FeatureSet) Next(from ID) (ID, bool) {
	i := int(from >> 6)
	if i >= setWords {
		return 0, false
	}
	w := s.w[i] &^ (1<<(from&63) - 1)
	for {
		if w != 0 {
			return ID(i<<6 + bits.TrailingZeros64(w)), true
		}
		i++
		if i == setWords {
			return 0, false
		}
		w = s.w[i]
	}
}

// All returns an iterator over the members of s in canonical order.
func (s FeatureSet) All() iter.Seq[ID] {
	return func(yield func(ID) bool) {
		for i, w := range s.w {
			for w != 0 {
				b := bits.TrailingZeros64(w)
				if !yield(ID(i<<6 + b)) {
					return
				}
				w &= w - 1
			}
		}
	}
}

// SetOf returns the set of the given IDs.
func SetOf(ids ...ID) FeatureSet {
	var s FeatureSet
	for _, id := range ids {
		s = s.Add(id)
	}
	return s
}

// Words returns the set's bits as 64-bit words, lowest IDs first: for
// compact binary encodings. The result is only meaningful with the same
// registry (see [Registry.Fingerprint]).
func (s FeatureSet) Words() [setWords]uint64 { return s.w }

// SetFromWords is the inverse of Words; words past the set's size are
// ignored.
func SetFromWords(w []uint64) FeatureSet {
	var s FeatureSet
	copy(s.w[:], w)
	return s
}
