package site

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/psabi"
	"github.com/cpupolicy/cpupolicy/internal/english"
)

// DefaultPool is the pool of the fleet's host files that no pool of the
// site lists.
const DefaultPool = "default"

// ErrNoHosts is JudgeFleet's error when neither the site's pools nor the
// host files give it a host to judge.
var ErrNoHosts = errors.New("no hosts to judge")

// FleetReport is a site judged over a fleet of hosts under kvm: what
// `cpupolicy fleet` reports. Its JSON keys are a contract.
type FleetReport struct {
	Catalog  string       `json:"catalog"`
	QEMU     string       `json:"qemu"`
	Accel    string       `json:"accel"`
	Machines []string     `json:"machines"`
	Hosts    int          `json:"hosts"`
	Pools    []PoolReport `json:"pools"`
	// UnpooledOffers are the offers that name no pool, judged on every
	// host; they do not decide Status.
	UnpooledOffers []OfferReport `json:"unpooled_offers"`
	Skipped        []Skipped     `json:"skipped"`
	// Migration is the fleet's migratability classes, when
	// FleetInput.Migration asked for them.
	Migration []MigrationClass `json:"migration_classes,omitempty"`
	// Status is "fail" when an offer of a pool is not runnable on every
	// host of its pool or not migration-safe between them, else "pass".
	Status string `json:"status"`

	reg    *feature.Registry
	f      *fleet.Fleet
	pools  []poolHosts
	models []string             // versioned models, catalog order
	reqs   []feature.FeatureSet // reqs[m*len(models)+i]: models[i] on Machines[m]
	// cands[m*len(models)+i] is reqs[…] as the best-model rule sees it.
	cands  []fleet.Candidate
	levels *psabi.Sets
}

// PoolReport is one pool of a FleetReport.
type PoolReport struct {
	Name           string   `json:"name"`
	Hosts          []string `json:"hosts"`
	Vendors        []string `json:"vendors"`
	CommonFeatures []string `json:"common_features"`
	// ABILevel is the x86-64 psABI level of the common features: what a
	// guest that may run on any host of the pool can reach.
	ABILevel     int             `json:"abi_level"`
	Machines     []MachineReport `json:"machines"`
	Offers       []OfferReport   `json:"offers"`
	UnsafeOffers []string        `json:"unsafe_offers"`
}

// MachineReport is what a pool runs on one machine type: the models every
// host runs, the richest of them (fleet.Baseline) and the next better one.
type MachineReport struct {
	Machine        string   `json:"machine"`
	RunnableModels []string `json:"runnable_models"`
	NewestModel    string   `json:"newest_model"`
	// NewestModelLevel is the x86-64 psABI level of NewestModel.
	NewestModelLevel int        `json:"newest_model_abi_level"`
	NextModel        *NextModel `json:"next_model"`
	Models           int        `json:"models"`
}

// NextModel is the next better model and what each blocking host lacks.
type NextModel struct {
	Model     string              `json:"model"`
	BlockedBy map[string][]string `json:"blocked_by"`
}

// OfferReport is an offer's Verdict over its pool (or every host).
type OfferReport struct {
	Name          string              `json:"name"`
	CPU           string              `json:"cpu"`
	Machine       string              `json:"machine"`
	Accel         string              `json:"accel"`
	Pool          string              `json:"pool,omitempty"`
	Runnable      bool                `json:"runnable"`
	MigrationSafe bool                `json:"migration_safe"`
	BlockedBy     map[string][]string `json:"blocked_by"`
	GuestVendors  map[string][]string `json:"guest_vendors"`
	Problems      []string            `json:"problems"`
}

// Skipped is a host file a directory or glob found that has no KVM data.
type Skipped struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// poolHosts is a pool as the fleet holds it: its hosts by index, since
// the fleet keeps no snapshot.
type poolHosts struct {
	name  string
	hosts []int32
}

// FleetFile is a host snapshot file to judge.
type FleetFile struct {
	Path string
	// Found is set when a directory or glob found the file: then it is
	// skipped, and reported, when it has no KVM data.
	Found bool
}

// FleetFiles expands command-line host arguments: files, directories
// (every *.json in them) and globs.
func FleetFiles(args []string) ([]FleetFile, error) {
	var files []FleetFile
	for _, a := range args {
		switch st, err := os.Stat(a); {
		case err == nil && st.IsDir():
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, err
			}
			n := len(files)
			for _, d := range ents {
				if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
					files = append(files, FleetFile{filepath.Join(a, d.Name()), true})
				}
			}
			if len(files) == n {
				// Named outright, it was meant to hold hosts: an empty one
				// is a wrong path, as a glob matching nothing is.
				return nil, fmt.Errorf("%s: a directory without *.json host snapshots", a)
			}
		case err != nil && strings.ContainsAny(a, "*?["):
			m, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, fmt.Errorf("%s: %v", a, gerr)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("%s: no file matches", a)
			}
			for _, p := range m {
				files = append(files, FleetFile{p, true})
			}
		default:
			files = append(files, FleetFile{a, false})
		}
	}
	return files, nil
}

