package qemuimport

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/qmp"
)

// Definitions.
//
// A -cpu option, like a prop of a query-cpu-model-expansion request, is
// applied to the model's definition — the CPU as QEMU has built it from
// the model, the accelerator's defaults and the machine type's compat
// properties — and only then does x86_cpu_expand_features run its
// feature dependencies and raise the CPUID levels. A full expansion has
// lost what that did: features the dependencies cleared (every Intel
// model defines VMX capabilities but not vmx) and the definition's own
// minimum levels (min-level is reported raised). The importer recovers
// both from QEMU with probe expansions, the way TestExpandMatchesQEMU
// in core/catalog does, and records them per (model, machine type,
// accelerator) as catalog.RawExpansion's Latent and Def* fields.
//
// Probes are expansions with props, and QEMU reads QMP one byte per
// system call, so they cost by the byte: the importer sends few and
// small ones.
//
//   - On the reference machine type (the newest pc-q35 imported) every
//     model is probed in full under each accelerator: P, the model with
//     every dependency's from feature that its expansion lacks (A) on,
//     in which no dependency fires, is the definition ∪ A; the from
//     features that a definition can have and its expansion lack (those
//     that are dependents themselves, and intel-pt, which the intel-pt
//     level rule removes) are settled by probes with all of A on but a
//     group of them (catalog.ProbeGroups).
//   - Q, the probe every definition's levels are read from, turns on
//     only the from features that reveal what the reference definition's
//     dependencies hide (usually just vmx, or svm under kvm), and turns
//     full-cpuid-auto-level off: then nothing raises min-xlevel and
//     min-xlevel2, and only a non-empty CPUID[7,0].EBX raises min-level
//     (to 7; when that leaves min-level ambiguous, Q7 also turns those
//     features off). A level that does not follow its min-level in the
//     expansion or in Q was set explicitly (machine compat properties set
//     EPYC's xlevel on 2.12 and older).
//   - Every other machine type is compared with the next newer one of its
//     family (the newest of a family with the reference) under the same
//     accelerator: when QEMU expands every model identically on both, the
//     older one's compat properties change no CPU and it has the same
//     definitions; otherwise every model is probed with Q there (Q then
//     also turns on the from features the reference expansion has and
//     this one lacks), or, where the compat properties show what
//     differs, only the models it can have changed (narrow). QEMU 7.2
//     is probed so on 25 of its 55 machine types; 10.0, one process per
//     set of CPU compat properties, on 8 of its 14 runs, 3 of them in
//     full.
//
// What the probes cannot see is taken to be as on the reference: whether
// a definition has a from feature that is itself a dependent (vmx-ept,
// …) when its expansion lacks it, and features hidden behind a from
// feature Q leaves off; and an explicit level equal to the raised
// minimum both in the expansion and in Q reads as automatic. Against
// the full probes of every (model, machine type, accelerator) of QEMU
// 7.2 and 10.0 — 32,844 definitions — this gave identical results, and
// catalog.Compact checks that every definition expands to QEMU's
// expansion.
//
// Definitions are recorded only for QEMU releases whose dependencies
// catalog.FeatureDependencies knows.

// definer holds what the probes need to know about one QEMU release.
type definer struct {
	reg  *feature.Registry
	deps []catalog.FeatureDependency
	// froms are every dependency's from features; uncertain those of
	// them that a definition may have and its expansion lack.
	froms, uncertain feature.FeatureSet
	// conflicting are features the release clears in pairs
	// (catalog.FeatureConflicts): a probe turning one on clears the
	// other, so those the expansion has are the definition's whatever a
	// probe shows.
	conflicting feature.FeatureSet
	// ebx70 is CPUID[7,0].EBX: with full-cpuid-auto-level off, the only
	// word that raises min-level (to 7).
	ebx70 feature.FeatureSet
	// autoLevelFixed: the binary has no full-cpuid-auto-level property
	// (QEMU 11.1), so the levels are read with the Z probe
	// (definitions_levels.go) instead of turning it off.
	autoLevelFixed bool
	// typeNames are the models' QOM types, in model order; compat the
	// compatibility properties that reach CPUs (cpuCompatProps) of each
	// machine type, for releases that list them (see narrow).
	typeNames []string
	compat    map[string][]qmpCompatProp
}

