//go:build linux && (amd64 || 386)

package kvm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// fakeDevice plays a KVM system fd the way the kernel answers the ioctls
// Probe uses, with knobs for the paths a real host rarely takes.
type fakeDevice struct {
	api       uintptr
	caps      map[int]int64
	supported []Entry
	emulated  []Entry
	hyperv    []Entry // KVM_GET_SUPPORTED_HV_CPUID
	// emulatedErr, if set, answers KVM_GET_EMULATED_CPUID, as kernels
	// without the ioctl do.
	emulatedErr error
	msrList     []uint32
	msrs        map[uint32]uint64 // readable feature MSRs; others are refused
	msrErr      map[uint32]error  // KVM_GET_MSRS failing outright

	calls map[uintptr]int // ioctls seen, by request
}

func (f *fakeDevice) ioctlArg(req, arg uintptr) (uintptr, error) {
	f.count(req)
	switch req {
	case kvmGetAPIVersion:
		return f.api, nil
	case kvmCheckExtension:
		return uintptr(f.caps[int(arg)]), nil
	}
	return 0, unix.ENOTTY
}

func (f *fakeDevice) ioctl(req uintptr, buf []byte) (uintptr, error) {
	f.count(req)
	le := binary.LittleEndian
	switch req {
	case kvmGetSupportedCPUID, kvmGetEmulatedCPUID, kvmGetSupportedHVCPUID:
		es := f.supported
		if req == kvmGetSupportedHVCPUID {
			es = f.hyperv
		}
		if req == kvmGetEmulatedCPUID {
			if f.emulatedErr != nil {
				return 0, f.emulatedErr
			}
			es = f.emulated
		}
		// Like the kernel: E2BIG without writing nent back.
		if int(le.Uint32(buf)) < len(es) {
			return 0, unix.E2BIG
		}
		le.PutUint32(buf, uint32(len(es)))
		for i, e := range es {
			b := buf[sizeofCPUID2+i*sizeofEntry2:]
			for j, v := range []uint32{e.Leaf.Leaf, e.Subleaf, e.Flags, e.EAX, e.EBX, e.ECX, e.EDX} {
				le.PutUint32(b[4*j:], v)
			}
		}
		return 0, nil
	case kvmGetMSRFeatureIndexList:
		// Like the kernel: always write the count back, E2BIG if short.
		n := int(le.Uint32(buf))
		le.PutUint32(buf, uint32(len(f.msrList)))
		if n < len(f.msrList) {
			return 0, unix.E2BIG
		}
		for i, idx := range f.msrList {
			le.PutUint32(buf[sizeofMSRList+4*i:], idx)
		}
		return 0, nil
	case kvmGetMSRs:
		n := int(le.Uint32(buf))
		for i := range n {
			e := buf[sizeofMSRs+i*sizeofMSREntry:]
			idx := le.Uint32(e)
			if err := f.msrErr[idx]; err != nil {
				return 0, err
			}
			v, ok := f.msrs[idx]
			if !ok {
				return uintptr(i), nil
			}
			le.PutUint64(e[8:], v)
		}
		return uintptr(n), nil
	}
	return 0, unix.ENOTTY
}

func (f *fakeDevice) count(req uintptr) {
	if f.calls == nil {
		f.calls = map[uintptr]int{}
	}
	f.calls[req]++
}

func entries(n int, leaf uint32) []Entry {
	es := make([]Entry, n)
	for i := range es {
		es[i] = Entry{Leaf: cpuid.Leaf{Leaf: leaf, Subleaf: uint32(i), EAX: uint32(i), EBX: 0xb0 + uint32(i), ECX: 0xc0, EDX: 0xd0}, Flags: FlagSignificantIndex}
	}
	return es
}

