package main

import "cpupolicy/plugins/sdk"

// decode reports the plugin's CPUID features, reading each subleaf only
// when the CPU enumerates it: leaf 7 subleaf 1 when 7.0 EAX ≥ 1; 0x1E.1
// when 0x1E.0 EAX (the highest AMX subleaf) ≥ 1; 0x24.1 when AVX10 is
// present and 0x24.0 EAX ≥ 1; 0x29 when APX_F is present. MSR features
// are not in CPUID: the host decodes them from the feature MSRs.
func decode(c sdk.CPUID) ([]string, error) {
	if c.Vendor() != intel {
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
	valid := func(f *sdk.Feature) bool {
		switch {
		case f.MSR != 0 || max < f.Leaf:
			return false
		case f.Leaf == 7 && f.Subleaf == 1:
			return subleaves(7) >= 1
		case f.Leaf == 0x1e:
			return subleaves(0x1e) >= 1
		case f.Leaf == 0x24:
			return c.Bit(7, 1, sdk.EDX, 19) && subleaves(0x24) >= 1 // avx10
		case f.Leaf == 0x29:
			return c.Bit(7, 1, sdk.EDX, 21) // apxf
		}
		return true
	}
	var names []string
	for i := range features {
		f := &features[i]
		if valid(f) && c.Has(f) {
			names = append(names, f.Name)
		}
	}
	return names, nil
}
