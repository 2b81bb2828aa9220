// Package fleet holds many hosts compactly and judges CPU models on all of
// them at once: what `cpupolicy fleet` runs before a QEMU upgrade or a
// hardware purchase.
//
// A [Fleet] keeps, for each host, only what a verdict needs: its name, its
// CPUID vendor (interned) and the [feature.FeatureSet] a guest can get
// there under KVM, as [check.Compute] decides for the fleet's QEMU
// release, interned too: fleets repeat themselves (a few hundred distinct
// CPU, kernel and KVM combinations over tens of thousands of hosts), so
// the fleet keeps one set per distinct host with a count, and a host is a
// name and two small indexes. The snapshot itself is not kept, so a loaded
// host costs about a hundred bytes whatever the size of its snapshot. Hosts are numbered in
// the order added; a group of them (a site's pool) is a slice of indexes.
//
// A verdict is a subset test of two 640-bit sets: a model on a machine
// type is runnable on a host when the features it resolves to are all in
// what the host offers. [Fleet.Judge] computes the whole hosts ×
// requirements [Matrix]. The required set of a (model, machine type)
// comes from [catalog.Catalog.Features]: under kvm QEMU gives a named
// model the host's vendor, but that changes only the vendor string the
// guest sees, never the feature bits, so one required set serves hosts
// of every vendor. The vendor matters to migration instead (a guest
// cannot move between hosts that show it different vendors), which is
// why hosts keep theirs.
//
// [Baseline] picks, among [Candidate] models, the best one every host
// runs by the best-model rule ([Rank]: no model another contains, then
// the later generation in QEMU's definitions, then the higher version,
// never a deprecated one while another qualifies) and the next better
// one: the choice `cpupolicy baseline`, `cpupolicy fleet` and `cpupolicy
// labels` report; [CatalogBaseline] makes that choice among a catalog's
// models for a few hosts, as a [BaselineReport].
package fleet

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Fleet is a set of hosts judged with one QEMU release's rules under KVM.
// The zero value is not usable; call [New].
type Fleet struct {
	reg *feature.Registry
	rel core.Release

	// Per host, by index (columns, so that the verdict loop reads only
	// the sets).
	set    []uint32 // index into sets
	names  []string
	vendor []uint16 // index into vendors

	// The distinct availability sets, each with its number of hosts.
	sets   []feature.FeatureSet
	counts []int32
	setIx  map[feature.FeatureSet]uint32

	vendors  []string
	vendorIx map[string]uint16
	byName   map[string]int32
}

// New returns an empty fleet whose hosts are judged with QEMU release
// rel's rules (see [check.Compute]) and registry reg.
func New(reg *feature.Registry, rel core.Release) (*Fleet, error) {
	// Fail now, not on the first host.
	if _, err := check.Compute(reg, nil, rel, core.TCG); err != nil {
		return nil, err
	}
	return &Fleet{reg: reg, rel: rel, vendorIx: map[string]uint16{}, byName: map[string]int32{}, setIx: map[feature.FeatureSet]uint32{}}, nil
}

// Release returns the QEMU release whose rules judge the hosts.
func (f *Fleet) Release() core.Release { return f.rel }

// Add computes what snapshot s offers a KVM guest and adds it as the host
// named name, returning its index. Nothing of s is kept but its vendor.
// Names are unique.
func (f *Fleet) Add(name string, s *host.HostSnapshot) (int, error) {
	if _, dup := f.byName[name]; dup {
		return 0, fmt.Errorf("host %s: added twice", name)
	}
	a, err := check.Compute(f.reg, s, f.rel, core.KVM)
	if err != nil {
		return 0, fmt.Errorf("host %s: %w", name, err)
	}
	return f.AddSet(name, s.Vendor, a.Set)
}

// AddSet adds a host by what it offers a KVM guest, avail, and its CPUID
// vendor, returning its index.
func (f *Fleet) AddSet(name, vendor string, avail feature.FeatureSet) (int, error) {
	if _, dup := f.byName[name]; dup {
		return 0, fmt.Errorf("host %s: added twice", name)
	}
	v, ok := f.vendorIx[vendor]
	if !ok {
		if len(f.vendors) == 1<<16 {
			return 0, fmt.Errorf("host %s: more than %d vendors", name, 1<<16)
		}
		v = uint16(len(f.vendors))
		f.vendors = append(f.vendors, vendor)
		f.vendorIx[vendor] = v
	}
	d, ok := f.setIx[avail]
	if !ok {
		d = uint32(len(f.sets))
		f.sets = append(f.sets, avail)
		f.counts = append(f.counts, 0)
		f.setIx[avail] = d
	}
	f.counts[d]++
	i := len(f.names)
	f.set = append(f.set, d)
	f.names = append(f.names, name)
	f.vendor = append(f.vendor, v)
	f.byName[name] = int32(i)
	return i, nil
}

// Len returns the number of hosts.
func (f *Fleet) Len() int { return len(f.names) }

// Name returns host i's name.
func (f *Fleet) Name(i int) string { return f.names[i] }

// Vendor returns host i's CPUID vendor string.
func (f *Fleet) Vendor(i int) string { return f.vendors[f.vendor[i]] }

// Avail returns what host i offers a KVM guest.
func (f *Fleet) Avail(i int) feature.FeatureSet { return f.sets[f.set[i]] }

// Distinct returns the number of distinct availability sets among the
// hosts.
func (f *Fleet) Distinct() int { return len(f.sets) }

// DistinctSet returns distinct availability set d (0 ≤ d < Distinct())
// and how many hosts offer it.
func (f *Fleet) DistinctSet(d int) (feature.FeatureSet, int) { return f.sets[d], int(f.counts[d]) }

// Lookup returns the index of the host named name.
func (f *Fleet) Lookup(name string) (int, bool) {
	i, ok := f.byName[name]
	return int(i), ok
}

// Common returns the features every one of hosts offers: the
// intersection of their sets (the empty set for no hosts). A requirement
// runs on every one of them exactly when it is a subset of it.
func (f *Fleet) Common(hosts []int32) feature.FeatureSet {
	if len(hosts) == 0 {
		return feature.FeatureSet{}
	}
	c := f.Avail(int(hosts[0]))
	last := f.set[hosts[0]]
	for _, h := range hosts[1:] {
		if d := f.set[h]; d != last { // runs of one set are common
			c = c.Intersect(f.sets[d])
			last = d
		}
	}
	return c
}

// Vendors returns the distinct vendors of hosts, in order of first
// appearance.
func (f *Fleet) Vendors(hosts []int32) []string {
	var seen []uint16
	var out []string
	for _, h := range hosts {
		v := f.vendor[h]
		known := false
		for _, s := range seen {
			known = known || s == v
		}
		if !known {
			seen = append(seen, v)
			out = append(out, f.vendors[v])
		}
	}
	return out
}

// Blocker is a host that lacks some of a requirement's features.
type Blocker struct {
	Host    int
	Missing feature.FeatureSet
}

// Blockers returns the hosts among hosts that do not offer all of req,
// with what each lacks, in the order of hosts.
func (f *Fleet) Blockers(req feature.FeatureSet, hosts []int32) []Blocker {
	var out []Blocker
	for _, h := range hosts {
		if m := req.Difference(f.Avail(int(h))); !m.IsEmpty() {
			out = append(out, Blocker{int(h), m})
		}
	}
	return out
}
