package plugins_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/plugins"
	"github.com/cpupolicy/cpupolicy/plugins/internal/tinywasm"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// joinPlugin writes a runtime-free plugin (tinywasm) named name, for
// vendor, defining feats, one model "<Name>-Model" with modelFeats, and
// a decode answering decoded.
func joinPlugin(t *testing.T, name, vendor string, feats []wire.Feature, modelFeats, decoded []string) *plugins.Plugin {
	t.Helper()
	var e wire.Encoder
	wire.EncodeManifest(&e, &wire.Manifest{ABI: wire.ABI, Name: name, Version: "1", Vendors: []string{vendor}, Features: feats})
	describe := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	wire.EncodeModels(&e, []wire.Model{{Name: strings.ToUpper(name[:1]) + name[1:] + "-Model", Vendor: vendor, Family: 7,
		Model: 11, Level: 0xd, XLevel: 0x80000008, ModelID: name + " model", Features: modelFeats}})
	models := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	e.Strs(decoded)
	decode := tinywasm.Reply(e.B)
	e = wire.Encoder{}
	e.Str("no checks")
	check := wire.Frame(nil, append([]byte{wire.StatusError}, e.B...))
	path := filepath.Join(t.TempDir(), name+".wasm")
	if err := os.WriteFile(path, tinywasm.Module(tinywasm.Replies{Describe: describe, Models: models, Decode: decode, Check: check}), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := plugins.Load(context.Background(), path, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// TestJoin joins plugins to the registry, the catalog and a snapshot: a
// real Zhaoxin KH-40000's CPUID dump.
func TestJoin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	phe2 := wire.Feature{Name: "phe2", Leaf: 0xC0000001, Reg: 3, Bit: 25}
	good := joinPlugin(t, "good", "CentaurHauls", []wire.Feature{phe2}, []string{"sse2", "xstore", "phe2"}, []string{"phe2", "xstore"})

	// Name clashes name both sides.
	clashBuiltin := joinPlugin(t, "clash", "CentaurHauls", []wire.Feature{{Name: "xstore", Leaf: 0xC0000001, Reg: 3, Bit: 30}}, nil, nil)
	if _, err := plugins.Registry(feature.Builtin(), []*plugins.Plugin{good, clashBuiltin}); err == nil ||
		!strings.Contains(err.Error(), `clash.wasm: join: feature name "xstore" of feature "xstore" of plugin clash clashes with built-in feature "xstore"`) {
		t.Errorf("clash with a built-in: %v", err)
	}
	clashPlugin := joinPlugin(t, "other", "CentaurHauls", []wire.Feature{{Name: "phe2", Leaf: 0xC0000001, Reg: 3, Bit: 29}}, nil, nil)
	if _, err := plugins.Registry(feature.Builtin(), []*plugins.Plugin{good, clashPlugin}); err == nil ||
		!strings.Contains(err.Error(), "plugin other") || !strings.Contains(err.Error(), "plugin good") {
		t.Errorf("clash between plugins: %v", err)
	}

	reg, err := plugins.Registry(feature.Builtin(), []*plugins.Plugin{good})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	joined, notices, err := plugins.Catalog(ctx, cat, reg, []*plugins.Plugin{good})
	if err != nil || len(notices) != 0 {
		t.Fatalf("catalog: %v %v", notices, err)
	}
	m, err := joined.Model("Good-Model-v1")
	if err != nil || m.Source != "plugin good" {
		t.Fatalf("model: %+v %v", m, err)
	}
	for _, machine := range []string{"pc-q35-7.2", "pc-i440fx-1.7"} {
		for _, accel := range []core.Accel{core.KVM, core.TCG} {
			r, err := joined.Resolve("Good-Model", machine, accel, "")
			if err != nil {
				t.Fatal(err)
			}
			names := strings.Join(reg.Names(r.Features), " ")
			for _, want := range []string{"sse2", "xstore", "phe2", "hypervisor"} {
				if !strings.Contains(" "+names+" ", " "+want+" ") {
					t.Errorf("%s %s: %s lacks %s", machine, accel, names, want)
				}
			}
			if kvm := strings.Contains(names, "kvmclock"); kvm != (accel == core.KVM) {
				t.Errorf("%s %s: kvmclock %v", machine, accel, kvm)
			}
			if x2apic := strings.Contains(names, "x2apic"); x2apic != (accel == core.KVM && machine == "pc-q35-7.2") {
				t.Errorf("%s %s: x2apic %v (QEMU adds it under kvm from machine type 2.0 on)", machine, accel, x2apic)
			}
		}
	}

	f, err := os.Open("../testdata/hosts/zhaoxin-kh40000.cpuid.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := host.FromCPUIDDump("kh40000", f, reg, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := plugins.DecodeSnapshot(ctx, reg, []*plugins.Plugin{good}, s); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.Features.HW, "phe2") || !slices.Contains(s.Features.OS, "phe2") || s.KVM != nil {
		t.Errorf("decoded snapshot: hw %v os %v", s.Features.HW, s.Features.OS)
	}
	hw, _, _, err := s.Sets(reg) // the layers stay in canonical order
	if err != nil || strings.Join(reg.Names(hw), " ") != strings.Join(s.Features.HW, " ") {
		t.Errorf("hw layer out of order: %v", err)
	}
	// A plugin for another vendor is not asked.
	amdOnly := joinPlugin(t, "amdonly", "AuthenticAMD", nil, nil, []string{"nonexistent-name"})
	if err := plugins.DecodeSnapshot(ctx, reg, []*plugins.Plugin{amdOnly}, s); err != nil {
		t.Errorf("a plugin of another vendor was asked: %v", err)
	}
	// A decoder naming a feature nobody defines is an ABI error.
	liar := joinPlugin(t, "liar", "CentaurHauls", nil, nil, []string{"nonexistent-name"})
	if err := plugins.DecodeSnapshot(ctx, reg, []*plugins.Plugin{liar}, s); err == nil || !strings.Contains(err.Error(), "liar.wasm: decode") {
		t.Errorf("unknown decoded name: %v", err)
	}
}
