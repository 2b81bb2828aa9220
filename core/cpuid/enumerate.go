package cpuid

// Func executes CPUID with EAX=leaf, ECX=subleaf. [Native] gives the real
// instruction; [Leaves.Func] replays a recorded set.
type Func func(leaf, subleaf uint32) Leaf

// Func returns a [Func] that answers from ls and returns zeros for keys ls
// lacks, like a CPU with nothing at that leaf. With it [Enumerate] can
// re-walk a dump or a hand-made CPU. ls must be sorted, as [ParseDump]
// and [Enumerate] return it.
func (ls Leaves) Func() Func {
	return func(leaf, subleaf uint32) Leaf {
		l, _ := ls.Find(leaf, subleaf)
		l.Leaf, l.Subleaf = leaf, subleaf
		return l
	}
}

// Bits of CPUID.1:ECX that steer the probes.
const (
	osxsave           = 1 << 27 // the OS has set CR4.OSXSAVE, so XGETBV is legal
	hypervisorPresent = 1 << 31 // running under a hypervisor
)

// walkLimit bounds every walk that cpuid leaves unbounded: the leaves of one
// range, and the subleaves of one leaf. cpuid would print forever (or four
// billion lines) for a CPU whose maximum-leaf or subleaf-count register is
// garbage; no real CPU comes near 65536 leaves in a range or subleaves in a
// leaf, so the bound changes nothing for them and keeps a broken hypervisor
// or a hand-made Func from hanging the caller.
const walkLimit = 1 << 16

// Enumerate walks every leaf and subleaf the way `cpuid -r` (cpuid by Todd
// Allen, version 20230120 as in Debian bookworm) does and returns them
// sorted: the result has exactly the (leaf, subleaf) keys that
// `cpuid -1 -r` prints on the same CPU, with the same values.
//
// The rules below mirror cpuid.c's do_real(), including its quirks, so that
// a live walk can be checked line for line against the tool; each walk says
// which of cpuid's rules it copies. Leaves whose subleaves this version of
// cpuid does not walk get subleaf 0 only, with three deliberate
// exceptions: 0x1E (AMX), 0x24 (AVX10) and 0x80000026 (AMD extended
// topology) are walked the way the SDM/APM and newer cpuid releases walk
// them (see beyondTool), so Enumerate's output is a superset of this
// cpuid's. The other deliberate difference is walkLimit, which only a
// broken CPU or Func can reach.
//
// Some leaves differ between the CPUs of one machine (APIC IDs, hybrid core
// types), so pin the calling thread when walking [Native] (see there).
func Enumerate(f Func) Leaves {
	w := &walker{f: f}
	w.basic()
	w.simpleRange(0x2000_0000, 0x2000_0100)
	w.hypervisors()
	w.extended()
	w.simpleRange(0x8086_0000, 0)
	w.simpleRange(0xC000_0000, 0xC000_1000)
	w.out.Sort()
	return w.out
}

// walker holds the walk's output and the two facts of cpuid's "stash" that
// steer later walks: leaf 1's ECX (the hypervisor-present bit) and the
// identity of the last hypervisor base leaf printed.
type walker struct {
	f   Func
	out Leaves

	leaf1ECX   uint32
	hypervisor hypervisor
}

// hypervisor is the identity cpuid's get_hypervisor() gives a base leaf.
type hypervisor uint8

const (
	hvUnknown hypervisor = iota
	hvVMware
	hvXen
	hvKVM
	hvMicrosoft
	hvACRN
)

// get executes CPUID.
func (w *walker) get(leaf, subleaf uint32) Leaf {
	return w.f(leaf, subleaf)
}

// emit records l under (leaf, subleaf), as cpuid's print_reg() prints it,
// and updates the stash the way print_reg() does. The key is passed
// separately because leaf 2's walk prints re-reads of subleaf 0 under
// higher subleaf numbers.
func (w *walker) emit(leaf, subleaf uint32, l Leaf) {
	l.Leaf, l.Subleaf = leaf, subleaf
	w.out = append(w.out, l)
	if leaf == 1 {
		w.leaf1ECX = l.ECX
	}
	// print_reg()'s IS_HYPERVISOR_LEAF(reg, 0) test. Its lower bound is
	// 0x4000000 (one zero short), so 0x20000000 also counts and resets the
	// stash; the hypervisor walk re-reads it from each base leaf before
	// using it, so the slip only matters when copied faithfully.
	if 0x0400_0000 <= leaf && leaf < 0x4001_0000 && leaf&0xff == 0 {
		w.hypervisor = identify(l)
	}
}

