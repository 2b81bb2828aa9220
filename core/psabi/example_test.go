package psabi_test

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core/psabi"
)

// A CPU with SSE4.2 and POPCNT but no AVX (a Nehalem) reaches x86-64-v2:
// enough for RHEL 9, not for RHEL 10.
func ExampleOf() {
	nehalem := []string{"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2",
		"cx16", "lahf-lm", "popcnt", "pni", "sse4.1", "sse4.2", "ssse3"}
	l := psabi.OfNames(nehalem)
	has := map[string]bool{}
	for _, n := range nehalem {
		has[n] = true
	}
	fmt.Println(l)
	fmt.Println("lacks for v3:", psabi.Missing(3, func(n string) bool { return has[n] }))
	// Output:
	// x86-64-v2
	// lacks for v3: [avx avx2 bmi1 bmi2 f16c fma abm movbe xsave]
}
