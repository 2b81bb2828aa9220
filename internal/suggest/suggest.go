// Package suggest finds the known name a mistyped one probably meant, for
// the "did you mean …?" of every error about an unknown feature, model,
// machine type, pool, policy or flag. It is declared once here so that
// every caller weighs typos the same way.
//
// A suggestion is made only when it is close, as `git` and `go` do it: a
// wrong suggestion ("+avx513: did you mean avx10?", "+nosuch: did you
// mean fsrc?") misleads more than none. Close means (Close):
//
//   - at most one edit per three characters of the name (at least one),
//     counting a swap of two neighbours as one edit and ignoring case,
//     and the same first character unless the whole difference is one
//     edit; or
//   - the name is the start of the candidate and at least four
//     characters long ("Skylake-Client" → "Skylake-Client-v4").
package suggest

import "strings"

// MaxLen is the longest name a suggestion is looked for: no real name is
// longer, and the distance costs len(a)·len(b), which a hostile input
// must not be able to make large.
const MaxLen = 64

// Distance is the edit distance between a and b: insertions, deletions,
// substitutions and swaps of two neighbouring bytes each cost one (the
// optimal string alignment distance), as the commonest typos are.
func Distance(a, b string) int {
	// Three rows: the one before the previous is needed for swaps. They
	// live on the stack for names up to MaxLen: a suggestion measures
	// every candidate (a catalog's 200 model names), and three
	// allocations each touched more heap than the rest of a command.
	var buf [3 * (MaxLen + 1)]int
	rows := buf[:0]
	if n := 3 * (len(b) + 1); n <= len(buf) {
		rows = buf[:n]
	} else {
		rows = make([]int, n)
	}
	pp, prev, cur := rows[:len(b)+1], rows[len(b)+1:2*(len(b)+1)], rows[2*(len(b)+1):]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)]
}

// Close reports whether candidate is a plausible typo of name (see the
// package comment) and how far it is: the edit distance, or 2 for a
// completion of a name's start (at most), so that a one-edit typo wins
// over it.
func Close(name, candidate string) (d int, ok bool) {
	if len(name) > MaxLen || len(candidate) > MaxLen || name == "" {
		return 0, false
	}
	n, c := strings.ToLower(name), strings.ToLower(candidate)
	d = Distance(n, c)
	if len(n) >= 4 && strings.HasPrefix(c, n) {
		return min(d, 2), true
	}
	return d, d <= max(1, len(n)/3) && (d <= 1 || n[0] == c[0])
}

// Nearest returns the close candidate nearest to name, "" when none is
// close. Ties go to the longer common prefix, then to the first.
func Nearest(name string, candidates []string) string {
	return NearestFunc(name, candidates, nil)
}

// NearestFunc is Nearest with ties between equally near candidates that
// share as long a prefix with name broken by better(a, b) (true when a
// is the better suggestion); nil keeps the first.
func NearestFunc(name string, candidates []string, better func(a, b string) bool) string {
	best, bestD, bestP := "", 0, 0
	for _, c := range candidates {
		d, ok := Close(name, c)
		if !ok {
			continue
		}
		p := commonPrefix(strings.ToLower(name), strings.ToLower(c))
		switch {
		case best == "", d < bestD, d == bestD && p > bestP,
			d == bestD && p == bestP && better != nil && better(c, best):
			best, bestD, bestP = c, d, p
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
