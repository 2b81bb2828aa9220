package feature

import "github.com/cpupolicy/cpupolicy/core/cpuid"

// A word is one QEMU "feature word" (target/i386/cpu.c feature_word_info):
// up to 32 named bits of one CPUID register, or up to 64 named bits of a
// feature MSR as QEMU views it. The table of words (table.go) is the single
// declaration of every built-in bit; everything else is derived from it.
type word struct {
	// qemu is QEMU's FeatureWord enum name, e.g. "FEAT_1_EDX"; kept for
	// cross-reading with QEMU's source.
	qemu string

	// For CPUID words: the leaf, subleaf and register.
	leaf, subleaf uint32
	reg           cpuid.Reg

	// For MSR words (msr != 0): the MSR index and how QEMU turns the
	// 64-bit MSR value into the feature word (see msrView).
	msr  uint32
	view msrView
	// gate, for an MSR word, is the CPUID feature that enumerates the
	// MSR (see Word.Gate).
	gate string

	// names[i] is QEMU's canonical name of bit i of the word ("" when QEMU
	// names no feature there). CPUID words use names[0:32].
	names [64]string
}

// msrView says how QEMU derives a feature word from a feature MSR's value
// (target/i386/kvm/kvm.c, kvm_arch_get_supported_msr_feature).
type msrView uint8

const (
	// viewPlain: bit i of the word is bit i of the MSR.
	viewPlain msrView = iota
	// viewCanBeOne: a VMX control MSR (the four TRUE_*_CTLS and
	// PROCBASED_CTLS2); the word is value>>32 & ^value (the controls that
	// may be 1 but need not be). Bit i of the word lives at MSR bit 32+i.
	viewCanBeOne
)

// alias is another spelling of a canonical feature name.
type alias struct {
	name   string      // the other spelling, e.g. "sse4_1" or "pni"
	source AliasSource // who spells it that way
}

// AliasSource says where an alias comes from.
type AliasSource uint8

// Alias sources. A name may come from several; the table records one.
const (
	// QEMU: QEMU's own legacy property names (x86_cpu_initfn's
	// object_property_add_alias calls; underscore spellings).
	QEMU AliasSource = iota + 1
	// Linux: the flag as printed in /proc/cpuinfo
	// (arch/x86/include/asm/cpufeatures.h).
	Linux
	// Libvirt: libvirt's cpu_map (src/cpu_map/x86_features.xml).
	Libvirt
)

// String returns "qemu", "linux" or "libvirt".
func (s AliasSource) String() string {
	switch s {
	case QEMU:
		return "qemu"
	case Linux:
		return "linux"
	case Libvirt:
		return "libvirt"
	}
	return "unknown"
}