// read executes CPUID and records the answer under the same key.
func (w *walker) read(leaf, subleaf uint32) Leaf {
	l := w.get(leaf, subleaf)
	w.emit(leaf, subleaf, l)
	return l
}

// last returns the highest leaf to walk in a range that starts at base and
// whose maximum-leaf register says top, applying walkLimit.
func last(base, top uint32) uint32 {
	if top < base {
		return base
	}
	if top-base >= walkLimit {
		return base + walkLimit - 1
	}
	return top
}

// basic walks 0 … CPUID.0:EAX (cpuid: `for (reg = 0; reg <= max; reg++)`,
// max from leaf 0's EAX) with the per-leaf subleaf rules.
func (w *walker) basic() {
	end := last(0, w.get(0, 0).EAX)
	for leaf := uint32(0); ; leaf++ {
		w.basicLeaf(leaf)
		if leaf == end {
			break
		}
	}
}

// basicLeaf walks one leaf of the basic range.
func (w *walker) basicLeaf(leaf uint32) {
	l := w.get(leaf, 0)
	switch leaf {
	case 2:
		// Leaf 2: AL is how many times to execute CPUID(2) to get all
		// descriptors. cpuid prints subleaf 0, then re-executes CPUID(2, 0)
		// and prints the result as subleaf 1, 2, … while sub < AL.
		n := l.EAX & 0xff
		w.emit(2, 0, l)
		for sub := uint32(1); sub < n; sub++ {
			w.emit(2, sub, w.get(2, 0))
		}
	case 4:
		// Leaf 4 (Intel deterministic cache parameters): print subleaves
		// until one has cache type (EAX[4:0]) 0, and print that terminating
		// "no more caches" subleaf too. AMD answers zeros: subleaf 0 only.
		w.emit(4, 0, l)
		for sub := uint32(1); l.EAX&0x1f != 0 && sub < walkLimit; sub++ {
			l = w.read(4, sub)
		}
	case 0x1e, 0x24:
		// Leaves 0x1E (AMX TMUL) and 0x24 (AVX10): subleaf 0's EAX is the
		// highest subleaf (Intel SDM vol. 2A, CPUID). cpuid 20230120
		// prints subleaf 0 only; newer releases walk 0 … EAX, as we do.
		w.emit(leaf, 0, l)
		for sub := uint32(1); sub <= l.EAX && sub < walkLimit; sub++ {
			w.read(leaf, sub)
		}
	case 7, 0x14, 0x17, 0x18, 0x1d, 0x20, 0x23:
		// Leaves 7 (features), 0x14 (Processor Trace), 0x17 (SoC vendor),
		// 0x18 (TLB), 0x1D (AMX palettes), 0x20 (HRESET) and 0x23 (perfmon
		// extended): subleaf 0's EAX is the highest subleaf; print 0 … EAX.
		w.emit(leaf, 0, l)
		for sub := uint32(1); sub <= l.EAX && sub < walkLimit; sub++ {
			w.read(leaf, sub)
		}
	case 0xb:
		// Leaf 0xB (x2APIC topology): print levels until one has level type
		// (ECX[15:8]) 0, including that terminating invalid level.
		w.emit(0xb, 0, l)
		for sub := uint32(1); l.ECX&0xff00 != 0 && sub < walkLimit; sub++ {
			l = w.read(0xb, sub)
		}
	case 0xd:
		// Leaf 0xD (XSAVE): subleaves 0 and 1 always; then each subleaf
		// 2 … 62 whose bit is set in the supported-XCR0 mask
		// (0xD.0 EDX:EAX) or the supported-IA32_XSS mask (0xD.1 EDX:ECX).
		// These are what the CPU supports, not what XCR0 enables now.
		w.emit(0xd, 0, l)
		one := w.read(0xd, 1)
		mask := uint64(l.EDX)<<32 | uint64(l.EAX) | uint64(one.EDX)<<32 | uint64(one.ECX)
		for sub := uint32(2); sub < 63; sub++ {
			if mask&(1<<sub) != 0 {
				w.read(0xd, sub)
			}
		}
	case 0xf:
		// Leaf 0xF (RDT monitoring): subleaf 1 (L3 monitoring) only when
		// 0xF.0 EDX bit 1 says L3 monitoring exists.
		w.emit(0xf, 0, l)
		if l.EDX&(1<<1) != 0 {
			w.read(0xf, 1)
		}
	case 0x10:
		// Leaf 0x10 (RDT allocation): subleaf n (1 … 31) when 0x10.0 EBX
		// bit n names that resource.
		w.emit(0x10, 0, l)
		for sub := uint32(1); sub < 32; sub++ {
			if l.EBX&(1<<sub) != 0 {
				w.read(0x10, sub)
			}
		}
	case 0x12:
		// Leaf 0x12 (SGX): subleaves 0 and 1 always; then 2, 3, … until
		// one has subleaf type (EAX[3:0]) 0, including that invalid one.
		// So even a CPU without SGX shows 0x12 subleaves 0, 1 and 2.
		w.emit(0x12, 0, l)
		w.read(0x12, 1)
		for sub := uint32(2); sub < walkLimit; sub++ {
			if w.read(0x12, sub).EAX&0xf == 0 {
				break
			}
		}
	case 0x1b:
		// Leaf 0x1B (PCONFIG): subleaf 0 always; then 1, 2, … until one
		// has subleaf type (EAX[11:0]) 0, including that invalid one.
		w.emit(0x1b, 0, l)
		for sub := uint32(1); sub < walkLimit; sub++ {
			if w.read(0x1b, sub).EAX&0xfff == 0 {
				break
			}
		}
	case 0x1f:
		// Leaf 0x1F (V2 extended topology): subleaf 0 always, then
		// 1 … 255 until one has level type (ECX[15:8]) 0, including it.
		// Unlike 0xB, subleaf 0's own level type is not checked.
		w.emit(0x1f, 0, l)
		for sub := uint32(1); sub < 256; sub++ {
			if w.read(0x1f, sub).ECX&0xff00 == 0 {
				break
			}
		}
	default:
		// Every other basic leaf: subleaf 0 only. (cpuid's basic loop also
		// has a 0x80000026 case, which it can never reach there; its
		// extended loop prints 0x80000026 subleaf 0 only.)
		w.emit(leaf, 0, l)
	}
}

