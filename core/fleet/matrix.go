package fleet

import (
	"math/bits"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Matrix holds verdicts of hosts × requirements, one bit each: host-major,
// so that judging one host writes one run of words.
type Matrix struct {
	hosts, reqs int
	stride      int // words per host
	bits        []uint64
}

// Hosts returns the number of hosts (rows).
func (m *Matrix) Hosts() int { return m.hosts }

// Reqs returns the number of requirements (columns).
func (m *Matrix) Reqs() int { return m.reqs }

// Runs reports whether host h offers everything requirement r needs.
func (m *Matrix) Runs(h, r int) bool {
	return m.bits[h*m.stride+r>>6]&(1<<(r&63)) != 0
}

// CountRuns returns how many requirements host h runs.
func (m *Matrix) CountRuns(h int) int {
	n := 0
	for _, w := range m.bits[h*m.stride : (h+1)*m.stride] {
		n += bits.OnesCount64(w)
	}
	return n
}

// words is a FeatureSet as its words, for the verdict loop.
type words = [feature.Capacity / 64]uint64

// judgeRow tests ten words by name: a compile error here when the set's
// size changes is the reminder to update it.
var (
	_ [len(words{}) - 10]struct{}
	_ [10 - len(words{})]struct{}
)

// Judge returns the verdict of every requirement in reqs on every host.
func (f *Fleet) Judge(reqs []feature.FeatureSet) *Matrix {
	m := &Matrix{}
	f.JudgeInto(m, reqs)
	return m
}

// JudgeInto is Judge reusing m's storage.
func (f *Fleet) JudgeInto(m *Matrix, reqs []feature.FeatureSet) {
	m.hosts, m.reqs = len(f.set), len(reqs)
	m.stride = (len(reqs) + 63) / 64
	n := m.hosts * m.stride
	if cap(m.bits) < n {
		m.bits = make([]uint64, n)
	}
	m.bits = m.bits[:n]
	rw := make([]words, len(reqs))
	for i, r := range reqs {
		rw[i] = r.Words()
	}
	for h, d := range f.set {
		judgeRow(m.bits[h*m.stride:(h+1)*m.stride], rw, f.sets[d].Words())
	}
}

// judgeRow sets bit r of row when reqs[r] ⊆ a. It is the hot loop: the
// host's words stay in registers, the requirements stream through L1,
// and a verdict has no branch.
func judgeRow(row []uint64, reqs []words, a words) {
	var acc uint64
	for r := range reqs {
		q := &reqs[r]
		extra := q[0]&^a[0] | q[1]&^a[1] | q[2]&^a[2] | q[3]&^a[3] | q[4]&^a[4] |
			q[5]&^a[5] | q[6]&^a[6] | q[7]&^a[7] | q[8]&^a[8] | q[9]&^a[9]
		// 1 when extra == 0, without a branch.
		ok := ((extra | -extra) >> 63) ^ 1
		acc |= ok << (r & 63)
		if r&63 == 63 {
			row[r>>6] = acc
			acc = 0
		}
	}
	if len(reqs)&63 != 0 {
		row[len(reqs)>>6] = acc
	}
}
