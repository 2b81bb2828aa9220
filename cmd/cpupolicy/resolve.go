package main

import (
	"bytes"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/host"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

func runResolve(e *env, args []string) error {
	fs := newFlags("resolve")
	format := addFormatFlag(fs, "text", "json")
	catName, machine, accel := catalogFlag(fs), machineFlag(fs), accelFlag(fs)
	cf := addCPUFlags(fs, "resolve", false)
	hostFile := fs.String("host", "", "snapshot `FILE` whose vendor QEMU would give kvm guests, and that libvirt's host-model is computed for (default: this host's)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	t, err := cf.load(e)
	if err != nil {
		return err
	}
	defaults(t, machine, accel)
	cat, mt, err := e.catalogMachine(*catName, *machine)
	if err != nil {
		return err
	}
	acc, err := check.Accelerator(cat, *accel)
	if err != nil {
		return usagef("resolve", "%v", err)
	}
	vendor, err := kvmVendor(e, *hostFile)
	if err != nil {
		return err
	}
	if t.Given() && fs.NArg() > 0 {
		return usagef("resolve", "--cpu (--cpu-xml, --qemu-cmdline) and model names exclude each other")
	}
	s, _, err := cf.spec(e, t, cat, func() (*libvirt.Host, error) {
		j, err := loadJudge(e, "resolve", judgeFlags{catName: catName, machine: machine, accel: accel, hostFile: hostFile})
		if err != nil {
			return nil, err
		}
		return cf.libvirtHost(j)
	})
	if err != nil {
		return err
	}
	// host and max start from what the host offers: the --host snapshot,
	// else (under kvm) this host probed live.
	var snap *host.HostSnapshot
	switch model, _, _ := strings.Cut(s, ","); {
	case *hostFile != "":
		if snap, err = e.loadSnapshot(*hostFile); err != nil {
			return err
		}
	case (model == "host" || model == "max") && acc == core.KVM:
		if snap, err = e.probeLive(); err != nil {
			return err
		}
	}
	out, err := check.ResolveAll(cat, fs.Args(), s, mt.Name, acc, snap, vendor)
	if err != nil {
		return err
	}
	return writeFormat(e, "resolve", "", format.Value, cat.ResolutionsJSON(out), func(b *bytes.Buffer) { cat.WriteResolutions(b, out) })
}

// catalogMachine loads the catalog name and finds machine on it (default:
// its newest pc-q35).
func (e *env) catalogMachine(name, machine string) (*catalog.Catalog, *catalog.MachineType, error) {
	cat, err := e.loadCatalog(name)
	if err != nil {
		return nil, nil, err
	}
	mt, err := check.Machine(cat, machine)
	return cat, mt, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// kvmVendor is the CPU vendor QEMU would give kvm guests: the --host
// snapshot's, else this machine's ("" when neither is known).
func kvmVendor(e *env, hostFile string) (string, error) {
	if hostFile != "" {
		s, err := e.loadSnapshot(hostFile)
		if err != nil {
			return "", err
		}
		return s.Vendor, nil
	}
	f, err := cpuid.Native()
	if err != nil {
		return "", nil
	}
	return cpuid.Vendor(f(0, 0)), nil
}
