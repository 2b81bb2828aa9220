package starlib_test

import (
	"context"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// TestExportLibvirtMap: with libvirt's CPU map granted, a script gets
// Nova's, libvirt's and KubeVirt's configuration for a pool.
func TestExportLibvirtMap(t *testing.T) {
	dir := testenv.Need(t, testenv.LibvirtCPUMap, "export names libvirt's models")
	loadFixtures(t)
	m, err := libvirt.LoadMap(dir, feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	thread, done := starlib.NewThread(context.Background(), "export", fixtures.cat100, starlib.Options{LibvirtMap: func() (*libvirt.Map, error) { return m, nil }})
	defer done()
	globals := starlark.StringDict{"hosts": fixtures.hostDict}
	for k, v := range starlib.Module.Members {
		globals[k] = v
	}
	src := `
rome = [hosts["epyc-7502-32-core"]]
nova = export("nova", rome, pool = "rome")
virt = export("libvirt", rome, pool = "rome")
kv = export("kubevirt", rome, pool = "rome")
out = (nova.data["cpu_models"][-1], virt.data["model"], kv.data["cpu_model"], nova.text)
`
	g, err := starlark.ExecFileOptions(starlib.FileOptions(), thread, "export.star", src, globals)
	if err != nil {
		t.Fatal(err)
	}
	out := g["out"].(starlark.Tuple)
	for i, want := range []string{"EPYC-Rome", "EPYC-Rome", "EPYC-Rome"} {
		if s, _ := starlark.AsString(out[i]); s != want {
			t.Errorf("out[%d] = %s, want %s", i, out[i], want)
		}
	}
	if s, _ := starlark.AsString(out[3]); !strings.Contains(s, "[libvirt]\ncpu_mode = custom\n") {
		t.Errorf("nova text:\n%s", s)
	}
}
