package plugins_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/plugins"
)

// sealedParts splits a sealed module into its declaration's fields and
// the code after the declaration section (the module without its header),
// reading the layout plugins/ABI.md gives.
type sealedParts struct {
	size             uint32
	hash             []byte
	manifest, models []byte
	code             []byte
}

func uleb(b []byte) (uint32, int) {
	var v uint32
	for i := 0; i < 5; i++ {
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	panic("bad LEB128")
}

func splitSealed(t *testing.T, bin []byte) sealedParts {
	t.Helper()
	if bin[8] != 0 {
		t.Fatalf("the first section is %d, not a custom section", bin[8])
	}
	secSize, n := uleb(bin[9:])
	sec := bin[9+n : 9+n+int(secSize)]
	code := bin[9+n+int(secSize):]
	nameLen, n := uleb(sec)
	if name := string(sec[n : n+int(nameLen)]); name != plugins.DeclarationSection {
		t.Fatalf("first section %q, want %q", name, plugins.DeclarationSection)
	}
	c := sec[n+int(nameLen):]
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(c); c = c[4:]; return v }
	bs := func() []byte { n := u32(); b := c[:n]; c = c[n:]; return b }
	if v := u32(); v != 1 {
		t.Fatalf("declaration version %d", v)
	}
	p := sealedParts{size: u32(), hash: bs(), manifest: bs(), models: bs(), code: code}
	if len(c) != 0 {
		t.Fatalf("%d bytes after the declaration", len(c))
	}
	return p
}

func (p sealedParts) join() []byte {
	var c []byte
	u32 := func(v uint32) { c = binary.LittleEndian.AppendUint32(c, v) }
	bs := func(b []byte) { u32(uint32(len(b))); c = append(c, b...) }
	u32(1)
	u32(p.size)
	bs(p.hash)
	bs(p.manifest)
	bs(p.models)
	sec := append([]byte{byte(len(plugins.DeclarationSection))}, plugins.DeclarationSection...)
	sec = append(sec, c...)
	out := []byte("\x00asm\x01\x00\x00\x00\x00")
	out = binary.AppendUvarint(out, uint64(len(sec)))
	out = append(out, sec...)
	return append(out, p.code...)
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSealedLoadsWithoutRunning: a sealed plugin's manifest and models
// come from its declaration: they are there, equal to what the code
// answers, while the module file is gone; its first decode then fails
// because only then is the module read.
func TestSealedLoadsWithoutRunning(t *testing.T) {
	t.Parallel()
	bin, err := os.ReadFile(plugintest.Build(t, zhaoxinPkg))
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "zhaoxin.wasm", bin)
	p, err := plugins.Load(context.Background(), path, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if !p.Declared() {
		t.Fatal("a sealed module was not loaded from its declaration")
	}
	os.Remove(path)
	ran := plugins.Config{}.WithCacheDir(plugintest.CacheDir(t))
	unsealed, err := plugins.Load(context.Background(), plugintest.BuildUnsealed(t, zhaoxinPkg), ran)
	if err != nil {
		t.Fatal(err)
	}
	defer unsealed.Close(context.Background())
	if unsealed.Declared() {
		t.Error("an unsealed module claims a declaration")
	}
	if got, want := p.Describe(), unsealed.Describe(); got.Name != want.Name || len(got.Features) != len(want.Features) {
		t.Errorf("declared manifest %s with %d features, the code's %s with %d", got.Name, len(got.Features), want.Name, len(want.Features))
	}
	if p.Module() != unsealed.Module() {
		t.Errorf("module hash %s sealed, %s unsealed: the hash is of the module without its declaration", p.Module(), unsealed.Module())
	}
	dm, err := p.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	um, err := unsealed.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dm) == 0 || len(dm) != len(um) || dm[0].Name != um[0].Name {
		t.Errorf("declared models %d, the code's %d", len(dm), len(um))
	}
	if _, err := p.Decode(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("decode with the module gone: %v, want the file's error", err)
	}
}

