package export

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/labels"
)

// KubeVirtConfig is the configuration fragment of a KubeVirt CR for a
// pool (spec.configuration.cpuModel and obsoleteCPUModels), and, for each
// model the pool runs whose libvirt definition asks for features QEMU's
// does not and not every host has, the features to disable for it (what
// KubeVirt hard-codes, or a site keeps, per model). Its JSON keys are a
// contract.
type KubeVirtConfig struct {
	*Judged
	// CPUModel is the best model node-labeller labels on every host, so
	// that VMs with it schedule anywhere in the pool.
	CPUModel          string          `json:"cpu_model"`
	ObsoleteCPUModels map[string]bool `json:"obsolete_cpu_models"`
	// FeaturesToDisable maps a model the pool runs to the libvirt
	// features to disable so that libvirt starts it on every host.
	FeaturesToDisable map[string][]string `json:"features_to_disable"`
	Reasons           []string            `json:"reasons"`
}

// KubeVirt computes the pool's KubeVirt configuration. obsolete is the
// CR's obsoleteCPUModels (nil: KubeVirt's default list).
func KubeVirt(j *Judged, obsolete []string) (*KubeVirtConfig, error) {
	m := j.in.Map
	if m == nil {
		return nil, fmt.Errorf("kubevirt: libvirt's CPU map is needed (node-labeller reads it)")
	}
	if obsolete == nil {
		obsolete = labels.KubeVirtObsolete
	}
	k := &KubeVirtConfig{Judged: j, ObsoleteCPUModels: map[string]bool{}, FeaturesToDisable: map[string][]string{}}
	for _, o := range obsolete {
		k.ObsoleteCPUModels[o] = true
	}
	reg := j.in.Catalog.Registry()
	// The models node-labeller labels on every host.
	everywhere := map[string]int{}
	for _, h := range j.in.Pool.Hosts {
		a, err := h.Availability(reg, j.in.Release, "kvm")
		if err != nil {
			return nil, err
		}
		n, err := labels.KubeVirt(labels.KubeVirtInput{Host: h.Name, Catalog: j.in.Catalog, Machine: j.Machine,
			Snapshot: h.Snapshot, Avail: a, Map: m, Obsolete: obsolete})
		if err != nil {
			return nil, err
		}
		for l := range n.Labels {
			if name, ok := strings.CutPrefix(l, labels.KubeVirtModel); ok {
				everywhere[name]++
			}
		}
	}
	var cands []fleet.Candidate
	for m := range j.in.Catalog.AllModels() {
		if everywhere[m.Name] == len(j.in.Pool.Hosts) {
			cands = append(cands, fleet.Candidate{Name: m.Name, Set: j.feats[m.Name], Generation: fleet.Generation(m.Base), Version: m.Version, Deprecated: m.Deprecated})
		}
	}
	best, _ := fleet.Baseline(cands, j.hostSet)
	if best < 0 {
		return nil, fmt.Errorf("kubevirt: node-labeller labels no model on every host of pool %s", j.Pool)
	}
	k.CPUModel = cands[best].Name
	k.Reasons = append(k.Reasons, fmt.Sprintf("best model of the pool: %s; the best node-labeller labels on every host: %s", j.Best, k.CPUModel))
	for _, r := range j.Runnable {
		lm, ok := m.Model(r)
		if !ok || slices.Contains(obsolete, r) {
			continue
		}
		// What libvirt's definition asks that QEMU's does not give and
		// some host lacks: catalog import libvirt's model diffed with
		// QEMU's, less what the pool has.
		gap := lm.Set.Difference(j.feats[r]).Difference(j.common)
		if gap.IsEmpty() {
			continue
		}
		dis, missing := libvirtNames(reg, m, gap)
		if len(missing) > 0 {
			k.Reasons = append(k.Reasons, fmt.Sprintf("%s: libvirt's definition asks for %s, which libvirt has no names for", r, join(missing)))
		}
		k.FeaturesToDisable[r] = dis
		k.Reasons = append(k.Reasons, fmt.Sprintf("%s runs on every host by QEMU's definition; libvirt's also asks for %s: disable them", r, join(dis)))
	}
	return k, nil
}

// Text is the KubeVirt CR with the configuration, and the features to
// disable as VM spec fragments in comments.
func (k *KubeVirtConfig) Text() []byte {
	var b bytes.Buffer
	k.writeComment(&b, "kubevirt", k.Reasons)
	b.WriteString("apiVersion: kubevirt.io/v1\nkind: KubeVirt\nmetadata:\n  name: kubevirt\n  namespace: kubevirt\nspec:\n  configuration:\n")
	fmt.Fprintf(&b, "    cpuModel: %q\n", k.CPUModel)
	b.WriteString("    obsoleteCPUModels:\n")
	obs := make([]string, 0, len(k.ObsoleteCPUModels))
	for o := range k.ObsoleteCPUModels {
		obs = append(obs, o)
	}
	sort.Strings(obs)
	for _, o := range obs {
		fmt.Fprintf(&b, "      %q: %v\n", o, k.ObsoleteCPUModels[o])
	}
	models := make([]string, 0, len(k.FeaturesToDisable))
	for m := range k.FeaturesToDisable {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		fmt.Fprintf(&b, "# a VM with model %s on this pool: spec.template.spec.domain.cpu:\n#   model: %q\n#   features:\n", m, m)
		for _, f := range k.FeaturesToDisable[m] {
			fmt.Fprintf(&b, "#   - name: %q\n#     policy: disable\n", f)
		}
	}
	return b.Bytes()
}
