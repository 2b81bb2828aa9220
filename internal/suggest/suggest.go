// Package suggest finds the known name a mistyped one probably meant, for
// the "did you mean …?" of every error about an unknown feature, model,
// machine type, pool or policy. It is declared once here so that every
// caller weighs typos the same way.
package suggest

// MaxLen is the longest name a suggestion is looked for: no real name is
// longer, and the distance costs len(a)·len(b), which a hostile input
// must not be able to make large.
const MaxLen = 64

// Distance is the Levenshtein distance between a and b.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Nearest returns the candidate nearest to name, the first on ties, or ""
// when none is within len(name)/2+1 edits (not a plausible typo) or name
// is longer than MaxLen.
func Nearest(name string, candidates []string) string {
	if len(name) > MaxLen {
		return ""
	}
	best, bestD := "", len(name)/2+2
	for _, c := range candidates {
		if d := Distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
