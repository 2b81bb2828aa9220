package cpuid

import (
	"runtime"
	"testing"
)

func TestNative(t *testing.T) {
	native, err := Native()
	if runtime.GOARCH != "amd64" {
		if err == nil || err.Error() != "CPUID probing needs x86-64" {
			t.Fatalf("Native() error %v, want %q", err, "CPUID probing needs x86-64")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	l := native(0, 0)
	if l.Leaf != 0 || l.Subleaf != 0 {
		t.Errorf("leaf 0 came back keyed %#x/%#x", l.Leaf, l.Subleaf)
	}
	// The vendor string is printable ASCII on every x86 CPU and hypervisor.
	for _, r := range []uint32{l.EBX, l.EDX, l.ECX} {
		for i := 0; i < 4; i++ {
			if c := byte(r >> (8 * i)); c < 0x20 || c > 0x7e {
				t.Fatalf("vendor string has byte %#x: %+v", c, l)
			}
		}
	}
	// ECX is passed through: leaf 7's subleaves differ from each other on
	// any CPU with AVX-VNNI or similar, but the key must follow ECX always.
	if l := native(7, 1); l.Leaf != 7 || l.Subleaf != 1 {
		t.Errorf("leaf 7.1 came back keyed %#x/%#x", l.Leaf, l.Subleaf)
	}
}

func TestXCR0(t *testing.T) {
	xcr0, err := XCR0()
	if runtime.GOARCH != "amd64" {
		if err == nil || err.Error() != "CPUID probing needs x86-64" {
			t.Fatalf("XCR0() error %v, want %q", err, "CPUID probing needs x86-64")
		}
		return
	}
	native, _ := Native()
	if native(1, 0).ECX&osxsave == 0 {
		if err == nil {
			t.Fatalf("XCR0() = %#x without OSXSAVE, want an error", xcr0)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	// XCR0 bit 0 (x87) must be set; the OS enables SSE (bit 1) with XSAVE
	// on every x86-64 kernel. Nothing may be enabled that leaf 0xD.0 does
	// not list as supported.
	if xcr0&3 != 3 {
		t.Errorf("XCR0 = %#x, want x87 and SSE enabled", xcr0)
	}
	d := native(0xd, 0)
	if supported := uint64(d.EDX)<<32 | uint64(d.EAX); xcr0&^supported != 0 {
		t.Errorf("XCR0 = %#x enables bits outside CPUID.0xD.0 %#x", xcr0, supported)
	}
	t.Logf("XCR0 = %#x", xcr0)
}
