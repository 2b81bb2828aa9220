package feature

import "strings"

// XSAVE state components (bits of XCR0) that features need the OS to
// enable before software may use them. Linux hides a feature from
// /proc/cpuinfo when its components are off; for a host whose cpuinfo is
// not available, XCR0 is the evidence.
const (
	xSSE      = 1 << 1
	xYMM      = 1 << 2
	xBNDREGS  = 1 << 3
	xBNDCSR   = 1 << 4
	xOpmask   = 1 << 5
	xZMMHi256 = 1 << 6
	xHi16ZMM  = 1 << 7
	xTileCfg  = 1 << 17
	xTileData = 1 << 18

	xAVX    = xSSE | xYMM
	xAVX512 = xAVX | xOpmask | xZMMHi256 | xHi16ZMM
	xAMX    = xTileCfg | xTileData
	xMPX    = xBNDREGS | xBNDCSR
)

// xsaveNeeds lists the XCR0 bits a feature needs, by canonical name; a
// name ending in '*' covers every feature with that prefix. Source: the
// Intel SDM vol. 1 ch. 13 and AMD APM vol. 2 §11.5, and Linux's
// arch/x86/kernel/fpu/xstate.c xsave_cpuid_features / cpuid-deps.c.
var xsaveNeeds = []struct {
	name string
	xcr0 uint64
}{
	{"avx", xAVX}, {"avx2", xAVX}, {"fma", xAVX}, {"f16c", xAVX},
	{"fma4", xAVX}, {"xop", xAVX}, {"vaes", xAVX}, {"vpclmulqdq", xAVX},
	{"avx-vnni", xAVX}, {"avx-vnni-int8", xAVX}, {"avx-vnni-int16", xAVX},
	{"avx-ifma", xAVX}, {"avx-ne-convert", xAVX},
	{"sha512", xAVX}, {"sm3", xAVX}, {"sm4", xAVX},
	{"avx512*", xAVX512}, {"avx10*", xAVX512},
	{"amx-*", xAMX},
	{"mpx", xMPX},
}

// xsaveMask returns the XCR0 bits feature name needs, or 0.
func xsaveMask(name string) uint64 {
	for _, n := range xsaveNeeds {
		if p, ok := strings.CutSuffix(n.name, "*"); ok && strings.HasPrefix(name, p) || n.name == name {
			return n.xcr0
		}
	}
	return 0
}
