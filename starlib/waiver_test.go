package starlib_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/starlib"
)

func TestLoadWaiversFileStarlark(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("kvm.star", `KVM = features("kvmclock", "kvm-pv-eoi")`+"\n")
	p := write("w.star", `load("kvm.star", "KVM")

waiver(policy = "explicit-kvm-bits", model = "*", machine = "*", features = KVM, reason = "fine")
waiver(policy = "runnable", model = "EPYC-v3", machine = "pc-q35-7.2", features = ["sse4_1"], reason = "r", expires = "2030-01-01")
`)
	ws, err := starlib.LoadWaiversFile(p, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Source != p+":3:7" || !slices.Equal(ws[0].Features, []string{"kvm-pv-eoi", "kvmclock"}) || ws[1].Expires != "2030-01-01" {
		t.Errorf("got %+v", ws)
	}
	bad := write("bad.star", `waiver(policy = "p", model = "*", machine = "*", features = [], reason = "r", expires = 2030)`+"\n")
	if _, err := starlib.LoadWaiversFile(bad, starlib.Options{}); err == nil || !strings.Contains(err.Error(), "expires: got int, want string or None") {
		t.Errorf("got %v", err)
	}
	// JSON by extension.
	j := write("w.json", `{"waivers": []}`)
	if ws, err := starlib.LoadWaiversFile(j, starlib.Options{}); err != nil || len(ws) != 0 {
		t.Errorf("got %v, %v", ws, err)
	}
}
