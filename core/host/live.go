package host

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/kvm"
)

// LiveConfig says where a live probe reads from. The zero value reads the
// usual places; tests point the paths elsewhere.
type LiveConfig struct {
	// KVMPath is the KVM device, "/dev/kvm" when empty.
	KVMPath string
	// CPUInfoPath is "/proc/cpuinfo" when empty.
	CPUInfoPath string
}

type live struct{ c LiveConfig }

// Live returns the Prober of this machine.
func Live(c LiveConfig) Prober {
	if c.KVMPath == "" {
		c.KVMPath = "/dev/kvm"
	}
	if c.CPUInfoPath == "" {
		c.CPUInfoPath = "/proc/cpuinfo"
	}
	return live{c}
}

// CPUID enumerates one CPU. The walk runs on a thread pinned to the first
// CPU the process may use, because several leaves (APIC IDs, cache
// topology) differ between CPUs and a walk that migrated half-way would
// mix two CPUs' answers.
func (l live) CPUID() (cpuid.Leaves, error) {
	f, err := cpuid.Native()
	if err != nil {
		return nil, err
	}
	var ls cpuid.Leaves
	onFirstCPU(func() { ls = cpuid.Enumerate(f) })
	return ls, nil
}

func (l live) XCR0() (uint64, error) { return cpuid.XCR0() }

func (l live) CPUInfoFlags() ([]string, error) {
	data, err := os.ReadFile(l.c.CPUInfoPath)
	if err != nil {
		return nil, err
	}
	return parseCPUInfoFlags(data)
}

// parseCPUInfoFlags returns the first "flags" line's flags.
func parseCPUInfoFlags(data []byte) ([]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "flags" {
			return strings.Fields(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no flags line")
}

func (l live) KVM() (*kvm.Info, error) { return kvm.Probe(l.c.KVMPath) }

func (l live) Hostname() (string, error) { return os.Hostname() }
