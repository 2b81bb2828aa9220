package export

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// NovaConfig is the [libvirt] section of nova.conf for a pool
// (nova/conf/libvirt.py): cpu_mode custom, cpu_models the libvirt models
// the pool runs from least to most advanced, as Nova expects them, and
// cpu_model_extra_flags the features of the pool's best model the last
// of them lacks. Its JSON keys are a contract.
type NovaConfig struct {
	*Judged
	CPUMode    string   `json:"cpu_mode"`
	CPUModels  []string `json:"cpu_models"`
	ExtraFlags []string `json:"cpu_model_extra_flags"`
	Reasons    []string `json:"reasons"`
}

// Nova computes the pool's nova.conf [libvirt] options. A model is
// listed when it is in libvirt's CPU map (Nova accepts only those
// names), it names the pool's vendor (a model naming none only when no
// model of the vendor fits), every host runs QEMU's definition of it,
// and libvirt's own definition asks nothing the pool lacks (libvirt
// checks it against the host); the list goes from the fewest
// features to the most, map order breaking ties. Extra flags carry the
// pool to its best model, where libvirt names the features.
func Nova(j *Judged) (*NovaConfig, error) {
	m := j.in.Map
	if m == nil {
		return nil, fmt.Errorf("nova: libvirt's CPU map is needed (Nova names libvirt's models)")
	}
	n := &NovaConfig{Judged: j, CPUMode: "custom", CPUModels: []string{}, ExtraFlags: []string{}}
	type cand struct {
		name string
		size int
	}
	var cands []cand
	// Generic models (qemu64, kvm64, 486…) name no vendor: they are
	// listed only for a pool that runs no model of its vendor.
	for _, generic := range []bool{false, true} {
		for i := range m.Models {
			lm := &m.Models[i]
			switch {
			case !j.runs(lm.Name) || (lm.Vendor == "") != generic || !j.vendorOK(m, lm.Vendor):
				continue
			case !j.mapModelGap(lm).IsEmpty():
				n.Reasons = append(n.Reasons, fmt.Sprintf("%s left out: QEMU's definition runs on every host, libvirt's asks for %s, which not every host has",
					lm.Name, join(j.in.Catalog.Registry().Names(j.mapModelGap(lm)))))
				continue
			}
			cands = append(cands, cand{lm.Name, j.feats[lm.Name].Count()})
		}
		if len(cands) > 0 {
			if generic {
				n.Reasons = append(n.Reasons, "no model of the pool's vendor runs on every host: generic models only")
			}
			break
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("nova: no model of libvirt's CPU map runs on every host of pool %s", j.Pool)
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].size < cands[b].size })
	for _, c := range cands {
		n.CPUModels = append(n.CPUModels, c.name)
	}
	last := n.CPUModels[len(n.CPUModels)-1]
	reg := j.in.Catalog.Registry()
	extra := j.feats[j.Best].Difference(j.feats[last])
	names, missing := libvirtNames(reg, m, extra)
	n.ExtraFlags = append(n.ExtraFlags, names...)
	n.Reasons = append(n.Reasons, fmt.Sprintf("best model of the pool: %s; the richest libvirt model: %s", j.Best, last))
	if len(missing) > 0 {
		n.Reasons = append(n.Reasons, fmt.Sprintf("%s has %s beyond %s, which libvirt names not: the extra flags cannot carry them", j.Best, join(missing), last))
	}
	if lost := j.feats[last].Difference(j.feats[j.Best]); !lost.IsEmpty() {
		n.Reasons = append(n.Reasons, fmt.Sprintf("%s has %s, which %s lacks", last, join(reg.Names(lost)), j.Best))
	}
	return n, nil
}

// Text is the [libvirt] section, with the reasons as comments.
func (n *NovaConfig) Text() []byte {
	var b bytes.Buffer
	n.writeComment(&b, "nova", n.Reasons)
	b.WriteString("[libvirt]\n")
	fmt.Fprintf(&b, "cpu_mode = %s\n", n.CPUMode)
	fmt.Fprintf(&b, "cpu_models = %s\n", strings.Join(n.CPUModels, ","))
	fmt.Fprintf(&b, "cpu_model_extra_flags = %s\n", strings.Join(n.ExtraFlags, ","))
	return b.Bytes()
}
