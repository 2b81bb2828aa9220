// Package guestcpu reads the guest CPU configuration a site has, in each
// form it has it in — a QEMU -cpu spec, a libvirt domain's <cpu>, a whole
// QEMU command line, a running QEMU process — into one Target: the -cpu
// spec QEMU gets and the machine type and accelerator the configuration
// names. Commands judge a Target; they do not care where it came from.
package guestcpu

import (
	"fmt"
	"io"
	"os"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/core/qemucmd"
)

// Source names where the configuration is; at most one of CPU, XML,
// Cmdline and PID is set (the caller enforces it, as a usage error).
type Source struct {
	CPU     string    // a -cpu spec
	XML     string    // a libvirt domain XML file, or its <cpu> element
	Cmdline string    // a file holding a QEMU command line; "-" for Stdin
	PID     int       // a running QEMU process
	Stdin   io.Reader // read when Cmdline is "-"
	// CPUMap is libvirt's CPU map directory, read when a <cpu> needs it
	// (host-model, or a model QEMU lacks under fallback='allow').
	CPUMap string
}

// Target is the configuration a Source names: a -cpu spec (for a libvirt
// <cpu>, once the host is known: Spec), and the machine type and
// accelerator the configuration itself names ("" when it names none),
// with notes on what was read.
type Target struct {
	CPU            string
	Domain         *libvirt.CPU // from XML
	Machine, Accel string
	Notes          []string
	cpuMap         string
}

// Given is how many configurations src names: more than one is the
// caller's usage error.
func (src Source) Given() int {
	n := 0
	for _, given := range []bool{src.CPU != "", src.XML != "", src.Cmdline != "", src.PID != 0} {
		if given {
			n++
		}
	}
	return n
}

// Load reads what src names; reg names the features of a libvirt <cpu>
// (it may be nil for the other sources).
func Load(src Source, reg *feature.Registry) (*Target, error) {
	switch {
	case src.XML != "":
		d, err := libvirt.ReadCPUFile(src.XML, reg)
		if err != nil {
			return nil, err
		}
		return &Target{Domain: d, Machine: d.Machine, Accel: string(d.Accel()), Notes: d.Notes(), cpuMap: src.CPUMap}, nil
	case src.Cmdline != "":
		cmd, err := readCmdline(src.Cmdline, src.Stdin)
		if err != nil {
			return nil, err
		}
		return fromCmdline(cmd)
	case src.PID != 0:
		cmd, err := qemucmd.ReadPID(src.PID)
		if err != nil {
			return nil, err
		}
		return fromCmdline(cmd)
	}
	return &Target{CPU: src.CPU}, nil
}

func readCmdline(name string, stdin io.Reader) (*qemucmd.Config, error) {
	var data []byte
	var err error
	if name == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	return qemucmd.Parse(name, data)
}

func fromCmdline(cmd *qemucmd.Config) (*Target, error) {
	t, err := cmd.Target()
	if err != nil {
		return nil, err
	}
	return &Target{CPU: t.CPU, Machine: t.Machine, Accel: string(t.Accel), Notes: t.Notes}, nil
}

// Given reports whether the source named a configuration at all.
func (t *Target) Given() bool { return t.CPU != "" || t.Domain != nil }

// Spec returns the -cpu spec ("" when none was named) and, for a
// libvirt <cpu>, the features the domain forbids. q is the QEMU the
// <cpu> is for, as libvirt sees it: a custom <cpu> naming a model QEMU
// lacks is translated (libvirt.CPU.Translate), and disabled features
// QEMU does not know are left out (DropUnknown). host is called only
// when the spec depends on the host (libvirt's host-model,
// match='minimum' or optional features).
func (t *Target) Spec(reg *feature.Registry, q libvirt.QEMU, host func() (*libvirt.Host, error)) (string, *feature.FeatureSet, error) {
	if t.Domain == nil {
		return t.CPU, nil, nil
	}
	if t.Domain.Mode == "custom" && !q.HasModel(t.Domain.Model) {
		var m *libvirt.Map
		if t.Domain.Fallback == "allow" {
			var err error
			if m, err = libvirt.LoadMap(t.cpuMap, reg); err != nil {
				return "", nil, err
			}
		}
		if _, err := t.Domain.Translate(m, q.HasModel); err != nil {
			return "", nil, err
		}
		t.Notes = append(t.Notes, fmt.Sprintf("QEMU has no CPU model %s: libvirt names the same CPU by %s (fallback='allow')", t.Domain.Translated, t.Domain.Model))
	}
	t.Domain.DropUnknown(reg, q)
	var h *libvirt.Host
	if t.Domain.NeedsHost() {
		var err error
		if h, err = host(); err != nil {
			return "", nil, err
		}
	}
	spec, err := t.Domain.Spec(reg, h)
	if err != nil {
		return "", nil, err
	}
	forbid := t.Domain.Forbidden()
	return spec, &forbid, nil
}
