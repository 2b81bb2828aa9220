package site

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/fleetgen"
)

// writeFleet writes a generated fleet of n hosts (fleetgen.Realistic,
// from the recorded hosts with KVM data) to a directory, one file each.
func writeFleet(t testing.TB, n int) (dir string, hosts []fleetgen.Host) {
	t.Helper()
	reg := feature.Builtin()
	rel := core.Release{Major: 10, Minor: 0}
	var bases []*fleetgen.Base
	for _, h := range []string{"xeon-gold-6130", "core-i7-8550u", "epyc-7502-32-core"} {
		b, err := fleetgen.LoadBase(filepath.Join("..", "testdata", "hosts", h+".json"), reg, rel)
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, b)
	}
	hosts, err := fleetgen.Generate(bases, n, fleetgen.Realistic(n, 3, reg), reg)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for _, h := range hosts {
		data, err := h.Snap.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, h.Name+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, hosts
}

// TestFleetParsesDistinctHostsOnce: a fleet parses each distinct snapshot
// (the same but for hostname and time) once, and every host still gets
// what its own snapshot offers.
func TestFleetParsesDistinctHostsOnce(t *testing.T) {
	const n = 600
	dir, hosts := writeFleet(t, n)
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	reg := cat.Registry()
	rel := core.Release{Major: 10, Minor: 0}
	distinct := map[string]bool{}
	for _, h := range hosts {
		data, _ := h.Snap.Marshal()
		anon, _, ok := host.AppendAnonymous(nil, data)
		if !ok {
			t.Fatalf("%s: not anonymised", h.Name)
		}
		distinct[string(anon)] = true
	}
	if len(distinct) >= n/2 {
		t.Fatalf("the generated fleet has %d distinct hosts of %d: too few repeats to test", len(distinct), n)
	}
	var parses atomic.Int64
	parse := func(name string, data []byte) (*host.HostSnapshot, error) {
		parses.Add(1)
		return host.Parse(name, data, reg)
	}
	files, err := FleetFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := cat.Newest("pc-q35")
	r, err := JudgeFleet(FleetInput{Catalog: cat, Release: rel, Machines: []string{mt.Name}, Files: files, Parse: parse})
	if err != nil {
		t.Fatal(err)
	}
	if got := int(parses.Load()); got != len(distinct) {
		t.Errorf("parsed %d times for %d distinct snapshots of %d hosts", got, len(distinct), n)
	}
	if r.Hosts != n || r.f.Distinct() > len(distinct) {
		t.Errorf("%d hosts, %d distinct sets; want %d hosts, at most %d sets", r.Hosts, r.f.Distinct(), n, len(distinct))
	}
	for _, h := range hosts {
		i, ok := r.f.Lookup(h.Name)
		if !ok {
			t.Fatalf("host %s is missing", h.Name)
		}
		a, err := check.Compute(reg, h.Snap, rel, core.KVM)
		if err != nil {
			t.Fatal(err)
		}
		if r.f.Avail(i) != a.Set || r.f.Vendor(i) != h.Snap.Vendor {
			t.Errorf("host %s: the fleet's set or vendor is not its snapshot's", h.Name)
		}
	}
}

// TestFleetBadFileAmongTwins: a broken file whose twins parse is still an
// error naming it, the first in file order.
func TestFleetBadFileAmongTwins(t *testing.T) {
	dir, _ := writeFleet(t, 50)
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	files, err := FleetFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	bad := files[len(files)/2].Path
	data, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	// The same file but for a malformed time: its twins' parse must not
	// stand in for it.
	broken := strings.Replace(string(data), `"probed_at": "`, `"probed_at": "x`, 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(name string, data []byte) (*host.HostSnapshot, error) {
		return host.Parse(name, data, cat.Registry())
	}
	mt, _ := cat.Newest("pc-q35")
	_, err = JudgeFleet(FleetInput{Catalog: cat, Release: core.Release{Major: 10, Minor: 0}, Machines: []string{mt.Name}, Files: files, Parse: parse})
	if err == nil || !strings.HasPrefix(err.Error(), bad+":") || !strings.Contains(err.Error(), "probed_at") {
		t.Errorf("error %v, want one naming %s and its probed_at", err, bad)
	}
}

// BenchmarkReadHosts: reading a generated 10,000-host fleet from disk
// (fleetgen.Realistic, three bases: at most 228 distinct
// snapshots), per host.
func BenchmarkReadHosts(b *testing.B) {
	dir, _ := writeFleet(b, 10000)
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		b.Fatal(err)
	}
	reg := cat.Registry()
	files, err := FleetFiles([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	parse := func(name string, data []byte) (*host.HostSnapshot, error) { return host.Parse(name, data, reg) }
	b.ResetTimer()
	for range b.N {
		if _, err := readHosts(files, parse, reg, core.Release{Major: 10, Minor: 0}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(files)), "ns/host")
}