func TestRequestNumbers(t *testing.T) {
	// The values <linux/kvm.h> expands to on x86; the live test checks
	// them against the header too.
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"KVM_GET_API_VERSION", kvmGetAPIVersion, 0xae00},
		{"KVM_CHECK_EXTENSION", kvmCheckExtension, 0xae03},
		{"KVM_GET_SUPPORTED_CPUID", kvmGetSupportedCPUID, 0xc008ae05},
		{"KVM_GET_EMULATED_CPUID", kvmGetEmulatedCPUID, 0xc008ae09},
		{"KVM_GET_SUPPORTED_HV_CPUID", kvmGetSupportedHVCPUID, 0xc008aec1},
		{"KVM_GET_MSR_FEATURE_INDEX_LIST", kvmGetMSRFeatureIndexList, 0xc004ae0a},
		{"KVM_GET_MSRS", kvmGetMSRs, 0xc008ae88},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestProbeFDRetries(t *testing.T) {
	msrList := make([]uint32, firstMSRs+5)
	msrs := map[uint32]uint64{}
	for i := range msrList {
		msrList[i] = 0x480 + uint32(i)
		msrs[msrList[i]] = uint64(i) << 32
	}
	// One MSR in the middle is refused (the kernel reads 0 MSRs).
	refused := msrList[3]
	delete(msrs, refused)
	f := &fakeDevice{
		api:       APIVersion,
		caps:      map[int]int64{0: 1, CapExtEmulCPUID: 1, CapGetMSRFeatures: 1, CapSysHyperVCPUID: 1, 39: -14, MaxCapability + CapabilityMargin: 7, MaxCapability + CapabilityMargin + 1: 9},
		supported: entries(3*firstCPUIDEntries, 0xd), // two E2BIGs: 64 → 128 → 256
		emulated:  entries(firstCPUIDEntries+1, 7),   // one E2BIG
		hyperv:    entries(11, 0),                    // fits the first try
		msrList:   msrList,
		msrs:      msrs,
	}
	info, err := probeFD(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.calls[kvmGetSupportedCPUID]; got != 3 {
		t.Errorf("KVM_GET_SUPPORTED_CPUID calls = %d, want 3", got)
	}
	if got := f.calls[kvmGetEmulatedCPUID]; got != 2 {
		t.Errorf("KVM_GET_EMULATED_CPUID calls = %d, want 2", got)
	}
	if got := f.calls[kvmGetMSRFeatureIndexList]; got != 2 {
		t.Errorf("KVM_GET_MSR_FEATURE_INDEX_LIST calls = %d, want 2", got)
	}
	if got := f.calls[kvmCheckExtension]; got != MaxCapability+CapabilityMargin+1 {
		t.Errorf("KVM_CHECK_EXTENSION calls = %d, want %d", got, MaxCapability+CapabilityMargin+1)
	}
	wantCaps := map[int]int64{0: 1, CapExtEmulCPUID: 1, CapGetMSRFeatures: 1, CapSysHyperVCPUID: 1, 39: -14, MaxCapability + CapabilityMargin: 7}
	if !reflect.DeepEqual(info.Capabilities, wantCaps) {
		t.Errorf("Capabilities = %v, want %v", info.Capabilities, wantCaps)
	}
	if !reflect.DeepEqual(info.SupportedCPUID, f.supported) {
		t.Errorf("SupportedCPUID = %v, want %v", info.SupportedCPUID, f.supported)
	}
	if !reflect.DeepEqual(info.EmulatedCPUID, f.emulated) {
		t.Errorf("EmulatedCPUID = %v, want %v", info.EmulatedCPUID, f.emulated)
	}
	if !reflect.DeepEqual(info.HyperVCPUID, f.hyperv) || f.calls[kvmGetSupportedHVCPUID] != 1 {
		t.Errorf("HyperVCPUID = %v (%d calls), want %v", info.HyperVCPUID, f.calls[kvmGetSupportedHVCPUID], f.hyperv)
	}
	if !reflect.DeepEqual(info.FeatureMSRList, msrList) {
		t.Errorf("FeatureMSRList = %#x, want %#x", info.FeatureMSRList, msrList)
	}
	if _, ok := info.FeatureMSRs[refused]; ok {
		t.Errorf("refused MSR %#x is in FeatureMSRs", refused)
	}
	if !reflect.DeepEqual(info.FeatureMSRs, msrs) {
		t.Errorf("FeatureMSRs = %#x, want %#x", info.FeatureMSRs, msrs)
	}
	if got := f.calls[kvmGetMSRs]; got != len(msrList) {
		t.Errorf("KVM_GET_MSRS calls = %d, want one per MSR (%d)", got, len(msrList))
	}
	if l, ok := info.SupportedLeaves().Find(0xd, 5); !ok || l.EBX != 0xb5 {
		t.Errorf("SupportedLeaves().Find(0xd, 5) = %+v, %v", l, ok)
	}
}

func TestProbeFDNoEmulatedNoMSRFeatures(t *testing.T) {
	// An old kernel: no KVM_CAP_EXT_EMUL_CPUID (and an ioctl that would
	// fail if asked), no KVM_CAP_GET_MSR_FEATURES.
	f := &fakeDevice{
		api:         APIVersion,
		caps:        map[int]int64{0: 1},
		supported:   entries(2, 0),
		emulatedErr: unix.EINVAL,
	}
	info, err := probeFD(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.EmulatedCPUID) != 0 || f.calls[kvmGetEmulatedCPUID] != 0 {
		t.Errorf("EmulatedCPUID = %v after %d calls, want empty and not asked", info.EmulatedCPUID, f.calls[kvmGetEmulatedCPUID])
	}
	if len(info.FeatureMSRList) != 0 || len(info.FeatureMSRs) != 0 || f.calls[kvmGetMSRFeatureIndexList] != 0 {
		t.Errorf("feature MSRs = %v %v, want none and not asked", info.FeatureMSRList, info.FeatureMSRs)
	}
	if len(info.SupportedCPUID) != 2 {
		t.Errorf("SupportedCPUID has %d entries, want 2", len(info.SupportedCPUID))
	}
}

func TestProbeFDErrors(t *testing.T) {
	base := func() *fakeDevice {
		return &fakeDevice{
			api:       APIVersion,
			caps:      map[int]int64{CapExtEmulCPUID: 1, CapGetMSRFeatures: 1},
			supported: entries(1, 0),
			msrList:   []uint32{0x10a, 0x345},
			msrs:      map[uint32]uint64{0x10a: 1, 0x345: 2},
		}
	}
	for _, c := range []struct {
		name   string
		mutate func(*fakeDevice)
		want   string
		is     error
	}{
		{"api version", func(f *fakeDevice) { f.api = 11 }, "unsupported kvm api version 11 (want 12)", ErrAPIVersion},
		{"emulated fails despite capability", func(f *fakeDevice) { f.emulatedErr = unix.EINVAL }, "get emulated cpuid: invalid argument", unix.EINVAL},
		{"cpuid never fits", func(f *fakeDevice) { f.supported = entries(maxCPUIDEntries+1, 0) }, "get supported cpuid: more than 16384 entries: argument list too long", unix.E2BIG},
		{"msr read fails", func(f *fakeDevice) { f.msrErr = map[uint32]error{0x345: unix.EFAULT} }, "get feature msr 0x345: bad address", unix.EFAULT},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := base()
			c.mutate(f)
			info, err := probeFD(f)
			if err == nil {
				t.Fatalf("probeFD = %+v, want error", info)
			}
			if err.Error() != c.want {
				t.Errorf("error %q, want %q", err, c.want)
			}
			if !errors.Is(err, c.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, c.is)
			}
		})
	}
}

