// Package export writes a pool's verdicts in the configuration language of
// the platform that runs it: Nova's [libvirt] section ([NovaConfig]),
// Proxmox VE's cpu-models.conf ([ProxmoxConfig]), a libvirt domain's
// <cpu> ([LibvirtConfig]) and KubeVirt's CR fragment with the features
// to disable where libvirt's CPU map and QEMU disagree
// ([KubeVirtConfig]). Each is computed from one [Judged] pool — the
// models every host of the pool runs under kvm on one machine type and
// the best of them as fleet.Baseline picks it, the rule `fleet` and
// `baseline` use — and carries its reasons; each marshals as
// `cpupolicy export --format json` and writes its file with Text.
package export

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/site"
)

// Input is the pool to export and what to judge it with.
type Input struct {
	Catalog *catalog.Catalog
	// Release is the QEMU release whose rules judge the hosts.
	Release core.Release
	// Machine is the machine type the models are judged on, under kvm.
	Machine string
	Pool    site.Pool
	// Map is libvirt's CPU map, which Nova, libvirt and KubeVirt name
	// models and features from (nil for Proxmox, which names QEMU's).
	Map *libvirt.Map
}

// Judged is a pool judged for export.
type Judged struct {
	Pool    string   `json:"pool"`
	Catalog string   `json:"catalog"`
	Machine string   `json:"machine"`
	Hosts   []string `json:"hosts"`
	// Vendors are the hosts' CPU vendors, sorted, without repeats.
	Vendors []string `json:"vendors"`
	// Runnable are the catalog's models (aliases too) every host runs,
	// in catalog order; Best is the best versioned one (fleet.Baseline).
	Runnable []string `json:"runnable_models"`
	Best     string   `json:"best_model"`

	in      Input
	common  feature.FeatureSet // what every host gives a guest
	hostSet []feature.FeatureSet
	// feats caches each model's features on Machine under kvm.
	feats map[string]feature.FeatureSet
}

// Judge judges in.Pool: what every host gives a guest under kvm and the
// models that fit.
func Judge(in Input) (*Judged, error) {
	if len(in.Pool.Hosts) == 0 {
		return nil, fmt.Errorf("pool %s has no hosts", in.Pool.Name)
	}
	j := &Judged{Pool: in.Pool.Name, Catalog: in.Catalog.Name(), Machine: in.Machine, Runnable: []string{}, in: in,
		feats: map[string]feature.FeatureSet{}}
	reg := in.Catalog.Registry()
	vendors := map[string]bool{}
	for i, h := range in.Pool.Hosts {
		a, err := h.Availability(reg, in.Release, core.KVM)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			j.common = a.Set
		}
		j.common = j.common.Intersect(a.Set)
		j.hostSet = append(j.hostSet, a.Set)
		j.Hosts = append(j.Hosts, h.Name)
		if h.Snapshot != nil && h.Snapshot.Vendor != "" {
			vendors[h.Snapshot.Vendor] = true
		}
	}
	for v := range vendors {
		j.Vendors = append(j.Vendors, v)
	}
	sort.Strings(j.Vendors)
	var cands []fleet.Candidate
	for m := range in.Catalog.AllModels() {
		f, err := in.Catalog.Features(m.Name, in.Machine, core.KVM)
		if err != nil {
			return nil, err
		}
		j.feats[m.Name] = f
		if f.SubsetOf(j.common) {
			j.Runnable = append(j.Runnable, m.Name)
		}
		if m.AliasOf == "" {
			cands = append(cands, fleet.Candidate{Name: m.Name, Set: f, Generation: fleet.Generation(m.Base), Version: m.Version, Deprecated: m.Deprecated})
		}
	}
	best, _ := fleet.Baseline(cands, j.hostSet)
	if best < 0 {
		return nil, fmt.Errorf("pool %s: no model of %s runs on every host on %s", in.Pool.Name, j.Catalog, in.Machine)
	}
	j.Best = cands[best].Name
	return j, nil
}

// runs reports whether every host runs the catalog model name.
func (j *Judged) runs(name string) bool {
	f, ok := j.feats[name]
	return ok && f.SubsetOf(j.common)
}

// libvirtNames are the libvirt names of s's features, sorted, and the
// features of s that have none.
func libvirtNames(reg *feature.Registry, m *libvirt.Map, s feature.FeatureSet) (names []string, missing []string) {
	byID := map[feature.ID]string{}
	if m != nil {
		for _, f := range m.Features {
			if f.IDs.Count() == 1 {
				for id := range f.IDs.All() {
					if _, dup := byID[id]; !dup {
						byID[id] = f.Name
					}
				}
			}
		}
	}
	for id := range s.All() {
		n := byID[id]
		if n == "" {
			n = reg.Feature(id).Libvirt
		}
		if n == "" {
			missing = append(missing, reg.Name(id))
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, missing
}

// mapModelGap is what libvirt's definition of the map model lm asks of
// the pool beyond what every host has (empty when it fits): libvirt
// checks its own definition against the host, not QEMU's.
func (j *Judged) mapModelGap(lm *libvirt.Model) feature.FeatureSet {
	return lm.Set.Difference(j.common)
}

// vendorOK reports whether a libvirt model of vendor v (a map vendor
// name, "" for none) fits the pool: libvirt refuses a model of another
// vendor than the host's.
func (j *Judged) vendorOK(m *libvirt.Map, v string) bool {
	if v == "" {
		return true
	}
	mv, ok := m.Vendor(v)
	if !ok {
		return false
	}
	for _, hv := range j.Vendors {
		if hv != mv.String {
			return false
		}
	}
	return len(j.Vendors) > 0
}

// closest returns, of the candidate model names, the one whose features
// differ from want in the fewest bits (the first of equals).
func (j *Judged) closest(cands []string, want feature.FeatureSet) string {
	best, bestN := "", 0
	for _, c := range cands {
		n := j.feats[c].SymmetricDifference(want).Count()
		if best == "" || n < bestN {
			best, bestN = c, n
		}
	}
	return best
}

func join(s []string) string { return strings.Join(s, ", ") }

// writeComment opens a '#'-commented export (kubevirt, nova, proxmox):
// what was exported, from which pool, catalog and machine type, and why.
func (j *Judged) writeComment(b *bytes.Buffer, format string, reasons []string) {
	fmt.Fprintf(b, "# cpupolicy export %s: pool %s (%s), catalog %s, machine %s, kvm\n", format, j.Pool, strings.Join(j.Hosts, " "), j.Catalog, j.Machine)
	for _, r := range reasons {
		fmt.Fprintf(b, "# %s\n", r)
	}
}
