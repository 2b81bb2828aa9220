package site

import (
	"fmt"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Config is an offer's configuration resolved with a catalog: the guest
// it describes.
type Config struct {
	Catalog *catalog.Catalog
	Spec    *catalog.CPUSpec
	// Machine is the machine type's name, Accel "kvm" or "tcg".
	Machine, Accel string
	// Features are what the guest gets, and so what it needs of a host;
	// for a per-host model (PerHost), only what the spec switches on
	// itself: the rest is each host's own.
	Features feature.FeatureSet
	// PerHost is true for QEMU's host and max models, whose features are
	// whatever the accelerator gives on the host the guest runs on:
	// Judge resolves them on each host.
	PerHost bool
}

// Resolve resolves offer o with cat. An offer that names no machine type
// gets defaultMachine, or the catalog's newest pc-q35 when that is ""; one
// that names no accelerator, kvm.
func Resolve(cat *catalog.Catalog, o Offer, defaultMachine string) (*Config, error) {
	machine := o.Machine
	if machine == "" {
		machine = defaultMachine
	}
	if machine == "" {
		mt, ok := cat.Newest("pc-q35")
		if !ok {
			return nil, fmt.Errorf("catalog %s has no pc-q35 machine type; name one", cat.Name())
		}
		machine = mt.Name
	}
	accel := o.Accel
	if accel == "" {
		accel = string(core.KVM)
	}
	spec, err := cat.ParseCPU(o.CPU)
	if err != nil {
		return nil, err
	}
	if catalog.IsPerHost(spec.Model) {
		return PerHostConfig(cat, spec, machine, accel)
	}
	res, err := cat.ResolveSpec(spec, machine, core.Accel(accel), "")
	if err != nil {
		return nil, err
	}
	return &Config{Catalog: cat, Spec: spec, Machine: machine, Accel: accel, Features: res.Features}, nil
}

// PerHostConfig is the config of a parsed host or max spec on machine
// under accel: what the spec switches on itself, the rest being each
// host's (Judge resolves it there). QEMU refuses host under tcg.
func PerHostConfig(cat *catalog.Catalog, spec *catalog.CPUSpec, machine, accel string) (*Config, error) {
	if err := spec.AccelError(core.Accel(accel)); err != nil {
		return nil, err
	}
	if _, err := cat.Machine(machine); err != nil {
		return nil, err
	}
	on, _ := spec.Explicit()
	return &Config{Catalog: cat, Spec: spec, Machine: machine, Accel: accel, Features: on, PerHost: true}, nil
}

// Availability is what one host gives a guest under a config's
// accelerator.
type Availability struct {
	Host string
	// Vendor is the host's CPUID vendor string.
	Vendor string
	Set    feature.FeatureSet
	// Layers, when not nil, says which layer lacks each feature Set does
	// not hold (a fleet keeps only the set).
	Layers *check.Availability
}

// HostVerdict is a config's verdict on one host.
type HostVerdict struct {
	Host string
	// Missing is what the guest needs that the host cannot give: it runs
	// there when Missing is empty (QEMU's enforce verdict).
	Missing feature.FeatureSet
	// Vendor is the CPUID vendor the guest sees there: under kvm the
	// host's, unless the spec sets vendor=.
	Vendor string
	// Guest are the features the guest sees there: what the config
	// resolves to on the host, less Missing (QEMU filters what the host
	// lacks when enforce is off).
	Guest  feature.FeatureSet
	layers *check.Availability
}

// Runnable reports whether the config runs on the host.
func (v *HostVerdict) Runnable() bool { return v.Missing.IsEmpty() }

// Layer returns the layer that lacks feature id ("hw", "os", "kvm",
// "tcg" or "qemu"), or "" when the verdict was made without layers.
func (v *HostVerdict) Layer(id feature.ID) string {
	if v.layers == nil {
		return ""
	}
	return v.layers.Layer(id)
}

// Verdict is a config's verdict over hosts (a pool, or the one host under
// check): on each host whether it runs and what the guest sees, and
// whether it can live-migrate between them.
type Verdict struct {
	Config *Config
	// Hosts are the verdicts on each host, in the order judged.
	Hosts []HostVerdict
	// Model is the spec's model as the catalog defines it.
	Model *catalog.Model
}

// Runnable reports whether the config runs on every host.
func (v *Verdict) Runnable() bool {
	for i := range v.Hosts {
		if !v.Hosts[i].Runnable() {
			return false
		}
	}
	return true
}

// ModelMigrationSafe reports whether the model's definition can migrate
// at all: false when QEMU marks it not migration-safe (query-cpu-definitions'
// migration-safe: false, as for max, whose features are whatever the host
// has) or libvirt does (a model with a migratable='no' feature such as
// invtsc, which QEMU makes a migration blocker).
func (v *Verdict) ModelMigrationSafe() bool { return v.Model.MigrationSafe }

// Differ reports whether hosts i and j give the guest different CPUs:
// different features (what the config resolves to less what each host
// lacks, as QEMU filters it without enforce) or different vendors.
func (v *Verdict) Differ(i, j int) bool {
	a, b := &v.Hosts[i], &v.Hosts[j]
	return a.Guest != b.Guest || a.Vendor != b.Vendor
}

// MigrationSafe reports whether a guest of the config can live-migrate
// between every two of the hosts: its model can migrate at all
// (ModelMigrationSafe), and no two hosts differ (Differ). Whether it runs
// is Runnable's concern: hosts lacking the same features are alike here.
func (v *Verdict) MigrationSafe() bool {
	if !v.ModelMigrationSafe() {
		return false
	}
	for i := 1; i < len(v.Hosts); i++ {
		if v.Differ(0, i) {
			return false
		}
	}
	return true
}

// Judge returns the verdict on cfg over hosts, each given by what it
// makes available under cfg.Accel. It is the one judgement of an offer:
// the runnable and migration-safe policies, `fleet` and `labels` all
// decide with it.
func Judge(cfg *Config, hosts []Availability) (*Verdict, error) {
	if cfg.PerHost {
		return judgePerHost(cfg, hosts)
	}
	m, err := cfg.Catalog.Model(cfg.Spec.Model)
	if err != nil {
		return nil, err
	}
	v := &Verdict{Config: cfg, Model: m, Hosts: make([]HostVerdict, len(hosts))}
	guest := map[string]string{} // host vendor → guest vendor
	for i, h := range hosts {
		gv, ok := guest[h.Vendor]
		if !ok {
			res, err := cfg.Catalog.ResolveSpec(cfg.Spec, cfg.Machine, core.Accel(cfg.Accel), h.Vendor)
			if err != nil {
				return nil, err
			}
			gv = res.Vendor
			guest[h.Vendor] = gv
		}
		missing := cfg.Features.Difference(h.Set)
		v.Hosts[i] = HostVerdict{Host: h.Host, Missing: missing, Guest: cfg.Features.Difference(missing), Vendor: gv, layers: h.Layers}
	}
	return v, nil
}

// judgePerHost judges a host or max config: on each host the guest gets
// what QEMU's host/max expansion gives there (check.HostCPUOf, then the
// spec's own settings), and misses only what the spec switches on that
// the host lacks. Hosts that give the same set are resolved once, so a
// fleet pays per distinct host.
func judgePerHost(cfg *Config, hosts []Availability) (*Verdict, error) {
	m, _ := catalog.PerHostModel(cfg.Spec.Model)
	v := &Verdict{Config: cfg, Model: m, Hosts: make([]HostVerdict, len(hosts))}
	type key struct {
		set    feature.FeatureSet
		vendor string
	}
	type resolved struct {
		features feature.FeatureSet
		vendor   string
	}
	seen := map[key]resolved{}
	reg := cfg.Catalog.Registry()
	for i, h := range hosts {
		k := key{h.Set, h.Vendor}
		r, ok := seen[k]
		if !ok {
			hc, err := check.HostCPUOf(reg, h.Set, h.Vendor)
			if err != nil {
				return nil, err
			}
			res, err := cfg.Catalog.ResolveCPU(cfg.Spec, cfg.Machine, core.Accel(cfg.Accel), hc)
			if err != nil {
				return nil, err
			}
			r = resolved{res.Features, res.Vendor}
			seen[k] = r
		}
		missing := r.features.Difference(h.Set)
		v.Hosts[i] = HostVerdict{Host: h.Host, Missing: missing, Guest: r.features.Difference(missing), Vendor: r.vendor, layers: h.Layers}
	}
	return v, nil
}