func TestProbeNonexistent(t *testing.T) {
	_, err := Probe("/nonexistent")
	if err == nil {
		t.Fatal("Probe(/nonexistent) succeeded")
	}
	if !strings.Contains(err.Error(), "/nonexistent") {
		t.Errorf("error %q does not name the path", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

// TestProbeLive probes this machine's /dev/kvm and checks the result
// against testdata/rawkvm.c, which reads the same ioctls through
// <linux/kvm.h> in C.
func TestProbeLive(t *testing.T) {
	const dev = "/dev/kvm"
	if f, err := os.OpenFile(dev, os.O_RDWR, 0); err != nil {
		testenv.Missing(t, testenv.KVM, "no usable KVM here: %v", err)
	} else {
		f.Close()
	}
	// KVM_GET_SUPPORTED_CPUID reports the APIC ID of the CPU it runs on
	// (leaf 1 EBX[31:24], leaf 0xb EDX), so Go and C must ask from the
	// same CPU to get equal answers.
	cpu := pinThread(t)
	info, err := Probe(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: api %d, %d capabilities, %d supported cpuid entries, %d emulated, %d feature msrs listed, %d read",
		dev, info.APIVersion, len(info.Capabilities), len(info.SupportedCPUID), len(info.EmulatedCPUID),
		len(info.FeatureMSRList), len(info.FeatureMSRs))
	if info.APIVersion != 12 {
		t.Errorf("APIVersion = %d, want 12", info.APIVersion)
	}
	if len(info.SupportedCPUID) == 0 {
		t.Fatal("SupportedCPUID is empty")
	}
	if _, ok := info.SupportedLeaves().Find(0, 0); !ok {
		t.Error("SupportedCPUID has no leaf 0")
	}

	raw := runRawKVM(t, dev, cpu)
	for name, want := range map[string]uintptr{
		"KVM_GET_API_VERSION":            kvmGetAPIVersion,
		"KVM_CHECK_EXTENSION":            kvmCheckExtension,
		"KVM_GET_SUPPORTED_CPUID":        kvmGetSupportedCPUID,
		"KVM_GET_EMULATED_CPUID":         kvmGetEmulatedCPUID,
		"KVM_GET_SUPPORTED_HV_CPUID":     kvmGetSupportedHVCPUID,
		"KVM_GET_MSR_FEATURE_INDEX_LIST": kvmGetMSRFeatureIndexList,
		"KVM_GET_MSRS":                   kvmGetMSRs,
	} {
		if got, ok := raw.ioctls[name]; !ok || got != want {
			t.Errorf("<linux/kvm.h> %s = %#x (found %v), Go uses %#x", name, got, ok, want)
		}
	}
	if raw.info.APIVersion != info.APIVersion {
		t.Errorf("api version: C %d, Go %d", raw.info.APIVersion, info.APIVersion)
	}
	if !reflect.DeepEqual(raw.info.Capabilities, info.Capabilities) {
		t.Errorf("capabilities differ:\nC  %v\nGo %v", raw.info.Capabilities, info.Capabilities)
	}
	compareEntries(t, "supported", raw.info.SupportedCPUID, info.SupportedCPUID)
	compareEntries(t, "emulated", raw.info.EmulatedCPUID, info.EmulatedCPUID)
	compareEntries(t, "hyperv", raw.info.HyperVCPUID, info.HyperVCPUID)
	if !reflect.DeepEqual(raw.info.FeatureMSRList, info.FeatureMSRList) {
		t.Errorf("feature msr list:\nC  %#x\nGo %#x", raw.info.FeatureMSRList, info.FeatureMSRList)
	}
	if !reflect.DeepEqual(raw.info.FeatureMSRs, info.FeatureMSRs) {
		t.Errorf("feature msrs:\nC  %#x\nGo %#x", raw.info.FeatureMSRs, info.FeatureMSRs)
	}
	if len(raw.refused) > 0 {
		t.Logf("feature msrs KVM_GET_MSRS refused: %#x", raw.refused)
	}
}

// pinThread locks the test goroutine to its OS thread and that thread to
// the first CPU it may run on, until the test ends; it returns the CPU.
func pinThread(t *testing.T) int {
	t.Helper()
	runtime.LockOSThread()
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("sched_getaffinity: %v", err)
	}
	cpu := 0
	for !orig.IsSet(cpu) {
		cpu++
	}
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("sched_setaffinity cpu %d: %v", cpu, err)
	}
	t.Cleanup(func() {
		// Give the thread its CPUs back before other goroutines may
		// run on it; if that fails, keep it locked so the runtime
		// retires it with the goroutine.
		if err := unix.SchedSetaffinity(0, &orig); err != nil {
			t.Errorf("restore sched_setaffinity: %v", err)
			return
		}
		runtime.UnlockOSThread()
	})
	return cpu
}

func compareEntries(t *testing.T, what string, c, goes []Entry) {
	t.Helper()
	if len(c) != len(goes) {
		t.Errorf("%s cpuid: C has %d entries, Go %d", what, len(c), len(goes))
	}
	for i := range min(len(c), len(goes)) {
		// The processor IDs come from the CPU the ioctl ran on, and a
		// hypervisor may change them between the two processes'
		// calls even on one pinned CPU.
		if c[i].Flags != goes[i].Flags || c[i].WithoutProcessorIDs() != goes[i].WithoutProcessorIDs() {
			t.Errorf("%s cpuid entry %d: C %+v, Go %+v", what, i, c[i], goes[i])
		}
	}
}

type rawResult struct {
	ioctls  map[string]uintptr
	info    Info
	refused []uint32
}

// runRawKVM compiles testdata/rawkvm.c and parses what it prints.
func runRawKVM(t *testing.T, dev string, cpu int) *rawResult {
	t.Helper()
	cc := testenv.Need(t, testenv.CC, "build the rawkvm witness")
	bin := filepath.Join(t.TempDir(), "rawkvm")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-o", bin, filepath.Join("testdata", "rawkvm.c")).CombinedOutput(); err != nil {
		t.Fatalf("cc rawkvm.c: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, dev, strconv.Itoa(MaxCapability+CapabilityMargin), strconv.Itoa(cpu))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rawkvm: %v\n%s", err, stderr.Bytes())
	}
	raw := &rawResult{
		ioctls: map[string]uintptr{},
		info:   Info{Capabilities: map[int]int64{}, FeatureMSRs: map[uint32]uint64{}},
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if err := raw.parse(f); err != nil {
			t.Fatalf("rawkvm output %q: %v", sc.Text(), err)
		}
	}
	return raw
}

