package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

// runCatalogImportLibvirt is `catalog import libvirt [DIR]`: libvirt's CPU
// map as a catalog whose models are the same on every machine type of a
// reference QEMU catalog (catalog.Uniform).
func runCatalogImportLibvirt(e *env, args []string) int {
	fs := newFlags("catalog import")
	out := fs.String("o", "", "write the catalog to `FILE` atomically (default: standard output)")
	name := fs.String("name", "libvirt", "the catalog's `NAME`")
	machinesFrom := fs.String("machines-from", "", "the catalog `NAME|FILE` whose machine types the models are defined on (default: the newest embedded)")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	dir := libvirt.DefaultMapDir
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		return usageError(e, "catalog import", "unexpected argument %q: want 'catalog import libvirt [DIR]'", fs.Arg(1))
	}
	reg := feature.Builtin()
	ref, err := e.loadCatalog(*machinesFrom)
	if err != nil {
		return inputError(e, err)
	}
	m, err := libvirt.LoadMap(dir, reg)
	if err != nil {
		return inputError(e, err)
	}
	cat, err := m.Catalog(*name, reg, ref.Machines())
	if err != nil {
		return inputError(e, err)
	}
	data, err := cat.Marshal()
	if err != nil {
		return inputError(e, err)
	}
	if rc := writeOutput(e, "catalog import", *out, data); rc != exitOK || *out == "" {
		return rc
	}
	fmt.Fprintf(e.stderr, "%s: libvirt CPU map %s, %d models on the %d machine types of %s, %d bytes\n",
		*out, dir, len(cat.Models()), len(cat.Machines()), ref.Name(), len(data))
	return exitOK
}

// cpuXMLFlag registers --cpu-xml, the libvirt form of --cpu.
func cpuXMLFlag(fs *flag.FlagSet) *string {
	return fs.String("cpu-xml", "", "a libvirt domain XML `FILE` (or its <cpu> element): the offer of its <cpu mode='custom'>, as libvirt passes it to QEMU")
}

// cpuXML reads a --cpu-xml file: the -cpu spec libvirt would give QEMU
// for it, and the features it forbids the host to have.
func cpuXML(path string, reg *feature.Registry) (string, feature.FeatureSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", feature.FeatureSet{}, err
	}
	c, err := libvirt.ParseCPU(path, data, reg)
	if err != nil {
		return "", feature.FeatureSet{}, err
	}
	return c.Spec(reg), c.Forbidden(), nil
}

// specFlags resolves --cpu and --cpu-xml, which exclude each other, into
// one -cpu spec ("" when neither is given) and the forbidden features.
// Errors are printed; the code is -1 on success.
func specFlags(e *env, cmd, cpu, xmlFile string) (string, feature.FeatureSet, int) {
	if xmlFile == "" {
		return cpu, feature.FeatureSet{}, -1
	}
	if cpu != "" {
		return "", feature.FeatureSet{}, usageError(e, cmd, "--cpu and --cpu-xml exclude each other")
	}
	reg, err := e.registry()
	if err != nil {
		return "", feature.FeatureSet{}, inputError(e, err)
	}
	spec, forbid, err := cpuXML(xmlFile, reg)
	if err != nil {
		return "", feature.FeatureSet{}, inputError(e, err)
	}
	return spec, forbid, -1
}

// catalogOperand splits a diff operand "CATALOG:REST" (an embedded
// catalog's name or a catalog file, then a model, MODEL@MACHINE or -cpu
// spec on it). ok is false for operands without a catalog: no colon
// before the first comma, or the "host:" form.
func catalogOperand(arg string) (cat, rest string, ok bool) {
	for i := 0; i < len(arg); i++ {
		switch arg[i] {
		case ',':
			return "", "", false
		case ':':
			if i == 0 || arg[:i] == "host" {
				return "", "", false
			}
			return arg[:i], arg[i+1:], true
		}
	}
	return "", "", false
}
