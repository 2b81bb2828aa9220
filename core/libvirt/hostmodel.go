package libvirt

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Decoded is the CPU libvirt's host-model mode gives a guest on a
// host: a model of libvirt's CPU map and the features that make up the
// difference.
type Decoded struct {
	Model string
	// Plus are the host's features the model lacks; Minus the model's
	// features the host lacks.
	Plus, Minus feature.FeatureSet
}

// HostModel names the host's CPU by a model of the map, the way libvirt's
// x86Decode does for the host-model CPU (a guest CPU definition):
//
//   - only features the map knows and marks migratable count (host-model
//     guests are migratable: invtsc and xsaves are left out);
//   - candidates are the models with <decode guest='on'> (the default)
//     whose vendor, if any, is the host's, and that QEMU has
//     (Host.Usable);
//   - a model whose signature is the host's beats one whose is not;
//     then the one needing fewer features added or removed wins; a tie
//     keeps the earlier model in the map's order.
func (m *Map) HostModel(h *Host) (*Decoded, error) {
	var known feature.FeatureSet
	for i := range m.Features {
		if m.Features[i].Migratable {
			known = known.Union(m.Features[i].IDs)
		}
	}
	host := h.Features.Intersect(known)
	var best *Decoded
	bestN, bestSig := 0, false
	for i := range m.Models {
		lm := &m.Models[i]
		if !lm.DecodeGuest || (h.Usable != nil && !h.Usable(lm.Name)) {
			continue
		}
		if lm.Vendor != "" {
			if v, ok := m.Vendor(lm.Vendor); !ok || v.String != h.Vendor {
				continue
			}
		}
		plus, minus := host.Difference(lm.Set), lm.Set.Difference(host)
		n := plus.Count() + minus.Count()
		sig := false
		for _, s := range lm.Signatures {
			if s.Family == h.Family && s.Model == h.Model && (s.Steppings == 0 || s.Steppings&(1<<uint(h.Stepping&15)) != 0) {
				sig = true
			}
		}
		if best == nil || (sig && !bestSig) || (sig == bestSig && n < bestN) {
			best = &Decoded{Model: lm.Name, Plus: plus, Minus: minus}
			bestN, bestSig = n, sig
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no model of libvirt's CPU map can name a %q CPU", h.Vendor)
	}
	return best, nil
}

// hostModel is the host-model CPU as -cpu options: the model, then
// NAME=on for each added feature and NAME=off for each removed one, in
// the registry's canonical order.
func (h *Host) hostModel(reg *feature.Registry) ([]string, error) {
	if h.Map == nil {
		return nil, fmt.Errorf("libvirt's CPU map is needed")
	}
	hm, err := h.Map.HostModel(h)
	if err != nil {
		return nil, err
	}
	out := []string{hm.Model}
	for id := range hm.Plus.All() {
		out = append(out, reg.Name(id)+"=on")
	}
	for id := range hm.Minus.All() {
		out = append(out, reg.Name(id)+"=off")
	}
	return out, nil
}