// leafOnlyProps are x86 CPU properties that machine types set for
// compatibility and that shape only the contents of CPUID leaves (cache
// and topology descriptions, Hyper-V and hypervisor leaves) or other
// behaviour: never a feature bit, a level or the automatic levels. They
// are listed rather than inferred: a property not here makes narrow
// probe every model.
var leafOnlyProps = map[string]bool{
	"check": true, "cpuid-0xb": true, "fill-mtrr-mask": true, "l3-cache": true,
	"legacy-cache": true, "tcg-cpuid": true, "vmware-cpuid-freq": true,
	"x-hv-max-vps": true, "x-migrate-smi-count": true, "x-hv-synic-kvm-only": true,
	"x-vendor-cpuid-only": true, "hv-version-id-build": true, "hv-version-id-major": true,
	"hv-version-id-minor": true, "guest-phys-bits": true, "legacy-multi-node": true,
	"x-amd-topoext-features-only": true, "x-l1-cache-per-thread": true,
}

// narrow returns the models whose definitions on machine type m may
// differ from those on pred, whose expansions (exps, predExps) are known
// to differ somewhere; nil means every model. When the release lists
// both machine types' compatibility properties and those that differ
// are leaf-only properties of every CPU or properties of particular
// models' types, a model that expands alike on both and is not one of
// those has pred's definition: nothing that differs can have changed it.
// A model-specific property (EPYC's xlevel, Skylake-Server's pku) marks
// the model whatever it expands to, since it may touch what the
// expansion hides. Of the 8 machine types of QEMU 10.0 whose expansions
// differ from the next newer one's, 3 are probed in full (their
// differences include full-cpuid-auto-level, topoext and
// x-intel-pt-auto-level), the other 5 for the 1 to 11 models that differ.
func (d *definer) narrow(m, pred string, exps, predExps []answer) []int {
	a, okA := d.compat[m]
	b, okB := d.compat[pred]
	if !okA || !okB {
		return nil
	}
	count := map[qmpCompatProp]int{}
	for _, p := range a {
		count[p]++
	}
	for _, p := range b {
		count[p]--
	}
	marked := map[string]bool{}
	for p, n := range count {
		if n == 0 {
			continue
		}
		switch {
		case p.Type == "x86_64-cpu" || p.Type == "i386-cpu":
			if !leafOnlyProps[p.Property] {
				return nil
			}
		case strings.HasSuffix(p.Type, "-accel"):
			return nil
		default:
			marked[p.Type] = true
		}
	}
	some := []int{}
	for i := range exps {
		if marked[d.typeNames[i]] || !sameAnswers(exps[i:i+1], predExps[i:i+1]) {
			some = append(some, i)
		}
	}
	return some
}

// newDefiner returns the definer of QEMU version, or nil when the
// release's dependencies are unknown.
func newDefiner(reg *feature.Registry, version string) *definer {
	rel, err := core.ParseRelease(version)
	if err != nil {
		return nil
	}
	deps, err := catalog.FeatureDependencies(reg, rel)
	if err != nil {
		return nil
	}
	conflicting, err := catalog.FeatureConflicts(reg, rel)
	if err != nil {
		return nil
	}
	d := &definer{reg: reg, deps: deps, conflicting: conflicting}
	var to feature.FeatureSet
	for _, dep := range deps {
		d.froms = d.froms.Union(dep.From)
		to = to.Union(dep.To)
	}
	d.uncertain = d.froms.Intersect(to)
	if id, err := reg.Lookup("intel-pt"); err == nil {
		d.uncertain = d.uncertain.Add(id)
	}
	for _, f := range reg.Features() {
		if l := f.Loc; !l.IsMSR() && l.Leaf == 7 && l.Subleaf == 0 && l.Reg == cpuid.EBX {
			d.ebx70 = d.ebx70.Add(f.ID)
		}
	}
	return d
}

