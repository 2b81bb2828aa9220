package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// defaultPool is the pool of the hosts named on the command line that no
// pool of the site file lists.
const defaultPool = "default"

// The JSON report of `fleet`. Its keys are a contract (doc.go).
type fleetJSON struct {
	Catalog  string     `json:"catalog"`
	QEMU     string     `json:"qemu"`
	Accel    string     `json:"accel"`
	Machines []string   `json:"machines"`
	Hosts    int        `json:"hosts"`
	Pools    []poolJSON `json:"pools"`
	// UnpooledOffers are the offers that name no pool, judged on every
	// host; they do not decide the exit status.
	UnpooledOffers []offerJSON   `json:"unpooled_offers"`
	Skipped        []skippedJSON `json:"skipped"`
	Status         string        `json:"status"`
}

type poolJSON struct {
	Name           string            `json:"name"`
	Hosts          []string          `json:"hosts"`
	Vendors        []string          `json:"vendors"`
	CommonFeatures []string          `json:"common_features"`
	Machines       []poolMachineJSON `json:"machines"`
	Offers         []offerJSON       `json:"offers"`
	UnsafeOffers   []string          `json:"unsafe_offers"`
}

type poolMachineJSON struct {
	Machine        string    `json:"machine"`
	RunnableModels []string  `json:"runnable_models"`
	NewestModel    string    `json:"newest_model"`
	NextModel      *nextJSON `json:"next_model"`
	Models         int       `json:"models"`
}

type nextJSON struct {
	Model     string              `json:"model"`
	BlockedBy map[string][]string `json:"blocked_by"`
}

