package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

// decode reports the plugin's CPUID features, reading each subleaf only
// when the CPU enumerates it: leaf 7 subleaf 1 when 7.0 EAX ≥ 1; 0x1E.1
// when 0x1E.0 EAX (the highest AMX subleaf) ≥ 1; 0x24.1 when AVX10 is
// present and 0x24.0 EAX ≥ 1; 0x29 when APX_F is present. MSR features
// are not in CPUID: the host decodes them from the feature MSRs.
func decode(c sdk.CPUID) ([]string, error) {
	if !c.VendorIs(intel) {
		return nil, nil
	}
	max := c.MaxLeaf(0)
	subleaves := func(leaf uint32) uint32 {
		if max < leaf {
			return 0
		}
		l, _ := c.Get(leaf, 0)
		return l.EAX
	}
	names = names[:0]
	if max >= 7 {
		names = leaf7.Decode(c, names, nil)
		if subleaves(7) >= 1 {
			names = leaf71.Decode(c, names, nil)
		}
	}
	if subleaves(0x1e) >= 1 {
		names = leaf1e.Decode(c, names, nil)
	}
	if c.Bit(7, 1, sdk.EDX, 19) && subleaves(0x24) >= 1 { // avx10
		names = leaf24.Decode(c, names, nil)
	}
	if max >= 0x29 && c.Bit(7, 1, sdk.EDX, 21) { // apxf
		names = leaf29.Decode(c, names, nil)
	}
	return names, nil
}

// Tables of the plugin's features by leaf (see sdk.Table), and decode's
// result, reused (the SDK copies it out).
var (
	leaf7  = leafTable(7, 0)
	leaf71 = leafTable(7, 1)
	leaf1e = leafTable(0x1e, 1)
	leaf24 = leafTable(0x24, 1)
	leaf29 = leafTable(0x29, 0)
	names  []string
)

func leafTable(leaf, subleaf uint32) *sdk.Table {
	var fs []sdk.Feature
	for _, f := range features {
		if f.MSR == 0 && f.Leaf == leaf && f.Subleaf == subleaf {
			fs = append(fs, f)
		}
	}
	return sdk.NewTable(fs)
}