// definition is what a RawExpansion records of a model's definition.
type definition struct {
	latent   feature.FeatureSet
	min      [3]uint32 // min-level, min-xlevel, min-xlevel2
	explicit [3]bool   // level, xlevel, xlevel2
}

func (d *definer) fill(e *catalog.RawExpansion, def definition) {
	if !def.latent.IsEmpty() {
		e.Latent = d.reg.Names(def.latent)
	}
	e.DefMinLevel, e.DefMinXLevel, e.DefMinXLevel2 = def.min[0], def.min[1], def.min[2]
	e.LevelExplicit, e.XLevelExplicit, e.XLevel2Explicit = def.explicit[0], def.explicit[1], def.explicit[2]
}

// props returns the props that set the features of s to v.
func (d *definer) props(p map[string]any, s feature.FeatureSet, v bool) map[string]any {
	if p == nil {
		p = map[string]any{}
	}
	for id := range s.All() {
		p[d.reg.Name(id)] = v
	}
	return p
}

// autoOff returns props that turn full-cpuid-auto-level off, unless the
// expansion e has it off already or the binary has no such property.
func (d *definer) autoOff(e answer) map[string]any {
	if !e.e.FullCPUIDAutoLevel || d.autoLevelFixed {
		return nil
	}
	return map[string]any{"full-cpuid-auto-level": false}
}

// revealing returns the from features to turn on so that no dependency
// clears a feature of def, nor one of those it turns on: for each
// dependency whose from features def (with those chosen so far) lacks
// and whose dependents it has, its first from feature.
func (d *definer) revealing(def feature.FeatureSet) feature.FeatureSet {
	var g feature.FeatureSet
	for {
		before := g
		for _, dep := range d.deps {
			if s := def.Union(g); dep.From.Intersect(s).IsEmpty() && !dep.To.Intersect(s).IsEmpty() {
				id, _ := dep.From.Next(0)
				g = g.Add(id)
			}
		}
		if g == before {
			return g
		}
	}
}

// reference probes every model in full on the reference machine type
// (see above) and returns the definitions' features and each model's
// revealing from features; levels then gives the definitions. (The
// other machine types' probes need only the revealing features, so they
// need not wait for the levels.)
func (d *definer) reference(ctx context.Context, r *runner, exps []answer) ([]feature.FeatureSet, []feature.FeatureSet, error) {
	type plan struct {
		absent feature.FeatureSet
		groups []feature.FeatureSet
		first  int // index of P in reqs
	}
	plans := make([]plan, len(exps))
	var reqs []request
	for i, e := range exps {
		p := &plans[i]
		p.absent = d.froms.Difference(e.set)
		if p.absent.IsEmpty() {
			continue // no dependency fires: the definition's features are the expansion's
		}
		p.first = len(reqs)
		reqs = append(reqs, request{i, d.props(d.autoOff(e), p.absent, true)})
		p.groups = catalog.ProbeGroups(d.deps, p.absent.Intersect(d.uncertain))
		for _, g := range p.groups {
			reqs = append(reqs, request{i, d.props(d.autoOff(e), p.absent.Difference(g), true)})
		}
	}
	ans, err := r.run(ctx, reqs)
	if err != nil {
		return nil, nil, err
	}
	defs := make([]feature.FeatureSet, len(exps))
	gs := make([]feature.FeatureSet, len(exps))
	for i, e := range exps {
		p := plans[i]
		def := e.set
		if !p.absent.IsEmpty() {
			// P is the definition ∪ absent; the groups say which of the
			// uncertain absent features the definition has.
			def = ans[p.first].set.Difference(p.absent).Union(e.set.Intersect(d.conflicting))
			for j, g := range p.groups {
				def = def.Union(ans[p.first+1+j].set.Intersect(g))
			}
		}
		if !e.set.SubsetOf(def) {
			return nil, nil, fmt.Errorf("probing %s on %s: the expansion has %v, the definition found lacks them",
				r.models[i], r.where, d.reg.Names(e.set.Difference(def)))
		}
		defs[i] = def
		gs[i] = d.revealing(def)
	}
	return defs, gs, nil
}