type offerJSON struct {
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

type skippedJSON struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// fleetRun is what the report formats are made from.
type fleetRun struct {
	reg      *feature.Registry
	cat      *catalog.Catalog
	f        *fleet.Fleet
	models   []string             // versioned models, catalog order
	machines []string             // machine types judged
	reqs     []feature.FeatureSet // reqs[m*len(models)+i]: models[i] on machines[m]
	matrix   *fleet.Matrix
	out      fleetJSON
}

func runFleet(e *env, args []string) int {
	fs := newFlags("fleet")
	format := &formatFlag{value: "text", allowed: []string{"text", "json", "html"}}
	fs.Var(format, "format", "output `format`: text, json or html")
	siteFile := fs.String("site", "", "the site `FILE` (site.star) declaring offers and pools")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
	var machines repeatFlag
	fs.Var(&machines, "machine", "judge the models on machine `type` (repeatable; default: the catalog's newest pc-q35)")
	outFile := fs.String("o", "", "write the report to `FILE` (atomically) instead of standard output")
	sf := addSandboxFlags(fs)
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if fs.NArg() == 0 && *siteFile == "" {
		return usageError(e, "fleet", "want host snapshot FILEs, directories or globs, or a --site with pools")
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return inputError(e, err)
	}
	reg := cat.Registry()
	if !cat.HasAccel(catalog.KVM) {
		return inputError(e, fmt.Errorf("catalog %s has no kvm data", cat.Name))
	}
	r := &fleetRun{reg: reg, cat: cat}
	if len(machines) == 0 {
		machines = repeatFlag{""}
	}
	for _, m := range machines {
		mt, err := pickMachine(cat, m)
		if err != nil {
			return inputError(e, fmt.Errorf("--machine: %v", err))
		}
		if !slices.Contains(r.machines, mt.Name) {
			r.machines = append(r.machines, mt.Name)
		}
	}
	rules := qemuRules(e, cat)
	if r.f, err = fleet.New(reg, rules); err != nil {
		return inputError(e, err)
	}
	scat := starlib.NewCatalog(cat)
	var site *starlib.Site
	if *siteFile != "" {
		if site, err = starlib.LoadSiteFile(*siteFile, scat, sf.options(e)); err != nil {
			return scriptError(e, "fleet", err)
		}
		for _, p := range site.Pools {
			for _, h := range p.Hosts {
				i, ok := r.f.Lookup(h.Name)
				if !ok {
					if i, err = r.f.Add(h.Name, h.Snapshot); err != nil {
						return inputError(e, fmt.Errorf("%s: pool %s: %v", *siteFile, p.Name, err))
					}
				}
				r.f.Join(p.Name, i)
			}
		}
		// The fleet keeps what verdicts need; let the snapshots go.
		site.Pools = nil
	} else {
		site = &starlib.Site{}
	}
	if rc := r.addHostArgs(e, fs.Args()); rc >= 0 {
		return rc
	}
	if r.f.Len() == 0 {
		return usageError(e, "fleet", "no hosts to judge")
	}
	for i := range cat.Models {
		if cat.Models[i].AliasOf == "" { // judged under its versioned name
			r.models = append(r.models, cat.Models[i].Name)
		}
	}
	for _, mt := range r.machines {
		for _, m := range r.models {
			req, err := cat.Features(m, mt, catalog.KVM)
			if err != nil {
				return inputError(e, err)
			}
			r.reqs = append(r.reqs, req)
		}
	}
	if rc := r.report(e, site, scat, rules); rc >= 0 {
		return rc
	}

	var buf bytes.Buffer
	switch format.value {
	case "json":
		writeJSON(&buf, r.out)
	case "html":
		// Only the report's hosts × models matrix needs every verdict;
		// text and JSON summarise pools from their common sets.
		r.matrix = r.f.Judge(r.reqs)
		if err := writeFleetHTML(&buf, r); err != nil {
			fmt.Fprintf(e.stderr, "cpupolicy fleet: writing the report: %v\n", err)
			return exitUsage
		}
	default:
		writeFleetText(&buf, r, *outFile == "" && colorOK(e.stdout))
	}
	if rc := writeOutput(e, "fleet", *outFile, buf.Bytes()); rc != exitOK {
		return rc
	}
	if r.out.Status == "fail" {
		return exitViolation
	}
	return exitOK
}

// addHostArgs loads the HOSTS arguments: files, directories (every *.json
// in them) and globs. A file named outright must be judgeable under kvm;
// one a directory or glob found is skipped when it has no KVM data (a
// `cpuid -r` dump's snapshot), and the report lists it. Hosts are named by their file
// name without ".json", as site files name them; a file whose name a site
// pool already lists must be that same snapshot, and is that host.
// Hosts no pool lists join the pool "default".
func (r *fleetRun) addHostArgs(e *env, args []string) int {
	type file struct {
		path  string
		found bool // by a directory or glob
	}
	var files []file
	for _, a := range args {
		switch st, err := os.Stat(a); {
		case err == nil && st.IsDir():
			ents, err := os.ReadDir(a)
			if err != nil {
				return inputError(e, err)
			}
			for _, d := range ents {
				if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
					files = append(files, file{filepath.Join(a, d.Name()), true})
				}
			}
		case err != nil && strings.ContainsAny(a, "*?["):
			m, gerr := filepath.Glob(a)
			if gerr != nil {
				return inputError(e, fmt.Errorf("%s: %v", a, gerr))
			}
			if len(m) == 0 {
				return inputError(e, fmt.Errorf("%s: no file matches", a))
			}
			for _, p := range m {
				files = append(files, file{p, true})
			}
		default:
			files = append(files, file{a, false})
		}
	}
	byName := map[string]string{} // host name → file, for this command line
	for _, fl := range files {
		name := starlib.HostName(fl.path)
		if prev, ok := byName[name]; ok {
			if filepath.Clean(prev) == filepath.Clean(fl.path) {
				continue
			}
			return inputError(e, fmt.Errorf("%s: host name %s is also %s's (hosts are named by file name)", fl.path, name, prev))
		}
		byName[name] = fl.path
		s, err := e.loadSnapshot(fl.path)
		if err != nil {
			return inputError(e, err)
		}
		if i, ok := r.f.Lookup(name); ok {
			// The site already has a host of this name: it must be this
			// snapshot.
			if !r.sameSnapshot(i, s) {
				return inputError(e, fmt.Errorf("%s: host name %s is a different snapshot in the site file's pools", fl.path, name))
			}
			continue
		}
		i, err := r.f.Add(name, s)
		if errors.Is(err, check.ErrNoKVM) && fl.found {
			r.out.Skipped = append(r.out.Skipped, skippedJSON{File: fl.path, Reason: "no KVM data: " + s.KVMError})
			continue
		}
		if err != nil {
			return inputError(e, fmt.Errorf("%s: %v", fl.path, err))
		}
		r.f.Join(defaultPool, i)
	}
	return -1
}

