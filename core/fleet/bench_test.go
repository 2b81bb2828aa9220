package fleet_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/fleetgen"
)

// benchMachines are the two machine types the benchmarks judge models on.
var benchMachines = []string{"pc-q35-10.0", "pc-i440fx-10.0"}

// genHosts makes n realistic hosts from the recorded ones.
func genHosts(b *testing.B, reg *feature.Registry, n int) []fleetgen.Host {
	var bases []*fleetgen.Base
	for _, name := range realHosts {
		base, err := fleetgen.LoadBase(filepath.Join("..", "..", "testdata", "hosts", name+".json"), reg, core.Release{Major: 10, Minor: 0})
		if err != nil {
			b.Fatal(err)
		}
		bases = append(bases, base)
	}
	hosts, err := fleetgen.Generate(bases, n, fleetgen.Realistic(n, 1, reg), reg)
	if err != nil {
		b.Fatal(err)
	}
	return hosts
}

// benchReqs is every model of the default catalog on both machine types.
func benchReqs(b *testing.B) []feature.FeatureSet {
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		b.Fatal(err)
	}
	var reqs []feature.FeatureSet
	for _, mt := range benchMachines {
		_, r := modelReqs(b, cat, mt, false)
		reqs = append(reqs, r...)
	}
	return reqs
}

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkVerdicts judges every model of qemu-10.0 (aliases too) on
// two machine types on 10,000 generated hosts: one op is the whole
// matrix. verdicts/s is (host, requirement) verdicts per second.
func BenchmarkVerdicts(b *testing.B) {
	reg := feature.Builtin()
	hosts := genHosts(b, reg, 10000)
	f := newFleet(b, reg, core.Release{Major: 10, Minor: 0})
	for _, h := range hosts {
		if _, err := f.Add(h.Name, h.Snap); err != nil {
			b.Fatal(err)
		}
	}
	reqs := benchReqs(b)
	m := f.Judge(reqs)
	runs := 0
	for h := range m.Hosts() {
		runs += m.CountRuns(h)
	}
	b.ResetTimer()
	for b.Loop() {
		f.JudgeInto(m, reqs)
	}
	verdicts := float64(f.Len()) * float64(len(reqs)) * float64(b.N)
	b.ReportMetric(verdicts/b.Elapsed().Seconds(), "verdicts/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/verdicts, "ns/verdict")
	b.ReportMetric(float64(runs)/float64(f.Len()*len(reqs)), "runnable-fraction")
}

// BenchmarkLoad reads N generated snapshots (their JSON, as the fleet
// command reads files) into a fleet: host.Parse, check.Compute and Add.
// B/host is the live heap the loaded fleet holds per host (HeapAlloc
// after GC, with the JSON and snapshots gone); ns/host shows whether load
// time is linear in N.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			if testing.Short() && n > 10000 {
				b.Skip("100,000 hosts take a while: run without -short")
			}
			reg := feature.Builtin()
			hosts := genHosts(b, reg, n)
			data := make([][]byte, n)
			names := make([]string, n)
			for i, h := range hosts {
				var err error
				if data[i], err = h.Snap.Marshal(); err != nil {
					b.Fatal(err)
				}
				names[i] = h.Name
			}
			hosts = nil
			var perHost float64
			var cpu time.Duration
			b.ResetTimer()
			for b.Loop() {
				before := heap()
				cpu0 := cpuTime()
				f := newFleet(b, reg, core.Release{Major: 10, Minor: 0})
				for i := range data {
					s, err := host.Parse(names[i], data[i], reg)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := f.Add(names[i], s); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				cpu += cpuTime() - cpu0
				perHost = float64(heap()-before) / float64(n)
				runtime.KeepAlive(f)
				b.StartTimer()
			}
			b.ReportMetric(perHost, "B/host")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/host")
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*b.N), "cpu-ns/host")
		})
	}
}

// TestMemoryPerHost keeps the goal of at most 2 KiB per loaded host
// (measured, not timed): a thousand generated hosts, the snapshots
// dropped.
func TestMemoryPerHost(t *testing.T) {
	reg := feature.Builtin()
	var bases []*fleetgen.Base
	for _, name := range realHosts {
		base, err := fleetgen.LoadBase(filepath.Join("..", "..", "testdata", "hosts", name+".json"), reg, core.Release{Major: 10, Minor: 0})
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, base)
	}
	hosts, err := fleetgen.Generate(bases, 1000, fleetgen.Realistic(1000, 2, reg), reg)
	if err != nil {
		t.Fatal(err)
	}
	sets := make([]feature.FeatureSet, len(hosts))
	for i, h := range hosts {
		a, err := fleet.New(reg, core.Release{Major: 10, Minor: 0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Add(h.Name, h.Snap); err != nil {
			t.Fatal(err)
		}
		sets[i] = a.Avail(0)
	}
	names := make([]string, len(hosts))
	vendors := make([]string, len(hosts))
	for i, h := range hosts {
		names[i], vendors[i] = h.Name, h.Snap.Vendor
	}
	hosts = nil
	before := heap()
	f := newFleet(t, reg, core.Release{Major: 10, Minor: 0})
	for i := range sets {
		if _, err := f.AddSet(names[i], vendors[i], sets[i]); err != nil {
			t.Fatal(err)
		}
	}
	per := float64(heap()-before) / float64(len(sets))
	runtime.KeepAlive(f)
	runtime.KeepAlive(sets) // else freed during the measurement
	runtime.KeepAlive(names)
	runtime.KeepAlive(vendors)
	t.Logf("%.0f bytes per loaded host", per)
	if per > 2048 {
		t.Errorf("%.0f bytes per loaded host, want at most 2048", per)
	}
}

// BenchmarkBaseline picks the baseline of every model of qemu-10.0 on
// one machine type for 10,000 generated hosts: what `cpupolicy fleet`
// does per pool and machine type.
func BenchmarkBaseline(b *testing.B) {
	reg := feature.Builtin()
	hosts := genHosts(b, reg, 10000)
	f := newFleet(b, reg, core.Release{Major: 10, Minor: 0})
	sets := make([]feature.FeatureSet, len(hosts))
	for i, h := range hosts {
		j, err := f.Add(h.Name, h.Snap)
		if err != nil {
			b.Fatal(err)
		}
		sets[i] = f.Avail(j)
	}
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		b.Fatal(err)
	}
	cands, err := fleet.Candidates(cat, benchMachines[0], core.KVM)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		fleet.Baseline(cands, sets)
	}
}
