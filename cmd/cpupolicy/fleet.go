package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/internal/tty"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

func runFleet(e *env, args []string) error {
	fs := newFlags("fleet")
	format := addFormatFlag(fs, "text", "json", "html")
	siteFile := fs.String("site", "", "the site `FILE` (site.star) declaring offers and pools")
	catName := catalogFlag(fs)
	var machines repeatFlag
	fs.Var(&machines, "machine", "judge the models on machine `type` (repeatable; default: the catalog's newest pc-q35)")
	outFile := fs.String("o", "", "write the report to `FILE` (atomically) instead of standard output")
	migration := fs.Bool("migration", false, "also group the hosts into migratability classes: where a host-model guest of each can live-migrate")
	var remove, add repeatFlag
	fs.Var(&remove, "what-if-remove", "report how each pool's best model and level change without `HOST` (repeatable)")
	fs.Var(&add, "what-if-add", "report how each pool's best model and level change with the host snapshot `FILE` (repeatable)")
	sf := addSandboxFlags(fs)
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 && *siteFile == "" {
		return usagef("fleet", "want host snapshot FILEs, directories or globs, or a --site with pools")
	}
	in, err := fleetInput(e, *catName, machines, *siteFile, sf)
	if err != nil {
		return err
	}
	if in.Files, err = site.FleetFiles(fs.Args()); err != nil {
		return err
	}
	in.Migration = *migration
	if len(remove) > 0 || len(add) > 0 {
		return runWhatIf(e, in, remove, add, format.Value, *outFile)
	}
	r, err := site.JudgeFleet(in)
	if errors.Is(err, site.ErrNoHosts) {
		return usagef("fleet", "%v", err)
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	switch format.Value {
	case "json":
		writeJSON(&buf, r)
	case "html":
		if err := site.WriteFleetHTML(&buf, r); err != nil {
			return cmdError("fleet", fmt.Errorf("writing the report: %v", err))
		}
	default:
		site.WriteFleetText(&buf, r, *outFile == "" && tty.Color(e.stdout))
	}
	if err := output(e, "fleet", *outFile, buf.Bytes()); err != nil {
		return err
	}
	if r.Status == "fail" {
		return errFailed
	}
	return nil
}

// runWhatIf writes the what-if report of fleet --what-if-remove/--what-if-add.
func runWhatIf(e *env, in site.FleetInput, remove, add []string, format, outFile string) error {
	if format == "html" {
		return usagef("fleet", "--what-if-remove and --what-if-add write text or json, not html")
	}
	var files []site.FleetFile
	for _, a := range add {
		files = append(files, site.FleetFile{Path: a})
	}
	r, err := site.WhatIf(in, remove, files)
	if errors.Is(err, site.ErrNoHosts) {
		return usagef("fleet", "%v", err)
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format == "json" {
		writeJSON(&buf, r)
	} else {
		site.WriteWhatIfText(&buf, r)
	}
	return output(e, "fleet", outFile, buf.Bytes())
}

// fleetInput loads what the flags name: the catalog (with kvm data), the
// machine types (default the newest pc-q35) and the site file.
func fleetInput(e *env, catName string, machines repeatFlag, siteFile string, sf sandboxFlags) (site.FleetInput, error) {
	cat, err := e.loadCatalog(catName)
	if err != nil {
		return site.FleetInput{}, err
	}
	in := site.FleetInput{Catalog: cat, SiteFile: siteFile, Parse: e.parseSnapshot}
	if len(machines) == 0 {
		machines = repeatFlag{""}
	}
	for _, m := range machines {
		mt, err := check.Machine(cat, m)
		if err != nil {
			return site.FleetInput{}, fmt.Errorf("--machine: %v", err)
		}
		if !slices.Contains(in.Machines, mt.Name) {
			in.Machines = append(in.Machines, mt.Name)
		}
	}
	if in.Release, err = hostRelease(e, cat); err != nil {
		return site.FleetInput{}, err
	}
	if siteFile != "" {
		if in.Site, err = starlib.LoadSiteFile(siteFile, starlib.NewCatalog(cat), sf.options(e)); err != nil {
			return site.FleetInput{}, scriptFailure("fleet", err)
		}
	}
	return in, nil
}
