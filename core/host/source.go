package host

// Sources of a snapshot: how its data was collected.
const (
	SourceLive          = "live"
	SourceCPUIDDump     = "cpuid-dump"
	SourceQEMUExpansion = "qemu-expansion"
	// SourceDomCapabilities is libvirt's `virsh domcapabilities`.
	SourceDomCapabilities = "domcapabilities"
	// SourceNFD is a Kubernetes Node's or NodeFeature's NFD labels.
	SourceNFD = "nfd"
)

// Sources lists the sources a snapshot file may name.
var Sources = []string{SourceLive, SourceCPUIDDump, SourceQEMUExpansion, SourceDomCapabilities, SourceNFD}

// sourceInfo says which layers a source sees, and what the data stands
// for, once for every command that explains a partial snapshot.
var sourceInfo = map[string]struct {
	seen []string
	what string
}{
	SourceLive:            {[]string{"hw", "os", "kvm"}, "this machine's CPUID, kernel and /dev/kvm"},
	SourceCPUIDDump:       {[]string{"hw"}, "a raw CPUID dump (cpuid -r)"},
	SourceQEMUExpansion:   {[]string{"kvm"}, "QEMU's expansion of its \"host\" CPU model (what QEMU and KVM give a guest)"},
	SourceDomCapabilities: {[]string{"kvm"}, "libvirt's host-model CPU (libvirt's reading of QEMU's host expansion, in the features its CPU map names)"},
	SourceNFD:             {[]string{"hw"}, "NFD's cpu-cpuid labels (the CPU's CPUID flags as NFD names them)"},
}

// Seen returns the layers (hw, os, kvm) a snapshot from source records.
func Seen(source string) []string { return sourceInfo[source].seen }

// Unseen returns the layers a snapshot from source could not see.
func Unseen(source string) []string {
	var out []string
	for _, l := range []string{"hw", "os", "kvm"} {
		found := false
		for _, s := range sourceInfo[source].seen {
			found = found || s == l
		}
		if !found {
			out = append(out, l)
		}
	}
	return out
}

// SourceWhat says in a phrase what a source's data stands for.
func SourceWhat(source string) string { return sourceInfo[source].what }
