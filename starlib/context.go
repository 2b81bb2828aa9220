package starlib

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/site"
)

// Input is what a policy checks.
type Input struct {
	// Catalog is required; it must be over Options.Registry.
	Catalog *Catalog
	// Host is the host under check (ctx.host), or nil (ctx.host is None).
	Host *Host
	// Site holds the offers and pools (ctx.site); nil is an empty site.
	Site *site.Site
	// Params are the --param key=value pairs (ctx.params).
	Params map[string]string
}

// The site types are package site's. ctx.site wraps a site.Site as a
// struct:
//
//	site.offers   list of offer: name, cpu, machine (machine_type), pool,
//	              accel, config (config)
//	site.pools    dict name → pool: name, hosts (tuple of host)

// CheckOffer reports why o does not resolve with catalog c (a wrong
// model, spec or machine type), or nil; the error does not name the
// offer.
func CheckOffer(c *Catalog, o site.Offer) error {
	if _, err := NewConfig(c, o.CPU, o.Machine, o.Accel); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "config: "))
	}
	return nil
}

// Violation is one problem a policy reported: a site.Violation, which
// waivers match and reports list.
type Violation = site.Violation

// reservedKeys are the keys of a violation's JSON form; extra keyword
// arguments may not reuse them.
var reservedKeys = []string{"features", "machine", "message", "model", "policy"}

// Context is the ctx a policy's check receives:
//
//	ctx.policy      the policy's name
//	ctx.host        host, or None
//	ctx.catalog     catalog
//	ctx.site        struct(offers=[offer…], pools={name: pool})
//	ctx.params      dict of --param key=value strings
//	ctx.violation(message, model=None, machine=None, features=None, **extra)
//	                report a violation; model and machine are names or
//	                values, features a feature_set or list of names, extra
//	                values strings, numbers, bools, None, lists, dicts
//	                with string keys, or cpupolicy values
//
// Its type is "context". Violations accumulate in the Context.
type Context struct {
	policy        string
	host          starlark.Value
	cat           *Catalog
	site          starlark.Value
	params        *starlark.Dict
	maxLen        int
	maxViolations int
	violationFn   *starlark.Builtin

	mu         sync.Mutex
	violations []Violation
}

var _ starlark.HasAttrs = (*Context)(nil)

// NewContext returns the ctx a check of policy over in receives, under
// opts' limits. Check makes one; the test command makes them for test
// functions.
func NewContext(policy string, in Input, opts Options) (*Context, error) {
	if in.Catalog == nil {
		return nil, errors.New("no catalog")
	}
	reg := opts.registry()
	if in.Catalog.reg != reg {
		return nil, fmt.Errorf("catalog %s is over a different feature registry than Options.Registry", in.Catalog.c.Name())
	}
	c := &Context{policy: policy, host: starlark.None, cat: in.Catalog,
		maxLen: opts.maxLen(), maxViolations: opts.maxViolations()}
	c.violationFn = starlark.NewBuiltin("violation", c.violation).BindReceiver(c)
	if in.Host != nil {
		if in.Host.reg != reg {
			return nil, fmt.Errorf("host %s is over a different feature registry than Options.Registry", in.Host.name)
		}
		c.host = in.Host
	}
	sv, err := siteValue(in.Catalog, in.Site, in.Host, reg)
	if err != nil {
		return nil, err
	}
	c.site = sv
	keys := make([]string, 0, len(in.Params))
	for k := range in.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a dict iterates in insertion order: keep it sorted
	c.params = starlark.NewDict(len(keys))
	for _, k := range keys {
		_ = c.params.SetKey(starlark.String(k), starlark.String(in.Params[k]))
	}
	c.params.Freeze()
	return c, nil
}

