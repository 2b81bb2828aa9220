package main

import (
	"bytes"
	"fmt"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
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
		writeJSON(&buf, resolvedJSONOf(cat, out))
	} else {
		writeResolveText(&buf, cat, out)
	}
	return output(e, "resolve", "", buf.Bytes())
}

func resolvedJSONOf(cat *catalog.Catalog, out []*catalog.Resolution) []resolvedJSON {
	js := make([]resolvedJSON, len(out))
	for i, r := range out {
		js[i] = resolvedJSON{Name: r.Model, Machine: r.Machine, Accel: r.Accel, Features: nonNil(cat.Registry().Names(r.Features)),
			Level: r.Level, XLevel: r.XLevel, Family: r.Family, Model: r.Props.Model, Stepping: r.Stepping,
			ModelID: r.ModelID, Vendor: r.Vendor}
	}
	return js
}

func writeResolveText(buf *bytes.Buffer, cat *catalog.Catalog, out []*catalog.Resolution) {
	tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tMACHINE\tACCEL\tFEATURES\tLEVEL\tXLEVEL\tFAMILY\tMODEL\tSTEPPING\tVENDOR\tMODEL-ID")
	for _, r := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%#x\t%#x\t%d\t%d\t%d\t%s\t%s\n", r.Model, r.Machine, r.Accel, r.Features.Count(),
			r.Level, r.XLevel, r.Family, r.Props.Model, r.Stepping, r.Vendor, r.ModelID)
	}
	tw.Flush()
	if len(out) == 1 {
		fmt.Fprintf(buf, "\nfeatures: %v\n", cat.Registry().Names(out[0].Features))
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// pickMachine (TRANSITIONAL, replaced by check.Machine).
func pickMachine(cat *catalog.Catalog, name string) (*catalog.MachineType, error) {
	return check.Machine(cat, name)
}

// pickAccel (TRANSITIONAL, replaced by check.Accelerator).
func pickAccel(cat *catalog.Catalog, accel string) (string, error) {
	return check.Accelerator(cat, accel)
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
