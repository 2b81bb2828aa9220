package starlib

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
	"github.com/cpupolicy/cpupolicy/site"
)

// LoadSiteFile evaluates the site file at path (site.star) in the
// sandbox of opts and returns the site it declares. A site file calls
//
//	offer(name, cpu, machine=None, pool=None, accel=None)
//	pool(name, hosts)
//
// once per offer and pool: cpu is a -cpu spec, machine a machine type
// (None: the newest pc-q35), accel "kvm" or "tcg" (None: the caller's
// default, kvm), and hosts a list of host snapshot files (cpupolicy probe
// --format json), relative to the site file. The script cannot read
// files: it names them, and LoadSiteFile reads and validates them after
// the script has run. A host is named by its file name without ".json".
//
// When cat is not nil every offer is resolved with it, so that a wrong
// model, spec or machine type is reported at the offer's line. Every
// problem is reported, sorted by position.
func LoadSiteFile(path string, cat *Catalog, opts Options) (*site.Site, error) {
	d := &siteDecls{}
	opts.Predeclared = addGlobal(opts.Predeclared, "offer", starlark.NewBuiltin("offer", d.offer))
	opts.Predeclared = addGlobal(opts.Predeclared, "pool", starlark.NewBuiltin("pool", d.pool))
	if _, err := LoadScriptFile(path, opts); err != nil {
		return nil, err
	}
	return d.site(path, cat, opts)
}

// siteDecls collects the declarations of a site file as it runs.
type siteDecls struct {
	offers    []site.Offer
	pools     []poolDecl
	offerSeen map[string]string // name → position
	poolSeen  map[string]string
	errs      []scriptPosError // reported together once the file has run
}

type poolDecl struct {
	name  string
	hosts []string
	pos   string
}

// builtinCallerPos is the position of the call of the running builtin.
func builtinCallerPos(thread *starlark.Thread) string {
	return thread.CallFrame(1).Pos.String()
}

// offer(name, cpu, machine=None, pool=None, accel=None)
func (d *siteDecls) offer(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	o, err := unpackOffer(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	name, cpu := o.Name, o.CPU
	pos := builtinCallerPos(thread)
	bad := func(format string, args ...any) (starlark.Value, error) {
		d.errs = append(d.errs, scriptPosError{pos, fmt.Errorf(format, args...)})
		return starlark.None, nil
	}
	if len(cpu) > r.maxLen {
		return nil, fmt.Errorf("%s: cpu spec length %d exceeds the limit of %d: %w", b.Name(), len(cpu), r.maxLen, ErrLimit)
	}
	if len(d.offers)+len(d.errs) >= r.maxViolations {
		return nil, fmt.Errorf("%s: more than %d offers: %w", b.Name(), r.maxViolations, ErrLimit)
	}
	switch {
	case name == "":
		return bad("offer: name is empty")
	case cpu == "":
		return bad("offer %s: cpu is empty", name)
	case o.Accel != "" && o.Accel != "kvm" && o.Accel != "tcg":
		return bad("offer %s: accel: got %q, want \"kvm\" or \"tcg\"", name, o.Accel)
	}
	if d.offerSeen == nil {
		d.offerSeen = map[string]string{}
	}
	if at, ok := d.offerSeen[name]; ok {
		return bad("offer %s: already declared at %s", name, at)
	}
	d.offerSeen[name] = pos
	o.Source = pos
	d.offers = append(d.offers, o)
	return starlark.None, nil
}

// unpackOffer unpacks the arguments of offer(name, cpu, machine=None,
// pool=None, accel=None), of site files and of test files alike; None is "".
func unpackOffer(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (site.Offer, error) {
	var o site.Offer
	var machine, pool, accel starlark.Value = starlark.None, starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &o.Name, "cpu", &o.CPU, "machine?", &machine, "pool?", &pool, "accel?", &accel); err != nil {
		return site.Offer{}, err
	}
	for _, f := range []struct {
		param string
		v     starlark.Value
		dst   *string
	}{{"machine", machine, &o.Machine}, {"pool", pool, &o.Pool}, {"accel", accel, &o.Accel}} {
		switch v := f.v.(type) {
		case starlark.NoneType:
		case starlark.String:
			*f.dst = string(v)
		default:
			return site.Offer{}, fmt.Errorf("%s: %s: got %s, want string or None", b.Name(), f.param, f.v.Type())
		}
	}
	return o, nil
}

// pool(name, hosts)
func (d *siteDecls) pool(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var name string
	var hosts starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "hosts", &hosts); err != nil {
		return nil, err
	}
	list, err := r.listArg(b.Name(), "hosts", hosts, "a list of snapshot files")
	if err != nil {
		return nil, err
	}
	if len(d.pools)+len(d.errs) >= r.maxViolations {
		return nil, fmt.Errorf("%s: more than %d pools: %w", b.Name(), r.maxViolations, ErrLimit)
	}
	p := poolDecl{name: name, pos: builtinCallerPos(thread)}
	for i := range list.Len() {
		s, ok := starlark.AsString(list.Index(i))
		if !ok || s == "" {
			return nil, fmt.Errorf("%s: hosts[%d]: got %s, want a snapshot file name", b.Name(), i, list.Index(i).String())
		}
		p.hosts = append(p.hosts, s)
	}
	bad := func(format string, args ...any) (starlark.Value, error) {
		d.errs = append(d.errs, scriptPosError{p.pos, fmt.Errorf(format, args...)})
		return starlark.None, nil
	}
	switch {
	case name == "":
		return bad("pool: name is empty")
	case len(p.hosts) == 0:
		return bad("pool %s: no hosts", name)
	}
	if d.poolSeen == nil {
		d.poolSeen = map[string]string{}
	}
	if at, ok := d.poolSeen[name]; ok {
		return bad("pool %s: already declared at %s", name, at)
	}
	d.poolSeen[name] = p.pos
	d.pools = append(d.pools, p)
	return starlark.None, nil
}

