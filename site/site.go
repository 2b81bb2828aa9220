// Package site holds what a site declares and how it is judged, in plain
// Go: the [Offer]s it makes its users (a -cpu spec on a machine type under
// an accelerator, in a [Pool]), the pools of [Host]s they run on, the
// [Waiver]s of the violations it accepts, and the [Verdict] on an offer
// over hosts that every command shares — the built-in policies runnable
// and migration-safe (through starlib's verdict builtin), `fleet` and
// `labels`.
//
// Package starlib loads site files (site.star) and waiver files into
// these types and wraps them as Starlark values; this package imports no
// Starlark. [JudgeFleet] judges a site's pools and offers over a fleet of
// hosts and writes the `fleet` report (text, JSON, HTML).
package site

import (
	"fmt"
	"sync"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Site is what a site offers its users and where.
type Site struct {
	Offers []Offer
	Pools  []Pool
}

// Offer is a CPU configuration a site offers on a pool of hosts.
type Offer struct {
	Name string
	// CPU is a -cpu spec: "Haswell-v4,+pcid,-hle".
	CPU string
	// Machine is a machine type name; "" means the newest pc-q35.
	Machine string
	// Pool names the pool it runs on; "" for none.
	Pool string
	// Accel is "kvm" or "tcg"; "" means kvm.
	Accel string
	// Source is where the offer is declared, "file:line:col" (the
	// offer() call of a site file), or "": reports point at it.
	Source string
}

// Pool is a named set of hosts.
type Pool struct {
	Name  string
	Hosts []*Host
}

// Host is a host of a site: the name it is reported under and its
// snapshot. What it makes available to a guest is computed once per
// QEMU release and accelerator, so the policies of one run share it.
// A Host is safe to share between goroutines.
type Host struct {
	Name     string
	Snapshot *host.HostSnapshot

	mu    sync.Mutex
	avail map[availKey]availResult
}

type availKey struct {
	reg   *feature.Registry
	rel   core.Release
	accel core.Accel
}

type availResult struct {
	a   *check.Availability
	err error
}

// NewHost returns the host named name (the snapshot's hostname when name
// is "") whose snapshot is s.
func NewHost(name string, s *host.HostSnapshot) *Host {
	if name == "" {
		name = s.Hostname
	}
	return &Host{Name: name, Snapshot: s}
}

// Availability returns what QEMU release rel lets a guest have on h
// under accel (check.Compute over registry reg); an error names the host.
func (h *Host) Availability(reg *feature.Registry, rel core.Release, accel core.Accel) (*check.Availability, error) {
	if accel != core.KVM && accel != core.TCG {
		return nil, fmt.Errorf("accel: got %q, want \"kvm\" or \"tcg\"", accel)
	}
	k := availKey{reg, rel, accel}
	h.mu.Lock()
	defer h.mu.Unlock()
	res, ok := h.avail[k]
	if !ok {
		res.a, res.err = check.Compute(reg, h.Snapshot, rel, accel)
		if res.err != nil {
			res.err = fmt.Errorf("host %s: %v", h.Name, res.err)
		}
		if h.avail == nil {
			h.avail = map[availKey]availResult{}
		}
		h.avail[k] = res
	}
	return res.a, res.err
}
