package core

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Release is a QEMU release: its major and minor version. Every stable
// release of one major.minor (7.2.0 … 7.2.22) has the same rules, so the
// micro version is not part of it. The zero Release is no release.
type Release struct{ Major, Minor int }

// releases are the QEMU releases whose rules cpupolicy knows, oldest
// first: the releases that core/feature, core/check and core/catalog
// each have a table row for. RATIONALE.md, "How to add a QEMU release",
// says which rows a new one needs; TestReleaseTables (core/check,
// core/catalog) fails when a row is missing.
var releases = [...]Release{{5, 2}, {7, 2}, {10, 0}, {11, 1}}

// Releases returns the QEMU releases whose rules cpupolicy knows, oldest
// first.
func Releases() []Release { return append([]Release(nil), releases[:]...) }

// ErrUnknownRelease is the error, wrapped, of [ParseRelease] for a
// version that is not one of [Releases].
var ErrUnknownRelease = errors.New("unknown QEMU release")

// ParseRelease returns the known release of a QEMU version: "10.0" or
// any of its stable versions ("10.0.2"). It is the one parser of QEMU
// versions: a version that is malformed, or of a release whose rules are
// not known, is an error naming the known releases — never the nearest
// known one, whose rules would be silently wrong (QEMU's feature
// dependencies, for one, grew by twelve entries between 7.2 and 10.0).
func ParseRelease(version string) (Release, error) {
	// strings.Cut, not Split: the catalog parses its version on every
	// expansion it computes, so this does not allocate.
	majorText, rest, ok := strings.Cut(version, ".")
	minorText, _, _ := strings.Cut(rest, ".")
	major, ok1 := number(majorText)
	minor, ok2 := number(minorText)
	if ok && ok1 && ok2 {
		r := Release{major, minor}
		for _, k := range releases {
			if k == r {
				return r, nil
			}
		}
	}
	return Release{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownRelease, version, KnownReleases())
}

// number reads a version component as QEMU writes it: decimal digits,
// no sign, no leading zero, at most four digits.
func number(s string) (int, bool) {
	if s == "" || len(s) > 4 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// KnownReleases names the known releases for messages: "5.2, 7.2, 10.0 and 11.1".
func KnownReleases() string {
	names := make([]string, len(releases))
	for i, r := range releases {
		names[i] = r.String()
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// String returns "10.0", or "" for the zero Release.
func (r Release) String() string {
	if r == (Release{}) {
		return ""
	}
	return strconv.Itoa(r.Major) + "." + strconv.Itoa(r.Minor)
}

// Compare returns -1, 0 or +1 as r is older than, the same as or newer
// than o. The zero Release is older than every release.
func (r Release) Compare(o Release) int {
	if r.Major != o.Major {
		return cmp.Compare(r.Major, o.Major)
	}
	return cmp.Compare(r.Minor, o.Minor)
}

// MarshalText writes r as "10.0", so that a Release reads in JSON as the
// string a user writes.
func (r Release) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads what MarshalText writes ("" for the zero Release),
// with ParseRelease's policy for unknown releases.
func (r *Release) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = Release{}
		return nil
	}
	v, err := ParseRelease(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Accel is an accelerator: how QEMU runs a guest's instructions.
type Accel string

// The accelerators cpupolicy knows.
const (
	// KVM runs the guest on the host CPU: a guest gets what the
	// hardware, the host kernel and KVM give it.
	KVM Accel = "kvm"
	// TCG emulates the CPU: a guest gets what QEMU's TCG emulates,
	// whatever the host has.
	TCG Accel = "tcg"
)

// ErrUnknownAccel is the error, wrapped, of [ParseAccel] for a name that
// is not "kvm" or "tcg".
var ErrUnknownAccel = errors.New("unsupported accelerator")

// ParseAccel returns the accelerator named s ("kvm" or "tcg").
func ParseAccel(s string) (Accel, error) {
	switch a := Accel(s); a {
	case KVM, TCG:
		return a, nil
	}
	return "", fmt.Errorf("%w %q (want \"kvm\" or \"tcg\")", ErrUnknownAccel, s)
}
