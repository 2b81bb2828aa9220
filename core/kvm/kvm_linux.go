//go:build linux && (amd64 || 386)

package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl request numbers, encoded the way <asm-generic/ioctl.h> does it on
// x86: dir<<30 | size<<16 | type<<8 | nr, where dir is 0 for _IO, 2 for
// _IOR, 1 for _IOW and 3 for _IOWR, and size is sizeof the named struct.
// The structs end in flexible arrays, so their sizes are the headers' only.
const (
	kvmio = 0xAE // KVMIO

	iocNone      = 0
	iocWrite     = 1
	iocRead      = 2
	iocDirShift  = 30
	iocSizeShift = 16
	iocTypeShift = 8

	sizeofCPUID2   = 8 // struct kvm_cpuid2 { u32 nent; u32 padding; entries[] }
	sizeofMSRList  = 4 // struct kvm_msr_list { u32 nmsrs; indices[] }
	sizeofMSRs     = 8 // struct kvm_msrs { u32 nmsrs; u32 pad; entries[] }
	sizeofEntry2   = 40
	sizeofMSREntry = 16

	// KVM_GET_API_VERSION = _IO(KVMIO, 0x00) = 0xae00
	kvmGetAPIVersion = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x00
	// KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03) = 0xae03
	kvmCheckExtension = iocNone<<iocDirShift | kvmio<<iocTypeShift | 0x03
	// KVM_GET_SUPPORTED_CPUID = _IOWR(KVMIO, 0x05, struct kvm_cpuid2) = 0xc008ae05
	kvmGetSupportedCPUID = (iocRead|iocWrite)<<iocDirShift | sizeofCPUID2<<iocSizeShift | kvmio<<iocTypeShift | 0x05
	// KVM_GET_EMULATED_CPUID = _IOWR(KVMIO, 0x09, struct kvm_cpuid2) = 0xc008ae09
	kvmGetEmulatedCPUID = (iocRead|iocWrite)<<iocDirShift | sizeofCPUID2<<iocSizeShift | kvmio<<iocTypeShift | 0x09
	// KVM_GET_SUPPORTED_HV_CPUID = _IOWR(KVMIO, 0xc1, struct kvm_cpuid2) = 0xc008aec1
	kvmGetSupportedHVCPUID = (iocRead|iocWrite)<<iocDirShift | sizeofCPUID2<<iocSizeShift | kvmio<<iocTypeShift | 0xc1
	// KVM_GET_MSR_FEATURE_INDEX_LIST = _IOWR(KVMIO, 0x0a, struct kvm_msr_list) = 0xc004ae0a
	kvmGetMSRFeatureIndexList = (iocRead|iocWrite)<<iocDirShift | sizeofMSRList<<iocSizeShift | kvmio<<iocTypeShift | 0x0a
	// KVM_GET_MSRS = _IOWR(KVMIO, 0x88, struct kvm_msrs) = 0xc008ae88
	kvmGetMSRs = (iocRead|iocWrite)<<iocDirShift | sizeofMSRs<<iocSizeShift | kvmio<<iocTypeShift | 0x88
)

// Buffer sizes for the list ioctls. The first try is sized for a typical
// host so that most probes need one call; E2BIG grows the buffer up to the
// limit, far above what any kernel reports (KVM caps CPUID lists at
// KVM_MAX_CPUID_ENTRIES, 256), so a misbehaving device cannot make Probe
// allocate without bound.
const (
	firstCPUIDEntries = 64
	maxCPUIDEntries   = 1 << 14
	firstMSRs         = 32
	maxMSRs           = 1 << 14
)

// device issues ioctls on a KVM system fd. Probe uses the real fd; tests
// use a fake to drive the retry and failure paths.
type device interface {
	// ioctl issues req with a pointer to buf, which the kernel reads and
	// writes; it returns the ioctl's non-negative result or its errno.
	ioctl(req uintptr, buf []byte) (uintptr, error)
	// ioctlArg issues req with an integer argument.
	ioctlArg(req, arg uintptr) (uintptr, error)
}