// parse reads one record of rawkvm's output, split into fields.
func (r *rawResult) parse(f []string) error {
	var err error
	// num parses field i in base, keeping the first error.
	num := func(i, base int) uint64 {
		if err != nil {
			return 0
		}
		if i >= len(f) {
			err = fmt.Errorf("field %d missing", i)
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(f[i], base, 64)
		return v
	}
	switch f[0] {
	case "ioctl":
		if len(f) > 1 {
			r.ioctls[f[1]] = uintptr(num(2, 16))
		}
	case "api":
		r.info.APIVersion = int(num(1, 10))
	case "cap":
		n := int(num(1, 10))
		if err == nil && len(f) > 2 {
			var v int64
			v, err = strconv.ParseInt(f[2], 10, 64)
			r.info.Capabilities[n] = v
		}
	case "supported", "emulated", "hyperv":
		e := Entry{Flags: uint32(num(3, 16))}
		e.Leaf.Leaf = uint32(num(1, 16))
		e.Subleaf = uint32(num(2, 16))
		e.EAX = uint32(num(4, 16))
		e.EBX = uint32(num(5, 16))
		e.ECX = uint32(num(6, 16))
		e.EDX = uint32(num(7, 16))
		if f[0] == "supported" {
			r.info.SupportedCPUID = append(r.info.SupportedCPUID, e)
		} else if f[0] == "hyperv" {
			r.info.HyperVCPUID = append(r.info.HyperVCPUID, e)
		} else {
			r.info.EmulatedCPUID = append(r.info.EmulatedCPUID, e)
		}
	case "msrlist":
		r.info.FeatureMSRList = append(r.info.FeatureMSRList, uint32(num(1, 16)))
	case "msr":
		r.info.FeatureMSRs[uint32(num(1, 16))] = num(2, 16)
	case "msrrefused":
		r.refused = append(r.refused, uint32(num(1, 16)))
	default:
		return fmt.Errorf("unknown record %q", f[0])
	}
	return err
}
