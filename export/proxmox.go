package export

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// proxmoxModels are the models a Proxmox VE custom CPU may report
// (qemu-server PVE/QemuServer/CPUConfig.pm: the keys of
// $cpu_vendor_list, the enum of "reported-model"), without the generic
// host, max, kvm32/64 and qemu32/64.
var proxmoxModels = []string{
	"486", "pentium", "pentium2", "pentium3", "coreduo", "core2duo", "Conroe", "Penryn",
	"Nehalem", "Nehalem-IBRS", "Westmere", "Westmere-IBRS", "SandyBridge", "SandyBridge-IBRS",
	"IvyBridge", "IvyBridge-IBRS", "Haswell", "Haswell-IBRS", "Haswell-noTSX", "Haswell-noTSX-IBRS",
	"Broadwell", "Broadwell-IBRS", "Broadwell-noTSX", "Broadwell-noTSX-IBRS",
	"Skylake-Client", "Skylake-Client-IBRS", "Skylake-Client-noTSX-IBRS",
	"Skylake-Server", "Skylake-Server-IBRS", "Skylake-Server-noTSX-IBRS",
	"Cascadelake-Server", "Cascadelake-Server-noTSX", "KnightsMill", "Icelake-Server", "Icelake-Server-noTSX",
	"athlon", "phenom", "Opteron_G1", "Opteron_G2", "Opteron_G3", "Opteron_G4", "Opteron_G5",
	"EPYC", "EPYC-IBPB", "EPYC-Rome", "EPYC-Milan",
}

// proxmoxID is PVE's pve-configid format, which a section id must match.
// It is compiled on first use: compiling at package init cost every
// command, `cpupolicy -h` included, a dozen page faults (regexp's code
// and heap) for the one that exports to Proxmox.
var proxmoxID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]+$`) })

// ProxmoxConfig is a section of Proxmox VE's
// /etc/pve/virtual-guest/cpu-models.conf (a PVE::SectionConfig file):
// a custom CPU model "cpu-model: NAME" whose reported-model and flags
// give the pool's best model, and phys-bits the fewest physical address
// bits of its hosts. VMs use it as cpu: custom-NAME. Its JSON keys are a
// contract.
type ProxmoxConfig struct {
	*Judged
	Name          string   `json:"name"`
	ReportedModel string   `json:"reported_model"`
	Flags         []string `json:"flags"`
	// PhysBits is 0 when a host's snapshot has no raw CPUID to read it
	// from.
	PhysBits int      `json:"phys_bits,omitempty"`
	Reasons  []string `json:"reasons"`
}

// Proxmox computes the pool's custom CPU model: the reported model is the
// Proxmox model every host runs closest to the best model (fewest
// differing bits), the flags (QEMU names, "+" to add, "-" to remove) make
// it the best model.
func Proxmox(j *Judged) (*ProxmoxConfig, error) {
	name := "cpupolicy-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(j.Pool, "-"))
	if !proxmoxID().MatchString(name) {
		return nil, fmt.Errorf("proxmox: pool name %q makes no section id", j.Pool)
	}
	p := &ProxmoxConfig{Judged: j, Name: name, Flags: []string{}}
	var cands []string
	for _, m := range proxmoxModels {
		if j.runs(m) {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("proxmox: no model Proxmox can report runs on every host of pool %s", j.Pool)
	}
	best := j.feats[j.Best]
	p.ReportedModel = j.closest(cands, best)
	reg := j.in.Catalog.Registry()
	rep := j.feats[p.ReportedModel]
	for id := range best.Difference(rep).All() {
		p.Flags = append(p.Flags, "+"+reg.Name(id))
	}
	for id := range rep.Difference(best).All() {
		p.Flags = append(p.Flags, "-"+reg.Name(id))
	}
	p.Reasons = append(p.Reasons, fmt.Sprintf("best model of the pool: %s, as %s with %d flags", j.Best, p.ReportedModel, len(p.Flags)))
	bits := 0
	for _, h := range j.in.Pool.Hosts {
		b := 0
		if h.Snapshot != nil {
			if l, ok := h.Snapshot.Leaves().Find(0x80000008, 0); ok {
				b = int(l.EAX & 0xff)
			}
		}
		if b == 0 {
			p.Reasons = append(p.Reasons, fmt.Sprintf("phys-bits left out: host %s's snapshot has no CPUID leaf 0x80000008", h.Name))
			bits = 0
			break
		}
		if bits == 0 || b < bits {
			bits = b
		}
	}
	p.PhysBits = bits
	return p, nil
}

// Text is the section, with the reasons as comments (SectionConfig
// skips lines starting with #).
func (p *ProxmoxConfig) Text() []byte {
	var b bytes.Buffer
	p.writeComment(&b, "proxmox", p.Reasons)
	fmt.Fprintf(&b, "cpu-model: %s\n", p.Name)
	if len(p.Flags) > 0 {
		fmt.Fprintf(&b, "\tflags %s\n", strings.Join(p.Flags, ";"))
	}
	if p.PhysBits > 0 {
		fmt.Fprintf(&b, "\tphys-bits %d\n", p.PhysBits)
	}
	fmt.Fprintf(&b, "\treported-model %s\n", p.ReportedModel)
	return b.Bytes()
}

// ProxmoxModels returns the models a Proxmox custom CPU may report.
func ProxmoxModels() []string { return slices.Clone(proxmoxModels) }
