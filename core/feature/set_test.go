package feature

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// naive is a map-based model of a set, to check the bitset against.
type naive map[ID]bool

func randomSet(r *rand.Rand, density float64) (FeatureSet, naive) {
	var s FeatureSet
	m := naive{}
	for id := ID(0); id < Capacity; id++ {
		if r.Float64() < density {
			s = s.Add(id)
			m[id] = true
		}
	}
	return s, m
}

func (m naive) ids() []ID {
	var out []ID
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func collect(s FeatureSet) []ID {
	var out []ID
	for id := range s.All() {
		out = append(out, id)
	}
	return out
}

func TestSetOperationsAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		density := []float64{0, 0.01, 0.3, 0.9, 1}[i%5]
		a, ma := randomSet(r, density)
		b, mb := randomSet(r, 0.5)
		union, inter, diff, sym := naive{}, naive{}, naive{}, naive{}
		for id := range ma {
			union[id] = true
			if mb[id] {
				inter[id] = true
			} else {
				diff[id] = true
				sym[id] = true
			}
		}
		for id := range mb {
			union[id] = true
			if !ma[id] {
				sym[id] = true
			}
		}
		for _, c := range []struct {
			name string
			got  FeatureSet
			want naive
		}{
			{"union", a.Union(b), union},
			{"intersect", a.Intersect(b), inter},
			{"difference", a.Difference(b), diff},
			{"symmetric difference", a.SymmetricDifference(b), sym},
		} {
			if got, want := collect(c.got), c.want.ids(); !slices.Equal(got, want) {
				t.Fatalf("case %d %s: got %v, want %v", i, c.name, got, want)
			}
			if c.got.Count() != len(c.want) {
				t.Fatalf("case %d %s: Count = %d, want %d", i, c.name, c.got.Count(), len(c.want))
			}
		}
		if got, want := a.SubsetOf(b), len(diff) == 0; got != want {
			t.Fatalf("case %d: SubsetOf = %v, want %v", i, got, want)
		}
		if !inter.subsetCheck(a) || !a.Intersect(b).SubsetOf(a) || !a.SubsetOf(a.Union(b)) {
			t.Fatalf("case %d: subset laws fail", i)
		}
		if a.Equal(b) != (a == b) || !a.Equal(a) {
			t.Fatalf("case %d: Equal disagrees with ==", i)
		}
		var next []ID
		for id, ok := a.Next(0); ok; id, ok = a.Next(id + 1) {
			next = append(next, id)
		}
		if !slices.Equal(next, ma.ids()) {
			t.Fatalf("case %d: Next walk %v, want %v", i, next, ma.ids())
		}
		if a.IsEmpty() != (len(ma) == 0) {
			t.Fatalf("case %d: IsEmpty = %v with %d members", i, a.IsEmpty(), len(ma))
		}
	}
}

func (m naive) subsetCheck(s FeatureSet) bool {
	for id := range m {
		if !s.Has(id) {
			return false
		}
	}
	return true
}

func TestSetEdges(t *testing.T) {
	last := ID(Capacity - 1)
	s := SetOf(0, 63, 64, last)
	if got := collect(s); !slices.Equal(got, []ID{0, 63, 64, last}) {
		t.Errorf("members = %v", got)
	}
	if id, ok := s.Next(last); !ok || id != last {
		t.Errorf("Next(last) = %d, %v", id, ok)
	}
	if _, ok := s.Next(last + 1); ok {
		t.Errorf("Next past the end found a member")
	}
	if s.Has(Capacity) || s.Has(Capacity+100) {
		t.Errorf("Has past Capacity is true")
	}
	if s = s.Remove(63); s.Has(63) || s.Count() != 3 {
		t.Errorf("Remove(63) left %v", collect(s))
	}
	var empty FeatureSet
	if !empty.IsEmpty() || empty.Count() != 0 || !empty.SubsetOf(s) {
		t.Errorf("zero value is not the empty set")
	}
	// Early exit from range stops the iterator.
	n := 0
	for range s.All() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break did not stop iteration")
	}
}

// TestSetOperationsDoNotAllocate states the zero-allocation contract.
func TestSetOperationsDoNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, _ := randomSet(r, 0.4)
	b, _ := randomSet(r, 0.6)
	var sink FeatureSet
	var n int
	var ok bool
	ops := map[string]func(){
		"Union":     func() { sink = a.Union(b) },
		"Intersect": func() { sink = a.Intersect(b) },
		"Difference": func() {
			sink = a.Difference(b)
		},
		"SubsetOf": func() { ok = a.SubsetOf(b) },
		"Equal":    func() { ok = a.Equal(b) },
		"Count":    func() { n = a.Count() },
		"All": func() {
			for id := range a.All() {
				n += int(id)
			}
		},
		"Next": func() {
			for id, more := a.Next(0); more; id, more = a.Next(id + 1) {
				n += int(id)
			}
		},
	}
	for name, op := range ops {
		if allocs := testing.AllocsPerRun(100, op); allocs != 0 {
			t.Errorf("%s allocates %.0f times per call", name, allocs)
		}
	}
	_, _, _ = sink, n, ok
}

var (
	benchSink  FeatureSet
	benchBool  bool
	benchCount int
)

func benchSets() (FeatureSet, FeatureSet) {
	r := rand.New(rand.NewPCG(5, 6))
	a, _ := randomSet(r, 0.3)
	b, _ := randomSet(r, 0.6)
	return a.Intersect(b), b // a ⊆ b: the common case of a runnable verdict
}

func BenchmarkUnion(b *testing.B) {
	x, y := benchSets()
	b.ReportAllocs()
	for b.Loop() {
		benchSink = x.Union(y)
	}
}

func BenchmarkIntersect(b *testing.B) {
	x, y := benchSets()
	b.ReportAllocs()
	for b.Loop() {
		benchSink = x.Intersect(y)
	}
}

func BenchmarkDifference(b *testing.B) {
	x, y := benchSets()
	b.ReportAllocs()
	for b.Loop() {
		benchSink = y.Difference(x)
	}
}

func BenchmarkSubsetOf(b *testing.B) {
	x, y := benchSets()
	b.ReportAllocs()
	for b.Loop() {
		benchBool = x.SubsetOf(y)
	}
}

func BenchmarkEqual(b *testing.B) {
	x, y := benchSets()
	b.ReportAllocs()
	for b.Loop() {
		benchBool = x.Equal(y)
	}
}

func BenchmarkCount(b *testing.B) {
	_, y := benchSets()
	b.ReportAllocs()
	for b.Loop() {
		benchCount = y.Count()
	}
}

func BenchmarkIterate(b *testing.B) {
	_, y := benchSets()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for id := range y.All() {
			n += int(id)
		}
		benchCount = n
	}
}