// TestDeclarationMustAgree: a module whose declaration is not what its
// code answers, or whose code changed after sealing, loads (nothing is
// run at load) and is refused at its first call, with ErrDeclaration, on
// every call after.
func TestDeclarationMustAgree(t *testing.T) {
	t.Parallel()
	zx, err := os.ReadFile(plugintest.Build(t, zhaoxinPkg))
	if err != nil {
		t.Fatal(err)
	}
	amd, err := os.ReadFile(plugintest.Build(t, amdPkg))
	if err != nil {
		t.Fatal(err)
	}
	lying := splitSealed(t, zx)
	lying.manifest = splitSealed(t, amd).manifest // zhaoxin's code, amd's name and features
	otherModels := splitSealed(t, zx)
	otherModels.models = splitSealed(t, amd).models
	changed := splitSealed(t, zx)
	changed.code = bytes.Clone(changed.code)
	changed.code[len(changed.code)-1] ^= 1 // the module's last byte: a name or data section
	tests := []struct {
		name, op, want string
		bin            []byte
	}{
		{"manifest", "describe", "disagrees with what its describe answers", lying.join()},
		{"models", "models", "disagrees with what its models answers", otherModels.join()},
		{"code changed", "load", "not the one its declaration section was written for", changed.join()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "bad.wasm", tt.bin)
			p, err := plugins.Load(context.Background(), path, testConfig(t))
			if err != nil {
				t.Fatalf("load: %v (the declaration alone is consistent)", err)
			}
			defer p.Close(context.Background())
			for range 2 {
				_, err := p.Decode(context.Background(), nil)
				if !errors.Is(err, plugins.ErrDeclaration) {
					t.Fatalf("decode: %v, want ErrDeclaration", err)
				}
				if want := path + ": " + tt.op + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %q, want %q…%q", err, want, tt.want)
				}
			}
			if err := p.Start(context.Background()); !errors.Is(err, plugins.ErrDeclaration) {
				t.Errorf("start: %v, want ErrDeclaration", err)
			}
		})
	}
}

// sealTimeout is plugins/sdk/seal's (the interpreter is slow under
// -race).
const sealTimeout = 2 * time.Minute

// TestSealAgain: sealing a sealed module replaces its declaration; the
// result is byte-identical.
func TestSealAgain(t *testing.T) {
	t.Parallel()
	bin, err := os.ReadFile(plugintest.Build(t, amdPkg))
	if err != nil {
		t.Fatal(err)
	}
	cfg := plugins.Config{}.WithInterpreter(true).WithCacheDir("").WithTimeout(sealTimeout)
	again, err := plugins.Seal(context.Background(), "amd.wasm", bin, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, bin) {
		t.Errorf("sealing a sealed module changed it: %d bytes, was %d", len(again), len(bin))
	}
}

// TestSnapshotRecordsPlugin: DecodeSnapshot records the plugin that
// decoded a snapshot; the saved snapshot, read with the same plugin, is
// not decoded again (the module file is gone and nothing fails), and its
// features are the decoded ones.
func TestSnapshotRecordsPlugin(t *testing.T) {
	t.Parallel()
	bin, err := os.ReadFile(plugintest.Build(t, amdPkg))
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "amd.wasm", bin)
	ctx := context.Background()
	p, err := plugins.Load(ctx, path, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	reg, err := plugins.Registry(feature.Builtin(), []*plugins.Plugin{p})
	if err != nil {
		t.Fatal(err)
	}
	s, err := host.ReadFile(filepath.Join("..", "testdata", "hosts", "this-machine.json"), reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := plugins.DecodeSnapshot(ctx, reg, []*plugins.Plugin{p}, s); err != nil {
		t.Fatal(err)
	}
	want := []host.PluginRecord{{Name: "amd", Version: p.Describe().Version, Module: p.Module()}}
	if len(s.Plugins) != 1 || s.Plugins[0] != want[0] {
		t.Fatalf("records %+v, want %+v", s.Plugins, want)
	}
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	// A new process, so to speak: load again, then lose the module.
	p2, err := plugins.Load(ctx, path, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close(ctx)
	os.Remove(path)
	s2, err := host.Parse("saved.json", data, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := plugins.DecodeSnapshot(ctx, reg, []*plugins.Plugin{p2}, s2); err != nil {
		t.Fatalf("decoding a snapshot the plugin already decoded ran it: %v", err)
	}
	again, err := s2.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("the recorded snapshot changed when read again")
	}
}