// fdDevice is an open /dev/kvm file descriptor.
type fdDevice int

func (d fdDevice) ioctl(req uintptr, buf []byte) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(d), req, uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

func (d fdDevice) ioctlArg(req, arg uintptr) (uintptr, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(d), req, arg)
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}

// Probe opens path (normally "/dev/kvm") read-write and reads Info. An open
// failure is returned as the *fs.PathError, so errors.Is(err,
// fs.ErrNotExist) and fs.ErrPermission work; later failures name path and
// the ioctl and wrap its errno.
func Probe(path string) (*Info, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	info, err := probeFD(fdDevice(fd))
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", path, err)
	}
	return info, nil
}

// probeFD reads Info through dev.
func probeFD(dev device) (*Info, error) {
	v, err := dev.ioctlArg(kvmGetAPIVersion, 0)
	if err != nil {
		return nil, fmt.Errorf("get api version: %w", err)
	}
	if v != APIVersion {
		return nil, fmt.Errorf("%w %d (want %d)", ErrAPIVersion, v, APIVersion)
	}
	info := &Info{
		APIVersion:   int(v),
		Capabilities: map[int]int64{},
		FeatureMSRs:  map[uint32]uint64{},
	}

	for n := 0; n <= MaxCapability+CapabilityMargin; n++ {
		r, err := dev.ioctlArg(kvmCheckExtension, uintptr(n))
		if err != nil {
			return nil, fmt.Errorf("check extension %d: %w", n, err)
		}
		// The kernel returns a long; reinterpret the register as signed
		// so a (so far hypothetical) negative answer stays negative.
		if r != 0 {
			info.Capabilities[n] = int64(int(r))
		}
	}

	if info.SupportedCPUID, err = getCPUID(dev, kvmGetSupportedCPUID); err != nil {
		return nil, fmt.Errorf("get supported cpuid: %w", err)
	}
	// Kernels before 3.14 have no KVM_GET_EMULATED_CPUID and answer it
	// with EINVAL or ENOTTY; the capability says whether to ask, and its
	// absence means KVM emulates nothing beyond what it supports.
	if info.Capability(CapExtEmulCPUID) != 0 {
		if info.EmulatedCPUID, err = getCPUID(dev, kvmGetEmulatedCPUID); err != nil {
			return nil, fmt.Errorf("get emulated cpuid: %w", err)
		}
	}

	// The Hyper-V leaves on the system fd came with Linux 5.11; a kernel
	// built without CONFIG_KVM_HYPERV (6.8+) lacks the capability too.
	// Before that QEMU asked the vCPU fd, which a probe does not open.
	if info.Capability(CapSysHyperVCPUID) != 0 {
		if info.HyperVCPUID, err = getCPUID(dev, kvmGetSupportedHVCPUID); err != nil {
			return nil, fmt.Errorf("get supported hv cpuid: %w", err)
		}
	}

	// Feature MSRs on the system fd came with Linux 4.17; older kernels
	// have none to report.
	if info.Capability(CapGetMSRFeatures) != 0 {
		if info.FeatureMSRList, err = getMSRFeatureList(dev); err != nil {
			return nil, fmt.Errorf("get msr feature index list: %w", err)
		}
		for _, idx := range info.FeatureMSRList {
			data, ok, err := getFeatureMSR(dev, idx)
			if err != nil {
				return nil, fmt.Errorf("get feature msr %#x: %w", idx, err)
			}
			if ok {
				info.FeatureMSRs[idx] = data
			}
		}
	}
	return info, nil
}

// listIoctl is the shape of KVM's list ioctls: a header opening with a u32
// count, then count elements. The caller sizes the buffer and the kernel
// answers E2BIG when it is too small.
type listIoctl struct {
	hdr, size    int    // bytes of the header and of one element
	first, limit int    // elements of the first try, and at most
	what         string // the elements, in errors
	// grow is the next size to try after E2BIG, given the current one and
	// the count the kernel wrote back.
	grow func(n, written int) int
}