// FleetInput is what JudgeFleet judges.
type FleetInput struct {
	// Catalog must have kvm data; Release is the QEMU release whose
	// rules judge the hosts (check.Compute).
	Catalog *catalog.Catalog
	Release core.Release
	// Machines are the machine types to judge every model on.
	Machines []string
	// Site holds the offers and pools, SiteFile names its file in
	// messages; nil is a site without either.
	Site     *Site
	SiteFile string
	// Files are more hosts: those no pool lists join DefaultPool.
	Files []FleetFile
	// Parse parses and validates a host snapshot file's data (name names
	// the file in errors), running any decoders (plugins) on it. The
	// fleet calls it once per distinct snapshot (AppendAnonymous), from
	// several goroutines at once.
	Parse func(name string, data []byte) (*host.HostSnapshot, error)
	// Migration asks for the migratability classes of the hosts: where
	// a host-model guest of each host can live-migrate (a report of
	// classes × classes, so opt-in).
	Migration bool
	// Exclude names hosts to leave out, as the report names them (what
	// if they were gone?); each must be a host of the site or the files.
	Exclude []string
}

// JudgeFleet judges every model on every pool of the site and of the host
// files, and each offer on its pool (an offer without a pool on every
// host) with Judge. A host is named by host.Name (its snapshot's
// hostname, else its file's name without ".json"), as site files name
// theirs; a file whose name a pool already lists must be
// that same snapshot, and is that host. A file named outright must be
// judgeable under kvm; one a directory or glob found is skipped without
// KVM data.
func JudgeFleet(in FleetInput) (*FleetReport, error) {
	reg := in.Catalog.Registry()
	f, err := fleet.New(reg, in.Release)
	if err != nil {
		return nil, err
	}
	levels, err := psabi.NewSets(reg)
	if err != nil {
		return nil, err
	}
	r := &FleetReport{Catalog: in.Catalog.Name(), QEMU: in.Catalog.QEMUVersion(), Accel: string(core.KVM), Machines: in.Machines,
		Pools: []PoolReport{}, UnpooledOffers: []OfferReport{}, Skipped: []Skipped{}, reg: reg, f: f, levels: levels}
	st := in.Site
	if st == nil {
		st = &Site{}
	}
	excluded := map[string]bool{}
	for _, n := range in.Exclude {
		excluded[n] = false
	}
	for _, p := range st.Pools {
		for _, h := range p.Hosts {
			if _, ok := excluded[h.Name]; ok {
				excluded[h.Name] = true
				continue
			}
			i, ok := f.Lookup(h.Name)
			if !ok {
				if i, err = f.Add(h.Name, h.Snapshot); err != nil {
					return nil, fmt.Errorf("%s: pool %s: %v", in.SiteFile, p.Name, err)
				}
			}
			r.join(p.Name, i)
		}
	}
	if err := r.addFiles(in.Files, in.Parse, excluded); err != nil {
		return nil, err
	}
	for _, n := range in.Exclude {
		if !excluded[n] {
			return nil, fmt.Errorf("host %s to leave out: no host of that name", n)
		}
	}
	if f.Len() == 0 {
		return nil, ErrNoHosts
	}
	catModels := in.Catalog.Models()
	for i := range catModels {
		if m := &catModels[i]; m.AliasOf == "" { // judged under its versioned name
			r.models = append(r.models, m.Name)
		}
	}
	for _, mt := range in.Machines {
		cands, err := fleet.Candidates(in.Catalog, mt, core.KVM)
		if err != nil {
			return nil, err
		}
		for _, c := range cands {
			r.reqs = append(r.reqs, c.Set)
		}
		r.cands = append(r.cands, cands...)
	}
	if err := r.judge(in.Catalog, st.Offers); err != nil {
		return nil, err
	}
	if in.Migration {
		r.migration()
	}
	return r, nil
}

// joinNew is join for a host just added to the fleet, which no pool has
// yet: no search of the pool (a million hosts join the default pool).
func (r *FleetReport) joinNew(pool string, i int) {
	p := slices.IndexFunc(r.pools, func(p poolHosts) bool { return p.name == pool })
	if p < 0 {
		p = len(r.pools)
		r.pools = append(r.pools, poolHosts{name: pool})
	}
	r.pools[p].hosts = append(r.pools[p].hosts, int32(i))
}