// siteValue builds ctx.site, resolving every offer's config. Each host
// of the site is wrapped once (the host under check, when it is one of
// them, is that value).
func siteValue(cat *Catalog, s *site.Site, under *Host, reg *feature.Registry) (starlark.Value, error) {
	if s == nil {
		s = &site.Site{}
	}
	wrapped := map[*site.Host]*Host{}
	if under != nil {
		wrapped[under.site] = under
	}
	pools := starlark.NewDict(len(s.Pools))
	for _, p := range s.Pools {
		if p.Name == "" {
			return nil, errors.New("site: a pool has no name")
		}
		if _, found, _ := pools.Get(starlark.String(p.Name)); found {
			return nil, fmt.Errorf("site: pool %q declared twice", p.Name)
		}
		hosts := make(starlark.Tuple, len(p.Hosts))
		for i, sh := range p.Hosts {
			h, ok := wrapped[sh]
			if !ok {
				var err error
				if h, err = WrapHost(sh, reg); err != nil {
					return nil, fmt.Errorf("site: pool %s: %v", p.Name, err)
				}
				wrapped[sh] = h
			}
			hosts[i] = h
		}
		_ = pools.SetKey(starlark.String(p.Name), starlarkstruct.FromStringDict(starlark.String("pool"), starlark.StringDict{
			"name": starlark.String(p.Name), "hosts": hosts}))
	}
	pools.Freeze()
	offers := make([]starlark.Value, len(s.Offers))
	seen := map[string]bool{}
	for i, o := range s.Offers {
		if seen[o.Name] {
			return nil, fmt.Errorf("site: offer %q declared twice", o.Name)
		}
		seen[o.Name] = true
		if _, found, _ := pools.Get(starlark.String(o.Pool)); o.Pool != "" && !found {
			return nil, fmt.Errorf("site: offer %q: no pool %q", o.Name, o.Pool)
		}
		var machine starlark.Value = starlark.None
		if o.Machine != "" {
			machine = starlark.String(o.Machine)
		}
		accel := o.Accel
		if accel == "" {
			accel = "kvm"
		}
		cfg, err := cat.newConfig("site: offer "+o.Name, math.MaxInt, o.CPU, machine, accel)
		if err != nil {
			return nil, err
		}
		var pool starlark.Value = starlark.None
		if o.Pool != "" {
			pool = starlark.String(o.Pool)
		}
		offers[i] = starlarkstruct.FromStringDict(starlark.String("offer"), starlark.StringDict{
			"name": starlark.String(o.Name), "cpu": starlark.String(o.CPU), "machine": cfg.mt,
			"pool": pool, "accel": starlark.String(accel), "config": cfg})
	}
	list := starlark.NewList(offers)
	list.Freeze()
	sv := starlarkstruct.FromStringDict(starlark.String("site"), starlark.StringDict{"offers": list, "pools": pools})
	sv.Freeze()
	return sv, nil
}

// Violations returns what was reported so far, in order.
func (c *Context) Violations() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations)
}

func (c *Context) String() string        { return fmt.Sprintf("<context of %s>", c.policy) }
func (c *Context) Type() string          { return "context" }
func (c *Context) Freeze()               {} // its fields are frozen; violations are Go-side
func (c *Context) Truth() starlark.Bool  { return true }
func (c *Context) Hash() (uint32, error) { return 0, errors.New("unhashable: context") }

var contextAttrs = []string{"catalog", "host", "params", "policy", "site", "violation"}

func (c *Context) AttrNames() []string { return contextAttrs }

func (c *Context) Attr(name string) (starlark.Value, error) {
	switch name {
	case "policy":
		return starlark.String(c.policy), nil
	case "host":
		return c.host, nil
	case "catalog":
		return c.cat, nil
	case "site":
		return c.site, nil
	case "params":
		return c.params, nil
	case "violation":
		return c.violationFn, nil
	}
	return nil, nil
}

