package catalog_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/catalog/qemuimport"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// qemuBinaries are the QEMUs a fidelity test may find: Debian's, and the
// 10.0 that scripts/qemu-release.sh unpacks beside it.
var qemuBinaries = []string{"qemu-system-x86_64", "/opt/qemu-10.0/bin/qemu-system-x86_64"}

// TestFidelityLive harvests every model × machine type × accelerator
// from each installed QEMU whose release has an embedded catalog, and
// requires the catalog to resolve each of them exactly as QEMU expands
// it: every feature bit, level, xlevel, xlevel2, family, model, stepping,
// model-id and vendor.
func TestFidelityLive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the live harvest starts ~110 QEMU processes")
	}
	testenv.Want(t, testenv.QEMU, "qemu-7.2 is not compared")
	testenv.Want(t, testenv.QEMU10, "qemu-10.0 is not compared")
	ran := 0
	for _, bin := range qemuBinaries {
		path, err := exec.LookPath(bin)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "--version").Output()
		if err != nil {
			t.Errorf("%s --version: %v", path, err)
			continue
		}
		name := ""
		for _, n := range catalog.EmbeddedNames() {
			if strings.Contains(string(out), "version "+strings.TrimPrefix(n, "qemu-")+".") {
				name = n
			}
		}
		if name == "" {
			t.Logf("%s: no embedded catalog for %s", path, strings.TrimSpace(string(out)))
			continue
		}
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			raw, err := qemuimport.Import(context.Background(), qemuimport.Options{Binary: path})
			if err != nil {
				t.Fatal(err)
			}
			c, err := catalog.Embedded(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Verify(raw); err != nil {
				t.Fatal(err)
			}
			if len(raw.Machines) != len(c.Machines()) || len(raw.Models) != len(c.Models()) {
				t.Errorf("QEMU has %d machine types and %d models, the catalog %d and %d",
					len(raw.Machines), len(raw.Models), len(c.Machines()), len(c.Models()))
			}
			t.Logf("%s: %d expansions (%d models × %d machine types × %v) equal QEMU's, harvested in %v",
				name, len(raw.Expansions), len(raw.Models), len(raw.Machines), c.Accels(), time.Since(start).Round(time.Millisecond))
		})
		ran++
	}
	if ran == 0 {
		testenv.Missing(t, testenv.QEMU, "no QEMU with an embedded catalog is installed")
	}
}
