package check

import (
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// TestDomCapabilitiesAgreement: a snapshot imported from libvirt's own
// test data (tests/domaincapsdata/qemu_10.0.0-q35.x86_64.xml and
// qemu_7.2.0-q35.x86_64.xml, re-typed in core/libvirt/testdata/domcaps)
// judges the models of the matching embedded catalog on the file's
// machine type under kvm as that QEMU did (the file's usable='yes|no'),
// and a model QEMU refused lacks exactly QEMU's blockers where the file
// names them. The issue asks
// for 95% agreement with every disagreement explained: explained holds
// the explanations, and is empty because all models agree (150 and 53). Two
// facts the import supplies make that so, each a documented limit of
// the domcapabilities view rather than a guess about one host: KVM's
// paravirt bits QEMU switches on by default (libvirt has no CPU feature
// names for them) and QEMU's spelling for features libvirt 9.0's map
// predates (gds-no, rfds-no).
func TestDomCapabilitiesAgreement(t *testing.T) {
	dir := testenv.Need(t, testenv.LibvirtCPUMap, "expand the host-model CPU with libvirt's CPU map")
	for _, tc := range []struct {
		file, catalog string
		models        int
		// explained maps each model on which cpupolicy and the file
		// disagree to why; empty: they agree on every model.
		explained map[string]string
	}{
		{"qemu_10.0.0-q35.x86_64.xml", "qemu-10.0", 150, nil},
		{"qemu_7.2.0-q35.x86_64.xml", "qemu-7.2", 53, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cat, err := catalog.Embedded(tc.catalog)
			if err != nil {
				t.Fatal(err)
			}
			reg := cat.Registry()
			m, err := libvirt.LoadMap(dir, reg)
			if err != nil {
				t.Fatal(err)
			}
			file := "../libvirt/testdata/domcaps/" + tc.file
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dc, err := libvirt.ParseDomainCaps(file, data, m, reg)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := host.FromDomCapabilities(file, strings.NewReader(string(data)), reg, m, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			mt, err := cat.Machine(dc.Machine)
			if err != nil {
				t.Fatal(err)
			}
			r, _, err := CatalogRelease(cat)
			if err != nil {
				t.Fatal(err)
			}
			a, err := HostAvailability(file, reg, snap, r, core.KVM)
			if err != nil {
				t.Fatal(err)
			}
			j := &Judge{Catalog: cat, Machine: mt, Accel: core.KVM, Avail: a, Vendor: snap.Vendor}
			rows, err := j.Models()
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]ModelVerdict{}
			for _, r := range rows {
				byName[r.Name] = r
			}
			agree, total := 0, 0
			var notes []string
			for _, u := range dc.Models {
				r, ok := byName[u.Name]
				if !ok {
					notes = append(notes, u.Name+": not in the catalog")
					continue
				}
				total++
				if r.Runnable() == (u.Usable == "yes") {
					agree++
					// Files from libvirt 8.x on name QEMU's blockers.
					if u.Usable == "no" && len(u.Blockers) > 0 {
						if got, want := lvNames(t, reg, r.UnavailableFeatures), lvNames(t, reg, u.Blockers); got != want {
							t.Errorf("%s: missing %s, QEMU's blockers %s", u.Name, got, want)
						}
					}
					continue
				}
				notes = append(notes, u.Name+": usable="+u.Usable+" blockers "+strings.Join(u.Blockers, ",")+"; ours "+strings.Join(r.UnavailableFeatures, ","))
			}
			sort.Strings(notes)
			for _, n := range notes {
				name, _, _ := strings.Cut(n, ":")
				if tc.explained[name] == "" {
					t.Errorf("unexplained disagreement: %s", n)
				}
			}
			if len(snap.KVMError) == 0 || strings.Contains(snap.KVMError, "left out") {
				t.Errorf("kvm_error %q: want the source named and no feature left out", snap.KVMError)
			}
			if total != len(dc.Models) || total != tc.models || agree*100 < 95*total {
				t.Errorf("%d of %d models agree (%d in the file): want all in the catalog and at least 95%%", agree, total, len(dc.Models))
			}
			t.Logf("%s: %d/%d models agree with the file's usable flags", tc.file, agree, total)
		})
	}
}

// lvNames is names (QEMU's or libvirt's) as sorted canonical names.
func lvNames(t *testing.T, reg *feature.Registry, names []string) string {
	t.Helper()
	s, err := reg.Set(names...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(reg.Names(s), ",")
}
