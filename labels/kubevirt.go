package labels

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

// KubeVirt's node label keys (kubevirt.io/api/core/v1: CPUModelLabel,
// SupportedHostModelMigrationCPU, CPUFeatureLabel, HostModelCPULabel,
// HostModelRequiredFeaturesLabel, CPUModelVendorLabel,
// NodeHostModelIsObsoleteLabel).
const (
	KubeVirtModel          = "cpu-model.node.kubevirt.io/"
	KubeVirtMigration      = "cpu-model-migration.node.kubevirt.io/"
	KubeVirtFeature        = "cpu-feature.node.kubevirt.io/"
	KubeVirtHostModel      = "host-model-cpu.node.kubevirt.io/"
	KubeVirtHostRequired   = "host-model-required-features.node.kubevirt.io/"
	KubeVirtVendor         = "cpu-vendor.node.kubevirt.io/"
	KubeVirtObsoleteHostML = "node-labeller.kubevirt.io/obsolete-host-model"
)

// KubeVirtObsolete is KubeVirt's default list of obsolete CPU models
// (pkg/virt-handler/node-labeller/util: DefaultObsoleteCPUModels), which
// its node-labeller never labels; a KubeVirt CR's obsoleteCPUModels
// replaces it.
var KubeVirtObsolete = []string{
	"486", "486-v1", "pentium", "pentium-v1", "pentium2", "pentium2-v1", "pentium3", "pentium3-v1",
	"pentiumpro", "pentiumpro-v1", "coreduo", "coreduo-v1", "n270", "n270-v1", "core2duo", "core2duo-v1",
	"Conroe", "Conroe-v1", "athlon", "athlon-v1", "phenom", "phenom-v1", "qemu64", "qemu64-v1",
	"qemu32", "qemu32-v1", "kvm64", "kvm64-v1", "kvm32", "kvm32-v1", "Opteron_G1", "Opteron_G1-v1",
	"Opteron_G2", "Opteron_G2-v1",
}

// KubeVirtInput is the host to label the way KubeVirt's node-labeller
// does, and the libvirt CPU map that labeller reads.
type KubeVirtInput struct {
	// Host names the host in the file's header.
	Host    string
	Catalog *catalog.Catalog
	// Machine is the machine type the models are judged on under kvm.
	Machine string
	// Snapshot is the host's; Avail what kvm gives a guest there.
	Snapshot *host.HostSnapshot
	Avail    *check.Availability
	// Map is libvirt's CPU map (node-labeller copies
	// /usr/share/libvirt/cpu_map).
	Map *libvirt.Map
	// Obsolete are the models never labelled; nil is KubeVirtObsolete.
	Obsolete []string
	// HostModel, when set, is libvirt's host-model CPU as the host's
	// libvirt reported it (virsh domcapabilities); nil computes it with
	// LibvirtHostModel.
	HostModel *HostModel
	Expiry    time.Time
}

// HostModel is libvirt's host-model CPU for a host: a model of its CPU
// map and the features libvirt lists beside it.
type HostModel struct {
	Model    string
	Vendor   string   // the map's vendor name ("Intel"), "" when unknown
	Required []string // libvirt names, sorted
	Disabled []string
}

// LibvirtHostModel picks libvirt's host-model CPU for a host whose guest
// can have avail, with CPUID vendor string vendor and signature
// family/model/stepping, the way libvirt's x86Decode does
// (src/cpu/cpu_x86.c): it walks the map's models newest first, skips a
// model of another vendor, and keeps a candidate over the current pick
// when its signature matches the host's and the current's does not, or,
// signatures alike, when it lists fewer features (each required feature
// counts 1, the k-th disabled one 1+k, x86DecodeUseCandidate's
// penalty), ties going to fewer disabled features. Features are the
// map's whose bits are all in avail. libvirt also drops models QEMU does
// not have, which a map and a QEMU of one distribution never hit.
func LibvirtHostModel(m *libvirt.Map, avail feature.FeatureSet, vendor string, family, model, stepping int) HostModel {
	var have []string
	hostVendor := ""
	for _, v := range m.Vendors {
		if v.String == vendor {
			hostVendor = v.Name
		}
	}
	for _, f := range m.Features {
		if !f.IDs.IsEmpty() && f.IDs.SubsetOf(avail) {
			have = append(have, f.Name)
		}
	}
	sort.Strings(have)
	var best *HostModel
	bestCost, bestDisabled, bestSig := 0, 0, false
	for i := len(m.Models) - 1; i >= 0; i-- {
		lm := &m.Models[i]
		if hostVendor != "" && lm.Vendor != "" && lm.Vendor != hostVendor {
			continue
		}
		c := HostModel{Model: lm.Name, Vendor: hostVendor}
		for _, f := range have {
			if _, ok := slices.BinarySearch(lm.Features, f); !ok {
				c.Required = append(c.Required, f)
			}
		}
		cost, penalty, disabled := len(c.Required), 2, 0
		for _, f := range lm.Features {
			if _, ok := slices.BinarySearch(have, f); !ok {
				c.Disabled = append(c.Disabled, f)
				cost += penalty
				disabled += penalty
				penalty++
			}
		}
		sig := signatureMatches(lm.Signatures, family, model, stepping)
		better := best == nil
		switch {
		case best == nil:
		case bestSig && !sig:
		case !bestSig && sig:
			better = true
		default:
			better = cost < bestCost || cost == bestCost && disabled < bestDisabled
		}
		if better {
			best, bestCost, bestDisabled, bestSig = &c, cost, disabled, sig
		}
	}
	if best == nil {
		return HostModel{}
	}
	return *best
}

