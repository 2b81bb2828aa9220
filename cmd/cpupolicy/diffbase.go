package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// hostAvailability loads the snapshot FILE (this host, probed, for "") and
// computes what QEMU release rel lets a guest have there under accel,
// and the host's name (host.Name); errors name the file.
func (e *env) hostAvailability(file string, reg *feature.Registry, rel core.Release, accel core.Accel) (_ *check.Availability, name string, _ error) {
	var s *host.HostSnapshot
	var err error
	where := file // what an error names
	if file == "" {
		where = "this host"
		s, err = e.probeLive()
	} else {
		s, err = e.loadSnapshot(file)
	}
	if err != nil {
		return nil, "", err
	}
	a, err := check.HostAvailability(where, reg, s, rel, accel)
	return a, host.Name(s, file), err
}

// operand resolves one side of `diff`: MODEL, MODEL@MACHINE, a -cpu spec
// (it has a comma), host:FILE or host: (this host's availability), or
// CATALOG:X — X on another catalog (check.ParseOperand).
func (j *judge) operand(e *env, arg string) (feature.FeatureSet, error) {
	op := check.ParseOperand(arg)
	if op.Host {
		rel, err := qemuRelease(e, j.Catalog)
		if err != nil {
			return feature.FeatureSet{}, err
		}
		a, _, err := e.hostAvailability(op.HostFile, j.Catalog.Registry(), rel, j.Accel)
		if err != nil {
			return feature.FeatureSet{}, err
		}
		return a.Set, nil
	}
	cat := j.Catalog
	if op.Catalog != "" {
		c, err := e.loadCatalog(op.Catalog)
		if err != nil {
			return feature.FeatureSet{}, fmt.Errorf("%s: %v", arg, err)
		}
		cat = c
	}
	return op.Resolve(cat, j.Machine.Name, j.Accel, j.Vendor)
}

func runDiff(e *env, args []string) error {
	fs := newFlags("diff")
	format := addFormatFlag(fs, "text", "json")
	jf := addJudgeFlags(fs)
	jf.vendorOnly = true
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("diff", "want two operands: [CATALOG:]MODEL[@MACHINE], [CATALOG:]SPEC, host:FILE or host:")
	}
	j, err := loadJudge(e, "diff", jf)
	if err != nil {
		return err
	}
	a, err := j.operand(e, fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := j.operand(e, fs.Arg(1))
	if err != nil {
		return err
	}
	out := check.Diff(j.Catalog.Registry(), fs.Arg(0), fs.Arg(1), j.Accel, a, b)
	return writeFormat(e, "diff", "", format.Value, out, func(b *bytes.Buffer) {
		fmt.Fprintf(b, "%d features in common (%s)\n", out.Common, out.Accel)
		fmt.Fprintf(b, "only in %s (%d): %s\n", out.A, len(out.OnlyA), strings.Join(out.OnlyA, " "))
		fmt.Fprintf(b, "only in %s (%d): %s\n", out.B, len(out.OnlyB), strings.Join(out.OnlyB, " "))
	})
}

func runBaseline(e *env, args []string) error {
	fs := newFlags("baseline")
	format := addFormatFlag(fs, "text", "json")
	catName, machine := catalogFlag(fs), machineFlag(fs)
	all := fs.Bool("all", false, "also list every runnable model, best first (the ranking is always in the JSON)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("baseline", "want one or more host snapshot FILEs (host: for this machine)")
	}
	cat, mt, err := e.catalogMachine(*catName, *machine)
	if err != nil {
		return err
	}
	rel, err := hostRelease(e, cat)
	if err != nil {
		return err
	}
	var hosts []fleet.HostSet
	for _, arg := range fs.Args() {
		a, name, err := e.hostAvailability(strings.TrimPrefix(arg, "host:"), cat.Registry(), rel, core.KVM)
		if err != nil {
			return err
		}
		hosts = append(hosts, fleet.HostSet{Name: name, Set: a.Set})
	}
	out, err := fleet.CatalogBaseline(cat, mt.Name, hosts)
	if err != nil {
		return err
	}
	return writeFormat(e, "baseline", "", format.Value, out, func(b *bytes.Buffer) { out.WriteText(b, *all) })
}
