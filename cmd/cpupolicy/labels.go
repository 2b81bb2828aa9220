package main

import (
	"bytes"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/labels"
	"github.com/cpupolicy/cpupolicy/starlib"
)

func runLabels(e *env, args []string) error {
	fs := newFlags("labels")
	format := &formatFlag{Value: "text", Allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text (NFD's feature file) or json")
	jf := addJudgeFlags(fs)
	siteFile := fs.String("site", "", "label the runnable offers of the site `FILE` too")
	out := fs.String("o", "", "write the labels to `FILE` atomically (an NFD features.d file; default: standard output)")
	expiry := fs.Duration("expiry", 0, "add NFD's expiry-time `DURATION` from now, after which NFD drops the labels (0: none)")
	style := fs.String("style", "nfd", "label `style`: nfd (cpupolicy.io/ labels) or kubevirt (KubeVirt node-labeller's keys and rules)")
	cpuMap := fs.String("cpu-map", libvirt.DefaultMapDir, "libvirt's CPU map `DIR`, which --style kubevirt reads as node-labeller does")
	hostModelFrom := fs.String("host-model-from", "", "with --style kubevirt: take libvirt's host-model CPU from `FILE`, the host's virsh domcapabilities (default: computed as libvirt's x86Decode would)")
	var obsolete listFlag
	fs.Var(&obsolete, "obsolete-models", "with --style kubevirt: the comma-separated `MODELS` never labelled, as a KubeVirt CR's obsoleteCPUModels (default: KubeVirt's own list)")
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
	}
	if *style != "nfd" && *style != "kubevirt" {
		return usagef("labels", "--style: got %q, want nfd or kubevirt", *style)
	}
	if *style == "kubevirt" && *siteFile != "" {
		return usagef("labels", "--site labels offers in the nfd style only")
	}
	if *expiry < 0 {
		return usagef("labels", "--expiry: got %v, want a positive duration", *expiry)
	}
	j, err := loadJudge(e, "labels", jf)
	if err != nil {
		return err
	}
	if *style == "kubevirt" {
		return kubevirtLabels(e, j, kubevirtFlags{*cpuMap, *hostModelFrom, obsolete}, *expiry, *out, format.Value)
	}
	in := labels.Input{Host: j.Host, Catalog: j.Catalog, Machine: j.Machine.Name, Accel: string(j.Accel),
		Snapshot: j.snap, Avail: j.Avail, SiteFile: *siteFile}
	if *expiry > 0 {
		in.Expiry = e.now().Add(*expiry)
	}
	if *siteFile != "" {
		if in.Site, err = starlib.LoadSiteFile(*siteFile, starlib.NewCatalog(j.Catalog), e.starlibOptions()); err != nil {
			return scriptFailure("labels", err)
		}
	}
	n, err := labels.For(in)
	if err != nil {
		return err
	}
	return writeFormat(e, "labels", *out, format.Value, n, func(b *bytes.Buffer) { labels.WriteFeatureFile(b, n) })
}

// kubevirtFlags are the flags of labels --style kubevirt.
type kubevirtFlags struct {
	cpuMap, hostModelFrom string
	obsolete              listFlag
}

// kubevirtLabels is labels --style kubevirt.
func kubevirtLabels(e *env, j *judge, kf kubevirtFlags, expiry time.Duration, out, format string) error {
	if j.Accel != core.KVM {
		return usagef("labels", "--style kubevirt judges under kvm, as KubeVirt runs")
	}
	in := labels.KubeVirtInput{Host: j.Host, Catalog: j.Catalog, Machine: j.Machine.Name, Snapshot: j.snap, Avail: j.Avail}
	if err := in.ReadFiles(kf.cpuMap, kf.hostModelFrom); err != nil {
		return err
	}
	if kf.obsolete.set {
		in.Obsolete = kf.obsolete.values
	}
	if expiry > 0 {
		in.Expiry = e.now().Add(expiry)
	}
	n, err := labels.KubeVirt(in)
	if err != nil {
		return err
	}
	return writeFormat(e, "labels", out, format, n, func(b *bytes.Buffer) { labels.WriteFeatureFile(b, n) })
}

// listFlag is a comma-separated list flag that knows whether it was set
// (an empty list is not the default).
type listFlag struct {
	values []string
	set    bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }
func (l *listFlag) Set(s string) error {
	l.set, l.values = true, []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.values = append(l.values, v)
		}
	}
	return nil
}