func signatureMatches(sigs []libvirt.Signature, family, model, stepping int) bool {
	for _, s := range sigs {
		if s.Family == family && s.Model == model && (s.Steppings == 0 || stepping >= 0 && stepping < 16 && s.Steppings&(1<<stepping) != 0) {
			return true
		}
	}
	return false
}

// KubeVirt returns the CPU labels KubeVirt's node-labeller
// (pkg/virt-handler/node-labeller: prepareLabels and
// shouldAddCPUModelLabel in node_labeller.go, loadDomCapabilities in
// cpu_plugin.go) would put on the host, from cpupolicy's verdicts instead
// of libvirt's:
//
//   - cpu-feature.node.kubevirt.io/F for each libvirt feature F of the
//     host-model CPU expanded (what `virsh hypervisor-cpu-baseline
//     --features` lists with policy require): the map's features the host
//     gives a guest;
//   - cpu-model.node.kubevirt.io/M and cpu-model-migration…/M for each
//     model M the host runs (libvirt's usable='yes', here the catalog's
//     verdict on Machine under kvm) that is not obsolete, and is the
//     host-model or has a file x86_M.xml in the CPU map all of whose
//     <feature> elements (removed ones too, as node-labeller reads them)
//     are cpu-feature labels;
//   - cpu-model-migration…/H for the host-model H unless obsolete, and
//     node-labeller.kubevirt.io/obsolete-host-model when it is;
//   - host-model-cpu…/H, host-model-required-features…/F for each
//     feature the host-model requires, cpu-vendor…/V.
//
// node-labeller's other labels (Hyper-V, TSC frequency, SEV, realtime,
// KSM) say nothing about CPU models and are not made.
func KubeVirt(in KubeVirtInput) (*Node, error) {
	n := &Node{Host: in.Host, Catalog: in.Catalog.Name(), Machine: in.Machine, Accel: string(core.KVM),
		Labels: map[string]string{}, Shortened: map[string]string{}}
	if !in.Expiry.IsZero() {
		n.ExpiryTime = in.Expiry.UTC().Format(time.RFC3339)
	}
	if in.Avail == nil || in.Avail.Accel != core.KVM {
		return nil, fmt.Errorf("KubeVirt labels judge under kvm")
	}
	obsolete := in.Obsolete
	if obsolete == nil {
		obsolete = KubeVirtObsolete
	}
	isObsolete := func(m string) bool { return slices.Contains(obsolete, m) }
	vendor, family, model, stepping := "", 0, 0, -1
	if s := in.Snapshot; s != nil {
		vendor, family, model, stepping = s.Vendor, s.Family, s.Model, s.Stepping
	}
	// libvirt's host-model CPU, and so node-labeller's features, come
	// from QEMU's expansion of "host".
	avail := in.Avail.HostModel()
	var hm HostModel
	if in.HostModel != nil {
		hm = *in.HostModel
	} else if hm = LibvirtHostModel(in.Map, avail, vendor, family, model, stepping); hm.Model == "" {
		return nil, fmt.Errorf("no model of libvirt's CPU map fits host %s", in.Host)
	}
	// node-labeller's features are the host-model CPU expanded (`virsh
	// hypervisor-cpu-baseline --features`): its model's, plus the
	// required, minus the disabled.
	lm, ok := in.Map.Model(hm.Model)
	if !ok {
		return nil, fmt.Errorf("host-model %s is not a model of libvirt's CPU map", hm.Model)
	}
	features := map[string]bool{}
	for _, f := range append(slices.Clone(lm.Features), hm.Required...) {
		features[f] = true
	}
	for _, f := range hm.Disabled {
		delete(features, f)
	}
	for f := range features {
		n.putKey(KubeVirtFeature+f, "true")
	}
	catModels := in.Catalog.Models()
	for i := range catModels {
		m := &catModels[i]
		req, err := in.Catalog.Features(m.Name, in.Machine, core.KVM)
		if err != nil {
			return nil, err
		}
		if !req.SubsetOf(in.Avail.Set) || isObsolete(m.Name) {
			continue
		}
		if m.Name != hm.Model && !mapFeaturesPresent(in.Map, m.Name, features) {
			continue
		}
		n.putKey(KubeVirtModel+m.Name, "true")
		n.putKey(KubeVirtMigration+m.Name, "true")
	}
	if isObsolete(hm.Model) {
		n.putKey(KubeVirtObsoleteHostML, "true")
	} else {
		n.putKey(KubeVirtMigration+hm.Model, "true")
	}
	for _, f := range hm.Required {
		n.putKey(KubeVirtHostRequired+f, "true")
	}
	if hm.Vendor != "" {
		n.putKey(KubeVirtVendor+hm.Vendor, "true")
	}
	n.putKey(KubeVirtHostModel+hm.Model, "true")
	return n, nil
}

