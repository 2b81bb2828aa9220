package main

import (
	"bytes"

	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
)

func runResolve(e *env, args []string) error {
	fs := newFlags("resolve")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
	machine := fs.String("machine", "", "machine `type` (default: the catalog's newest pc-q35)")
	accel := fs.String("accel", "", "accelerator: kvm or tcg (default: kvm)")
	spec := fs.String("cpu", "", "a QEMU -cpu `SPEC` (Model,+feat,-feat,feat=on|off,prop=value) to resolve instead of named models")
	xmlFile := cpuXMLFlag(fs)
	hostFile := fs.String("host", "", "snapshot `FILE` whose vendor QEMU would give kvm guests (default: this host's)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	s, _, err := cpuSpecFlags(e, "resolve", *spec, *xmlFile)
	if err != nil {
		return err
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return err
	}
	mt, err := check.Machine(cat, *machine)
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
	if s != "" && fs.NArg() > 0 {
		return usagef("resolve", "--cpu (or --cpu-xml) and model names exclude each other")
	}
	out, err := check.ResolveAll(cat, fs.Args(), s, mt.Name, acc, vendor)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, cat.ResolutionsJSON(out))
	} else {
		cat.WriteResolutions(&buf, out)
	}
	return output(e, "resolve", "", buf.Bytes())
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