// simpleRange walks base … base's EAX, subleaf 0 only, as cpuid does for the
// Xeon Phi (0x20000000), Transmeta (0x80860000) and Centaur (0xC0000000)
// ranges. The base leaf is printed whatever it holds: cpuid has no
// "is this range present" test for them beyond the maximum. When sane is
// non-zero, a maximum above it is taken as garbage and only the base leaf
// is walked: cpuid caps 0x2xxxxxxx at 0x20000100 (Pentium 4 echoes the last
// basic leaf there) and 0xCxxxxxxx at 0xC0001000.
func (w *walker) simpleRange(base, sane uint32) {
	l := w.get(base, 0)
	top := l.EAX
	if sane != 0 && top > sane {
		top = base
	}
	w.emit(base, 0, l)
	end := last(base, top)
	for leaf := base + 1; leaf <= end && leaf > base; leaf++ {
		w.read(leaf, 0)
	}
}

// extended walks 0x80000000 … CPUID.0x80000000:EAX. cpuid always prints
// 0x80000000 itself; the range is empty when its EAX is below 0x80000000.
func (w *walker) extended() {
	l := w.get(0x8000_0000, 0)
	w.emit(0x8000_0000, 0, l)
	end := last(0x8000_0000, l.EAX)
	for leaf := uint32(0x8000_0001); leaf <= end && leaf > 0x8000_0000; leaf++ {
		l := w.get(leaf, 0)
		switch leaf {
		case 0x8000_001d:
			// 0x8000001D (AMD cache topology): print subleaves while cache
			// type (EAX[4:0]) is non-zero. Unlike leaf 4 the terminator is
			// not printed, and a CPU whose subleaf 0 has type 0 (Intel,
			// pre-TOPOEXT AMD) shows no 0x8000001D line at all.
			for sub := uint32(1); l.EAX&0x1f != 0 && sub <= walkLimit; sub++ {
				w.emit(leaf, sub-1, l)
				l = w.get(leaf, sub)
			}
		case 0x8000_0020:
			// 0x80000020 (AMD PQoS): subleaf n (1 … 31) when 0x80000020.0
			// EBX bit n names that resource.
			w.emit(leaf, 0, l)
			for sub := uint32(1); sub < 32; sub++ {
				if l.EBX&(1<<sub) != 0 {
					w.read(leaf, sub)
				}
			}
		case 0x8000_0026:
			// 0x80000026 (AMD extended CPU topology, AMD APM vol. 3): levels
			// until one has level type (ECX[15:8]) 0, that one included, as
			// for leaf 0xB. cpuid 20230120 prints subleaf 0 only.
			w.emit(leaf, 0, l)
			for sub := uint32(1); l.ECX&0xff00 != 0 && sub < walkLimit; sub++ {
				l = w.read(leaf, sub)
			}
		default:
			// Everything else: subleaf 0 only.
			w.emit(leaf, 0, l)
		}
	}
}