// sameSnapshot reports whether host i (from the site) offers what s
// offers and has its vendor.
func (r *fleetRun) sameSnapshot(i int, s *host.HostSnapshot) bool {
	a, err := check.Compute(r.reg, s, r.f.Rules(), check.KVM)
	return err == nil && a.Set == r.f.Avail(i) && s.Vendor == r.f.Vendor(i)
}

// report fills r.out; it returns an exit code on an input error, else -1.
func (r *fleetRun) report(e *env, site *starlib.Site, scat *starlib.Catalog, rules string) int {
	o := &r.out
	o.Catalog, o.QEMU, o.Accel, o.Machines, o.Hosts = r.cat.Name, r.cat.QEMUVersion, catalog.KVM, r.machines, r.f.Len()
	o.Pools, o.UnpooledOffers = []poolJSON{}, []offerJSON{}
	if o.Skipped == nil {
		o.Skipped = []skippedJSON{}
	}
	tcg, err := check.Compute(r.reg, nil, rules, check.TCG)
	if err != nil {
		return inputError(e, err)
	}
	failed := false
	nm := len(r.models)
	for _, p := range r.f.Pools() {
		pj := poolJSON{Name: p.Name, Vendors: r.f.Vendors(p.Hosts), Offers: []offerJSON{}, UnsafeOffers: []string{}}
		sets := make([]feature.FeatureSet, len(p.Hosts))
		for k, h := range p.Hosts {
			pj.Hosts = append(pj.Hosts, r.f.Name(int(h)))
			sets[k] = r.f.Avail(int(h))
		}
		common := r.f.Common(p.Hosts)
		pj.CommonFeatures = nonNil(r.reg.Names(common))
		for mi, mt := range r.machines {
			reqs := r.reqs[mi*nm : (mi+1)*nm]
			pm := poolMachineJSON{Machine: mt, RunnableModels: []string{}, Models: nm}
			for i, q := range reqs {
				if q.SubsetOf(common) {
					pm.RunnableModels = append(pm.RunnableModels, r.models[i])
				}
			}
			best, next := fleet.Baseline(reqs, sets)
			if best >= 0 {
				pm.NewestModel = r.models[best]
			}
			if next >= 0 {
				pm.NextModel = &nextJSON{Model: r.models[next], BlockedBy: r.blockedBy(reqs[next], p.Hosts)}
			}
			pj.Machines = append(pj.Machines, pm)
		}
		for _, off := range site.Offers {
			if off.Pool != p.Name {
				continue
			}
			oj, rc := r.judgeOffer(e, off, scat, p.Hosts, tcg.Set)
			if rc >= 0 {
				return rc
			}
			if !oj.Runnable || !oj.MigrationSafe {
				pj.UnsafeOffers = append(pj.UnsafeOffers, oj.Name)
				failed = true
			}
			pj.Offers = append(pj.Offers, oj)
		}
		o.Pools = append(o.Pools, pj)
	}
	all := make([]int32, r.f.Len())
	for i := range all {
		all[i] = int32(i)
	}
	for _, off := range site.Offers {
		if off.Pool != "" {
			if _, ok := r.f.Pool(off.Pool); !ok {
				return inputError(e, fmt.Errorf("offer %s: pool %s has no hosts", off.Name, off.Pool))
			}
			continue
		}
		oj, rc := r.judgeOffer(e, off, scat, all, tcg.Set)
		if rc >= 0 {
			return rc
		}
		o.UnpooledOffers = append(o.UnpooledOffers, oj)
	}
	o.Status = "pass"
	if failed {
		o.Status = "fail"
	}
	return -1
}

