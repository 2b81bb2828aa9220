package plugins_test

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/plugins"
)

// The vendor plugins, by import path.
const (
	amdPkg     = "github.com/cpupolicy/cpupolicy/plugins/vendors/amd"
	intelPkg   = "github.com/cpupolicy/cpupolicy/plugins/vendors/intel"
	zhaoxinPkg = "github.com/cpupolicy/cpupolicy/plugins/vendors/zhaoxin"
)

var vendorPkgs = []string{amdPkg, intelPkg, zhaoxinPkg}

// extended returns the built-in registry extended with the features of
// the given plugins, in order.
func extended(t *testing.T, ps ...*plugins.Plugin) *feature.Registry {
	t.Helper()
	reg := feature.Builtin()
	for _, p := range ps {
		var err error
		if reg, err = reg.Extend(p.Describe().Name, p.Features()...); err != nil {
			t.Fatalf("extending the registry with %s: %v", p.Describe().Name, err)
		}
	}
	return reg
}

func allVendors(t *testing.T) []*plugins.Plugin {
	t.Helper()
	var ps []*plugins.Plugin
	for _, pkg := range vendorPkgs {
		ps = append(ps, sharedPlugin(t, pkg))
	}
	return ps
}

// TestVendorFeaturesJoinRegistry: every vendor plugin's features are new
// names at free locations, alone and all three together, and each
// resolves by its name and aliases afterwards.
func TestVendorFeaturesJoinRegistry(t *testing.T) {
	t.Parallel()
	ps := allVendors(t)
	reg := extended(t, ps...)
	for _, p := range ps {
		m := p.Describe()
		if len(m.Features) == 0 {
			t.Errorf("%s defines no features", m.Name)
		}
		for _, f := range p.Features() {
			id, err := reg.Lookup(f.Name)
			if err != nil {
				t.Errorf("%s: %v", m.Name, err)
				continue
			}
			got := reg.Feature(id)
			// A name a later QEMU release added to the built-in table
			// (11.1's, which amd and intel declare for 10.0) resolves to
			// the built-in feature at the same bit
			// (feature.Registry.Extend).
			superseded := got.Source == "" && got.Loc == f.Loc
			if !superseded && (got.Source != m.Name || got.Loc != f.Loc) {
				t.Errorf("%s: %s is %+v from %q, want %v from %q", m.Name, f.Name, got.Loc, got.Source, f.Loc, m.Name)
			}
			for _, a := range f.Aliases {
				if aid, err := reg.Lookup(a.Name); err != nil || aid != id {
					t.Errorf("%s: alias %s of %s: %v", m.Name, a.Name, f.Name, err)
				}
			}
		}
	}
}

// TestClashNamesBoth: a plugin feature that reuses a built-in name, or a
// taken location, is an error naming both.
func TestClashNamesBoth(t *testing.T) {
	t.Parallel()
	p := sharedPlugin(t, zhaoxinPkg)
	fs := p.Features()
	// Once more under another plugin's name: every location is taken.
	_, err := extended(t, p).Extend("copycat", fs[0])
	if err == nil || !strings.Contains(err.Error(), "copycat") || !strings.Contains(err.Error(), "plugin zhaoxin") {
		t.Errorf("second plugin at the same location: got %v, want an error naming copycat and zhaoxin", err)
	}
	dup := fs[0]
	dup.Name = "xstore"
	dup.Loc.Bit = 31
	_, err = feature.Builtin().Extend("copycat", dup)
	if err == nil || !strings.Contains(err.Error(), `built-in feature "xstore"`) {
		t.Errorf("plugin reusing a built-in name: got %v, want an error naming the built-in", err)
	}
}