// hypervisors walks the hypervisor ranges at 0x40000000, 0x40000100, …,
// 0x4000FF00 (Xen's stride: a hypervisor may sit under another). cpuid
// only looks when CPUID.1:ECX bit 31 (hypervisor present) is set; a CPU
// whose leaf 0 says max 0 never had leaf 1 read, so it counts as clear.
// Each base leaf is printed, valid or not; then the walk stops for good
// at a base whose EAX (max leaf) is below the base, or above base+0x100
// for a hypervisor cpuid does not recognise. KVM may answer max 0, which
// means base+1.
func (w *walker) hypervisors() {
	if w.leaf1ECX&hypervisorPresent == 0 {
		return
	}
	for base := uint32(0x4000_0000); base < 0x4001_0000; base += 0x100 {
		l := w.get(base, 0)
		w.emit(base, 0, l)
		top := l.EAX
		if w.hypervisor == hvKVM && top == 0 {
			top = base + 1
		}
		if w.hypervisor == hvUnknown && top > base+0x100 {
			return
		}
		if top < base {
			return
		}
		end := last(base, top)
		for leaf := base + 1; leaf <= end && leaf > base; leaf++ {
			if leaf < 0x4001_0000 && leaf&0xff == 3 && w.hypervisor == hvXen {
				// Xen's base+3 (time) leaf: subleaves 0, 1 and 2.
				for sub := uint32(0); sub <= 2; sub++ {
					w.read(leaf, sub)
				}
				continue
			}
			w.read(leaf, 0)
		}
	}
}

// identify names the hypervisor whose signature a base leaf carries in
// EBX, ECX, EDX (cpuid's get_hypervisor()).
func identify(l Leaf) hypervisor {
	sig := func(s string) bool {
		return l.EBX == le32(s[0:4]) && l.ECX == le32(s[4:8]) && l.EDX == le32(s[8:12])
	}
	switch {
	case sig("VMwareVMware"):
		return hvVMware
	case sig("XenVMMXenVMM"):
		return hvXen
	case sig("KVMKVMKVM\x00\x00\x00"):
		return hvKVM
	case sig("Microsoft Hv"):
		return hvMicrosoft
	case sig("ACRNACRNACRN"):
		return hvACRN
	}
	return hvUnknown
}

// le32 packs four characters the way CPUID returns signature strings.
func le32(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// beyondTool reports whether (leaf, subleaf) is one Enumerate walks but
// cpuid 20230120 does not print: the subleaves above 0 of 0x1E, 0x24 and
// 0x80000026. Comparisons with the tool allow these as extras.
func beyondTool(leaf, subleaf uint32) bool {
	return subleaf > 0 && (leaf == 0x1e || leaf == 0x24 || leaf == 0x8000_0026)
}