// join puts host i in the pool named pool, creating the pool; a host
// joins a pool once.
func (r *FleetReport) join(pool string, i int) {
	p := slices.IndexFunc(r.pools, func(p poolHosts) bool { return p.name == pool })
	if p < 0 {
		p = len(r.pools)
		r.pools = append(r.pools, poolHosts{name: pool})
	}
	if !slices.Contains(r.pools[p].hosts, int32(i)) {
		r.pools[p].hosts = append(r.pools[p].hosts, int32(i))
	}
}

// addFiles adds the host files; those no pool lists join DefaultPool.
// Each distinct snapshot is parsed and computed once (readHosts). A
// file whose host name is a key of excluded is left out, and marked
// found.
func (r *FleetReport) addFiles(files []FleetFile, parse func(string, []byte) (*host.HostSnapshot, error), excluded map[string]bool) error {
	seen := map[string]bool{} // cleaned paths, as a file may be named twice
	var todo []FleetFile
	for _, fl := range files {
		if seen[filepath.Clean(fl.Path)] {
			continue
		}
		seen[filepath.Clean(fl.Path)] = true
		todo = append(todo, fl)
	}
	seen = nil
	hosts, err := readHosts(todo, parse, r.reg, r.f.Release())
	if err != nil {
		return err
	}
	byName := map[string]string{} // host name → file, for these files
	for k, fl := range todo {
		d := hosts[k]
		name := d.hostname
		if name == "" { // host.Name's rule
			name = host.Name(nil, fl.Path)
		}
		if prev, ok := byName[name]; ok {
			return fmt.Errorf("%s: host name %s is also %s's (a host is named by its snapshot's hostname, else by its file name)", fl.Path, name, prev)
		}
		byName[name] = fl.Path
		if _, ok := excluded[name]; ok {
			excluded[name] = true
			continue
		}
		if i, ok := r.f.Lookup(name); ok {
			// The site already has a host of this name: it must be this
			// snapshot.
			if d.err != nil || d.set != r.f.Avail(i) || d.vendor != r.f.Vendor(i) {
				return fmt.Errorf("%s: host name %s is a different snapshot in the site file's pools", fl.Path, name)
			}
			continue
		}
		err := d.err
		if errors.Is(err, check.ErrNoKVM) && fl.Found {
			r.Skipped = append(r.Skipped, Skipped{File: fl.Path, Reason: "no KVM data: " + d.kvmError})
			continue
		}
		var i int
		if err == nil {
			i, err = r.f.AddSet(name, d.vendor, d.set)
		} else {
			err = fmt.Errorf("host %s: %w", name, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", fl.Path, err)
		}
		r.joinNew(DefaultPool, i)
	}
	return nil
}

// judge fills the pools' reports and judges the offers.
func (r *FleetReport) judge(cat *catalog.Catalog, offers []Offer) error {
	r.Hosts = r.f.Len()
	tcg, err := check.Compute(r.reg, nil, r.f.Release(), core.TCG)
	if err != nil {
		return err
	}
	failed := false
	for _, p := range r.pools {
		pr := r.poolReport(p)
		for _, o := range offers {
			if o.Pool != p.name {
				continue
			}
			or, err := r.judgeOffer(cat, o, p.hosts, tcg.Set)
			if err != nil {
				return err
			}
			if !or.Runnable || !or.MigrationSafe {
				pr.UnsafeOffers = append(pr.UnsafeOffers, or.Name)
				failed = true
			}
			pr.Offers = append(pr.Offers, or)
		}
		r.Pools = append(r.Pools, pr)
	}
	all := make([]int32, r.f.Len())
	for i := range all {
		all[i] = int32(i)
	}
	for _, o := range offers {
		if o.Pool != "" {
			if !slices.ContainsFunc(r.pools, func(p poolHosts) bool { return p.name == o.Pool }) {
				return fmt.Errorf("offer %s: pool %s has no hosts", o.Name, o.Pool)
			}
			continue
		}
		or, err := r.judgeOffer(cat, o, all, tcg.Set)
		if err != nil {
			return err
		}
		r.UnpooledOffers = append(r.UnpooledOffers, or)
	}
	r.Status = "pass"
	if failed {
		r.Status = "fail"
	}
	return nil
}

// poolReport is what every host of p runs, per machine type.
func (r *FleetReport) poolReport(p poolHosts) PoolReport {
	pr := PoolReport{Name: p.name, Vendors: r.f.Vendors(p.hosts), Offers: []OfferReport{}, UnsafeOffers: []string{}}
	sets := make([]feature.FeatureSet, len(p.hosts))
	for k, h := range p.hosts {
		pr.Hosts = append(pr.Hosts, r.f.Name(int(h)))
		sets[k] = r.f.Avail(int(h))
	}
	common := r.f.Common(p.hosts)
	pr.CommonFeatures = nonNil(r.reg.Names(common))
	pr.ABILevel = int(r.levels.Of(common))
	nm := len(r.models)
	for mi, mt := range r.Machines {
		reqs := r.reqs[mi*nm : (mi+1)*nm]
		pm := MachineReport{Machine: mt, RunnableModels: []string{}, Models: nm}
		for i, q := range reqs {
			if q.SubsetOf(common) {
				pm.RunnableModels = append(pm.RunnableModels, r.models[i])
			}
		}
		best, next := fleet.Baseline(r.cands[mi*nm:(mi+1)*nm], sets)
		if best >= 0 {
			pm.NewestModel = r.models[best]
			pm.NewestModelLevel = int(r.levels.Of(reqs[best]))
		}
		if next >= 0 {
			pm.NextModel = &NextModel{Model: r.models[next], BlockedBy: r.blockedBy(reqs[next], p.hosts)}
		}
		pr.Machines = append(pr.Machines, pm)
	}
	return pr
}

// blockedBy maps each of hosts lacking part of req to the bits it lacks.
func (r *FleetReport) blockedBy(req feature.FeatureSet, hosts []int32) map[string][]string {
	out := map[string][]string{}
	for _, b := range r.f.Blockers(req, hosts) {
		out[r.f.Name(b.Host)] = r.reg.Names(b.Missing)
	}
	return out
}

// judgeOffer is o's Verdict on hosts, as a report: runnable on each, and
// migration-safe as the migration-safe policy decides it.
func (r *FleetReport) judgeOffer(cat *catalog.Catalog, o Offer, hosts []int32, tcg feature.FeatureSet) (OfferReport, error) {
	cfg, err := Resolve(cat, o, "")
	if err != nil {
		return OfferReport{}, fmt.Errorf("offer %s: %v", o.Name, err)
	}
	avail := make([]Availability, len(hosts))
	for k, h := range hosts {
		avail[k] = Availability{Host: r.f.Name(int(h)), Vendor: r.f.Vendor(int(h)), Set: r.f.Avail(int(h))}
		if core.Accel(cfg.Accel) == core.TCG {
			avail[k].Set = tcg // TCG's offer does not depend on the host
		}
	}
	v, err := Judge(cfg, avail)
	if err != nil {
		return OfferReport{}, fmt.Errorf("offer %s: %v", o.Name, err)
	}
	or := OfferReport{Name: o.Name, CPU: o.CPU, Machine: cfg.Machine, Accel: cfg.Accel, Pool: o.Pool,
		Runnable: v.Runnable(), MigrationSafe: v.MigrationSafe(),
		BlockedBy: map[string][]string{}, GuestVendors: map[string][]string{}, Problems: []string{}}
	for _, hv := range v.Hosts {
		if !hv.Runnable() {
			or.BlockedBy[hv.Host] = r.reg.Names(hv.Missing)
		}
		or.GuestVendors[hv.Vendor] = append(or.GuestVendors[hv.Vendor], hv.Host)
	}
	if n := len(or.BlockedBy); n > 0 {
		or.Problems = append(or.Problems, fmt.Sprintf("does not run on %d of %s", n, hostsN(len(hosts))))
	}
	if len(or.GuestVendors) > 1 {
		var vs []string
		for gv, hs := range or.GuestVendors {
			vs = append(vs, fmt.Sprintf("%s on %s", gv, hostsN(len(hs))))
		}
		slices.Sort(vs)
		or.Problems = append(or.Problems, "the guest sees vendor "+strings.Join(vs, ", "))
	}
	if cfg.PerHost {
		// host and max give each host's own CPU: hosts that give
		// different ones cannot take each other's guests.
		guests := map[feature.FeatureSet]bool{}
		for _, hv := range v.Hosts {
			guests[hv.Guest] = true
		}
		if n := len(guests); n > 1 {
			or.Problems = append(or.Problems, fmt.Sprintf("the guest's CPU differs between hosts: %d different CPUs on %s", n, hostsN(len(hosts))))
		}
	}
	if !v.ModelMigrationSafe() {
		or.Problems = append(or.Problems, fmt.Sprintf("catalog %s marks model %s not migration-safe", cat.Name(), v.Model.Name))
	}
	return or, nil
}

// hostsN is "1 host" or "N hosts".
func hostsN(n int) string { return english.Count(n, "host") }

// nonNil is s, or an empty slice for nil (JSON [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