// probe reads every model's definition on a machine type other than the
// reference from Q: Q turns on the reference's revealing features gs,
// and the from features the reference's expansion (refExps) has and
// this one lacks.
func (d *definer) probe(ctx context.Context, r *runner, exps, refExps []answer, gs []feature.FeatureSet) ([]definition, error) {
	g := make([]feature.FeatureSet, len(exps))
	for i, e := range exps {
		g[i] = gs[i].Union(refExps[i].set.Intersect(d.froms).Difference(e.set))
	}
	return d.levels(ctx, r, exps, g, nil)
}

// levels sends Q (and where needed Q7) for every model, with the
// revealing features gs on, and returns the definitions: the features Q
// shows, less those it turned on (which, absent from the expansion, the
// definition lacks), and the levels. defs, when given, are the
// definitions' features already known (on the reference), which Q must
// confirm.
func (d *definer) levels(ctx context.Context, r *runner, exps []answer, gs, defs []feature.FeatureSet) ([]definition, error) {
	qIndex := make([]int, len(exps))
	var reqs []request
	qProps := make([]map[string]any, len(exps))
	for i, e := range exps {
		qProps[i] = d.props(d.autoOff(e), gs[i], true)
		qIndex[i] = -1
		if len(qProps[i]) > 0 {
			qIndex[i] = len(reqs)
			reqs = append(reqs, request{i, qProps[i]})
		}
	}
	ans, err := r.run(ctx, reqs)
	if err != nil {
		return nil, err
	}
	q := make([]answer, len(exps))
	for i, e := range exps {
		q[i] = e // nothing to turn on and no automatic level: Q is the expansion
		if qIndex[i] >= 0 {
			q[i] = ans[qIndex[i]]
		}
	}
	// Q7: min-level is 7 with CPUID[7,0].EBX features on; the
	// definition's own may be lower.
	var reqs7 []request
	q7Index := make([]int, len(exps))
	for i := range exps {
		q7Index[i] = -1
		if on := q[i].set.Intersect(d.ebx70); !d.autoLevelFixed && q[i].e.MinLevel == 7 && !on.IsEmpty() {
			p := d.props(nil, on, false)
			for k, v := range qProps[i] {
				if _, ok := p[k]; !ok {
					p[k] = v
				}
			}
			q7Index[i] = len(reqs7)
			reqs7 = append(reqs7, request{i, p})
		}
	}
	ans7, err := r.run(ctx, reqs7)
	if err != nil {
		return nil, err
	}
	// Without full-cpuid-auto-level, Q's levels are raised: Z reads them.
	var z []answer
	if d.autoLevelFixed {
		if z, err = d.zLevels(ctx, r, exps, q); err != nil {
			return nil, err
		}
	}
	out := make([]definition, len(exps))
	for i, e := range exps {
		def := q[i].set.Difference(gs[i]).Union(gs[i].Intersect(e.set)).Union(e.set.Intersect(d.conflicting))
		if defs != nil && def != defs[i] {
			return nil, fmt.Errorf("probing %s on %s: the probes disagree on the definition: %v more, %v fewer",
				r.models[i], r.where, d.reg.Names(def.Difference(defs[i])), d.reg.Names(defs[i].Difference(def)))
		}
		if !e.set.SubsetOf(def) {
			return nil, fmt.Errorf("probing %s on %s: the expansion has %v, the definition found lacks them",
				r.models[i], r.where, d.reg.Names(e.set.Difference(def)))
		}
		// The levels are read from Q, or from Z where it was sent: Z has
		// every feature off, so nothing raised its min levels.
		le := q[i].e
		if z != nil {
			le = z[i].e
		}
		o := definition{latent: def.Difference(e.set), min: [3]uint32{le.MinLevel, le.MinXLevel, le.MinXLevel2}}
		o.explicit = [3]bool{e.e.Level != e.e.MinLevel || le.Level != le.MinLevel,
			e.e.XLevel != e.e.MinXLevel || le.XLevel != le.MinXLevel,
			e.e.XLevel2 != e.e.MinXLevel2 || le.XLevel2 != le.MinXLevel2}
		if j := q7Index[i]; j >= 0 {
			q7 := ans7[j].e
			o.min[0] = q7.MinLevel
			o.explicit[0] = o.explicit[0] || q7.Level != q7.MinLevel
		}
		out[i] = o
	}
	return out, nil
}

