package libvirt

import (
	"errors"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// QEMU is what libvirt's QEMU driver asks of the QEMU binary before it
// builds -cpu (qemuProcessUpdateGuestCPU), from its capabilities.
type QEMU struct {
	// HasModel says whether QEMU defines a CPU model
	// (query-cpu-definitions).
	HasModel func(name string) bool
	// HasFeature says whether QEMU's x86 CPU has a property of that
	// (QEMU) name.
	HasFeature func(name string) bool
}

// DropUnknown is qemuProcessDropUnknownCPUFeatures: a disabled or
// forbidden feature QEMU does not know is off anyway, so libvirt leaves
// it out of -cpu rather than have QEMU refuse the unknown property
// (libvirt's cpu-fallback test: EPYC-Milan's ibrs=off and
// svme-addr-chk=off vanish for QEMU 5.2). Required ones stay, for QEMU
// to refuse.
func (c *CPU) DropUnknown(reg *feature.Registry, q QEMU) {
	out := c.Features[:0]
	for _, f := range c.Features {
		if (f.Policy == "disable" || f.Policy == "forbid") && !q.HasFeature(reg.Name(f.ID)) {
			continue
		}
		out = append(out, f)
	}
	c.Features = out
}

// Translate is libvirt's virCPUTranslate for a custom <cpu>, which its
// QEMU driver runs before building -cpu (qemuProcessUpdateGuestCPU):
// known says which models the hypervisor has (query-cpu-definitions).
// A model QEMU has, and every other mode, is left alone. Otherwise
// <model fallback='forbid'> is libvirt's error "CPU model X is not
// supported by hypervisor", and fallback='allow' (the default) names the
// same CPU by the closest model QEMU has (virCPUx86Translate): the
// model's features with the domain's required and forced ones added and
// its disabled and forbidden ones removed, the model's vendor and first
// signature, decoded as x86Decode decodes a guest CPU; then each of the
// domain's features is put back with its policy (virCPUDefUpdateFeature).
// It reports whether the model changed.
func (c *CPU) Translate(m *Map, known func(model string) bool) (bool, error) {
	if c.Mode != "custom" || c.Model == "" || known(c.Model) {
		return false, nil
	}
	if c.Fallback != "allow" {
		return false, errorf(c.Pos, "CPU model %s is not supported by hypervisor", c.Model)
	}
	if m == nil {
		return false, errorf(c.Pos, "CPU model %s is not supported by hypervisor, and translating it (fallback='allow') needs libvirt's CPU map", c.Model)
	}
	lm, ok := m.Model(c.Model)
	if !ok {
		return false, errorf(c.Pos, "Unknown CPU model %s", c.Model)
	}
	data := lm.Set
	for _, f := range c.Features {
		mf, ok := m.Feature(f.Name)
		if !ok {
			continue
		}
		switch f.Policy {
		case "require", "force":
			data = data.Union(mf.IDs)
		case "disable", "forbid":
			data = data.Difference(mf.IDs)
		}
	}
	var sig *Signature
	if len(lm.Signatures) > 0 {
		sig = &lm.Signatures[0]
	}
	best, err := m.decodeGuest(data, lm.Vendor, sig, known)
	if err != nil {
		return false, errorf(c.Pos, "CPU model %s: %v", c.Model, err)
	}
	out := best.features
	for _, f := range c.Features {
		i := indexFeature(out, f.Name)
		if i < 0 {
			out = append(out, f)
			continue
		}
		out[i].Policy = f.Policy
	}
	c.Translated, c.Model, c.Features = c.Model, best.model, out
	return true, nil
}

func indexFeature(fs []CPUFeature, name string) int {
	for i := range fs {
		if fs[i].Name == name {
			return i
		}
	}
	return -1
}

// guestCandidate is one model x86Decode weighs: the features to require
// on top of it and to disable from it, libvirt's feature names in the
// map's order.
type guestCandidate struct {
	model    string
	features []CPUFeature
	sig      bool
	enabled  int // required features
	disabled int // libvirt's penalty for the disabled ones
}

// basePenalty is libvirt's BASE_PENALTY: the first disabled feature of a
// guest CPU costs 2, the next 3, and so on
// (virCPUx86CompareCandidateFeatureList).
const basePenalty = 2

// decodeGuest names data by a model of the map the way libvirt's
// x86Decode does for a guest CPU: models newest first (the map's order
// reversed), only those the hypervisor has and that may name a guest
// CPU, of the data's vendor when both have one; a model whose
// signatures match beats one whose do not; then the lower cost wins
// (each required feature 1, disabled ones the rising penalty), a tie
// going to fewer disabled; else the newer model stays.
func (m *Map) decodeGuest(data feature.FeatureSet, vendor string, sig *Signature, known func(string) bool) (*guestCandidate, error) {
	var best *guestCandidate
	for i := len(m.Models) - 1; i >= 0; i-- {
		lm := &m.Models[i]
		if !known(lm.Name) || !lm.DecodeGuest {
			continue
		}
		if vendor != "" && lm.Vendor != "" && lm.Vendor != vendor {
			continue
		}
		cand := m.guestCandidate(lm, data)
		cand.sig = sig != nil && lm.matches(sig)
		if best == nil {
			best = cand
			continue
		}
		if sig != nil && best.sig != cand.sig {
			if cand.sig {
				best = cand
			}
			continue
		}
		cost, bestCost := cand.enabled+cand.disabled, best.enabled+best.disabled
		if cost < bestCost || cost == bestCost && cand.disabled < best.disabled {
			best = cand
		}
	}
	if best == nil {
		return nil, errors.New("Cannot find suitable CPU model for given data") // libvirt's words
	}
	return best, nil
}

// guestCandidate is what naming data by lm takes: libvirt's
// x86DataToCPU, each map feature wholly in data and not in the model
// required, each wholly in the model and not in data disabled.
func (m *Map) guestCandidate(lm *Model, data feature.FeatureSet) *guestCandidate {
	c := &guestCandidate{model: lm.Name}
	plus, minus := data.Difference(lm.Set), lm.Set.Difference(data)
	var req, dis []CPUFeature
	for i := range m.Features {
		f := &m.Features[i]
		if f.IDs.IsEmpty() {
			continue
		}
		switch {
		case f.IDs.SubsetOf(plus):
			plus = plus.Difference(f.IDs)
			req = append(req, CPUFeature{Policy: "require", Name: f.Name, ID: first(f.IDs)})
		case f.IDs.SubsetOf(minus):
			minus = minus.Difference(f.IDs)
			dis = append(dis, CPUFeature{Policy: "disable", Name: f.Name, ID: first(f.IDs)})
		}
	}
	c.enabled = len(req)
	for k := range dis {
		c.disabled += basePenalty + k
	}
	c.features = append(req, dis...)
	return c
}

func first(s feature.FeatureSet) feature.ID {
	for id := range s.All() {
		return id
	}
	return 0
}

// matches is libvirt's virCPUx86SignaturesMatch for the CPU a signature
// stands for: the same family and model, and the stepping among the
// model's (any, when it names none). A signature stands for its lowest
// stepping.
func (lm *Model) matches(s *Signature) bool {
	stepping := 0
	for stepping < 16 && s.Steppings != 0 && s.Steppings&(1<<uint(stepping)) == 0 {
		stepping++
	}
	for _, o := range lm.Signatures {
		if o.Family == s.Family && o.Model == s.Model && (o.Steppings == 0 || o.Steppings&(1<<uint(stepping)) != 0) {
			return true
		}
	}
	return false
}
