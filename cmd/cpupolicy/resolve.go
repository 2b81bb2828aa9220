package main

import (
	"bytes"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
)

// resolvedJSON is one element of `resolve --format json`. Its keys are a
// contract.
type resolvedJSON struct {
	Name     string   `json:"name"`
	Machine  string   `json:"machine"`
	Accel    string   `json:"accel"`
	Features []string `json:"features"`
	Level    uint32   `json:"level"`
	XLevel   uint32   `json:"xlevel"`
	Family   int      `json:"family"`
	Model    int      `json:"model"`
	Stepping int      `json:"stepping"`
	ModelID  string   `json:"model-id"`
	Vendor   string   `json:"vendor"`
}

func runResolve(e *env, args []string) int {
	fs := newFlags("resolve")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
	machine := fs.String("machine", "", "machine `type` (default: the catalog's newest pc-q35)")
	accel := fs.String("accel", "", "accelerator: kvm or tcg (default: kvm when /dev/kvm works, else tcg)")
	spec := fs.String("cpu", "", "a QEMU -cpu `SPEC` (Model,+feat,-feat,feat=on|off,prop=value) to resolve instead of named models")
	xmlFile := cpuXMLFlag(fs)
	hostFile := fs.String("host", "", "snapshot `FILE` whose vendor QEMU would give kvm guests (default: this host's)")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	s, _, rc := specFlags(e, "resolve", *spec, *xmlFile)
	if rc >= 0 {
		return rc
	}
	*spec = s
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return inputError(e, err)
	}
	reg := cat.Registry()
	mt, err := pickMachine(cat, *machine)
	if err != nil {
		return inputError(e, err)
	}
	acc, err := pickAccel(cat, *accel)
	if err != nil {
		return usageError(e, "resolve", "%v", err)
	}
	vendor, err := kvmVendor(e, *hostFile)
	if err != nil {
		return inputError(e, err)
	}

	var out []*catalog.Resolution
	switch {
	case *spec != "":
		if fs.NArg() > 0 {
			return usageError(e, "resolve", "--cpu (or --cpu-xml) and model names exclude each other")
		}
		s, err := catalog.ParseCPUSpec(*spec, reg)
		if err != nil {
			return inputError(e, err)
		}
		r, err := cat.ResolveSpec(s, mt.Name, acc, vendor)
		if err != nil {
			return inputError(e, err)
		}
		r.Model = s.Text
		out = append(out, r)
	default:
		names := fs.Args()
		if len(names) == 0 {
			for _, m := range cat.Models() {
				names = append(names, m.Name)
			}
		}
		for _, n := range names {
			r, err := cat.Resolve(n, mt.Name, acc, vendor)
			if err != nil {
				return inputError(e, err)
			}
			out = append(out, r)
		}
	}

	var buf bytes.Buffer
	if format.value == "json" {
		js := make([]resolvedJSON, len(out))
		for i, r := range out {
			js[i] = resolvedJSON{Name: r.Model, Machine: r.Machine, Accel: r.Accel, Features: nonNil(reg.Names(r.Features)),
				Level: r.Level, XLevel: r.XLevel, Family: r.Family, Model: r.Props.Model, Stepping: r.Stepping,
				ModelID: r.ModelID, Vendor: r.Vendor}
		}
		writeJSON(&buf, js)
	} else {
		tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tMACHINE\tACCEL\tFEATURES\tLEVEL\tXLEVEL\tFAMILY\tMODEL\tSTEPPING\tVENDOR\tMODEL-ID")
		for _, r := range out {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%#x\t%#x\t%d\t%d\t%d\t%s\t%s\n", r.Model, r.Machine, r.Accel, r.Features.Count(),
				r.Level, r.XLevel, r.Family, r.Props.Model, r.Stepping, r.Vendor, r.ModelID)
		}
		tw.Flush()
		if len(out) == 1 {
			fmt.Fprintf(&buf, "\nfeatures: %v\n", reg.Names(out[0].Features))
		}
	}
	e.stdout.Write(buf.Bytes())
	return exitOK
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// pickMachine returns --machine, or the catalog's newest pc-q35.
func pickMachine(cat *catalog.Catalog, name string) (*catalog.MachineType, error) {
	if name != "" {
		return cat.Machine(name)
	}
	mt, ok := cat.Newest("pc-q35")
	if !ok {
		return nil, fmt.Errorf("catalog %s has no pc-q35 machine type; name one with --machine", cat.Name())
	}
	return mt, nil
}

// pickAccel returns --accel, or kvm when /dev/kvm can be opened, else tcg.
func pickAccel(cat *catalog.Catalog, accel string) (string, error) {
	switch accel {
	case "":
		if kvmUsable() && cat.HasAccel(catalog.KVM) {
			return catalog.KVM, nil
		}
		return catalog.TCG, nil
	case catalog.KVM, catalog.TCG:
		if !cat.HasAccel(accel) {
			return "", fmt.Errorf("catalog %s has no %s data", cat.Name(), accel)
		}
		return accel, nil
	}
	return "", fmt.Errorf("--accel: got %q, want kvm or tcg", accel)
}

func kvmUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
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
	l := f(0, 0)
	return cpuid.Vendor(l), nil
}
