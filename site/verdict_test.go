package site_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/site"
)

// uniformCatalog is a catalog of two models on qemu-7.2's machine types,
// as `catalog import libvirt` makes one: "safe", and "unsafe", which it
// marks not migration-safe; both are sse2, xsave and xsaves, Intel's.
func uniformCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	ref, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	reg := ref.Registry()
	set, err := reg.Set("sse2", "xsave", "xsaves")
	if err != nil {
		t.Fatal(err)
	}
	models := []catalog.Model{
		{Name: "safe", Features: set, Static: true, MigrationSafe: true},
		{Name: "unsafe", Features: set, Static: true},
	}
	for i := range models {
		models[i].Props.Vendor = "GenuineIntel"
	}
	c, err := catalog.Uniform("uniform", reg, ref.Machines(), models)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestJudge(t *testing.T) {
	c := uniformCatalog(t)
	reg := c.Registry()
	all, err := reg.Set("sse2", "xsave", "xsaves")
	if err != nil {
		t.Fatal(err)
	}
	noXsaves, err := reg.Set("sse2", "xsave")
	if err != nil {
		t.Fatal(err)
	}
	intel := func(name string, set feature.FeatureSet) site.Availability {
		return site.Availability{Host: name, Vendor: "GenuineIntel", Set: set}
	}
	amd := site.Availability{Host: "amd", Vendor: "AuthenticAMD", Set: all}
	for _, tc := range []struct {
		name          string
		model         string
		hosts         []site.Availability
		runnable      bool
		migrationSafe bool
	}{
		{"one host", "safe", []site.Availability{intel("a", all)}, true, true},
		{"alike hosts", "safe", []site.Availability{intel("a", all), intel("b", all)}, true, true},
		{"one lacks a bit", "safe", []site.Availability{intel("a", all), intel("b", noXsaves)}, false, false},
		{"both lack the same", "safe", []site.Availability{intel("a", noXsaves), intel("b", noXsaves)}, false, true},
		{"two vendors", "safe", []site.Availability{intel("a", all), amd}, true, false},
		{"marked unsafe, one host", "unsafe", []site.Availability{intel("a", all)}, true, false},
		{"marked unsafe, alike hosts", "unsafe", []site.Availability{intel("a", all), intel("b", all)}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := site.Resolve(c, site.Offer{Name: "o", CPU: tc.model}, "")
			if err != nil {
				t.Fatal(err)
			}
			v, err := site.Judge(cfg, tc.hosts)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Runnable(); got != tc.runnable {
				t.Errorf("Runnable() = %v, want %v", got, tc.runnable)
			}
			if got := v.MigrationSafe(); got != tc.migrationSafe {
				t.Errorf("MigrationSafe() = %v, want %v", got, tc.migrationSafe)
			}
			if got, want := v.ModelMigrationSafe(), tc.model == "safe"; got != want {
				t.Errorf("ModelMigrationSafe() = %v, want %v", got, want)
			}
			for i, h := range v.Hosts {
				if want := cfg.Features.Difference(tc.hosts[i].Set); h.Missing != want || h.Host != tc.hosts[i].Host {
					t.Errorf("host %d: %s missing %v, want %s missing %v", i, h.Host, reg.Names(h.Missing), tc.hosts[i].Host, reg.Names(want))
				}
				// Under kvm a named model gets the host's vendor.
				if h.Vendor != tc.hosts[i].Vendor {
					t.Errorf("host %s: guest vendor %q, want the host's %q", h.Host, h.Vendor, tc.hosts[i].Vendor)
				}
			}
		})
	}
}

func TestResolveDefaults(t *testing.T) {
	c, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offer          site.Offer
		defaultMachine string
		machine, accel string
	}{
		{site.Offer{CPU: "Haswell-v4"}, "", "pc-q35-7.2", "kvm"},
		{site.Offer{CPU: "Haswell-v4"}, "pc-i440fx-2.3", "pc-i440fx-2.3", "kvm"},
		{site.Offer{CPU: "Haswell-v4", Machine: "pc-q35-4.0", Accel: "tcg"}, "pc-i440fx-2.3", "pc-q35-4.0", "tcg"},
	} {
		cfg, err := site.Resolve(c, tc.offer, tc.defaultMachine)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Machine != tc.machine || cfg.Accel != tc.accel {
			t.Errorf("%+v, default %q: %s under %s, want %s under %s", tc.offer, tc.defaultMachine, cfg.Machine, cfg.Accel, tc.machine, tc.accel)
		}
		want, err := c.Features(tc.offer.CPU, tc.machine, core.Accel(tc.accel))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Features != want {
			t.Errorf("%+v: features differ from the catalog's", tc.offer)
		}
	}
	if _, err := site.Resolve(c, site.Offer{CPU: "Haswel"}, ""); err == nil {
		t.Error("an unknown model resolved")
	}
}

// ExampleJudge judges an offer on two recorded hosts: it runs on the
// server, not on the laptop, so it cannot migrate between them either.
func ExampleJudge() {
	c, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		panic(err)
	}
	cfg, err := site.Resolve(c, site.Offer{Name: "web", CPU: "Skylake-Server-v4"}, "")
	if err != nil {
		panic(err)
	}
	var hosts []site.Availability
	for _, name := range []string{"xeon-gold-6130", "core-i7-8550u"} {
		file := filepath.Join("..", "testdata", "hosts", name+".json")
		data, err := os.ReadFile(file)
		if err != nil {
			panic(err)
		}
		s, err := host.Parse(file, data, c.Registry())
		if err != nil {
			panic(err)
		}
		a, err := site.NewHost(name, s).Availability(c.Registry(), core.Release{Major: 10, Minor: 0}, core.KVM)
		if err != nil {
			panic(err)
		}
		hosts = append(hosts, site.Availability{Host: name, Vendor: s.Vendor, Set: a.Set, Layers: a})
	}
	v, err := site.Judge(cfg, hosts)
	if err != nil {
		panic(err)
	}
	for _, h := range v.Hosts {
		fmt.Printf("%s: runnable %v, missing %v\n", h.Host, h.Runnable(), c.Registry().Names(h.Missing))
	}
	fmt.Println("migration-safe:", v.MigrationSafe())
	// Output:
	// xeon-gold-6130: runnable true, missing []
	// core-i7-8550u: runnable false, missing [avx512bw avx512cd avx512dq avx512f avx512vl clwb pku]
	// migration-safe: false
}
