// Package kvm reads what a host's KVM can offer a guest CPU, through the
// ioctls of the KVM system file descriptor (/dev/kvm): the API version,
// the capabilities, the CPUID KVM supports and emulates, and the
// feature MSRs.
//
// It exists so that an x86 CPU model can be checked against what KVM on a
// host really exposes, rather than against the host's own CPUID (KVM hides
// some host features and emulates some the host lacks). [Probe] does the
// reading; it needs Linux on x86 and read-write access to /dev/kvm.
package kvm

import (
	"errors"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
)

// APIVersion is the only KVM_GET_API_VERSION answer the KVM API
// documentation allows userspace to work with; it has not changed since
// Linux 2.6.22.
const APIVersion = 12

// Capability numbers (KVM_CAP_*) that Probe itself depends on.
const (
	// CapExtEmulCPUID (KVM_CAP_EXT_EMUL_CPUID) says KVM_GET_EMULATED_CPUID
	// exists.
	CapExtEmulCPUID = 95
	// CapGetMSRFeatures (KVM_CAP_GET_MSR_FEATURES) says
	// KVM_GET_MSR_FEATURE_INDEX_LIST and KVM_GET_MSRS on the system fd
	// exist.
	CapGetMSRFeatures = 153
	// CapSysHyperVCPUID (KVM_CAP_SYS_HYPERV_CPUID, Linux 5.11) says
	// KVM_GET_SUPPORTED_HV_CPUID works on the system fd, as QEMU asks
	// it when it expands hv-* enlightenments.
	CapSysHyperVCPUID = 191
)

// MaxCapability is the highest KVM_CAP_* number in the newest Linux uapi
// <linux/kvm.h> this package was checked against (KVM_CAP_S390_USER_OPEREXEC,
// mainline late 2025). Probe checks every number from 0 to
// MaxCapability+CapabilityMargin: KVM answers 0 for numbers it does not
// know, so scanning past the end costs a few cheap ioctls and catches
// capabilities added by kernels newer than this list.
const MaxCapability = 246

// CapabilityMargin is how far past MaxCapability Probe keeps checking.
const CapabilityMargin = 64

// FlagSignificantIndex is KVM_CPUID_FLAG_SIGNIFCANT_INDEX (sic): the entry's
// Subleaf (ECX input) selects it; without the flag the leaf ignores ECX.
const FlagSignificantIndex = 1 << 0

// ErrUnsupported is returned by Probe where KVM cannot be probed: anything
// but Linux on x86, whose struct layouts this package encodes.
var ErrUnsupported = errors.New("kvm: /dev/kvm probing needs Linux on x86")

// ErrAPIVersion is wrapped by Probe's error when KVM_GET_API_VERSION is not
// [APIVersion]: the other ioctls' meaning is then unknown.
var ErrAPIVersion = errors.New("unsupported kvm api version")

// Entry is one KVM CPUID entry (struct kvm_cpuid_entry2): the
// leaf/subleaf/registers plus flags (KVM_CPUID_FLAG_*).
type Entry struct {
	cpuid.Leaf
	Flags uint32
}

// Info is everything the probe read from the KVM system fd.
type Info struct {
	// APIVersion is the KVM_GET_API_VERSION answer (always [APIVersion]
	// in an Info that Probe returned).
	APIVersion int
	// Capabilities holds the KVM_CHECK_EXTENSION result for every
	// capability number checked (0 to MaxCapability+CapabilityMargin),
	// non-zero ones only.
	Capabilities map[int]int64
	// SupportedCPUID is KVM_GET_SUPPORTED_CPUID, in the kernel's order.
	// Some fields are copied from the CPU the ioctl ran on, such as the
	// APIC IDs in leaf 1 EBX[31:24] and leaf 0xb EDX: two probes can
	// differ there, so compare them through
	// [cpuid.Leaf.WithoutProcessorIDs].
	SupportedCPUID []Entry
	// EmulatedCPUID is KVM_GET_EMULATED_CPUID, in the kernel's order;
	// empty when the kernel lacks [CapExtEmulCPUID].
	EmulatedCPUID []Entry
	// FeatureMSRList is KVM_GET_MSR_FEATURE_INDEX_LIST in the kernel's
	// order, including MSRs that KVM_GET_MSRS then refused; empty when
	// the kernel lacks [CapGetMSRFeatures].
	FeatureMSRList []uint32
	// HyperVCPUID is KVM_GET_SUPPORTED_HV_CPUID on the system fd: the
	// Hyper-V leaves KVM can give a guest; empty when the kernel lacks
	// [CapSysHyperVCPUID].
	HyperVCPUID []Entry
	// FeatureMSRs maps each index of FeatureMSRList to the value
	// KVM_GET_MSRS on the system fd read for it. An MSR the kernel
	// refuses to read (the ioctl reports 0 MSRs read) is left out.
	FeatureMSRs map[uint32]uint64
}

// Capability returns the KVM_CHECK_EXTENSION result for capability n, 0 if
// the kernel does not have it.
func (i *Info) Capability(n int) int64 {
	return i.Capabilities[n]
}

// SupportedLeaves returns SupportedCPUID as sorted [cpuid.Leaves], without
// the flags.
func (i *Info) SupportedLeaves() cpuid.Leaves {
	return leaves(i.SupportedCPUID)
}

// EmulatedLeaves returns EmulatedCPUID as sorted [cpuid.Leaves], without
// the flags.
func (i *Info) EmulatedLeaves() cpuid.Leaves {
	return leaves(i.EmulatedCPUID)
}

func leaves(es []Entry) cpuid.Leaves {
	ls := make(cpuid.Leaves, 0, len(es))
	for _, e := range es {
		ls = append(ls, e.Leaf)
	}
	ls.Sort()
	return ls
}