// blockedBy maps each of hosts lacking part of req to the bits it lacks.
func (r *fleetRun) blockedBy(req feature.FeatureSet, hosts []int32) map[string][]string {
	out := map[string][]string{}
	for _, b := range r.f.Blockers(req, hosts) {
		out[r.f.Name(b.Host)] = r.reg.Names(b.Missing)
	}
	return out
}

// judgeOffer judges an offer on hosts: runnable on each (QEMU's enforce
// verdict, as the runnable policy), and migration-safe as the
// migration-safe policy means it — every host gives the guest the same
// CPU: the same features (which runnable everywhere implies) and, under
// kvm, the same vendor — and as QEMU marks the model.
func (r *fleetRun) judgeOffer(e *env, o starlib.Offer, scat *starlib.Catalog, hosts []int32, tcg feature.FeatureSet) (offerJSON, int) {
	accel := o.Accel
	if accel == "" {
		accel = catalog.KVM
	}
	cfg, err := starlib.NewConfig(scat, o.CPU, o.Machine, accel)
	if err != nil {
		return offerJSON{}, inputError(e, fmt.Errorf("offer %s: %v", o.Name, err))
	}
	mt, err := pickMachine(r.cat, o.Machine)
	if err != nil {
		return offerJSON{}, inputError(e, fmt.Errorf("offer %s: %v", o.Name, err))
	}
	spec, err := catalog.ParseCPUSpec(o.CPU, r.reg)
	if err != nil {
		return offerJSON{}, inputError(e, fmt.Errorf("offer %s: %v", o.Name, err))
	}
	oj := offerJSON{Name: o.Name, CPU: o.CPU, Machine: mt.Name, Accel: accel, Pool: o.Pool,
		BlockedBy: map[string][]string{}, GuestVendors: map[string][]string{}, Problems: []string{}}
	req := cfg.Resolved()
	if accel == catalog.TCG {
		// TCG's offer does not depend on the host.
		if m := req.Difference(tcg); !m.IsEmpty() {
			for _, h := range hosts {
				oj.BlockedBy[r.f.Name(int(h))] = r.reg.Names(m)
			}
		}
	} else {
		oj.BlockedBy = r.blockedBy(req, hosts)
	}
	if n := len(oj.BlockedBy); n > 0 {
		oj.Problems = append(oj.Problems, fmt.Sprintf("does not run on %d of %s", n, hostsN(len(hosts))))
	}
	// The vendor a guest sees on each host (the host's own under kvm,
	// unless the spec sets vendor=).
	guest := map[string]string{} // host vendor → guest vendor
	for _, h := range hosts {
		hv := r.f.Vendor(int(h))
		gv, ok := guest[hv]
		if !ok {
			res, err := r.cat.ResolveSpec(spec, mt.Name, accel, hv)
			if err != nil {
				return offerJSON{}, inputError(e, fmt.Errorf("offer %s: %v", o.Name, err))
			}
			gv = res.Vendor
			guest[hv] = gv
		}
		oj.GuestVendors[gv] = append(oj.GuestVendors[gv], r.f.Name(int(h)))
	}
	if len(oj.GuestVendors) > 1 {
		var vs []string
		for v := range oj.GuestVendors {
			vs = append(vs, fmt.Sprintf("%s on %s", v, hostsN(len(oj.GuestVendors[v]))))
		}
		slices.Sort(vs)
		oj.Problems = append(oj.Problems, "the guest sees vendor "+strings.Join(vs, ", "))
	}
	if m, err := r.cat.Model(spec.Model); err == nil && !m.MigrationSafe {
		oj.Problems = append(oj.Problems, fmt.Sprintf("QEMU marks model %s not migration-safe", m.Name))
	}
	oj.Runnable = len(oj.BlockedBy) == 0
	oj.MigrationSafe = len(oj.Problems) == 0
	return oj, -1
}

