package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

// The Centaur feature leaf. Leaf 0xC000_0000 EAX is the highest Centaur
// leaf; 0xC000_0001 EDX holds the feature flags.
const (
	leafMax      = 0xC0000000
	leafFeatures = 0xC0000001
)

// edx is one named bit of CPUID 0xC000_0001 EDX.
type edx struct {
	bit  uint8
	name string
}

// builtinBits are the bits QEMU already names (FEAT_C000_0001_EDX; Linux
// word 5): decode reports them under QEMU's names, which the host's
// registry knows.
var builtinBits = []edx{
	{2, "xstore"}, {3, "xstore-en"},
	{6, "xcrypt"}, {7, "xcrypt-en"},
	{8, "ace2"}, {9, "ace2-en"},
	{10, "phe"}, {11, "phe-en"},
	{12, "pmm"}, {13, "pmm-en"},
}

// zhaoxinBits are bits whose meaning is Zhaoxin's only: on VIA's C3 the
// same bits were the alternate instruction set (0, 1), the LongHaul MSR
// (4) and FEMMS (5), so decode reports them only for a Zhaoxin CPU
// (vendor "  Shanghai  ", or family 7 and later).
var zhaoxinBits = []uint8{0, 1, 4, 5}

// features are the bits QEMU does not name, defined by this plugin.
var features = []sdk.Feature{
	bit(0, "ccs-sm2", "", "CCS SM2 (Chinese national public-key algorithm) instructions"),
	bit(1, "ccs-sm2-en", "", "CCS SM2 enabled"),
	bit(4, "ccs-sm3-sm4", "", "CCS SM3 hash and SM4 cipher instructions"),
	bit(5, "ccs-sm3-sm4-en", "", "CCS SM3/SM4 enabled"),
	bit(16, "parallax", "", "Parallax: automatic processor voltage adjustment"),
	bit(17, "parallax-en", "", "Parallax enabled"),
	bit(20, "tm3", "", "Thermal Monitor 3"),
	bit(21, "tm3-en", "", "Thermal Monitor 3 enabled"),
	bit(25, "phe2", "phe2", "PadLock Hash Engine v2 (SHA-384/SHA-512)"),
	bit(26, "phe2-en", "phe2_en", "PHE v2 enabled"),
	bit(27, "rsa", "", "RSA instructions (XMODEXP, MONTMUL2)"),
	bit(28, "rsa-en", "", "RSA instructions enabled"),
}

func bit(b uint8, name, linux, desc string) sdk.Feature {
	return sdk.Feature{Name: name, Leaf: leafFeatures, Reg: sdk.EDX, Bit: b, Linux: linux, Description: desc}
}

// decode reports the named bits of 0xC000_0001 EDX: QEMU's and the
// plugin's. It reads the leaf only when 0xC000_0000 says it exists, as
// Linux does (init_centaur, early_init_zhaoxin).
func decode(c sdk.CPUID) ([]string, error) {
	isShanghai := c.VendorIs(shanghai)
	if !isShanghai && !c.VendorIs(centaur) {
		return nil, nil
	}
	if c.MaxLeaf(leafMax) < leafFeatures {
		return nil, nil
	}
	l, ok := c.Get(leafFeatures, 0)
	if !ok {
		return nil, nil
	}
	set := l.EDX & named
	if !isShanghai && c.Family() < 7 {
		set &^= zhaoxinOnly
	}
	names = names[:0]
	for bit := 0; set != 0; bit++ {
		if set&1 != 0 {
			names = append(names, edxNames[bit])
		}
		set >>= 1
	}
	return names, nil
}

// edxNames names each bit of 0xC000_0001 EDX that has a name (QEMU's or
// the plugin's); named is their mask, zhaoxinOnly the mask of the bits
// decoded for Zhaoxin CPUs only; names is decode's result, reused (the
// SDK copies it out).
var (
	edxNames           [32]string
	named, zhaoxinOnly uint32
	names              []string
)

func init() {
	for _, b := range builtinBits {
		edxNames[b.bit] = b.name
		named |= 1 << b.bit
	}
	for _, f := range features {
		edxNames[f.Bit] = f.Name
		named |= 1 << f.Bit
	}
	for _, b := range zhaoxinBits {
		zhaoxinOnly |= 1 << b
	}
}

// units pairs each PadLock/CCS unit with its enable bit.
var units = [][2]string{
	{"xstore", "xstore-en"}, {"xcrypt", "xcrypt-en"}, {"ace2", "ace2-en"},
	{"phe", "phe-en"}, {"pmm", "pmm-en"}, {"phe2", "phe2-en"}, {"rsa", "rsa-en"},
	{"ccs-sm2", "ccs-sm2-en"}, {"ccs-sm3-sm4", "ccs-sm3-sm4-en"},
}

// padlock is the "padlock" check: the units a CPU has but firmware left
// disabled (the unit's bit set, its -en bit clear), which a guest cannot
// use.
func padlock(input []byte) ([]byte, error) {
	names, err := sdk.ParseStrings(input)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var disabled []string
	for _, u := range units {
		if have[u[0]] && !have[u[1]] {
			disabled = append(disabled, u[0])
		}
	}
	out := []byte(`{"ok":`)
	if len(disabled) == 0 {
		out = append(out, "true"...)
	} else {
		out = append(out, "false"...)
	}
	out = append(out, `,"disabled":`...)
	out = sdk.AppendStrings(out, disabled)
	return append(out, '}'), nil
}
