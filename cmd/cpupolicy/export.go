package main

import (
	"bytes"
	"slices"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/export"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// exportFormats are export's platforms.
var exportFormats = []string{"nova", "proxmox", "libvirt", "kubevirt"}

func runExport(e *env, args []string) error {
	fs := newFlags("export")
	format := addFormatFlag(fs, "text", "json")
	format.TextIsFile = true
	pool := fs.String("pool", "", "the `POOL` to export: a pool of --site, or the name of the pool the HOST files make")
	siteFile := fs.String("site", "", "the site `FILE` (site.star) whose pools name the hosts")
	catName := catalogFlag(fs)
	machine := machineFlag(fs)
	cpuMap := fs.String("cpu-map", libvirt.DefaultMapDir, "libvirt's CPU map `DIR` (nova, libvirt and kubevirt name its models)")
	var obsolete listFlag
	fs.Var(&obsolete, "obsolete-models", "kubevirt: the comma-separated `MODELS` of the CR's obsoleteCPUModels (default: KubeVirt's own list)")
	out := fs.String("o", "", "write the configuration to `FILE` atomically (default: standard output)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 || !slices.Contains(exportFormats, fs.Arg(0)) {
		return usagef("export", "want a platform: %s", strings.Join(exportFormats, ", "))
	}
	platform, files := fs.Arg(0), fs.Args()[1:]
	if *pool == "" {
		return usagef("export", "--pool: want the pool to export")
	}
	if (*siteFile == "") == (len(files) == 0) {
		return usagef("export", "want the pool's hosts: a --site whose pools list them, or host snapshot FILEs")
	}
	cat, mt, err := e.catalogMachine(*catName, *machine)
	if err != nil {
		return err
	}
	rel, err := hostRelease(e, cat)
	if err != nil {
		return err
	}
	in := export.Input{Catalog: cat, Release: rel, Machine: mt.Name, Pool: site.Pool{Name: *pool}}
	if *siteFile != "" {
		st, err := starlib.LoadSiteFile(*siteFile, starlib.NewCatalog(cat), e.starlibOptions())
		if err != nil {
			return scriptFailure("export", err)
		}
		i := slices.IndexFunc(st.Pools, func(p site.Pool) bool { return p.Name == *pool })
		if i < 0 {
			var names []string
			for _, p := range st.Pools {
				names = append(names, p.Name)
			}
			return usagef("export", "--pool %s: %s has no such pool (it has: %s)", *pool, *siteFile, strings.Join(names, ", "))
		}
		in.Pool = st.Pools[i]
	}
	for _, f := range files {
		s, err := e.loadSnapshot(f)
		if err != nil {
			return err
		}
		in.Pool.Hosts = append(in.Pool.Hosts, site.NewHost(host.Name(s, f), s))
	}
	if platform != "proxmox" {
		if in.Map, err = libvirt.LoadMap(*cpuMap, cat.Registry()); err != nil {
			return err
		}
	}
	j, err := export.Judge(in)
	if err != nil {
		return err
	}
	var v interface{ Text() []byte }
	switch platform {
	case "nova":
		v, err = export.Nova(j)
	case "proxmox":
		v, err = export.Proxmox(j)
	case "libvirt":
		v, err = export.Libvirt(j)
	default:
		var o []string
		if obsolete.set {
			o = obsolete.values
		}
		v, err = export.KubeVirt(j, o)
	}
	if err != nil {
		return err
	}
	return writeFormat(e, "export", *out, format.Value, v, func(b *bytes.Buffer) { b.Write(v.Text()) })
}