// TestVendorModelsExpand: each vendor model expands under the extended
// registry, has the identity QEMU gives it, and only known features.
func TestVendorModelsExpand(t *testing.T) {
	t.Parallel()
	ps := allVendors(t)
	reg := extended(t, ps...)
	want := map[string]struct {
		vendor          string
		family, model   int
		stepping        int
		level, xlevel   uint32
		modelID         string
		some            []string // a few features the model must have
		plugin          []string // features only the plugin names
		versions, names int
	}{
		"EPYC-Turin": {"AuthenticAMD", 26, 0, 0, 0xd, 0x80000022, "AMD EPYC-Turin Processor",
			[]string{"avx512-vp2intersect", "movdir64b", "perfmon-v2", "srso-user-kernel-no"},
			[]string{"fs-gs-base-ns", "prefetchi"}, 1, 2},
		"DiamondRapids": {"GenuineIntel", 19, 1, 0, 0x29, 0x80000008, "Intel Xeon Processor (DiamondRapids)",
			[]string{"avx10", "amx-complex", "fred", "vmx-entry-load-fred"},
			[]string{"apxf", "movrs", "amx-fp8", "amx-int8-mirror", "cet-ss", "cet-ibt", "avx10-vnni-int", "apx-nci-ndd-nf", "vmx-entry-load-cet", "vmx-exit-save-cet"}, 1, 2},
		"YongFeng": {"CentaurHauls", 7, 11, 3, 0x1f, 0x80000008, "Zhaoxin YongFeng Processor",
			[]string{"xstore", "xstore-en", "pmm-en", "sha-ni"}, nil, 1, 2},
	}
	seen := 0
	for _, p := range ps {
		ms, err := p.Models(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			w, ok := want[m.Name]
			if !ok {
				t.Errorf("%s defines unexpected model %s", p.Describe().Name, m.Name)
				continue
			}
			seen++
			defs, err := m.Expand(reg)
			if err != nil {
				t.Errorf("%s: %v", m.Name, err)
				continue
			}
			if len(defs) != w.names {
				t.Errorf("%s expands to %d names, want %d", m.Name, len(defs), w.names)
			}
			d := defs[1]
			if d.Name != m.Name+"-v1" || defs[0].Name != m.Name || defs[0].AliasOf != d.Name {
				t.Errorf("%s: names %s (alias of %q), %s; want %s alias of %s-v1", m.Name, defs[0].Name, defs[0].AliasOf, d.Name, m.Name, m.Name)
			}
			if d.Vendor != w.vendor || d.Family != w.family || d.Model != w.model || d.Stepping != w.stepping ||
				d.Level != w.level || d.XLevel != w.xlevel || d.ModelID != w.modelID {
				t.Errorf("%s: %s family %d model %d stepping %d level %#x xlevel %#x %q, want %s %d %d %d %#x %#x %q",
					m.Name, d.Vendor, d.Family, d.Model, d.Stepping, d.Level, d.XLevel, d.ModelID,
					w.vendor, w.family, w.model, w.stepping, w.level, w.xlevel, w.modelID)
			}
			for _, f := range append(w.some, w.plugin...) {
				id, err := reg.Lookup(f)
				if err != nil || !d.Features.Has(id) {
					t.Errorf("%s lacks %s (%v)", m.Name, f, err)
				}
			}
			// A plugin name that is also built-in is one a later QEMU
			// release added (11.1's), at the plugin's own bit.
			for _, f := range w.plugin {
				if id, err := feature.Builtin().Lookup(f); err == nil {
					if pid, _ := reg.Lookup(f); pid != id {
						t.Errorf("%s: %s is a built-in name the plugin defines elsewhere", m.Name, f)
					}
				}
			}
			if got := len(m.Features); got != d.Features.Count() {
				t.Errorf("%s: %d feature names give %d features (a repeat?)", m.Name, got, d.Features.Count())
			}
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d models, want %d", seen, len(want))
	}
}

// TestDiamondRapidsAVX10Version: QEMU's .avx10_version = 2 is carried as
// a property, not a feature.
func TestDiamondRapidsAVX10Version(t *testing.T) {
	t.Parallel()
	p := sharedPlugin(t, intelPkg)
	ms, err := p.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defs, err := ms[0].Expand(extended(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if got := defs[1].Props["avx10-version"]; got != "2" {
		t.Errorf("DiamondRapids-v1 avx10-version = %q, want 2", got)
	}
}

// TestYongFengMatchesQEMU10: the zhaoxin plugin's YongFeng is the model
// QEMU 10.0 defines. The embedded qemu-10.0 catalog records QEMU's own
// answer for it; its definition on the newest machine type under tcg is
// the expansion plus the features QEMU's dependencies hid (Latent). It
// differs from the plugin's definition by exactly what QEMU changes on
// its own: TCG's accelerator defaults turn vme off, and
// x86_cpu_load_model sets hypervisor on every model.
func TestYongFengMatchesQEMU10(t *testing.T) {
	t.Parallel()
	p := sharedPlugin(t, zhaoxinPkg)
	reg := extended(t, p)
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := p.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defs, err := ms[0].Expand(reg)
	if err != nil {
		t.Fatal(err)
	}
	plugin := defs[1]
	m, err := cat.Model("YongFeng-v1")
	if err != nil {
		t.Fatal(err)
	}
	// The catalog's sets are over the built-in registry, whose IDs the
	// extended registry keeps.
	qemu := m.Features.Union(m.Latent)
	onlyPlugin := reg.Names(plugin.Features.Difference(qemu))
	onlyQEMU := reg.Names(qemu.Difference(plugin.Features))
	if !reflect.DeepEqual(onlyPlugin, []string{"vme"}) || !reflect.DeepEqual(onlyQEMU, []string{"hypervisor"}) {
		t.Errorf("YongFeng: only in the plugin %v (want [vme], which TCG turns off), only in QEMU 10.0's %v (want [hypervisor], which QEMU sets on every model it loads)", onlyPlugin, onlyQEMU)
	}
	kvm, err := cat.Resolve("YongFeng-v1", "pc-q35-10.0", "kvm", "CentaurHauls")
	if err != nil {
		t.Fatal(err)
	}
	if kvm.Props.Family != plugin.Family || kvm.Props.Model != plugin.Model || kvm.Props.Stepping != plugin.Stepping ||
		kvm.Props.ModelID != plugin.ModelID || kvm.Props.Vendor != plugin.Vendor {
		t.Errorf("YongFeng props: QEMU 10.0 %+v, plugin %+v", kvm.Props, plugin)
	}
	if m.Props.MinLevel != plugin.Level || m.Props.MinXLevel != plugin.XLevel {
		t.Errorf("YongFeng levels: QEMU 10.0 min-level %#x min-xlevel %#x, plugin %#x %#x", m.Props.MinLevel, m.Props.MinXLevel, plugin.Level, plugin.XLevel)
	}
	if _, err := catalog.Embedded("qemu-7.2"); err != nil {
		t.Fatal(err)
	}
}

// TestNewModelsNotInCatalogs: EPYC-Turin and DiamondRapids are in no
// embedded catalog before qemu-11.1 (that is why the plugins exist),
// YongFeng only from qemu-10.0 on.
func TestNewModelsNotInCatalogs(t *testing.T) {
	t.Parallel()
	for _, name := range catalog.EmbeddedNames() {
		cat, err := catalog.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, model := range []string{"EPYC-Turin", "DiamondRapids", "YongFeng"} {
			_, err := cat.Model(model)
			want := name == "qemu-11.1" || model == "YongFeng" && name == "qemu-10.0"
			if (err == nil) != want {
				t.Errorf("catalog %s has %s: %v, want %v", name, model, err == nil, want)
			}
		}
	}
}

// leafSet builds sorted leaves from (leaf, subleaf, eax, ebx, ecx, edx).
func leafSet(ls ...cpuid.Leaf) cpuid.Leaves {
	out := cpuid.Leaves(ls)
	slices.SortFunc(out, func(a, b cpuid.Leaf) int {
		if a.Leaf != b.Leaf {
			return int(int64(a.Leaf) - int64(b.Leaf))
		}
		return int(int64(a.Subleaf) - int64(b.Subleaf))
	})
	return out
}

// vendorLeaf0 returns leaf 0 for vendor with max basic leaf max.
func vendorLeaf0(vendor string, max uint32) cpuid.Leaf {
	le := func(s string) uint32 { return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24 }
	return cpuid.Leaf{Leaf: 0, EAX: max, EBX: le(vendor[0:4]), EDX: le(vendor[4:8]), ECX: le(vendor[8:12])}
}

// signature returns leaf 1 with the display family and model encoded.
func signature(family, model uint32) cpuid.Leaf {
	eax := model&0xf<<4 | (model>>4)<<16
	if family >= 0xf {
		eax |= 0xf<<8 | (family-0xf)<<20
	} else {
		eax |= family << 8
	}
	return cpuid.Leaf{Leaf: 1, EAX: eax}
}

func TestZhaoxinDecode(t *testing.T) {
	t.Parallel()
	p := sharedPlugin(t, zhaoxinPkg)
	all := ^uint32(0)
	tests := []struct {
		name   string
		leaves cpuid.Leaves
		want   []string
	}{
		{"zhaoxin, every bit", leafSet(vendorLeaf0("  Shanghai  ", 0x1f), signature(7, 0x3b),
			cpuid.Leaf{Leaf: 0xC0000000, EAX: 0xC0000001}, cpuid.Leaf{Leaf: 0xC0000001, EDX: all}),
			[]string{"ace2", "ace2-en", "ccs-sm2", "ccs-sm2-en", "ccs-sm3-sm4", "ccs-sm3-sm4-en",
				"parallax", "parallax-en", "phe", "phe-en", "phe2", "phe2-en", "pmm", "pmm-en",
				"rsa", "rsa-en", "tm3", "tm3-en", "xcrypt", "xcrypt-en", "xstore", "xstore-en"}},
		{"centaur family 7 is zhaoxin", leafSet(vendorLeaf0("CentaurHauls", 0x1f), signature(7, 0x1b),
			cpuid.Leaf{Leaf: 0xC0000000, EAX: 0xC0000001}, cpuid.Leaf{Leaf: 0xC0000001, EDX: 1<<0 | 1<<1 | 1<<25}),
			[]string{"ccs-sm2", "ccs-sm2-en", "phe2"}},
		{"VIA family 6: bits 0, 1, 4, 5 mean other things", leafSet(vendorLeaf0("CentaurHauls", 0xa), signature(6, 0xf),
			cpuid.Leaf{Leaf: 0xC0000000, EAX: 0xC0000004}, cpuid.Leaf{Leaf: 0xC0000001, EDX: 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5}),
			[]string{"xstore", "xstore-en"}},
		{"no 0xC0000001 by 0xC0000000", leafSet(vendorLeaf0("  Shanghai  ", 0x1f), signature(7, 0x3b),
			cpuid.Leaf{Leaf: 0xC0000000, EAX: 0xC0000000}, cpuid.Leaf{Leaf: 0xC0000001, EDX: all}),
			nil},
		{"another vendor", leafSet(vendorLeaf0("AuthenticAMD", 0x10), signature(26, 2),
			cpuid.Leaf{Leaf: 0xC0000000, EAX: 0xC0000001}, cpuid.Leaf{Leaf: 0xC0000001, EDX: all}),
			nil},
	}
	for _, tt := range tests {
		got, err := p.Decode(context.Background(), tt.leaves)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDecodeAgreesWithRegistry: for every single bit of every leaf a
// plugin reads, what the plugin decodes is what the extended registry
// decodes from the same leaves (for the names either of them knows), so a
// plugin's decoder and its declared locations cannot drift apart, nor its
// built-in names from the registry's bits.
func TestDecodeAgreesWithRegistry(t *testing.T) {
	t.Parallel()
	ps := allVendors(t)
	reg := extended(t, ps...)
	// A CPU of each vendor that enumerates every leaf and subleaf the
	// plugins read, with AVX10 and APX_F (which gate leaves 0x24 and 0x29).
	base := map[string]cpuid.Leaves{
		"amd": {vendorLeaf0("AuthenticAMD", 0x10), signature(26, 2), {Leaf: 0x80000000, EAX: 0x80000028}},
		"intel": {vendorLeaf0("GenuineIntel", 0x29), signature(19, 1), {Leaf: 7, EAX: 1}, {Leaf: 7, Subleaf: 1, EDX: 1<<19 | 1<<21},
			{Leaf: 0x1e, EAX: 1}, {Leaf: 0x24, EAX: 1}},
		"zhaoxin": {vendorLeaf0("  Shanghai  ", 0x1f), signature(7, 0x3b), {Leaf: 0xC0000000, EAX: 0xC0000001}},
	}
	for _, p := range ps {
		m := p.Describe()
		var locs []feature.Location
		for _, f := range m.Features {
			if !f.Loc.IsMSR() {
				locs = append(locs, f.Loc)
			}
		}
		if m.Name == "zhaoxin" {
			for bit := uint8(0); bit < 32; bit++ {
				locs = append(locs, feature.Location{Leaf: 0xC0000001, Reg: cpuid.EDX, Bit: bit})
			}
		}
		for _, loc := range locs {
			leaves := slices.Clone(base[m.Name])
			set := func(l *cpuid.Leaf) {
				switch loc.Reg {
				case cpuid.EAX:
					l.EAX |= 1 << loc.Bit
				case cpuid.EBX:
					l.EBX |= 1 << loc.Bit
				case cpuid.ECX:
					l.ECX |= 1 << loc.Bit
				case cpuid.EDX:
					l.EDX |= 1 << loc.Bit
				}
			}
			found := false
			for i := range leaves {
				if leaves[i].Leaf == loc.Leaf && leaves[i].Subleaf == loc.Subleaf {
					set(&leaves[i])
					found = true
				}
			}
			if !found {
				l := cpuid.Leaf{Leaf: loc.Leaf, Subleaf: loc.Subleaf}
				set(&l)
				leaves = append(leaves, l)
			}
			leaves = leafSet(leaves...)
			got, err := p.Decode(context.Background(), leaves)
			if err != nil {
				t.Fatal(err)
			}
			// The plugin's spellings, canonical: a feature 11.1 added to
			// the built-in table keeps the plugin's name as an alias
			// (amx-int8-mirror is amx-int8-alias).
			for i, n := range got {
				if id, err := reg.Lookup(n); err == nil {
					got[i] = reg.Name(id)
				}
			}
			slices.Sort(got)
			// The registry's view of the same leaves, limited to the
			// plugin's own features and the built-in names it reports
			// (a built-in name it reports wrongly is then missing from
			// want; one it fails to report is TestZhaoxinDecode's job).
			var want []string
			for _, n := range reg.Names(reg.Decode(leaves)) {
				id, _ := reg.Lookup(n)
				if reg.Feature(id).Source == m.Name || slices.Contains(got, n) {
					want = append(want, n)
				}
			}
			slices.Sort(want)
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("%s, %v set: plugin decodes %v, registry %v", m.Name, loc, got, want)
			}
		}
	}
}

// TestDecodeThisMachine decodes the recorded dump of this development
// host (an AMD EPYC under nested KVM): the amd plugin finds its TSA bits,
// the others nothing.
func TestDecodeThisMachine(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../testdata/hosts/this-machine.cpuid.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	leaves, err := cpuid.ParseDump(f.Name(), f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"amd": {"no-smm-ctl-msr", "tsa-l1-no", "tsa-sq-no"}, "intel": nil, "zhaoxin": nil}
	for _, p := range allVendors(t) {
		got, err := p.Decode(context.Background(), leaves)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[p.Describe().Name]; !reflect.DeepEqual(got, w) && len(got)+len(w) > 0 {
			t.Errorf("%s decodes %v, want %v", p.Describe().Name, got, w)
		}
	}
}

func TestZhaoxinPadlockCheck(t *testing.T) {
	t.Parallel()
	p := sharedPlugin(t, zhaoxinPkg)
	tests := []struct{ in, want string }{
		{`["xstore","xstore-en","phe","phe-en"]`, `{"ok":true,"disabled":[]}`},
		{`["xstore","phe","phe-en","ccs-sm2"]`, `{"ok":false,"disabled":["xstore","ccs-sm2"]}`},
		{`[]`, `{"ok":true,"disabled":[]}`},
	}
	for _, tt := range tests {
		got, err := p.Check(context.Background(), "padlock", []byte(tt.in))
		if err != nil {
			t.Fatalf("padlock(%s): %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("padlock(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	// Input the check cannot read is the plugin's error, and the
	// instance survives it.
	_, err := p.Check(context.Background(), "padlock", []byte(`{"features":[]}`))
	if err == nil || !strings.Contains(err.Error(), "JSON array") {
		t.Errorf("padlock(object): got %v, want the plugin's error", err)
	}
	if _, err := p.Check(context.Background(), "nosuch", []byte(`[]`)); err == nil || !strings.Contains(err.Error(), "it has padlock") {
		t.Errorf("unknown check: got %v", err)
	}
	if _, err := p.Check(context.Background(), "padlock", []byte(`[`)); err == nil || !strings.Contains(err.Error(), "not a JSON document") {
		t.Errorf("invalid JSON input: got %v", err)
	}
}

// TestInspectModels: plugin inspect lists each vendor plugin's models as
// the catalog gets them: every name ExpandModels gives, but the
// unversioned alias, is one of the model's versions, and its features
// are the version 1 definition's.
func TestInspectModels(t *testing.T) {
	ctx := context.Background()
	for _, pkg := range vendorPkgs {
		p := sharedPlugin(t, pkg)
		t.Run(p.Describe().Name, func(t *testing.T) {
			in := p.Inspect()
			if in.ModelsError != "" {
				t.Fatal(in.ModelsError)
			}
			reg := extended(t, p)
			defs, err := p.ExpandModels(ctx, reg)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Models) == 0 {
				t.Fatalf("no models listed")
			}
			bases := map[string]bool{}
			for _, m := range in.Models {
				bases[m.Name] = true
			}
			var want, got []string
			byName := map[string]catalog.ModelDefinition{}
			for _, d := range defs {
				byName[d.Name] = d
				if !bases[d.Name] {
					want = append(want, d.Name)
				}
			}
			for _, m := range in.Models {
				got = append(got, m.Versions...)
				set, err := reg.Set(m.Features...)
				if err != nil {
					t.Fatal(err)
				}
				if v1, ok := byName[m.Name+"-v1"]; !ok || !v1.Features.Equal(set) || v1.Vendor != m.Vendor || v1.Family != m.Family {
					t.Errorf("model %s: features %d, vendor %s; the catalog's %s-v1 has %d, %s", m.Name, len(m.Features), m.Vendor, m.Name, v1.Features.Count(), v1.Vendor)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("versions %q, want %q (from ExpandModels)", got, want)
			}
		})
	}
}