// violation(message, model=None, machine=None, features=None, **extra)
func (c *Context) violation(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var named []starlark.Tuple
	extra := map[string]any{}
	budget := c.maxLen
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		switch k {
		case "message", "model", "machine", "features":
			named = append(named, kv)
			continue
		case "policy":
			return nil, fmt.Errorf("%s: %s is reserved (keys %v are the violation's own)", b.Name(), k, reservedKeys)
		}
		x, err := toGo(r, kv[1], 0, &budget)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", b.Name(), k, err)
		}
		extra[k] = x
	}
	var (
		msg                    string
		model, machine, feats  starlark.Value = starlark.None, starlark.None, starlark.None
		modelName, machineName string
	)
	if err := starlark.UnpackArgs(b.Name(), args, named, "message", &msg, "model?", &model, "machine?", &machine, "features?", &feats); err != nil {
		return nil, err
	}
	if len(msg) > c.maxLen {
		return nil, fmt.Errorf("%s: message length %d exceeds the limit of %d: %w", b.Name(), len(msg), c.maxLen, ErrLimit)
	}
	switch m := model.(type) {
	case starlark.NoneType:
	case starlark.String:
		modelName = string(m)
	case *Model:
		modelName = m.m.Name
	case *Config:
		modelName = m.spec.Text
	default:
		return nil, fmt.Errorf("%s: model: got %s, want string, model or config", b.Name(), model.Type())
	}
	switch m := machine.(type) {
	case starlark.NoneType:
	case starlark.String:
		machineName = string(m)
	case *MachineType:
		machineName = m.mt.Name
	case *Config:
		machineName = m.mt.mt.Name
	default:
		return nil, fmt.Errorf("%s: machine: got %s, want string, machine_type or config", b.Name(), machine.Type())
	}
	v := Violation{Policy: c.policy, Message: msg, Model: modelName, Machine: machineName}
	if feats != starlark.None {
		set, err := unpackFeatures(r, b.Name(), "features", c.cat.reg, feats)
		if err != nil {
			return nil, err
		}
		v.Features = c.cat.reg.Names(set)
	}
	if len(extra) > 0 {
		v.Extra = extra
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.violations) >= c.maxViolations {
		return nil, fmt.Errorf("%s: more than %d violations: %w", b.Name(), c.maxViolations, ErrLimit)
	}
	c.violations = append(c.violations, v)
	return starlark.None, nil
}

// maxDepth bounds the nesting of an extra value (a list of dicts of
// lists…): real values nest two or three deep, and a bound keeps the
// conversion's recursion off the Go stack limit.
const maxDepth = 16

// toGo converts an extra value of a violation to Go, spending *budget
// (string bytes plus elements) so that the whole stays under MaxLen.
func toGo(r *run, v starlark.Value, depth int, budget *int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d deep", maxDepth)
	}
	spend := func(n int) error {
		*budget -= n
		if *budget < 0 {
			return fmt.Errorf("value too large: %w", ErrLimit)
		}
		return nil
	}
	if err := spend(1); err != nil {
		return nil, err
	}
	if err := r.interrupted(); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		if n, ok := v.Int64(); ok {
			return n, nil
		}
		return v.String(), nil
	case starlark.Float:
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
		return nil, fmt.Errorf("got %v, want a finite number", v)
	case starlark.String:
		return string(v), spend(len(v))
	case FeatureSet:
		names := v.Names()
		return names, spend(len(names))
	case *Model:
		return v.m.Name, nil
	case *MachineType:
		return v.mt.Name, nil
	case *Host:
		return v.name, nil
	case *Config:
		return v.spec.Text, nil
	case *starlark.Dict:
		out := make(map[string]any, v.Len())
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key: got %s, want string", kv[0].Type())
			}
			x, err := toGo(r, kv[1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[string(k)] = x
		}
		return out, nil
	case starlark.Indexable: // list, tuple
		if err := spend(v.Len()); err != nil {
			return nil, err
		}
		out := make([]any, v.Len())
		for i := range v.Len() {
			x, err := toGo(r, v.Index(i), depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("got %s, want string, number, bool, None, list, dict or a cpupolicy value", v.Type())
}
