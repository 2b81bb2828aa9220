package site_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/site"
)

// TestPerHostOffers judges host and max offers on the four recorded hosts
// with both embedded catalogs: on each host the guest gets exactly what
// `resolve --cpu SPEC --host FILE` gives there (check.ResolveConfig, the
// path every command resolves a -cpu spec through, from the whole
// snapshot), although a fleet hands Judge only each host's availability
// set and vendor; an explicit +feat the host lacks is the only thing
// missing; hosts with different CPUs give different guests.
func TestPerHostOffers(t *testing.T) {
	var files []string
	for _, n := range []string{"xeon-gold-6130", "core-i7-8550u", "epyc-7502-32-core", "this-machine"} {
		files = append(files, filepath.Join("..", "testdata", "hosts", n+".json"))
	}
	for _, name := range catalog.EmbeddedNames() {
		c, err := catalog.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		if !c.HasAccel(core.KVM) {
			continue
		}
		rel, _, err := check.CatalogRelease(c)
		if err != nil {
			t.Fatal(err)
		}
		reg := c.Registry()
		var snaps []*host.HostSnapshot
		var hosts []site.Availability
		for _, f := range files {
			s, err := host.ReadFile(f, reg)
			if err != nil {
				t.Fatal(err)
			}
			a, err := site.NewHost(host.Name(s, f), s).Availability(reg, rel, core.KVM)
			if err != nil {
				t.Fatal(err)
			}
			snaps = append(snaps, s)
			hosts = append(hosts, site.Availability{Host: host.Name(s, f), Vendor: s.Vendor, Set: a.Set, Layers: a})
		}
		for _, tc := range []struct{ cpu, accel string }{
			{"host", "kvm"}, {"host,migratable=off", "kvm"}, {"host,-vmx,+avx512f", "kvm"},
			{"max", "kvm"}, {"max,+la57", "kvm"}, {"max", "tcg"},
		} {
			t.Run(name+"/"+tc.cpu+"/"+tc.accel, func(t *testing.T) {
				cfg, err := site.Resolve(c, site.Offer{Name: "o", CPU: tc.cpu, Accel: tc.accel}, "")
				if err != nil {
					t.Fatal(err)
				}
				if !cfg.PerHost {
					t.Fatalf("%s: not per host", tc.cpu)
				}
				in := hosts
				if tc.accel == "tcg" {
					// What every command judges a tcg offer on: TCG's
					// availability, whatever the host.
					tcg, err := check.Compute(reg, nil, rel, core.TCG)
					if err != nil {
						t.Fatal(err)
					}
					in = make([]site.Availability, len(hosts))
					for i, h := range hosts {
						in[i] = site.Availability{Host: h.Host, Vendor: h.Vendor, Set: tcg.Set}
					}
				}
				v, err := site.Judge(cfg, in)
				if err != nil {
					t.Fatal(err)
				}
				if v.ModelMigrationSafe() {
					t.Errorf("model %s is migration-safe; QEMU says it is not", v.Model.Name)
				}
				on, _ := cfg.Spec.Explicit()
				distinct := map[string]bool{}
				for i, hv := range v.Hosts {
					var s *host.HostSnapshot
					if tc.accel == "kvm" {
						s = snaps[i]
					}
					want, _, err := check.ResolveConfig(c, tc.cpu, cfg.Machine, core.Accel(tc.accel), s, "")
					if err != nil {
						t.Fatal(err)
					}
					got := hv.Guest.Union(hv.Missing)
					if got != want.Features {
						t.Errorf("%s: guest %s, resolve gives %s", hv.Host, strings.Join(reg.Names(got.Difference(want.Features)), " "), strings.Join(reg.Names(want.Features.Difference(got)), " "))
					}
					if !hv.Missing.SubsetOf(on) || hv.Missing != on.Difference(in[i].Set) {
						t.Errorf("%s: missing %v, want what the spec switches on that the host lacks: %v", hv.Host, reg.Names(hv.Missing), reg.Names(on.Difference(in[i].Set)))
					}
					distinct[strings.Join(reg.Names(hv.Guest), " ")+"/"+hv.Vendor] = true
				}
				// The recorded hosts are four different CPUs: under kvm
				// four guests, under tcg one.
				wantDistinct := len(v.Hosts)
				if tc.accel == "tcg" {
					wantDistinct = 1
				}
				if len(distinct) != wantDistinct {
					t.Errorf("%d different guests on %d hosts, want %d", len(distinct), len(v.Hosts), wantDistinct)
				}
				if (len(distinct) > 1) != !v.MigrationSafe() && v.ModelMigrationSafe() {
					t.Error("migration safety does not follow the guests")
				}
			})
		}
	}
	c, err := catalog.Embedded(catalog.DefaultName())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := site.Resolve(c, site.Offer{CPU: "host", Accel: "tcg"}, ""); err == nil || !strings.Contains(err.Error(), "requires KVM") {
		t.Errorf("host under tcg: %v, want QEMU's 'requires KVM or HVF'", err)
	}
}
