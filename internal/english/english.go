// Package english words counts for the text reports, so that every
// report says "1 host", "2 hosts", "1 policy", "3 policies" alike
// instead of each writer keeping (or forgetting) its own rule.
package english

import (
	"strconv"
	"strings"
)

// Count is n and the noun one, plural unless n is 1: "1 host", "0 hosts",
// "2 policies".
func Count(n int, one string) string {
	return strconv.Itoa(n) + " " + Noun(n, one)
}

// Noun is one, or its plural unless n is 1. The plural follows the
// regular rules, which every noun of the reports follows: a consonant
// and y make -ies (policy, policies); s, x, z, ch and sh take -es; the
// rest take -s. A phrase ("test file") pluralises its last word.
func Noun(n int, one string) string {
	if n == 1 || one == "" {
		return one
	}
	switch {
	case strings.HasSuffix(one, "y") && len(one) > 1 && !strings.ContainsAny(one[len(one)-2:len(one)-1], "aeiou"):
		return one[:len(one)-1] + "ies"
	case strings.HasSuffix(one, "s"), strings.HasSuffix(one, "x"), strings.HasSuffix(one, "z"),
		strings.HasSuffix(one, "ch"), strings.HasSuffix(one, "sh"):
		return one + "es"
	}
	return one + "s"
}
