package catalog_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/catalog/qemuimport"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// releaseReqs names, for each embedded catalog, the QEMU it was imported
// from (testenv finds the binary and checks its release).
var releaseReqs = map[string]testenv.Req{
	"qemu-5.2":  testenv.QEMU52,
	"qemu-7.2":  testenv.QEMU,
	"qemu-10.0": testenv.QEMU10,
	"qemu-11.1": testenv.QEMU111,
}

// TestFidelityLive imports every model × machine type × accelerator from
// the QEMU of each embedded catalog, as `catalog import qemu` does, and
// requires the catalog to resolve each of them exactly as QEMU expands
// it: every feature bit, level, xlevel, xlevel2, family, model,
// stepping, model-id and vendor. Without /dev/kvm the import derives the
// kvm answers from the tcg ones (catalog.DeriveKVM): then QEMU's own
// answers are compared under tcg only, the derived ones with the
// catalog's kvm answers, captured under kvm on a host with /dev/kvm or
// derived alike. Either way the catalog the import makes is the embedded
// one, byte for byte (its kvm_data marker aside), when the import host
// has the embedded catalog's vendor.
//
// QEMU runs on every machine type here (EveryMachine). For releases that
// list their machine types' compat properties, the default import, which
// runs once per distinct set of x86 CPU properties, must make the same
// catalog too.
func TestFidelityLive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the live harvest starts ~100 QEMU processes per release")
	}
	for _, name := range catalog.EmbeddedNames() {
		t.Run(name, func(t *testing.T) {
			req, ok := releaseReqs[name]
			if !ok {
				t.Fatalf("no QEMU requirement for embedded catalog %s: add it to releaseReqs", name)
			}
			path := testenv.Need(t, req, "import the QEMU of "+name)
			// The default import first: where it ran every machine type
			// (QEMU lists no compat properties) it is the harvest.
			start, runs := time.Now(), 0
			grouped, err := qemuimport.Import(context.Background(), qemuimport.Options{Binary: path,
				Progress: func(done, total int) { runs = total }})
			if err != nil {
				t.Fatal(err)
			}
			groupedTime := time.Since(start)
			raw := grouped
			// A run per machine type under tcg, and under kvm too where
			// kvm was captured, is an import of every machine type.
			accels := 1
			if grouped.KVMData == "" && grouped.HostVendor != "" {
				accels = 2
			}
			if runs < accels*len(grouped.Machines) {
				start = time.Now()
				if raw, err = qemuimport.Import(context.Background(), qemuimport.Options{Binary: path, EveryMachine: true}); err != nil {
					t.Fatal(err)
				}
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
			how := "captured"
			if raw.KVMData != "" {
				how = raw.KVMData
			}
			t.Logf("%s: %d expansions (%d models × %d machine types × %v, kvm %s) equal the catalog's, harvested in %v",
				name, len(raw.Expansions), len(raw.Models), len(raw.Machines), c.Accels(), how, time.Since(start).Round(time.Millisecond))

			if raw.HostVendor != c.ImportHostVendor() {
				t.Logf("imported on a %s host, the catalog on a %s one: the files differ in that", raw.HostVendor, c.ImportHostVendor())
				return
			}
			imported, err := catalog.Compact(raw, feature.Builtin(), name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := imported.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			// The marker says how the kvm answers were made, which may
			// differ from the embedded catalog's; nothing else may.
			unmark := func(b []byte) []byte { return bytes.Replace(b, []byte(`,"kvm_data":"derived"`), nil, 1) }
			if !bytes.Equal(unmark(got), unmark(want)) {
				t.Errorf("the imported catalog differs from the embedded %s (%d vs %d bytes)", name, len(got), len(want))
			}

			if raw == grouped {
				t.Logf("%s: QEMU lists no compat properties, so the default import ran every machine type", name)
				return
			}
			imported, err = catalog.Compact(grouped, feature.Builtin(), name)
			if err != nil {
				t.Fatal(err)
			}
			if got, err = imported.Marshal(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(unmark(got), unmark(want)) {
				t.Errorf("the import that ran QEMU %d times differs from the embedded %s (%d vs %d bytes)", runs, name, len(got), len(want))
			}
			t.Logf("%s: the default import ran QEMU %d times for %d machine types, in %v, and made the same catalog",
				name, runs, len(raw.Machines), groupedTime.Round(time.Millisecond))
		})
	}
}
