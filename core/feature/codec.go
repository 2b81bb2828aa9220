package feature

import (
	"math/bits"
	"slices"
	"sort"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
)

// Decode returns the features whose CPUID bits are set in leaves. A leaf
// the registry knows but leaves lack contributes nothing. Leaves that are
// not indexed by subleaf are looked up at subleaf 0, as `cpuid -r` and KVM
// record them.
func (r *Registry) Decode(leaves cpuid.Leaves) FeatureSet {
	r.decoded()
	var s FeatureSet
	for i := range r.cpuidW {
		d := &r.cpuidW[i]
		l, ok := leaves.Find(d.loc.Leaf, d.loc.Subleaf)
		if !ok {
			continue
		}
		s = d.set(s, uint64(l.Reg(d.loc.Reg)))
	}
	return r.dropPartial(s, func(loc Location) bool {
		l, ok := leaves.Find(loc.Leaf, loc.Subleaf)
		return ok && l.Reg(loc.Reg)>>loc.Bit&1 != 0
	})
}

// DecodeMSRs returns the features whose bits are set in the given feature
// MSR values (index → value), read the way QEMU reads each MSR: for the VMX
// control MSRs, a control is a feature when it may be 1 but need not be.
func (r *Registry) DecodeMSRs(msrs map[uint32]uint64) FeatureSet {
	r.decoded()
	var s FeatureSet
	for i := range r.msrW {
		d := &r.msrW[i]
		v, ok := msrs[d.loc.MSR]
		if !ok {
			continue
		}
		if d.view == viewCanBeOne {
			v = v >> 32 &^ v
		}
		s = d.set(s, v)
	}
	return r.dropPartial(s, func(loc Location) bool {
		v := msrs[loc.MSR]
		if msrViewOf(loc.MSR) == viewCanBeOne {
			v = (v >> 32 &^ v) << 32 // "may be 1 but need not be", at the allowed-1 bit
		}
		return v>>loc.Bit&1 != 0
	})
}

// dropPartial removes from s each feature named on several bits
// (Feature.Also) of which isSet finds one clear: QEMU's property covers
// them all, so the name is on only when all its bits are. Decode and
// DecodeMSRs differ only in how they read a bit.
func (r *Registry) dropPartial(s FeatureSet, isSet func(Location) bool) FeatureSet {
	for _, id := range r.multi {
		if !s.Has(id) {
			continue
		}
		f := &r.features[id]
		if !isSet(f.Loc) || slices.ContainsFunc(f.Also, func(loc Location) bool { return !isSet(loc) }) {
			s = s.Remove(id)
		}
	}
	return s
}

func (d *decodeWord) set(s FeatureSet, v uint64) FeatureSet {
	v &= d.named
	for v != 0 {
		s = s.Add(d.ids[bits.TrailingZeros64(v)])
		v &= v - 1
	}
	return s
}

// Encode returns the register masks that hold exactly s's CPUID bits (one
// Leaf per leaf/subleaf the registry knows, sorted, all-zero ones
// included) and the MSR values that hold s's MSR bits (index → value, in
// the MSR's own layout: a VMX control is encoded as "may be 1"). It is the
// inverse of Decode and DecodeMSRs.
func (r *Registry) Encode(s FeatureSet) (cpuid.Leaves, map[uint32]uint64) {
	r.decoded()
	var ls cpuid.Leaves
	for i := range r.cpuidW {
		d := &r.cpuidW[i]
		n := len(ls)
		if n == 0 || ls[n-1].Leaf != d.loc.Leaf || ls[n-1].Subleaf != d.loc.Subleaf {
			ls = append(ls, cpuid.Leaf{Leaf: d.loc.Leaf, Subleaf: d.loc.Subleaf})
			n++
		}
		l := &ls[n-1]
		l.SetReg(d.loc.Reg, l.Reg(d.loc.Reg)|uint32(d.mask(s)))
	}
	// cpuidW is sorted by (leaf, subleaf, reg), so ls is sorted too.
	msrs := make(map[uint32]uint64, len(r.msrW))
	for i := range r.msrW {
		d := &r.msrW[i]
		v := d.mask(s)
		if d.view != viewPlain {
			v <<= 32
		}
		msrs[d.loc.MSR] = v
	}
	return ls, msrs
}

// mask returns the word-numbered bits of d that s has.
func (d *decodeWord) mask(s FeatureSet) uint64 {
	var v uint64
	named := d.named
	for named != 0 {
		b := bits.TrailingZeros64(named)
		if s.Has(d.ids[b]) {
			v |= 1 << b
		}
		named &= named - 1
	}
	return v
}

// CPUIDLeaves returns the (leaf, subleaf) pairs the registry has named bits
// in, sorted.
func (r *Registry) CPUIDLeaves() [][2]uint32 {
	r.decoded()
	var out [][2]uint32
	for _, d := range r.cpuidW {
		k := [2]uint32{d.loc.Leaf, d.loc.Subleaf}
		if len(out) == 0 || out[len(out)-1] != k {
			out = append(out, k)
		}
	}
	return out
}

// MSRs returns the feature MSR indexes the registry has named bits in,
// sorted.
func (r *Registry) MSRs() []uint32 {
	r.decoded()
	out := make([]uint32, 0, len(r.msrW))
	for _, d := range r.msrW {
		out = append(out, d.loc.MSR)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
