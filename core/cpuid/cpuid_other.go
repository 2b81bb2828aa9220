//go:build !amd64

package cpuid

import "errors"

// errNotX86 is what every probe answers on builds that cannot execute
// CPUID. 386 is included: the project only probes 64-bit hosts, and a
// 32-bit build would need its own CPUID-presence check (EFLAGS.ID) first.
var errNotX86 = errors.New("CPUID probing needs x86-64")

// Native returns the CPUID instruction of this CPU; this build has none.
func Native() (Func, error) {
	return nil, errNotX86
}

// XCR0 reads extended control register 0; this build cannot.
func XCR0() (uint64, error) {
	return 0, errNotX86
}
