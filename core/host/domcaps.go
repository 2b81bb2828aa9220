package host

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

// maxImport bounds what is read of an imported file: a domcapabilities
// document is under 100 KiB, a Node object a few hundred KiB.
const maxImport = 16 << 20

// FromDomCapabilities builds a snapshot from `virsh domcapabilities`
// output (libvirt's view of one QEMU and KVM on the host): its kvm layer
// is the host-model CPU, expanded with libvirt's CPU map m the way `virsh
// hypervisor-cpu-baseline --features` expands it (the model's features,
// plus those required, minus those disabled). Like QEMU's host
// expansion, from which libvirt makes it, it says nothing of the raw
// CPUID (hw) or the kernel (os). Feature names neither m nor the
// registry knows are left out and named in the snapshot's kvm_error.
// The <model usable='…'> list is not kept: it is the verdict of that
// QEMU on one machine type, which cpupolicy recomputes for any catalog.
func FromDomCapabilities(name string, r io.Reader, reg *feature.Registry, m *libvirt.Map, now time.Time) (*HostSnapshot, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImport+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(data) > maxImport {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxImport)
	}
	dc, err := libvirt.ParseDomainCaps(name, data, m, reg)
	if err != nil {
		return nil, err
	}
	h := dc.HostModel
	if h == nil {
		return nil, fmt.Errorf("%s: no supported host-model CPU (a %q domain): libvirt reported nothing a guest can get", name, dc.Domain)
	}
	set, err := h.Set(m)
	if err != nil {
		return nil, err
	}
	s := newSnapshot(SourceDomCapabilities, now, nil)
	s.Vendor = h.VendorString(m)
	s.KVMError = fmt.Sprintf("not probed: snapshot built from libvirt's host-model CPU %s in %s (%s, %s)", h.Model, name, dc.Domain, dc.Machine)
	if len(h.Unknown) > 0 {
		var names []string
		for _, f := range h.Unknown {
			names = append(names, f.Name)
		}
		s.KVMError += fmt.Sprintf("; features unknown here left out: %s", strings.Join(names, " "))
	}
	s.Features = Layers{HW: []string{}, OS: []string{}, KVM: reg.Names(set)}
	return s, nil
}
