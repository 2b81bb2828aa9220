package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/internal/tty"
)

// qemuRelease is the QEMU release whose availability rules judge hosts
// for cat, with a note on stderr when the catalog names no release.
func qemuRelease(e *env, cat *catalog.Catalog) (core.Release, error) {
	rel, note, err := check.CatalogRelease(cat)
	if note != "" {
		fmt.Fprintf(e.stderr, "cpupolicy: note: %s\n", note)
	}
	return rel, err
}

// hostRelease is qemuRelease for the commands that judge hosts under kvm
// (baseline, fleet, export): the catalog must have kvm data.
func hostRelease(e *env, cat *catalog.Catalog) (core.Release, error) {
	if !cat.HasAccel(core.KVM) {
		return core.Release{}, fmt.Errorf("catalog %s has no kvm data", cat.Name())
	}
	return qemuRelease(e, cat)
}

// judge is what the judge flags load: a check.Judge and the snapshot it
// judges.
type judge struct {
	check.Judge
	snap *host.HostSnapshot // nil under tcg without --host
	// releaseWarning is check.ReleaseWarning's, which models and why
	// print once they have answered (an error stays one line).
	releaseWarning string
}

type judgeFlags struct {
	catName, machine, accel, hostFile *string
	// vendorOnly: the command needs only the host's vendor (under kvm a
	// model takes the host's), not what it can run, so a host without
	// KVM data is no error (diff of two models).
	vendorOnly bool
}

func addJudgeFlags(fs *flag.FlagSet) judgeFlags {
	return judgeFlags{catName: catalogFlag(fs), machine: machineFlag(fs), accel: accelFlag(fs),
		hostFile: fs.String("host", "", "judge the recorded snapshot `FILE` instead of this host")}
}

// loadJudge loads what the judge flags name: under kvm the --host
// snapshot or this host, probed.
func loadJudge(e *env, cmd string, f judgeFlags) (*judge, error) {
	catName, name := *f.catName, *f.hostFile
	var snap *host.HostSnapshot
	if catName == "auto" {
		// The catalog of the release that captured the host.
		if name == "" {
			return nil, usagef(cmd, "--catalog auto needs --host FILE, a snapshot made by probe --from-qemu-expansion")
		}
		var err error
		if snap, err = e.loadSnapshot(name); err != nil {
			return nil, err
		}
		var note string
		if catName, note, err = catalog.Auto(name, snap.QEMURelease); err != nil {
			return nil, err
		}
		if note != "" {
			fmt.Fprintf(e.stderr, "cpupolicy: note: %s\n", note)
		}
	}
	cat, mt, err := e.catalogMachine(catName, *f.machine)
	if err != nil {
		return nil, err
	}
	j := &judge{Judge: check.Judge{Catalog: cat, Machine: mt}, snap: snap}
	if j.Accel, err = check.Accelerator(cat, *f.accel); err != nil {
		return nil, usagef(cmd, "%v", err)
	}
	var path string // the snapshot's file, "" for this host
	switch {
	case j.snap != nil: // --catalog auto loaded it
		path = name
	case name != "":
		path = name
		if j.snap, err = e.loadSnapshot(name); err != nil {
			return nil, err
		}
	case j.Accel == core.KVM:
		if j.snap, err = e.probeLive(); err != nil {
			return nil, failf(cmd, err)
		}
		name = "this host"
	}
	rel, err := qemuRelease(e, cat)
	if err != nil {
		return nil, err
	}
	j.releaseWarning = check.ReleaseWarning(j.snap, path, cat.QEMUVersion())
	j.Avail, err = check.HostAvailability(name, cat.Registry(), j.snap, rel, j.Accel)
	if err != nil && !(f.vendorOnly && errors.Is(err, check.ErrNoKVM)) {
		return nil, err
	}
	j.Host = check.HostLabel(j.snap, path)
	if j.snap != nil {
		j.Vendor = j.snap.Vendor
	}
	return j, nil
}

// warnRelease prints the judge's release warning, if any.
func (j *judge) warnRelease(e *env) {
	if j.releaseWarning != "" {
		fmt.Fprintf(e.stderr, "cpupolicy: warning: %s\n", j.releaseWarning)
	}
}

func runModels(e *env, args []string) error {
	fs := newFlags("models")
	format := addFormatFlag(fs, "text", "json")
	jf := addJudgeFlags(fs)
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
	}
	j, err := loadJudge(e, "models", jf)
	if err != nil {
		return err
	}
	rows, err := j.Models()
	if err != nil {
		return err
	}
	if err := writeFormat(e, "models", "", format.Value, check.ModelVerdicts(rows), func(b *bytes.Buffer) { j.WriteModelsText(b, rows, tty.Color(e.stdout)) }); err != nil {
		return err
	}
	j.warnRelease(e)
	return nil
}

func runWhy(e *env, args []string) error {
	fs := newFlags("why")
	format := addFormatFlag(fs, "text", "json")
	cf := addCPUFlags(fs, "why", true)
	jf := addJudgeFlags(fs)
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	t, err := cf.load(e)
	if err != nil {
		return err
	}
	if !t.Given() == (fs.NArg() != 1) {
		return usagef("why", "want one MODEL, or one of --cpu SPEC, --cpu-xml FILE, --qemu-cmdline FILE, --pid PID")
	}
	defaults(t, jf.machine, jf.accel)
	j, err := loadJudge(e, "why", jf)
	if err != nil {
		return err
	}
	s, forbid, err := cf.spec(e, t, j.Catalog, func() (*libvirt.Host, error) { return cf.libvirtHost(j) })
	if err != nil {
		return err
	}
	out, err := j.Why(fs.Arg(0), s, forbid)
	if err != nil {
		return err
	}
	err = writeFormat(e, "why", "", format.Value, out, func(b *bytes.Buffer) { out.WriteText(b, tty.Color(e.stdout)) })
	if err == nil {
		j.warnRelease(e)
	}
	if err != nil || out.Runnable {
		return err
	}
	return errFailed
}
