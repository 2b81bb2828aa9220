package check

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// TestWhyFollowsAliases: for every alias of every embedded catalog
// (Skylake-Client-IBRS, the -noTSX names, the unversioned names) on
// every recorded host, why gives the advice it gives for the version the
// alias stands for (same verdict, same missing bits, same runnable
// versions, less the target itself when it runs) and says which alias it
// followed. Before, an alias found no version of "the same model".
func TestWhyFollowsAliases(t *testing.T) {
	hosts := []string{"core-i7-8550u", "xeon-gold-6130", "epyc-7502-32-core", "this-machine"}
	for _, cname := range catalog.EmbeddedNames() {
		cat, err := catalog.Embedded(cname)
		if err != nil {
			t.Fatal(err)
		}
		rel, _, err := CatalogRelease(cat)
		if err != nil {
			t.Fatal(err)
		}
		mt, err := Machine(cat, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			p := filepath.Join("..", "..", "testdata", "hosts", h+".json")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := host.Parse(p, data, cat.Registry())
			if err != nil {
				t.Fatal(err)
			}
			a, err := HostAvailability(h, cat.Registry(), snap, rel, core.KVM)
			if err != nil {
				t.Fatal(err)
			}
			j := &Judge{Catalog: cat, Machine: mt, Accel: core.KVM, Avail: a, Vendor: snap.Vendor, Host: HostLabel(snap, p)}
			aliases := 0
			for m := range cat.AllModels() {
				if m.AliasOf == "" {
					continue
				}
				aliases++
				got, err := j.Why(m.Name, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				want, err := j.Why(m.AliasOf, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				if got.AliasOf != m.AliasOf || want.AliasOf != "" {
					t.Errorf("%s %s: alias_of %q (target's %q), want %q", cname, m.Name, got.AliasOf, want.AliasOf, m.AliasOf)
				}
				// The target's own advice leaves the target out; the
				// alias's may name it, when it runs.
				nearest := slices.DeleteFunc(slices.Clone(got.Nearest), func(n string) bool { return n == m.AliasOf })
				if got.Runnable != want.Runnable || !slices.Equal(nearest, want.Nearest) || !slices.Equal(got.Missing, want.Missing) {
					t.Errorf("%s on %s: %s says runnable %v, versions %v, missing %v; %s says %v, %v, %v", cname, h,
						m.Name, got.Runnable, got.Nearest, got.Missing, m.AliasOf, want.Runnable, want.Nearest, want.Missing)
				}
				if len(got.Nearest) != len(nearest) && !want.Runnable {
					t.Errorf("%s on %s: %s names its own target %s as runnable", cname, h, m.Name, m.AliasOf)
				}
			}
			if aliases == 0 {
				t.Errorf("%s: no aliases", cname)
			}
		}
	}
}
