package examplestest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/plugins"
)

// vendorPlugin is the example plugin's directory: a module of its own.
const vendorPlugin = "../../examples/vendor-plugin"

// goCmd runs the go command in dir as a vendor's module would be built:
// its own go.mod and go.sum only (GOWORK=off; -mod=readonly, so that a
// go.mod or go.sum that is not complete fails instead of being fixed up).
func goCmd(t *testing.T, dir string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GOWORK=off", "GOFLAGS=-mod=readonly"}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestVendorPluginModule: the example is its own module, which requires
// this one by its fetchable path, as a vendor's would.
func TestVendorPluginModule(t *testing.T) {
	out := goCmd(t, vendorPlugin, nil, "list", "-m", "-f", "{{.Path}} {{.GoMod}}", "all")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if main, _, _ := strings.Cut(lines[0], " "); main != "example.com/acme-plugin" {
		t.Errorf("main module %q, want example.com/acme-plugin", lines[0])
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range lines[1:] {
		if path, gomod, _ := strings.Cut(l, " "); path == "github.com/cpupolicy/cpupolicy" {
			found = gomod == filepath.Join(root, "go.mod")
		}
	}
	if !found {
		t.Errorf("github.com/cpupolicy/cpupolicy is not required and replaced by %s:\n%s", root, out)
	}
}

// TestPlugin builds the example exactly as the guide says and loads it.
func TestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a WebAssembly plugin")
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "acme.wasm")
	goCmd(t, vendorPlugin, []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}, "build", "-buildmode=c-shared", "-o", wasm, ".")

	ctx := context.Background()
	p, err := plugins.Load(ctx, wasm, plugins.Config{}.WithCacheDir(filepath.Join(dir, "cache")))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	m := p.Describe()
	if m.Name != "acme" || len(m.Features) != 2 || len(m.Checks) != 1 {
		t.Errorf("manifest %+v", m)
	}
	reg, err := feature.Builtin().Extend(m.Name, p.Features()...)
	if err != nil {
		t.Fatal(err)
	}

	le := func(s string) uint32 { return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24 }
	leaves := cpuid.Leaves{
		{Leaf: 0, EAX: 0xd, EBX: le("Acme"), EDX: le("Acme"), ECX: le("Acme")},
		{Leaf: 0x40000100, EAX: 0x40000101},
		{Leaf: 0x40000101, EDX: 0b11},
	}
	names, err := p.Decode(ctx, leaves)
	if err != nil || !reflect.DeepEqual(names, []string{"acme-crypt", "acme-turbo"}) {
		t.Errorf("decode: %v, %v", names, err)
	}
	// The registry, extended, decodes the same bits by location (plugin
	// features are numbered in load order).
	if got := reg.Names(reg.Decode(leaves)); !reflect.DeepEqual(got, []string{"acme-turbo", "acme-crypt"}) {
		t.Errorf("registry decode: %v", got)
	}

	ms, err := p.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := ms[0].Expand(reg)
	if err != nil {
		t.Fatal(err)
	}
	crypt, _ := reg.Lookup("acme-crypt")
	if len(defs) != 3 || defs[0].AliasOf != "Acme-Roadrunner-v1" || defs[1].Features.Has(crypt) || !defs[2].Features.Has(crypt) {
		t.Errorf("models: %+v", defs)
	}

	// What `cpupolicy models --plugin acme.wasm` does: the models join the
	// catalog, marked with their source, and resolve on every machine
	// type (kvm adds its paravirtual bits, tcg does not; -v1, which the
	// unversioned name stands for, lacks acme-crypt).
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	joined, _, err := plugins.Catalog(ctx, cat, reg, []*plugins.Plugin{p})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := joined.Model("Acme-Roadrunner-v2"); err != nil || m.Source != "plugin acme" {
		t.Errorf("joined model: %+v, %v", m, err)
	}
	kvmclock, _ := reg.Lookup("kvmclock")
	for _, accel := range []core.Accel{core.KVM, core.TCG} {
		r, err := joined.Resolve("Acme-Roadrunner", "pc-q35-10.0", accel, "")
		if err != nil || r.Features.Has(crypt) || r.Features.Has(kvmclock) != (accel == core.KVM) {
			t.Errorf("%s: Acme-Roadrunner resolves to %v (%v)", accel, reg.Names(r.Features), err)
		}
	}

	out, err := p.Check(ctx, "turbo-safe", []byte(`["acme-turbo"]`))
	if err != nil || string(out) != `{"ok":false,"why":"acme-turbo makes live migration unsafe"}` {
		t.Errorf("check: %s, %v", out, err)
	}
}
