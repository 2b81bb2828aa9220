package starlib

import (
	"fmt"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// FeatureSet is the Starlark value of a feature.FeatureSet: an immutable
// set of named CPU features.
//
//	s | t, s & t, s - t, s ^ t   union, intersection, difference, symmetric difference
//	s <= t, s >= t               subset, superset (s < t, s > t: proper)
//	s == t, s != t               equality
//	"avx2" in s                  membership, by canonical name or any alias
//	len(s), bool(s)              size, non-empty
//	for name in s                canonical names in canonical order
//	str(s)                       features("avx2", "sse4.2")
//
// Its type is "feature_set". Sets over different registries (one extended
// by a plugin) do not mix.
type FeatureSet struct {
	reg *feature.Registry
	set feature.FeatureSet
}

var (
	_ starlark.HasBinary  = FeatureSet{}
	_ starlark.Comparable = FeatureSet{}
	_ starlark.Container  = FeatureSet{}
	_ starlark.Sequence   = FeatureSet{}
)

// NewFeatureSet returns the Starlark value of s, whose IDs are reg's.
func NewFeatureSet(reg *feature.Registry, s feature.FeatureSet) FeatureSet {
	return FeatureSet{reg: reg, set: s}
}

// Set returns the set it holds.
func (s FeatureSet) Set() feature.FeatureSet { return s.set }

// Names returns the canonical names of its members, in canonical order.
func (s FeatureSet) Names() []string {
	if s.reg == nil {
		return nil
	}
	return s.reg.Names(s.set)
}

func (s FeatureSet) String() string {
	var b strings.Builder
	b.WriteString("features(")
	for i, name := range s.Names() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(name))
	}
	b.WriteByte(')')
	return b.String()
}

func (s FeatureSet) Type() string         { return "feature_set" }
func (s FeatureSet) Freeze()              {} // immutable
func (s FeatureSet) Truth() starlark.Bool { return starlark.Bool(!s.set.IsEmpty()) }
func (s FeatureSet) Len() int             { return s.set.Count() }

// Hash mixes the members' IDs (FNV-1a), so that equal sets hash alike.
func (s FeatureSet) Hash() (uint32, error) {
	h := uint32(2166136261)
	for id := range s.set.All() {
		h = (h ^ uint32(id)) * 16777619
	}
	return h, nil
}

// Binary implements | & - ^ between two sets; other operands are left to
// the interpreter's "unknown binary op" error.
func (s FeatureSet) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	t, ok := y.(FeatureSet)
	if !ok {
		return nil, nil
	}
	if s.reg != t.reg {
		return nil, fmt.Errorf("feature sets over different registries (one extended by a plugin?) cannot be combined")
	}
	x, z := s.set, t.set
	if side == starlark.Right {
		x, z = z, x
	}
	switch op {
	case syntax.PIPE:
		return FeatureSet{s.reg, x.Union(z)}, nil
	case syntax.AMP:
		return FeatureSet{s.reg, x.Intersect(z)}, nil
	case syntax.MINUS:
		return FeatureSet{s.reg, x.Difference(z)}, nil
	case syntax.CIRCUMFLEX:
		return FeatureSet{s.reg, x.SymmetricDifference(z)}, nil
	}
	return nil, nil
}

// CompareSameType orders sets by inclusion, as Python's sets are ordered.
func (s FeatureSet) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	t := y.(FeatureSet)
	if s.reg != t.reg {
		return false, fmt.Errorf("feature sets over different registries cannot be compared")
	}
	switch op {
	case syntax.EQL:
		return s.set == t.set, nil
	case syntax.NEQ:
		return s.set != t.set, nil
	case syntax.LE:
		return s.set.SubsetOf(t.set), nil
	case syntax.GE:
		return t.set.SubsetOf(s.set), nil
	case syntax.LT:
		return s.set != t.set && s.set.SubsetOf(t.set), nil
	case syntax.GT:
		return s.set != t.set && t.set.SubsetOf(s.set), nil
	}
	return false, fmt.Errorf("%s %s %s not implemented", s.Type(), op, t.Type())
}

// Has implements "name in s". An unknown name is an error, not false: a
// typo in a policy must not read as "the host lacks it".
func (s FeatureSet) Has(y starlark.Value) (bool, error) {
	name, ok := starlark.AsString(y)
	if !ok {
		return false, fmt.Errorf("in feature_set: got %s, want string", y.Type())
	}
	if s.reg == nil {
		return false, nil // the zero FeatureSet: empty, over no registry
	}
	id, err := s.reg.Lookup(name)
	if err != nil {
		return false, err
	}
	return s.set.Has(id), nil
}

// Iterate yields the canonical names of the members in canonical order.
func (s FeatureSet) Iterate() starlark.Iterator {
	return &featureIterator{s: s}
}

type featureIterator struct {
	s    FeatureSet
	next feature.ID
}

func (it *featureIterator) Next(p *starlark.Value) bool {
	id, ok := it.s.set.Next(it.next)
	if !ok {
		return false
	}
	*p = starlark.String(it.s.reg.Name(id))
	it.next = id + 1
	return true
}

func (it *featureIterator) Done() {}

// features(*names) builds a set from canonical names or aliases.
func makeFeatures(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument %s", b.Name(), kwargs[0][0])
	}
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var set feature.FeatureSet
	for i, arg := range args {
		if err := r.poll(i); err != nil {
			return nil, err
		}
		name, ok := starlark.AsString(arg)
		if !ok {
			hint := ""
			if _, ok := arg.(starlark.Iterable); ok {
				hint = " (for a list, write features(*names))"
			}
			return nil, fmt.Errorf("%s: argument %d: got %s, want string%s", b.Name(), i+1, arg.Type(), hint)
		}
		id, err := r.reg.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		set = set.Add(id)
	}
	return FeatureSet{r.reg, set}, nil
}

// unpackFeatures reads a feature_set, or a list or tuple of names, as a
// set of reg's features.
func unpackFeatures(r *run, fn, param string, reg *feature.Registry, v starlark.Value) (feature.FeatureSet, error) {
	maxLen := r.maxLen
	switch v := v.(type) {
	case FeatureSet:
		if v.reg != reg {
			return feature.FeatureSet{}, fmt.Errorf("%s: %s: feature set over a different registry", fn, param)
		}
		return v.set, nil
	case starlark.String:
		return feature.FeatureSet{}, fmt.Errorf("%s: %s: got string, want feature_set or list of names", fn, param)
	case starlark.Indexable: // list, tuple
		if v.Len() > maxLen {
			return feature.FeatureSet{}, fmt.Errorf("%s: %s: %d names exceed the limit of %d: %w", fn, param, v.Len(), maxLen, ErrLimit)
		}
		var set feature.FeatureSet
		for i := range v.Len() {
			if err := r.poll(i); err != nil {
				return feature.FeatureSet{}, err
			}
			name, ok := starlark.AsString(v.Index(i))
			if !ok {
				return feature.FeatureSet{}, fmt.Errorf("%s: %s[%d]: got %s, want string", fn, param, i, v.Index(i).Type())
			}
			id, err := reg.Lookup(name)
			if err != nil {
				return feature.FeatureSet{}, fmt.Errorf("%s: %s: %v", fn, param, err)
			}
			set = set.Add(id)
		}
		return set, nil
	}
	return feature.FeatureSet{}, fmt.Errorf("%s: %s: got %s, want feature_set or list of names", fn, param, v.Type())
}
