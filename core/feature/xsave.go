package feature

import "strings"

// XSAVE state components: their bit numbers in XCR0 (Intel SDM vol. 1
// §13.1; QEMU's XSTATE_*_BIT).
const (
	XStateFP       = 0
	XStateSSE      = 1
	XStateYMM      = 2
	XStateBNDREGS  = 3
	XStateBNDCSR   = 4
	XStateOpmask   = 5
	XStateZMMHi256 = 6
	XStateHi16ZMM  = 7
	XStatePKRU     = 9
	XStateTileCfg  = 17
	XStateTileData = 18
)

// The XCR0 bits that features need the OS to enable before software may
// use them. Linux hides a feature from /proc/cpuinfo when its components
// are off; for a host whose cpuinfo is not available, XCR0 is the
// evidence.
const (
	xSSE      = 1 << XStateSSE
	xYMM      = 1 << XStateYMM
	xBNDREGS  = 1 << XStateBNDREGS
	xBNDCSR   = 1 << XStateBNDCSR
	xOpmask   = 1 << XStateOpmask
	xZMMHi256 = 1 << XStateZMMHi256
	xHi16ZMM  = 1 << XStateHi16ZMM
	xTileCfg  = 1 << XStateTileCfg
	xTileData = 1 << XStateTileData

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