// sameAnswers reports whether QEMU expanded every model identically in
// a and b (machine types aside).
func sameAnswers(a, b []answer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i].e, b[i].e
		x.Machine, y.Machine = "", ""
		x.Features, y.Features = nil, nil
		if a[i].set != b[i].set || !equalRaw(x, y) {
			return false
		}
	}
	return true
}

// equalRaw compares two expansions without their feature lists.
func equalRaw(a, b catalog.RawExpansion) bool {
	return a.Model == b.Model && a.Accel == b.Accel && a.Level == b.Level && a.XLevel == b.XLevel &&
		a.XLevel2 == b.XLevel2 && a.Family == b.Family && a.ModelNum == b.ModelNum && a.Stepping == b.Stepping &&
		a.ModelID == b.ModelID && a.Vendor == b.Vendor && a.MinLevel == b.MinLevel && a.MinXLevel == b.MinXLevel &&
		a.MinXLevel2 == b.MinXLevel2 && a.FullCPUIDAutoLevel == b.FullCPUIDAutoLevel &&
		a.IntelPTAutoLevel == b.IntelPTAutoLevel
}

// request is one expansion: the model (an index) with props.
type request struct {
	model int
	props map[string]any
}

// answer is one expansion's answer, with its features as a set.
type answer struct {
	e   catalog.RawExpansion
	set feature.FeatureSet
}

// runner sends expansions to one QEMU process.
type runner struct {
	c      *qmp.Client
	bin    string
	where  string // "pc-q35-7.2 (tcg)"
	models []string
	names  *featureNames
}

// run sends reqs, keeping up to inFlight in flight, and returns the
// answers in order.
func (r *runner) run(ctx context.Context, reqs []request) ([]answer, error) {
	out := make([]answer, len(reqs))
	errs := make([]error, len(reqs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(inFlight, len(reqs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				if errs[i] = r.one(ctx, reqs[i], &out[i]); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	// The first in request order: the rest usually repeat it (QEMU
	// died) and would make the message several lines.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *runner) one(ctx context.Context, q request, out *answer) error {
	model := map[string]any{"name": r.models[q.model]}
	what := r.models[q.model]
	if len(q.props) > 0 {
		model["props"] = q.props
		what += " with " + propsString(q.props)
	}
	var reply json.RawMessage
	if err := r.c.Execute(ctx, "query-cpu-model-expansion", map[string]any{"type": "full", "model": model}, &reply); err != nil {
		return fmt.Errorf("expand %s on %s: %w", what, r.where, err)
	}
	e, set, err := convert(r.names, reply)
	if err != nil {
		// Shaped like the QMP errors above: context, then the binary
		// and what it said.
		return fmt.Errorf("expand %s on %s: %s: %w", what, r.where, r.bin, err)
	}
	out.e, out.set = e, set
	return nil
}

// propsString shows props in an error message, keys sorted.
func propsString(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%v", k, p[k])
	}
	return b.String()
}
