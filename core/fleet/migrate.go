package fleet

import (
	"slices"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// HostModelGuest returns the features a guest started with QEMU's `-cpu
// host` (libvirt's host-passthrough; host-model expands to the same bits
// under kvm) gets on host i: what QEMU and KVM give a guest there, the
// fleet's availability. It is the one seam between migration and how a
// host-model guest is resolved: `-cpu host` never turns on topoext or
// kvm-hint-dedicated by itself (check's notInHostModel), but QEMU sets
// both on every host under kvm, so leaving them in changes no answer.
func (f *Fleet) HostModelGuest(i int) feature.FeatureSet { return f.Avail(i) }

// Class is a migratability class: hosts that show a guest the same CPUID
// vendor and make the same features available, so each can take the others'
// host-model guests. Classes are numbered in order of their first host.
type Class struct {
	Vendor string
	// Set is what every host of the class makes available, and so what a
	// host-model guest started on one of them has.
	Set   feature.FeatureSet
	Hosts []int
}

// Classes groups hosts into migratability classes, in order of first
// appearance.
func (f *Fleet) Classes(hosts []int32) []Class {
	type key struct {
		vendor uint16
		set    feature.FeatureSet
	}
	ix := map[key]int{}
	var out []Class
	for _, h := range hosts {
		k := key{f.vendor[h], f.HostModelGuest(int(h))}
		c, ok := ix[k]
		if !ok {
			c = len(out)
			ix[k] = c
			out = append(out, Class{Vendor: f.vendors[k.vendor], Set: k.set})
		}
		out[c].Hosts = append(out[c].Hosts, int(h))
	}
	return out
}

// Move is whether a host-model guest of one class can live-migrate to
// the hosts of another: it can when they show the same vendor and make
// every feature the guest has available. Missing is what they lack of it.
type Move struct {
	To          int // index of the target class
	OK          bool
	OtherVendor bool
	Missing     feature.FeatureSet
}

// Moves returns, for each class, where its host-model guests can go: one
// Move per other class, in class order. A guest can always move within
// its class.
func Moves(classes []Class) [][]Move {
	out := make([][]Move, len(classes))
	for i := range classes {
		from := &classes[i]
		for j := range classes {
			if i == j {
				continue
			}
			to := &classes[j]
			m := Move{To: j, OtherVendor: from.Vendor != to.Vendor, Missing: from.Set.Difference(to.Set)}
			m.OK = !m.OtherVendor && m.Missing.IsEmpty()
			out[i] = append(out[i], m)
		}
	}
	return out
}

// Targets returns the hosts a host-model guest of host i can live-migrate
// to among hosts (i itself left out), in the order of hosts.
func (f *Fleet) Targets(i int, hosts []int32) []int {
	g, v := f.HostModelGuest(i), f.vendor[i]
	var out []int
	for _, h := range hosts {
		if int(h) != i && f.vendor[h] == v && g.SubsetOf(f.Avail(int(h))) {
			out = append(out, int(h))
		}
	}
	return slices.Clip(out)
}
