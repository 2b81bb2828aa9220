package export

import (
	"bytes"
	"fmt"
	"strings"
)

// LibvirtFeature is a <feature policy='…' name='…'/> of LibvirtConfig.
type LibvirtFeature struct {
	Policy string `json:"policy"`
	Name   string `json:"name"`
}

// LibvirtConfig is a domain's <cpu mode='custom' match='exact'
// check='partial'> that gives a guest the pool's best model: a model of
// libvirt's CPU map with the features that make QEMU's definition of it
// the best model's (require) or take away what the best model lacks or
// libvirt's definition asks beyond the pool (disable). Its JSON keys are
// a contract.
type LibvirtConfig struct {
	*Judged
	Model    string           `json:"model"`
	Features []LibvirtFeature `json:"features"`
	Reasons  []string         `json:"reasons"`
}

// Libvirt computes the pool's <cpu>: of the map's models every host runs
// with its vendor, the one closest to the best model.
func Libvirt(j *Judged) (*LibvirtConfig, error) {
	m := j.in.Map
	if m == nil {
		return nil, fmt.Errorf("libvirt: libvirt's CPU map is needed (libvirt names the models)")
	}
	var cands []string
	for i := range m.Models {
		lm := &m.Models[i]
		if _, ok := j.feats[lm.Name]; ok && j.vendorOK(m, lm.Vendor) {
			cands = append(cands, lm.Name)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("libvirt: no model of libvirt's CPU map is in catalog %s", j.Catalog)
	}
	best := j.feats[j.Best]
	c := &LibvirtConfig{Judged: j, Model: j.closest(cands, best), Features: []LibvirtFeature{}}
	reg := j.in.Catalog.Registry()
	lm, _ := m.Model(c.Model)
	qemu := j.feats[c.Model]
	require, missing := libvirtNames(reg, m, best.Difference(qemu))
	// Disable what QEMU's definition has beyond the best model, and what
	// libvirt's own definition asks that not every host has (libvirt
	// checks its definition against the host).
	disable, missing2 := libvirtNames(reg, m, qemu.Difference(best).Union(j.mapModelGap(lm)))
	if missing = append(missing, missing2...); len(missing) > 0 {
		return nil, fmt.Errorf("libvirt: %s and %s differ in %s, which libvirt has no names for", c.Model, j.Best, join(missing))
	}
	for _, f := range require {
		c.Features = append(c.Features, LibvirtFeature{"require", f})
	}
	for _, f := range disable {
		c.Features = append(c.Features, LibvirtFeature{"disable", f})
	}
	c.Reasons = append(c.Reasons, fmt.Sprintf("best model of the pool: %s, as libvirt's %s with %d features", j.Best, c.Model, len(c.Features)))
	return c, nil
}

// Text is the <cpu> element, preceded by an XML comment with the reasons.
func (c *LibvirtConfig) Text() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- cpupolicy export libvirt: pool %s (%s), catalog %s, machine %s, kvm.\n", c.Pool, strings.Join(c.Hosts, " "), c.Catalog, c.Machine)
	for _, r := range c.Reasons {
		fmt.Fprintf(&b, "     %s\n", strings.ReplaceAll(r, "--", "- -"))
	}
	b.WriteString("-->\n")
	b.WriteString("<cpu mode='custom' match='exact' check='partial'>\n")
	fmt.Fprintf(&b, "  <model fallback='forbid'>%s</model>\n", c.Model)
	for _, f := range c.Features {
		fmt.Fprintf(&b, "  <feature policy='%s' name='%s'/>\n", f.Policy, f.Name)
	}
	b.WriteString("</cpu>\n")
	return b.Bytes()
}