// site reads the hosts and checks the offers.
func (d *siteDecls) site(path string, cat *Catalog, opts Options) (*site.Site, error) {
	errs := d.errs
	reg := opts.registry()
	s := &site.Site{Offers: d.offers}
	byFile := map[string]*site.Host{}
	byName := map[string]string{} // host name → file
	for _, p := range d.pools {
		pool := site.Pool{Name: p.name}
		for _, f := range p.hosts {
			file := f
			if !filepath.IsAbs(file) {
				file = filepath.Join(filepath.Dir(path), file)
			}
			file = filepath.Clean(file)
			h, ok := byFile[file]
			if !ok {
				var err error
				if h, err = loadSiteHost(file, opts); err != nil {
					errs = append(errs, scriptPosError{p.pos, fmt.Errorf("pool %s: %v", p.name, err)})
					continue
				}
				if other, dup := byName[h.Name]; dup {
					errs = append(errs, scriptPosError{p.pos, fmt.Errorf("pool %s: hosts %s and %s have the same name %q", p.name, other, file, h.Name)})
					continue
				}
				byFile[file], byName[h.Name] = h, file
			}
			pool.Hosts = append(pool.Hosts, h)
		}
		s.Pools = append(s.Pools, pool)
	}
	for _, o := range d.offers {
		if _, ok := d.poolSeen[o.Pool]; o.Pool != "" && !ok {
			errs = append(errs, scriptPosError{o.Source, fmt.Errorf("offer %s: no pool %q%s", o.Name, o.Pool, nearestName(o.Pool, sitePoolNames(d.pools)))})
		}
		if cat == nil {
			continue
		}
		if cat.reg != reg {
			return nil, fmt.Errorf("%s: catalog %s is over a different feature registry than Options.Registry", path, cat.c.Name())
		}
		if err := CheckOffer(cat, o); err != nil {
			errs = append(errs, scriptPosError{o.Source, fmt.Errorf("offer %s: %v", o.Name, err)})
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].less(errs[j]) })
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = e
		}
		return nil, errors.Join(out...)
	}
	return s, nil
}

// loadSiteHost reads a host snapshot file as a host named as every
// command names one (host.Name), checking that its features are over the
// registry of opts.
func loadSiteHost(file string, opts Options) (*site.Host, error) {
	snap, err := opts.readSnapshot(file)
	if err != nil {
		return nil, err
	}
	h, err := NewHost(host.Name(snap, file), snap, opts.registry())
	if err != nil {
		return nil, err
	}
	return h.Site(), nil
}

func sitePoolNames(ps []poolDecl) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// nearestName returns ` (did you mean "x"?)` for the candidate nearest to
// name, or "".
func nearestName(name string, candidates []string) string {
	if best := suggest.Nearest(name, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// scriptPosError is a problem at a position "file:line:col" of a script.
type scriptPosError struct {
	pos string
	err error
}

func (e scriptPosError) Error() string { return e.pos + ": " + e.err.Error() }

// less orders by file, then line and column numerically.
func (e scriptPosError) less(f scriptPosError) bool {
	a, b := strings.Split(e.pos, ":"), strings.Split(f.pos, ":")
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		var x, y int
		if _, err := fmt.Sscan(a[i], &x); err == nil {
			if _, err := fmt.Sscan(b[i], &y); err == nil {
				return x < y
			}
		}
		return a[i] < b[i]
	}
	return len(a) < len(b)
}
