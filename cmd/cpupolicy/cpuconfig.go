package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/core/qemucmd"
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

// cpuTarget is the configuration the flags name: a -cpu spec (for
// --cpu-xml, once the host is known: spec), and the machine type and
// accelerator the configuration itself names ("" when it names none).
type cpuTarget struct {
	cpu            string
	domain         *libvirt.CPU // --cpu-xml
	machine, accel string
	notes          []string
}

// given reports whether any of the flags was given.
func (t *cpuTarget) given() bool { return t.cpu != "" || t.domain != nil }

// load reads what the flags name.
func (f *cpuFlags) load(e *env) (*cpuTarget, error) {
	n := 0
	for _, s := range []string{*f.cpu, *f.xml, *f.cmdline} {
		if s != "" {
			n++
		}
	}
	if f.pid != nil && *f.pid != 0 {
		n++
	}
	if n > 1 {
		names := "--cpu, --cpu-xml and --qemu-cmdline"
		if f.pid != nil {
			names = "--cpu, --cpu-xml, --qemu-cmdline and --pid"
		}
		return nil, usagef(f.cmd, "%s exclude each other", names)
	}
	t := &cpuTarget{cpu: *f.cpu}
	switch {
	case *f.xml != "":
		reg, err := e.registry()
		if err != nil {
			return nil, err
		}
		if t.domain, err = libvirt.ReadCPUFile(*f.xml, reg); err != nil {
			return nil, err
		}
		t.machine, t.accel, t.notes = t.domain.Machine, string(t.domain.Accel()), t.domain.Notes()
	case *f.cmdline != "":
		cmd, err := f.readCmdline(e)
		if err != nil {
			return nil, err
		}
		return target(cmd)
	case f.pid != nil && *f.pid != 0:
		cmd, err := qemucmd.ReadPID(*f.pid)
		if err != nil {
			return nil, err
		}
		return target(cmd)
	}
	return t, nil
}

func (f *cpuFlags) readCmdline(e *env) (*qemucmd.Config, error) {
	name := *f.cmdline
	var data []byte
	var err error
	if name == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(e.stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	return qemucmd.Parse(name, data)
}

func target(cmd *qemucmd.Config) (*cpuTarget, error) {
	t, err := cmd.Target()
	if err != nil {
		return nil, err
	}
	return &cpuTarget{cpu: t.CPU, machine: t.Machine, accel: string(t.Accel), notes: t.Notes}, nil
}

// defaults fills the machine and accel flags the user left empty with
// what the configuration names, and prints its notes.
func (t *cpuTarget) defaults(e *env, cmd string, machine, accel *string) {
	if *machine == "" {
		*machine = t.machine
	}
	if *accel == "" {
		*accel = t.accel
	}
	for _, n := range t.notes {
		fmt.Fprintf(e.stderr, "cpupolicy %s: note: %s\n", cmd, n)
	}
}

// spec returns the -cpu spec ("" when no flag named one) and, for
// --cpu-xml, the features the domain forbids. host is called only when
// the spec depends on the host (libvirt's host-model, match='minimum' or
// optional features).
func (t *cpuTarget) spec(reg *feature.Registry, host func() (*libvirt.Host, error)) (string, *feature.FeatureSet, error) {
	if t.domain == nil {
		return t.cpu, nil, nil
	}
	var h *libvirt.Host
	if t.domain.NeedsHost() {
		var err error
		if h, err = host(); err != nil {
			return "", nil, err
		}
	}
	spec, err := t.domain.Spec(reg, h)
	if err != nil {
		return "", nil, err
	}
	forbid := t.domain.Forbidden()
	return spec, &forbid, nil
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
	cat := j.Catalog
	return &libvirt.Host{Features: j.Avail.Set, Vendor: j.snap.Vendor, Family: j.snap.Family, Model: j.snap.Model, Stepping: j.snap.Stepping,
		Map: m, Usable: func(name string) bool { _, err := cat.Model(name); return err == nil }}, nil
}