// writeFleetText writes the report for people: per pool, its hosts, the
// common features, per machine type the newest model and what blocks the
// next, and the offers' verdicts; then the offers without a pool and a
// summary line.
func writeFleetText(w io.Writer, r *fleetRun, color bool) {
	o := &r.out
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	fmt.Fprintf(w, "fleet: %d hosts in %d pools; catalog %s (QEMU %s), kvm; %s\n", o.Hosts, len(o.Pools), o.Catalog, o.QEMU, strings.Join(o.Machines, ", "))
	for _, s := range o.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.File, s.Reason)
	}
	unsafe, offers := 0, 0
	for _, p := range o.Pools {
		fmt.Fprintf(w, "\n%s %s: %s (%s), %s\n", paint(ansiBold, "pool"), paint(ansiBold, p.Name), hostsN(len(p.Hosts)), list(p.Hosts, 8), strings.Join(p.Vendors, " "))
		if len(p.Vendors) > 1 {
			fmt.Fprintf(w, "  mixed vendors: under kvm a guest sees its host's vendor, so no named model migrates between them\n")
		}
		fmt.Fprintf(w, "  common features (%d): %s\n", len(p.CommonFeatures), strings.Join(p.CommonFeatures, " "))
		for _, m := range p.Machines {
			newest := m.NewestModel
			if newest == "" {
				newest = "none"
			}
			fmt.Fprintf(w, "  %s: %d of %d models run on every host; newest: %s\n", m.Machine, len(m.RunnableModels), m.Models, newest)
			if m.NextModel != nil {
				fmt.Fprintf(w, "    next better model %s is blocked by %s:\n", m.NextModel.Model, hostsN(len(m.NextModel.BlockedBy)))
				writeBlockers(w, m.NextModel.BlockedBy, p.Hosts, "      ")
			}
		}
		if len(p.Offers) > 0 {
			fmt.Fprintln(w, "  offers:")
		}
		for _, of := range p.Offers {
			offers++
			if !of.Runnable || !of.MigrationSafe {
				unsafe++
			}
			writeOfferText(w, &of, p.Hosts, paint)
		}
	}
	if len(o.UnpooledOffers) > 0 {
		fmt.Fprintf(w, "\noffers without a pool, judged on every host:\n")
		var names []string
		for _, p := range o.Pools {
			names = append(names, p.Hosts...)
		}
		for _, of := range o.UnpooledOffers {
			writeOfferText(w, &of, names, paint)
		}
	}
	verdict := paint(ansiGreen, "PASS")
	if o.Status == "fail" {
		verdict = paint(ansiRed, "FAIL")
	}
	fmt.Fprintf(w, "\n%s: %d of %d pool offers not runnable or not migration-safe\n", verdict, unsafe, offers)
}

func writeOfferText(w io.Writer, of *offerJSON, order []string, paint func(code, s string) string) {
	status := paint(ansiGreen, "ok  ")
	if !of.Runnable || !of.MigrationSafe {
		status = paint(ansiRed, "FAIL")
	}
	fmt.Fprintf(w, "    %s %s: %s on %s (%s)", status, of.Name, of.CPU, of.Machine, of.Accel)
	if len(of.Problems) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(of.Problems, "; "))
	}
	fmt.Fprintln(w)
	writeBlockers(w, of.BlockedBy, order, "      ")
}

// writeBlockers lists hosts and their missing bits in the order of
// hosts, at most ten.
func writeBlockers(w io.Writer, by map[string][]string, hosts []string, indent string) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	n := 0
	seen := map[string]bool{}
	for _, h := range hosts {
		bits, ok := by[h]
		if !ok || seen[h] {
			continue
		}
		seen[h] = true
		if n == 10 {
			fmt.Fprintf(tw, "%s… and %d more\n", indent, len(by)-10)
			break
		}
		n++
		fmt.Fprintf(tw, "%s%s\t%s\n", indent, h, strings.Join(bits, " "))
	}
	tw.Flush()
}

// hostsN is "1 host" or "N hosts".
func hostsN(n int) string {
	if n == 1 {
		return "1 host"
	}
	return fmt.Sprintf("%d hosts", n)
}

// list joins at most most names, saying how many more there are.
func list(names []string, most int) string {
	if len(names) <= most {
		return strings.Join(names, " ")
	}
	return fmt.Sprintf("%s … +%d more", strings.Join(names[:most], " "), len(names)-most)
}
