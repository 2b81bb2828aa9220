package fleet_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// realHosts are the recorded hosts with KVM data.
var realHosts = []string{"xeon-gold-6130", "core-i7-8550u", "epyc-7502-32-core", "this-machine"}

func loadReal(t testing.TB, reg *feature.Registry) map[string]*host.HostSnapshot {
	out := map[string]*host.HostSnapshot{}
	for _, n := range realHosts {
		p := filepath.Join("..", "..", "testdata", "hosts", n+".json")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := host.Parse(p, data, reg)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = s
	}
	return out
}

// modelReqs returns what every model of cat needs on machine under kvm,
// in catalog order; without aliases when versioned.
func modelReqs(t testing.TB, cat *catalog.Catalog, machine string, versioned bool) ([]string, []feature.FeatureSet) {
	var names []string
	var reqs []feature.FeatureSet
	models := cat.Models()
	for i := range models {
		if versioned && models[i].AliasOf != "" {
			continue
		}
		f, err := cat.Features(models[i].Name, machine, core.KVM)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, models[i].Name)
		reqs = append(reqs, f)
	}
	return names, reqs
}

func newFleet(t testing.TB, reg *feature.Registry, rules core.Release) *fleet.Fleet {
	f, err := fleet.New(reg, rules)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestJudgeAgreesWithCheck: on the recorded hosts and every model of both
// embedded catalogs, the matrix says what check.Compute and a subset test
// say, model by model, and Blockers names the same missing bits.
func TestJudgeAgreesWithCheck(t *testing.T) {
	reg := feature.Builtin()
	snaps := loadReal(t, reg)
	for _, c := range []struct {
		catalog string
		rules   core.Release
	}{{"qemu-7.2", core.Release{Major: 7, Minor: 2}}, {"qemu-10.0", core.Release{Major: 10, Minor: 0}}} {
		t.Run(c.catalog, func(t *testing.T) {
			cat, err := catalog.Embedded(c.catalog)
			if err != nil {
				t.Fatal(err)
			}
			f := newFleet(t, reg, c.rules)
			var sets []feature.FeatureSet
			for _, n := range realHosts {
				if _, err := f.Add(n, snaps[n]); err != nil {
					t.Fatal(err)
				}
				a, err := check.Compute(reg, snaps[n], c.rules, core.KVM)
				if err != nil {
					t.Fatal(err)
				}
				sets = append(sets, a.Set)
			}
			mt, _ := cat.Newest("pc-q35")
			names, reqs := modelReqs(t, cat, mt.Name, false)
			m := f.Judge(reqs)
			if m.Hosts() != len(realHosts) || m.Reqs() != len(reqs) {
				t.Fatalf("matrix is %d×%d, want %d×%d", m.Hosts(), m.Reqs(), len(realHosts), len(reqs))
			}
			runs, blocked := 0, 0
			for h := range realHosts {
				n := 0
				for r := range reqs {
					want := reqs[r].Difference(sets[h]).IsEmpty()
					if got := m.Runs(h, r); got != want {
						t.Errorf("%s on %s: Runs %v, want %v", names[r], realHosts[h], got, want)
					}
					if want {
						n++
						runs++
					} else {
						blocked++
					}
				}
				if got := m.CountRuns(h); got != n {
					t.Errorf("%s: CountRuns %d, want %d", realHosts[h], got, n)
				}
			}
			// Real data must exercise both verdicts.
			if runs == 0 || blocked == 0 {
				t.Fatalf("%d runnable and %d blocked verdicts: the data does not test Judge", runs, blocked)
			}
			all := []int32{0, 1, 2, 3}
			for r := range reqs {
				bs := f.Blockers(reqs[r], all)
				j := 0
				for h := range realHosts {
					if m.Runs(h, r) {
						continue
					}
					if j >= len(bs) || bs[j].Host != h || bs[j].Missing != reqs[r].Difference(sets[h]) {
						t.Fatalf("%s: Blockers %v disagree with the matrix at host %s", names[r], bs, realHosts[h])
					}
					j++
				}
				if j != len(bs) {
					t.Fatalf("%s: %d blockers, want %d", names[r], len(bs), j)
				}
			}
		})
	}
}

// TestJudgeEveryWord: random sets over all 640 bits (the words plugins'
// features use too) and requirement counts around the 64-bit row words.
func TestJudgeEveryWord(t *testing.T) {
	reg := feature.Builtin()
	rng := rand.New(rand.NewPCG(1, 2))
	randSet := func(density int) feature.FeatureSet {
		var s feature.FeatureSet
		for id := range feature.Capacity {
			if rng.IntN(100) < density {
				s = s.Add(feature.ID(id))
			}
		}
		return s
	}
	for _, nreq := range []int{0, 1, 63, 64, 65, 130} {
		f := newFleet(t, reg, core.Release{Major: 10, Minor: 0})
		var hosts []feature.FeatureSet
		for i := range 7 {
			h := randSet(97)
			hosts = append(hosts, h)
			if _, err := f.AddSet(string(rune('a'+i)), "GenuineIntel", h); err != nil {
				t.Fatal(err)
			}
		}
		var reqs []feature.FeatureSet
		for r := range nreq {
			q := randSet(1)
			if r%3 == 0 {
				q = q.Intersect(hosts[r%len(hosts)]) // runnable on at least that host
			}
			reqs = append(reqs, q)
		}
		m := f.Judge(reqs)
		for h := range hosts {
			for r := range reqs {
				if got, want := m.Runs(h, r), reqs[r].SubsetOf(hosts[h]); got != want {
					t.Fatalf("%d reqs: host %d req %d: got %v, want %v", nreq, h, r, got, want)
				}
			}
		}
	}
}

func TestAddErrors(t *testing.T) {
	reg := feature.Builtin()
	if _, err := fleet.New(reg, core.Release{Major: 6, Minor: 0}); err == nil {
		t.Fatal("New accepted QEMU release 6.0")
	}
	f := newFleet(t, reg, core.Release{Major: 10, Minor: 0})
	if _, err := f.AddSet("a", "AuthenticAMD", feature.FeatureSet{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.AddSet("a", "AuthenticAMD", feature.FeatureSet{}); err == nil {
		t.Fatal("a host name added twice")
	}
	noKVM := &host.HostSnapshot{Schema: host.Schema, Source: host.SourceCPUIDDump, KVMError: "not probed"}
	if _, err := f.Add("b", noKVM); err == nil {
		t.Fatal("a snapshot without KVM data was added")
	}
}

// TestRequirementsIgnoreVendor pins what lets one required set serve
// hosts of every vendor: under kvm QEMU gives a model the host's vendor,
// and that changes no feature bit, on any model or machine type.
func TestRequirementsIgnoreVendor(t *testing.T) {
	for _, name := range []string{"qemu-7.2", "qemu-10.0"} {
		cat, err := catalog.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		if !cat.KVMVendorFromHost() {
			t.Fatalf("%s: KVMVendorFromHost is false: the vendor question does not arise", name)
		}
		for _, mt := range cat.Machines() {
			models := cat.Models()
			for i := range models {
				m := models[i].Name
				amd, err := cat.Resolve(m, mt.Name, core.KVM, "AuthenticAMD")
				if err != nil {
					t.Fatal(err)
				}
				intel, _ := cat.Resolve(m, mt.Name, core.KVM, "GenuineIntel")
				if amd.Features != intel.Features {
					t.Fatalf("%s %s on %s: the host's vendor changes the features", name, m, mt.Name)
				}
				// A model without a vendor (base) keeps none.
				if (amd.Vendor != "AuthenticAMD" || intel.Vendor != "GenuineIntel") && (amd.Vendor != "" || intel.Vendor != "") {
					t.Fatalf("%s %s on %s: the guest sees %q and %q, not its host's vendor", name, m, mt.Name, amd.Vendor, intel.Vendor)
				}
			}
		}
	}
}
