package main

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// hostOffer loads the snapshot FILE (this host, probed, for "") and
// computes what QEMU release rules lets a guest have there under accel;
// errors name the file.
func (e *env) hostOffer(file string, reg *feature.Registry, rules, accel string) (*host.HostSnapshot, *check.Availability, error) {
	var s *host.HostSnapshot
	var err error
	if file == "" {
		s, err = e.probeLive()
	} else {
		s, err = e.loadSnapshot(file)
	}
	if err != nil {
		return nil, nil, err
	}
	a, err := check.Compute(reg, s, rules, accel)
	if err != nil {
		if file == "" {
			file = "this host"
		}
		return nil, nil, fmt.Errorf("%s: %v", file, err)
	}
	return s, a, nil
}

// operand resolves one side of `diff`: MODEL, MODEL@MACHINE, a -cpu spec
// (it has a comma), host:FILE or host: (this host's KVM offer), or
// CATALOG:X — X (a model, MODEL@MACHINE or spec) on another catalog, an
// embedded one's name or a file (libvirt's definitions beside QEMU's).
func (j *judge) operand(e *env, arg string) (string, feature.FeatureSet, error) {
	if rest, ok := strings.CutPrefix(arg, "host:"); ok {
		_, a, err := e.hostOffer(rest, j.reg, j.avail.QEMU, j.accel)
		if err != nil {
			return "", feature.FeatureSet{}, err
		}
		return arg, a.Set, nil
	}
	cat, name, machine := j.cat, arg, j.mt.Name
	if cn, rest, ok := catalogOperand(arg); ok {
		c, err := e.loadCatalog(cn)
		if err != nil {
			return "", feature.FeatureSet{}, fmt.Errorf("%s: %v", arg, err)
		}
		cat, name = c, rest
		// The judge's machine type, where that catalog has it; else
		// its own default.
		if _, err := c.Machine(machine); err != nil {
			mt, err := pickMachine(c, "")
			if err != nil {
				return "", feature.FeatureSet{}, fmt.Errorf("%s: %v", arg, err)
			}
			machine = mt.Name
		}
	}
	if m, mach, ok := strings.Cut(name, "@"); ok && !strings.Contains(name, ",") {
		name, machine = m, mach
	}
	if strings.Contains(name, ",") {
		s, err := catalog.ParseCPUSpec(name, j.reg)
		if err != nil {
			return "", feature.FeatureSet{}, err
		}
		r, err := cat.ResolveSpec(s, machine, j.accel, j.vendor)
		if err != nil {
			return "", feature.FeatureSet{}, err
		}
		return arg, r.Features, nil
	}
	r, err := cat.Resolve(name, machine, j.accel, j.vendor)
	if err != nil {
		return "", feature.FeatureSet{}, err
	}
	return arg, r.Features, nil
}

type diffJSON struct {
	A      string   `json:"a"`
	B      string   `json:"b"`
	Accel  string   `json:"accel"`
	OnlyA  []string `json:"only_a"`
	OnlyB  []string `json:"only_b"`
	Common int      `json:"common"`
}

func runDiff(e *env, args []string) int {
	fs := newFlags("diff")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	jf := addJudgeFlags(fs)
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if fs.NArg() != 2 {
		return usageError(e, "diff", "want two operands: [CATALOG:]MODEL[@MACHINE], [CATALOG:]SPEC, host:FILE or host:")
	}
	// Operands other than hosts need no live probe under tcg; under kvm
	// the live host gives the vendor.
	j, rc := newJudge(e, "diff", jf)
	if rc >= 0 {
		return rc
	}
	an, a, err := j.operand(e, fs.Arg(0))
	if err != nil {
		return inputError(e, err)
	}
	bn, b, err := j.operand(e, fs.Arg(1))
	if err != nil {
		return inputError(e, err)
	}
	out := diffJSON{A: an, B: bn, Accel: j.accel, OnlyA: nonNil(j.reg.Names(a.Difference(b))), OnlyB: nonNil(j.reg.Names(b.Difference(a))), Common: a.Intersect(b).Count()}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, out)
	} else {
		fmt.Fprintf(&buf, "%d features in common (%s)\n", out.Common, j.accel)
		fmt.Fprintf(&buf, "only in %s (%d): %s\n", an, len(out.OnlyA), strings.Join(out.OnlyA, " "))
		fmt.Fprintf(&buf, "only in %s (%d): %s\n", bn, len(out.OnlyB), strings.Join(out.OnlyB, " "))
	}
	e.stdout.Write(buf.Bytes())
	return exitOK
}

