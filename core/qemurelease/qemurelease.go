// Package qemurelease tells which QEMU release made a capture of a CPU's
// properties — a query-cpu-model-expansion reply, such as the host
// expansion `probe --from-qemu-expansion` reads — from the property
// names alone.
//
// Every QEMU release has its own set of x86 CPU properties: each adds
// feature names (11.1: amx-fp8, apxf, …) and compat switches
// (x-arch-cap-always-on), some drop them (11.1 dropped
// full-cpuid-auto-level), and a full expansion lists every one of them,
// whatever the model, machine type or accelerator. So the names identify
// the release, with no version string in the capture (libvirt's captures
// have none). [Detect] compares them with each release's list, embedded
// from the release's own binary (data/qemu-RELEASE.txt, written by
// TestListsMatchQEMU -update), and returns a [Detection].
//
// The lists cover the releases of the embedded catalogs and the ones
// scripts/qemu-release.sh unpacks — 5.2, 7.2, 10.0 and 11.1 — which are
// also releases whose rules cpupolicy may not (yet) know; hence releases
// here are strings ("11.1"), not core.Release, whose parser refuses a
// release without rules.
package qemurelease

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed data/qemu-*.txt
var data embed.FS

// list is one release's property names, sorted.
type list struct {
	release string
	names   []string
}

// lists reads the embedded lists once, oldest release first.
var lists = sync.OnceValue(func() []list {
	entries, err := data.ReadDir("data")
	if err != nil {
		panic("qemurelease: " + err.Error())
	}
	var out []list
	for _, e := range entries {
		rel := strings.TrimSuffix(strings.TrimPrefix(e.Name(), "qemu-"), ".txt")
		b, err := data.ReadFile("data/" + e.Name())
		if err != nil {
			panic("qemurelease: " + err.Error())
		}
		names := strings.Fields(string(b))
		slices.Sort(names)
		out = append(out, list{rel, slices.Compact(names)})
	}
	slices.SortFunc(out, func(a, b list) int { return compareReleases(a.release, b.release) })
	return out
})

// compareReleases orders "5.2" < "7.2" < "10.0" < "11.1".
func compareReleases(a, b string) int {
	num := func(s string) (int, int) {
		ma, mi, _ := strings.Cut(s, ".")
		x, _ := strconv.Atoi(ma)
		y, _ := strconv.Atoi(mi)
		return x, y
	}
	a1, a2 := num(a)
	b1, b2 := num(b)
	if a1 != b1 {
		return a1 - b1
	}
	return a2 - b2
}

// Releases returns the releases whose property lists are known, oldest
// first.
func Releases() []string {
	var out []string
	for _, l := range lists() {
		out = append(out, l.release)
	}
	return out
}

// Names returns release's property names, sorted, or nil for a release
// whose list is not known.
func Names(release string) []string {
	for _, l := range lists() {
		if l.release == release {
			return slices.Clone(l.names)
		}
	}
	return nil
}

// known reports whether release has a list (Names(release) != nil)
// without reading the lists: ParseCode runs on every snapshot read, and
// reading, splitting and sorting four lists of a thousand names each
// touched 20 pages of heap in `models --host F` for a yes.
func known(release string) bool {
	_, err := fs.Stat(data, "data/qemu-"+release+".txt")
	return err == nil
}

// Detection is what the property names of a capture say of the QEMU
// release that made it.
type Detection struct {
	// Release is the known release whose list is nearest the capture's
	// names (fewest names in one but not the other; the older release on
	// a tie), "" when there were no names.
	Release string `json:"release"`
	// Exact says the capture has exactly Release's names: it was made by
	// that release (any stable update of it).
	Exact bool `json:"exact"`
	// Missing are Release's names the capture lacks, Extra the capture's
	// names Release lacks: both empty when Exact. Missing alone means a
	// release older than Release made it (names are mostly added), Extra
	// alone a newer one.
	Missing []string `json:"missing,omitempty"`
	Extra   []string `json:"extra,omitempty"`
}

// Detect returns the release the property names identify. names are a
// capture's property names in any order, repeats allowed.
func Detect(names []string) Detection {
	have := slices.Clone(names)
	slices.Sort(have)
	have = slices.Compact(have)
	if len(have) == 0 {
		return Detection{}
	}
	var best Detection
	bestDist := -1
	for _, l := range lists() {
		missing, extra := difference(l.names, have), difference(have, l.names)
		if d := len(missing) + len(extra); bestDist < 0 || d < bestDist {
			best = Detection{Release: l.release, Exact: d == 0, Missing: missing, Extra: extra}
			bestDist = d
		}
	}
	return best
}

// difference returns the names of a not in b; both sorted.
func difference(a, b []string) []string {
	var out []string
	j := 0
	for _, n := range a {
		for j < len(b) && b[j] < n {
			j++
		}
		if j >= len(b) || b[j] != n {
			out = append(out, n)
		}
	}
	return out
}

// String says what the detection found, for messages: "QEMU 7.2", or
// "a QEMU release older than 5.2 (nearest: 5.2, 11 of its properties
// missing)".
func (d Detection) String() string {
	switch {
	case d.Release == "":
		return "no QEMU release (no properties)"
	case d.Exact:
		return "QEMU " + d.Release
	case len(d.Extra) == 0:
		return fmt.Sprintf("a QEMU release older than %s (nearest: %s, %d of its properties missing)", d.Release, d.Release, len(d.Missing))
	case len(d.Missing) == 0:
		return fmt.Sprintf("a QEMU release newer than %s (nearest: %s, %d properties it lacks)", d.Release, d.Release, len(d.Extra))
	}
	return fmt.Sprintf("an unknown QEMU release (nearest: %s, %d of its properties missing, %d it lacks)", d.Release, len(d.Missing), len(d.Extra))
}

// Code is the detection in a snapshot's qemu_release field: "11.1" when
// Exact; "pre-5.2" when the capture only lacks names of the nearest
// release (an older release made it), "post-11.1" when it only has more
// (a newer one), "near-10.0" when both; "" for no detection. (Words, not
// "<" and ">", which JSON writers escape.)
func (d Detection) Code() string {
	switch {
	case d.Release == "" || d.Exact:
		return d.Release
	case len(d.Extra) == 0:
		return "pre-" + d.Release
	case len(d.Missing) == 0:
		return "post-" + d.Release
	}
	return "near-" + d.Release
}

// codePrefixes are Code's prefixes for an inexact detection.
var codePrefixes = []string{"pre-", "post-", "near-"}

// ParseCode reads what Code writes. The detection it returns has Release
// and Exact; a code's Missing and Extra are not recorded, so they are
// nil. An error names the known releases.
func ParseCode(code string) (Detection, error) {
	rel, exact := code, true
	for _, p := range codePrefixes {
		if r, ok := strings.CutPrefix(code, p); ok {
			rel, exact = r, false
		}
	}
	if !known(rel) {
		return Detection{}, fmt.Errorf("unknown QEMU release code %q (want RELEASE, pre-RELEASE, post-RELEASE or near-RELEASE; releases: %s)", code, strings.Join(Releases(), ", "))
	}
	return Detection{Release: rel, Exact: exact}, nil
}
