// Package guestcpu reads the guest CPU configuration a site has, in each
// form it has it in — a QEMU -cpu spec, a libvirt domain's <cpu>, a whole
// QEMU command line, a running QEMU process — into one Target: the -cpu
// spec QEMU gets and the machine type and accelerator the configuration
// names. Commands judge a Target; they do not care where it came from.
package guestcpu

import (
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
		return &Target{Domain: d, Machine: d.Machine, Accel: string(d.Accel()), Notes: d.Notes()}, nil
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
// libvirt <cpu>, the features the domain forbids. host is called only
// when the spec depends on the host (libvirt's host-model,
// match='minimum' or optional features).
func (t *Target) Spec(reg *feature.Registry, host func() (*libvirt.Host, error)) (string, *feature.FeatureSet, error) {
	if t.Domain == nil {
		return t.CPU, nil, nil
	}
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