type baselineJSON struct {
	Catalog  string   `json:"catalog"`
	Machine  string   `json:"machine"`
	Hosts    []string `json:"hosts"`
	Features []string `json:"features"`
	Runnable []string `json:"runnable_models"`
	Best     string   `json:"best_model"`
	Next     *struct {
		Model    string              `json:"model"`
		Blockers map[string][]string `json:"blocked_by"`
	} `json:"next_model"`
}

func runBaseline(e *env, args []string) int {
	fs := newFlags("baseline")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	catName := fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)")
	machine := fs.String("machine", "", "machine `type` (default: the catalog's newest pc-q35)")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if fs.NArg() == 0 {
		return usageError(e, "baseline", "want one or more host snapshot FILEs (host: for this machine)")
	}
	cat, err := e.loadCatalog(*catName)
	if err != nil {
		return inputError(e, err)
	}
	reg := cat.Registry()
	mt, err := pickMachine(cat, *machine)
	if err != nil {
		return inputError(e, err)
	}
	if !cat.HasAccel(catalog.KVM) {
		return inputError(e, fmt.Errorf("catalog %s has no kvm data", cat.Name()))
	}
	rules := qemuRules(e, cat)
	type hostAvail struct {
		name   string
		vendor string
		set    feature.FeatureSet
	}
	var hosts []hostAvail
	for _, arg := range fs.Args() {
		name := strings.TrimPrefix(arg, "host:")
		s, a, err := e.hostOffer(name, reg, rules, catalog.KVM)
		if err != nil {
			return inputError(e, err)
		}
		if name == "" {
			name = "this host"
		}
		hosts = append(hosts, hostAvail{name, s.Vendor, a.Set})
	}
	common := hosts[0].set
	for _, h := range hosts[1:] {
		common = common.Intersect(h.set)
	}
	out := baselineJSON{Catalog: cat.Name(), Machine: mt.Name, Features: reg.Names(common), Runnable: []string{}}
	// Features do not depend on the vendor QEMU gives a kvm guest
	// (catalog.Features), so one required set serves every host.
	var names []string
	var reqs, sets []feature.FeatureSet
	models := cat.Models()
	for i := range models {
		m := &models[i]
		if m.AliasOf != "" {
			continue // judged under its versioned name
		}
		f, err := cat.Features(m.Name, mt.Name, catalog.KVM)
		if err != nil {
			return inputError(e, err)
		}
		names, reqs = append(names, m.Name), append(reqs, f)
	}
	for _, h := range hosts {
		sets = append(sets, h.set)
	}
	for i, r := range reqs {
		if r.SubsetOf(common) {
			out.Runnable = append(out.Runnable, names[i])
		}
	}
	best, next := fleet.Baseline(reqs, sets)
	if best >= 0 {
		out.Best = names[best]
	}
	if next >= 0 {
		blockers := map[string][]string{}
		for _, h := range hosts {
			if m := reqs[next].Difference(h.set); !m.IsEmpty() {
				blockers[h.name] = reg.Names(m)
			}
		}
		out.Next = &struct {
			Model    string              `json:"model"`
			Blockers map[string][]string `json:"blocked_by"`
		}{names[next], blockers}
	}
	for _, h := range hosts {
		out.Hosts = append(out.Hosts, h.name)
	}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, out)
	} else {
		fmt.Fprintf(&buf, "%d hosts, %s on %s (kvm): %d features in common\n", len(hosts), cat.Name(), mt.Name, len(out.Features))
		fmt.Fprintf(&buf, "runnable on every host (%d): %s\n", len(out.Runnable), strings.Join(out.Runnable, " "))
		if out.Best != "" {
			fmt.Fprintf(&buf, "best model: %s\n", out.Best)
		}
		if out.Next != nil {
			fmt.Fprintf(&buf, "next better model: %s, blocked by:\n", out.Next.Model)
			tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
			for _, h := range out.Hosts {
				if b := out.Next.Blockers[h]; len(b) > 0 {
					fmt.Fprintf(tw, "  %s\t%s\n", h, strings.Join(b, " "))
				}
			}
			tw.Flush()
		}
	}
	e.stdout.Write(buf.Bytes())
	return exitOK
}
