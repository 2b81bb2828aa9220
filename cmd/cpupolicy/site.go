package main

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// siteConfig is what the check command's flags say about the site.
type siteConfig struct {
	siteFile  string
	hostFiles []string
	cpu       string
	machine   string
	accel     string // resolved: kvm or tcg
}

// cliPool names the pool of the --host files (or the live host).
const cliPool = "hosts"

// build returns the site to check and the host under check (ctx.host):
//
//   - --site FILE: the file's offers and pools; offers that name no
//     accelerator get --accel. At most one --host, the host under check
//     (for offers without a pool); the live host is not probed, because
//     the site names its hosts.
//   - otherwise: the --host files (or, under kvm, the live host, probed)
//     form the pool "hosts", and --cpu SPEC [--machine M] one offer on it,
//     named by its spec. With one host, it is also the host under check.
func (sc siteConfig) build(e *env, cat *starlib.Catalog, opts starlib.Options) (*site.Site, *starlib.Host, error) {
	if sc.siteFile != "" {
		return sc.fromFile(e, cat, opts)
	}
	return sc.fromFlags(e, cat)
}

// fromFile is build's site of a --site file.
func (sc siteConfig) fromFile(e *env, cat *starlib.Catalog, opts starlib.Options) (*site.Site, *starlib.Host, error) {
	if sc.cpu != "" || sc.machine != "" {
		return nil, nil, usagef("check", "--site excludes --cpu and --machine: the site file declares the offers")
	}
	if len(sc.hostFiles) > 1 {
		return nil, nil, usagef("check", "with --site, --host names the one host under check; pools belong in the site file")
	}
	st, err := starlib.LoadSiteFile(sc.siteFile, cat, opts)
	if err != nil {
		return nil, nil, scriptFailure("check", err)
	}
	for i := range st.Offers {
		if st.Offers[i].Accel == "" {
			st.Offers[i].Accel = sc.accel
		}
	}
	var h *starlib.Host
	if len(sc.hostFiles) == 1 {
		if h, err = loadHost(e, sc.hostFiles[0]); err != nil {
			return nil, nil, err
		}
	}
	return st, h, nil
}

// fromFlags is build's site of the --host files and --cpu.
func (sc siteConfig) fromFlags(e *env, cat *starlib.Catalog) (*site.Site, *starlib.Host, error) {
	if sc.machine != "" && sc.cpu == "" {
		return nil, nil, usagef("check", "--machine needs --cpu")
	}
	st := &site.Site{}
	var hosts []*starlib.Host
	for _, f := range sc.hostFiles {
		h, err := loadHost(e, f)
		if err != nil {
			return nil, nil, err
		}
		for _, other := range hosts {
			if other.Name() == h.Name() {
				return nil, nil, usagef("check", "two --host files named %s", h.Name())
			}
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 && core.Accel(sc.accel) == core.KVM {
		snap, err := e.probeLive()
		if err != nil {
			return nil, nil, cmdError("check", fmt.Errorf("probing this host: %v", err))
		}
		reg, _ := e.registry() // loaded by probeLive
		h, err := starlib.NewHost(host.Name(snap, ""), snap, reg)
		if err != nil {
			return nil, nil, err
		}
		hosts = append(hosts, h)
	}
	if len(hosts) > 0 {
		pool := site.Pool{Name: cliPool}
		for _, h := range hosts {
			pool.Hosts = append(pool.Hosts, h.Site())
		}
		st.Pools = []site.Pool{pool}
	}
	if sc.cpu != "" {
		o := site.Offer{Name: sc.cpu, CPU: sc.cpu, Machine: sc.machine, Accel: sc.accel}
		if err := starlib.CheckOffer(cat, o); err != nil {
			return nil, nil, (fmt.Errorf("--cpu %s: %v", sc.cpu, err))
		}
		if len(hosts) > 0 {
			o.Pool = cliPool
		}
		st.Offers = []site.Offer{o}
	}
	var h *starlib.Host
	if len(hosts) == 1 {
		h = hosts[0]
	}
	return st, h, nil
}

// loadHost reads a snapshot file as a host named as every command names
// one (host.Name).
func loadHost(e *env, path string) (*starlib.Host, error) {
	snap, err := e.loadSnapshot(path)
	if err != nil {
		return nil, err
	}
	reg, _ := e.registry() // loaded by loadSnapshot
	return starlib.NewHost(host.Name(snap, path), snap, reg)
}