// mapFeaturesPresent is node-labeller's test for a model other than the
// host-model: the CPU map has the model (x86_M.xml) and every feature
// its file lists is labelled. A model's file lists its own features and
// those marked removed, not an ancestor's.
func mapFeaturesPresent(m *libvirt.Map, name string, labelled map[string]bool) bool {
	lm, ok := m.Model(name)
	if !ok {
		return false
	}
	var inherited []string
	if a, ok := m.Model(lm.Ancestor); ok && lm.Ancestor != "" {
		inherited = a.Features
	}
	for _, f := range append(slices.Clone(lm.Features), lm.Removed...) {
		if slices.Contains(inherited, f) {
			continue
		}
		if !labelled[f] {
			return false
		}
	}
	return true
}

// putKey sets a label whose name is a full key (KubeVirt's namespaces),
// shortening the part after the "/" as put does.
func (n *Node) putKey(key, value string) {
	ns, name := "", key
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '/' {
			ns, name = key[:i+1], key[i+1:]
			break
		}
	}
	pn := Part(name)
	if pn != name {
		n.Shortened[ns+pn] = name
	}
	n.Labels[ns+pn] = value
}

// HostModelOf is the host-model CPU of a domcapabilities document, as
// node-labeller reads it (its model, vendor and required features) plus
// the disabled ones. Feature names the map and registry do not know are
// kept among the required: node-labeller labels names, not bits.
func HostModelOf(dc *libvirt.DomainCaps) (*HostModel, error) {
	h := dc.HostModel
	if h == nil {
		return nil, fmt.Errorf("no supported host-model CPU")
	}
	hm := &HostModel{Model: h.Model, Vendor: h.Vendor}
	for _, f := range append(slices.Clone(h.Features), h.Unknown...) {
		list := &hm.Required
		if f.Policy == "disable" {
			list = &hm.Disabled
		}
		if !slices.Contains(*list, f.Name) {
			*list = append(*list, f.Name)
		}
	}
	return hm, nil
}

// ReadFiles fills in what `labels --style kubevirt` takes from files:
// Map from libvirt's CPU map in mapDir and, when hostModelFrom is not "",
// HostModel from that domcapabilities file (what the host's libvirt
// reported). Catalog must be set: its registry names the features.
func (in *KubeVirtInput) ReadFiles(mapDir, hostModelFrom string) error {
	reg := in.Catalog.Registry()
	m, err := libvirt.LoadMap(mapDir, reg)
	if err != nil {
		return err
	}
	in.Map = m
	if hostModelFrom == "" {
		return nil
	}
	data, err := os.ReadFile(hostModelFrom)
	if err != nil {
		return err
	}
	dc, err := libvirt.ParseDomainCaps(hostModelFrom, data, m, reg)
	if err != nil {
		return err
	}
	if in.HostModel, err = HostModelOf(dc); err != nil {
		return fmt.Errorf("%s: %v", hostModelFrom, err)
	}
	return nil
}
