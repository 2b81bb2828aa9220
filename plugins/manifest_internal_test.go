package plugins

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// TestWASIFunctions: every import plugins may have is a function wazero's
// WASI implements.
func TestWASIFunctions(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	wasi, err := wasi_snapshot_preview1.NewBuilder(r).Compile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := wasi.ExportedFunctions()
	for name := range wasiFunctions {
		if have[name] == nil {
			t.Errorf("wazero's WASI lacks %s", name)
		}
	}
	for name := range have {
		if !wasiFunctions[name] {
			t.Errorf("wazero's WASI has %s, which the import check does not allow", name)
		}
	}
}

// TestManifestValidation: every problem of a manifest is reported, sorted.
func TestManifestValidation(t *testing.T) {
	w := &wire.Manifest{
		ABI:    wire.ABI,
		Name:   "Bad Name",
		Leaves: []wire.LeafRange{{First: 2, Last: 1}},
		Features: []wire.Feature{
			{Name: "ok", Leaf: 1, Reg: 3, Bit: 31},
			{Name: "ok", Leaf: 1, Reg: 3, Bit: 30},
			{Name: "has space", Leaf: 1},
			{Name: "wide", Leaf: 1, Bit: 32},
			{Name: "reg", Leaf: 1, Reg: 4},
			{Name: "msr0", Kind: wire.KindMSR, Bit: 1},
			{Name: "kind", Kind: 7},
		},
		Checks: []wire.Check{{Name: "c"}, {Name: "c"}, {Name: "C!"}},
	}
	_, err := manifestFrom(w)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`check "c" defined twice`, `check name "C!"`, `feature "kind": unknown location kind 7`,
		`feature "msr0": MSR 0x0 bit 1 is not an MSR bit`, `feature "ok" defined twice`,
		`feature "reg": register 4 bit 0 is not a CPUID bit`, `feature "wide": register 0 bit 32 is not a CPUID bit`,
		`feature name "has space"`, `leaf range 0x2-0x1 is empty`, `plugin name "Bad Name"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	m, err := manifestFrom(&wire.Manifest{ABI: wire.ABI, Name: "good-1", Features: []wire.Feature{
		{Name: "vmx-thing", Kind: wire.KindMSR, MSR: 0x48f, Bit: 60, Linux: "thing", Aliases: []string{"vmx_thing"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	fs := m.registryFeatures()
	if len(fs) != 1 || fs[0].Loc.MSR != 0x48f || fs[0].Loc.Bit != 60 || len(fs[0].Aliases) != 2 {
		t.Errorf("features %+v", fs)
	}
}