// cpuidList is struct kvm_cpuid2 of KVM_GET_SUPPORTED_CPUID and
// KVM_GET_EMULATED_CPUID.
var cpuidList = listIoctl{
	hdr: sizeofCPUID2, size: sizeofEntry2, first: firstCPUIDEntries, limit: maxCPUIDEntries, what: "entries",
	// The kernel does not say how many entries it needs; take its word if
	// it wrote a larger nent back, else double.
	grow: func(n, written int) int { return max(2*n, written) },
}

// msrList is struct kvm_msr_list of KVM_GET_MSR_FEATURE_INDEX_LIST.
var msrList = listIoctl{
	hdr: sizeofMSRList, size: 4, first: firstMSRs, limit: maxMSRs, what: "msrs",
	grow: func(n, written int) int {
		if written <= n {
			// The kernel always writes the count back; if it did not,
			// grow anyway rather than loop forever.
			return 2 * n
		}
		return written
	},
}

// get runs req, growing the buffer while the kernel answers E2BIG, and
// returns the elements' bytes and how many the kernel filled in.
func (l listIoctl) get(dev device, req uintptr) ([]byte, int, error) {
	for n := l.first; ; {
		buf := make([]byte, l.hdr+n*l.size)
		binary.LittleEndian.PutUint32(buf[0:], uint32(n))
		_, err := dev.ioctl(req, buf)
		if errors.Is(err, unix.E2BIG) {
			next := l.grow(n, int(binary.LittleEndian.Uint32(buf[0:])))
			if next > l.limit {
				return nil, 0, fmt.Errorf("more than %d %s: %w", l.limit, l.what, err)
			}
			n = next
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		got := int(binary.LittleEndian.Uint32(buf[0:]))
		if got > n {
			return nil, 0, fmt.Errorf("kernel reported %d %s in a buffer of %d", got, l.what, n)
		}
		return buf[l.hdr:], got, nil
	}
}

// getCPUID runs KVM_GET_SUPPORTED_CPUID or KVM_GET_EMULATED_CPUID (req).
func getCPUID(dev device, req uintptr) ([]Entry, error) {
	buf, nent, err := cpuidList.get(dev, req)
	if err != nil {
		return nil, err
	}
	es := make([]Entry, nent)
	for i := range es {
		b := buf[i*sizeofEntry2:]
		es[i] = Entry{Flags: binary.LittleEndian.Uint32(b[8:])}
		es[i].Leaf.Leaf = binary.LittleEndian.Uint32(b[0:])
		es[i].Subleaf = binary.LittleEndian.Uint32(b[4:])
		es[i].EAX = binary.LittleEndian.Uint32(b[12:])
		es[i].EBX = binary.LittleEndian.Uint32(b[16:])
		es[i].ECX = binary.LittleEndian.Uint32(b[20:])
		es[i].EDX = binary.LittleEndian.Uint32(b[24:])
	}
	return es, nil
}

// getMSRFeatureList runs KVM_GET_MSR_FEATURE_INDEX_LIST.
func getMSRFeatureList(dev device) ([]uint32, error) {
	buf, n, err := msrList.get(dev, kvmGetMSRFeatureIndexList)
	if err != nil {
		return nil, err
	}
	idx := make([]uint32, n)
	for i := range idx {
		idx[i] = binary.LittleEndian.Uint32(buf[4*i:])
	}
	return idx, nil
}

// getFeatureMSR reads one feature MSR with KVM_GET_MSRS on the system fd.
// The ioctl returns how many MSRs it read, stopping at the first it
// refuses; asking for one at a time means one refusal loses only that
// MSR, reported as ok == false.
func getFeatureMSR(dev device, index uint32) (data uint64, ok bool, err error) {
	buf := make([]byte, sizeofMSRs+sizeofMSREntry)
	binary.LittleEndian.PutUint32(buf[0:], 1)
	binary.LittleEndian.PutUint32(buf[sizeofMSRs:], index)
	r, err := dev.ioctl(kvmGetMSRs, buf)
	if err != nil {
		return 0, false, err
	}
	if r != 1 {
		return 0, false, nil
	}
	return binary.LittleEndian.Uint64(buf[sizeofMSRs+8:]), true, nil
}
