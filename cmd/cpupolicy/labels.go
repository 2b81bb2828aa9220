package main

import (
	"bytes"

	"github.com/cpupolicy/cpupolicy/labels"
	"github.com/cpupolicy/cpupolicy/starlib"
)

func runLabels(e *env, args []string) error {
	fs := newFlags("labels")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text (NFD's feature file) or json")
	jf := addJudgeFlags(fs)
	siteFile := fs.String("site", "", "label the runnable offers of the site `FILE` too")
	out := fs.String("o", "", "write the labels to `FILE` atomically (an NFD features.d file; default: standard output)")
	expiry := fs.Duration("expiry", 0, "add NFD's expiry-time `DURATION` from now, after which NFD drops the labels (0: none)")
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
	}
	if *expiry < 0 {
		return usagef("labels", "--expiry: got %v, want a positive duration", *expiry)
	}
	j, err := loadJudge(e, "labels", jf)
	if err != nil {
		return err
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
	return writeFormat(e, "labels", *out, format.value, n, func(b *bytes.Buffer) { labels.WriteFeatureFile(b, n) })
}
