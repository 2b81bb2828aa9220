package main

import (
	"flag"
	"fmt"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/guestcpu"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

// cpuFlags are the flags that name the guest CPU a command judges, each
// a form a site already has it in: --cpu SPEC, --cpu-xml FILE (libvirt),
// --qemu-cmdline FILE|- (a QEMU command line) and, for why, --pid PID (a
// running QEMU). They exclude each other. --cpu-map is the libvirt CPU
// map that host-model reads.
type cpuFlags struct {
	cmd                       string
	cpu, xml, cmdline, cpuMap *string
	pid                       *int
}

// addCPUFlags registers the flags on fs for cmd; pid adds --pid.
func addCPUFlags(fs *flag.FlagSet, cmd string, pid bool) *cpuFlags {
	f := &cpuFlags{cmd: cmd,
		cpu:     fs.String("cpu", "", "a QEMU -cpu `SPEC` (Model,+feat,-feat,feat=on|off,prop=value)"),
		xml:     fs.String("cpu-xml", "", "a libvirt domain XML `FILE` (or its <cpu> element), in any CPU mode: the -cpu option libvirt gives QEMU, on the domain's machine type and accelerator"),
		cmdline: fs.String("qemu-cmdline", "", "a whole QEMU command line in `FILE` (- for standard input): /proc/PID/cmdline, a libvirt .args file, ps output or qm showcmd; its -cpu, machine type and accelerator"),
		cpuMap:  fs.String("cpu-map", libvirt.DefaultMapDir, "libvirt's CPU map `DIR`, for --cpu-xml in host-model mode"),
	}
	if pid {
		f.pid = fs.Int("pid", 0, "the running QEMU process `PID`: its command line, as --qemu-cmdline /proc/PID/cmdline")
	}
	return f
}

// load reads what the flags name.
func (f *cpuFlags) load(e *env) (*guestcpu.Target, error) {
	src := guestcpu.Source{CPU: *f.cpu, XML: *f.xml, Cmdline: *f.cmdline, Stdin: e.stdin, CPUMap: *f.cpuMap}
	if f.pid != nil {
		src.PID = *f.pid
	}
	if src.Given() > 1 {
		names := "--cpu, --cpu-xml and --qemu-cmdline"
		if f.pid != nil {
			names = "--cpu, --cpu-xml, --qemu-cmdline and --pid"
		}
		return nil, usagef(f.cmd, "%s exclude each other", names)
	}
	var reg *feature.Registry // only a libvirt <cpu> names features
	if src.XML != "" {
		var err error
		if reg, err = e.registry(); err != nil {
			return nil, err
		}
	}
	return guestcpu.Load(src, reg)
}

// defaults fills the machine and accel flags the user left empty with
// what the configuration names.
func defaults(t *guestcpu.Target, machine, accel *string) {
	if *machine == "" {
		*machine = t.Machine
	}
	if *accel == "" {
		*accel = t.Accel
	}
}

// spec is t.Spec with the models of cat as QEMU's; it prints the notes
// on what was read.
func (f *cpuFlags) spec(e *env, t *guestcpu.Target, cat *catalog.Catalog, host func() (*libvirt.Host, error)) (string, *feature.FeatureSet, error) {
	s, forbid, err := t.Spec(cat.Registry(), libvirt.QEMU{HasModel: cat.HasModel, HasFeature: cat.HasProperty}, host)
	for _, n := range t.Notes {
		fmt.Fprintf(e.stderr, "cpupolicy %s: note: %s\n", f.cmd, n)
	}
	return s, forbid, err
}

// libvirtHost is the host a libvirt <cpu> is judged on: the judge's
// availability and CPU, libvirt's CPU map from --cpu-map, and the
// catalog's models as the ones QEMU has.
func (f *cpuFlags) libvirtHost(j *judge) (*libvirt.Host, error) {
	if j.snap == nil {
		return nil, usagef(f.cmd, "%s: the <cpu> depends on the host (host-model, match='minimum' or optional features): give --host FILE, or judge this host under kvm", *f.xml)
	}
	m, err := libvirt.LoadMap(*f.cpuMap, j.Catalog.Registry())
	if err != nil {
		return nil, err
	}
	return &libvirt.Host{Features: j.Avail.Set, Vendor: j.snap.Vendor, Family: j.snap.Family, Model: j.snap.Model, Stepping: j.snap.Stepping,
		Map: m, Usable: j.Catalog.HasModel}, nil
}
