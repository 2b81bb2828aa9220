package cpuid

import "errors"

// cpuidex executes CPUID with EAX=leaf and ECX=subleaf (cpuid_amd64.s).
func cpuidex(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv executes XGETBV with ECX=0, reading XCR0 (cpuid_amd64.s).
func xgetbv() (eax, edx uint32)

// Native returns the CPUID instruction of the CPU the calling thread runs
// on. Every x86-64 CPU has CPUID, so on amd64 builds this never fails.
//
// Some leaves differ between CPUs of one machine (APIC IDs in leaves 1, 0xB,
// 0x1F and 0x8000001E; core types on hybrid parts), so a caller that wants
// one CPU's answers should pin its goroutine's thread first
// (runtime.LockOSThread plus an affinity mask).
func Native() (Func, error) {
	return native, nil
}

func native(leaf, subleaf uint32) Leaf {
	a, b, c, d := cpuidex(leaf, subleaf)
	return Leaf{Leaf: leaf, Subleaf: subleaf, EAX: a, EBX: b, ECX: c, EDX: d}
}

// XCR0 reads extended control register 0 (the state components the OS has
// enabled for XSAVE) with XGETBV. It fails when CPUID.1:ECX.OSXSAVE is
// clear: the OS has not set CR4.OSXSAVE, and XGETBV would raise #UD
// instead of answering.
func XCR0() (uint64, error) {
	if _, _, ecx, _ := cpuidex(1, 0); ecx&osxsave == 0 {
		return 0, errors.New("cannot read XCR0: the OS has not enabled XSAVE (CPUID.1:ECX.OSXSAVE is clear)")
	}
	lo, hi := xgetbv()
	return uint64(hi)<<32 | uint64(lo), nil
}
