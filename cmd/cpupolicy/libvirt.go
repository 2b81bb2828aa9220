package main

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

// runCatalogImportLibvirt is `catalog import libvirt [DIR]`: libvirt's CPU
// map as a catalog whose models are the same on every machine type of a
// reference QEMU catalog (catalog.Uniform).
func runCatalogImportLibvirt(e *env, args []string) error {
	fs := newFlags("catalog import")
	out := fs.String("o", "", "write the catalog to `FILE` atomically (default: standard output)")
	name := fs.String("name", "libvirt", "the catalog's `NAME`")
	machinesFrom := fs.String("machines-from", "", "the catalog `NAME|FILE` whose machine types the models are defined on (default: the newest embedded)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	dir := libvirt.DefaultMapDir
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		return usagef("catalog import", "unexpected argument %q: want 'catalog import libvirt [DIR]'", fs.Arg(1))
	}
	reg := feature.Builtin()
	ref, err := e.loadCatalog(*machinesFrom)
	if err != nil {
		return err
	}
	m, err := libvirt.LoadMap(dir, reg)
	if err != nil {
		return err
	}
	cat, err := m.Catalog(*name, reg, ref.Machines())
	if err != nil {
		return err
	}
	data, err := cat.Marshal()
	if err != nil {
		return err
	}
	if err := output(e, "catalog import", *out, data); err != nil || *out == "" {
		return err
	}
	fmt.Fprintf(e.stderr, "%s: libvirt CPU map %s, %d models on the %d machine types of %s, %d bytes\n",
		*out, dir, cat.NumModels(), len(cat.Machines()), ref.Name(), len(data))
	return nil
}
