// Package qemuimport asks a QEMU binary about its x86 CPU models and
// returns the answers as a [catalog.Raw]: what `cpupolicy catalog import
// qemu` records before compaction.
//
// [Import] runs the binary several times, never booting a guest. A first
// process ("-machine none -accel tcg") answers query-version,
// query-machines and query-cpu-definitions. Then one process per (machine
// type, accelerator), started as
//
//	BINARY -machine M -accel A -nodefaults -S -display none -qmp stdio
//
// expands every CPU model with query-cpu-model-expansion (type "full").
// One process per pair is needed because QEMU fixes both at start-up, and
// both change the expansion: machine types carry compatibility properties
// that switch features off on older machines, and under kvm QEMU adds
// KVM's paravirtual features and takes the vendor from the host.
//
// Machine types that set the same compatibility properties on x86 CPUs
// expand every model alike, so where QEMU lists those properties (9.1
// and newer) one process answers for all of them: QEMU 10.0 runs 14 times
// for its 61 machine types, and 11.1 5 times for 36 (Options.EveryMachine
// runs every one).
//
// Processes run Parallel at a time; within each, the expansions are
// pipelined (several commands in flight, replies matched by id), since
// QEMU answers one in well under a millisecond and a round trip per
// command would cost about as much again.
//
// The same processes also record each model's definition — what QEMU
// applies -cpu options and expansion props to, before its feature
// dependencies hide features and its automatic levels raise the
// minimum ones — with a few small probe expansions: in full on the
// newest pc-q35 machine type, and, with one probe per model, on each
// machine type whose expansions differ from the next newer one's
// (definitions.go).
package qemuimport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/internal/suggest"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/qmp"
)

// DefaultBinary is the QEMU run when Options.Binary is empty; it is looked
// up in $PATH.
const DefaultBinary = "qemu-system-x86_64"

// inFlight is how many expansions are sent to one QEMU before the first
// reply is awaited. Beyond a handful nothing is gained: QEMU works through
// them one at a time.
const inFlight = 8

// Options says what to import.
type Options struct {
	// Binary is the QEMU system emulator to run, a path or a name looked
	// up in $PATH; DefaultBinary when empty.
	Binary string
	// Machines are the machine types to import, nil for every
	// pc-i440fx-* and pc-q35-* machine type the binary has. An alias
	// ("pc", "q35") stands for the machine type it names.
	Machines []string
	// Accels are the accelerators, "tcg" and/or "kvm"; nil for both.
	Accels []string
	// KVM says where the kvm answers come from: KVMCapture asks QEMU
	// under kvm (which needs a usable /dev/kvm), KVMDerive derives them
	// from the tcg answers (catalog.DeriveKVM; it needs tcg among the
	// accelerators and a release whose definitions the importer
	// records), and KVMAuto (the zero value) captures when /dev/kvm
	// opens read-write and derives otherwise.
	KVM string
	// Parallel is how many QEMU processes run at once; 0 for
	// runtime.NumCPU().
	Parallel int
	// EveryMachine runs QEMU on every machine type. Without it, machine
	// types whose compatibility properties for x86 CPUs are the same, in
	// either family, take the answers of one run (see cpuProps): QEMU
	// 10.0 then runs 14 times instead of 61. Releases before 9.1 do not
	// report the properties and always run on every machine type.
	EveryMachine bool
	// Progress, if not nil, is called after each QEMU run is done, with
	// the number done and the total. Calls are never concurrent, and done
	// increases by one each time.
	Progress func(done, total int)
}

// Where the kvm answers come from (Options.KVM).
const (
	KVMAuto    = ""
	KVMCapture = "capture"
	KVMDerive  = "derive"
)

// Warnings is what a user who imported raw should know, though the
// import succeeded: the CPUID flags QEMU recognises that this cpupolicy
// does not know (left out of the catalog: it holds QEMU's answers on
// every feature cpupolicy knows), and a release whose rules are not
// known (no definitions; commands that judge refuse the catalog), and
// the import's own Raw.Warnings.
func Warnings(raw *catalog.Raw) []string {
	var out []string
	if len(raw.NewFeatures) > 0 {
		out = append(out, fmt.Sprintf("QEMU %s recognises %d CPUID flags this cpupolicy does not know, left out of the catalog: %s",
			raw.QEMUVersion, len(raw.NewFeatures), strings.Join(raw.NewFeatures, " ")))
	}
	if _, err := core.ParseRelease(raw.QEMUVersion); err != nil {
		out = append(out, fmt.Sprintf("%v: the catalog holds QEMU's answers but no definitions, and commands that judge refuse it until the release's rules are added (RATIONALE.md, \"How to add a QEMU release\")", err))
	}
	// What Import noticed itself (kvm answers unlike their derivation).
	return append(out, raw.Warnings...)
}

// Import runs QEMU as Options say and returns what it answered. The result
// is deterministic for a given binary and host: Machines are sorted by
// family, then by version; Models by name; Expansions by model, then
// machine (in Machines' order), then accelerator.
func Import(ctx context.Context, o Options) (*catalog.Raw, error) {
	bin := cmp.Or(o.Binary, DefaultBinary)
	accels, derive, err := accelerators(o.Accels, o.KVM, kvmUsable)
	if err != nil {
		return nil, err
	}
	par := o.Parallel
	if par <= 0 {
		par = runtime.NumCPU()
	}

	names := &featureNames{reg: feature.Builtin(), ids: map[string]lookup{}}
	raw, all, err := survey(ctx, bin, names)
	if err != nil {
		return nil, err
	}
	raw.Machines, err = selectMachines(bin, all, o.Machines)
	if err != nil {
		return nil, err
	}

	models := make([]string, len(raw.Models))
	for i, m := range raw.Models {
		models[i] = m.Name
	}
	// What each machine type sets on CPUs, where QEMU says (9.1 and newer).
	compat := map[string][]qmpCompatProp{}
	for _, m := range all {
		if m.CompatProps != nil {
			compat[m.Name] = cpuCompatProps(m)
		}
	}
	def := newDefiner(names.reg, raw.QEMUVersion)
	if def != nil {
		def.autoLevelFixed = names.hasNo("full-cpuid-auto-level")
		def.typeNames = make([]string, len(raw.Models))
		for i, m := range raw.Models {
			def.typeNames[i] = m.TypeName
		}
		def.compat = compat
	}
	var group map[string][]qmpCompatProp
	if !o.EveryMachine {
		group = compat
	}
	jobs := planJobs(raw.Machines, accels, group)
	// Jobs that copy a newer machine type's answers run no QEMU; their
	// answers are set by their source's run.
	runs := slices.DeleteFunc(slices.Clone(jobs), func(j *job) bool { return j.source != nil })

	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range min(par, len(runs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(runs) || ctx.Err() != nil {
					return
				}
				err := runs[i].run(ctx, bin, models, names, def)
				mu.Lock()
				if err != nil {
					// The first failure explains; the others are
					// mostly its consequence (cancelled siblings).
					if firstErr == nil {
						firstErr = err
						cancel(err)
					}
				} else if firstErr == nil {
					done++
					if o.Progress != nil {
						o.Progress(done, len(runs))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// The caller's cancellation is the explanation, not the killed
	// processes it caused.
	if err := parent.Err(); err != nil {
		return nil, context.Cause(parent)
	}
	if firstErr != nil {
		return nil, firstErr
	}

	raw.Definitions = def != nil
	raw.Expansions = make([]catalog.RawExpansion, 0, len(jobs)*len(models))
	for _, j := range jobs {
		if def != nil {
			// Every run is done: nothing waits.
			if j.defs, err = finalDefs(parent, j); err != nil {
				return nil, err
			}
		}
		for i, a := range j.exps {
			e := a.e
			e.Model, e.Machine, e.Accel = models[i], j.machine, j.accel
			if def != nil {
				def.fill(&e, j.defs[i])
			}
			raw.Expansions = append(raw.Expansions, e)
		}
	}
	if slices.Contains(accels, "kvm") && len(jobs) > 0 {
		raw.HostVendor, err = hostVendor()
		if err != nil {
			return nil, err
		}
	}
	if derive {
		if err := deriveKVM(raw, names.reg, o.KVM); err != nil {
			return nil, err
		}
	} else if raw.Definitions && slices.Contains(accels, "kvm") && slices.Contains(accels, "tcg") {
		// Captured: check that the derivation, which hosts without
		// /dev/kvm rely on, gives what this QEMU gave.
		first, n, err := catalog.CompareDerivedKVM(raw, names.reg)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			raw.Warnings = append(raw.Warnings, fmt.Sprintf("%d kvm answers of QEMU %s differ from those derived from its tcg answers, so its catalogs derived without /dev/kvm would be wrong there: %s",
				n, raw.QEMUVersion, strings.Join(first, "; ")))
		}
	}
	order := map[string]int{}
	for i, m := range raw.Machines {
		order[m.Name] = i
	}
	slices.SortFunc(raw.Expansions, func(a, b catalog.RawExpansion) int {
		return cmp.Or(
			strings.Compare(a.Model, b.Model),
			cmp.Compare(order[a.Machine], order[b.Machine]),
			strings.Compare(a.Accel, b.Accel))
	})
	return raw, nil
}

// deriveKVM adds to raw the kvm answers derived from its tcg answers, as
// QEMU would give them on this host (whose vendor a named model takes
// under kvm). A release whose definitions the importer does not record
// cannot be derived: an error when mode asked for derived answers, and
// a catalog without kvm answers when it was the default.
func deriveKVM(raw *catalog.Raw, reg *feature.Registry, mode string) error {
	if !raw.Definitions && mode == KVMAuto {
		return nil
	}
	vendor, err := hostVendor()
	if err != nil {
		return err
	}
	exps, err := catalog.DeriveKVM(raw, reg, vendor)
	if err != nil {
		return fmt.Errorf("deriving the kvm answers (no usable /dev/kvm to ask QEMU): %w", err)
	}
	raw.Expansions = append(raw.Expansions, exps...)
	raw.HostVendor, raw.KVMData = vendor, catalog.KVMDerived
	return nil
}

// job is one (machine type, accelerator): one QEMU process.
type job struct {
	machine, accel string
	order          int // planJobs' start order
	// ref is the reference job of the accelerator (nil for the reference
	// itself), where every model is probed in full; pred the job this one
	// is compared with (nil for the reference): the next newer machine
	// type of the same family, or the reference.
	ref, pred *job
	// source, when not nil, is the job whose answers and definitions
	// this one takes instead of running QEMU: the first to start of the
	// accelerator's jobs with the same cpuProps, in either family.
	// copies are the jobs whose source this one is.
	source *job
	copies []*job

	exps  []answer      // every model's expansion, in model order
	eDone chan struct{} // closed once exps is set
	// defs are the models' definitions; nil when they are pred's.
	defs  []definition
	gs    []feature.FeatureSet // the reference's revealing features
	gDone chan struct{}        // closed once the reference's gs are set
	dDone chan struct{}        // closed once this job's defs are set (nil: pred's)
}

// planJobs returns the jobs in the order they are started: each
// accelerator's reference first (the newest pc-q35 machine type, or else
// the newest), then the others from the newest to the oldest of each
// family, so that every job starts after the jobs it waits for (pred and
// ref): with any number of workers, none waits for a job not yet
// started.
func planJobs(machines []catalog.RawMachine, accels []string, compat map[string][]qmpCompatProp) []*job {
	// machines are sorted by family, then version: each one's next newer
	// of its family, if any, follows it.
	family := func(i int) string { f, _ := splitMachine(machines[i].Name); return f }
	newer := func(i int) int {
		if i+1 < len(machines) && family(i+1) == family(i) {
			return i + 1
		}
		return -1
	}
	ref := len(machines) - 1
	for i := range machines {
		if family(i) == "pc-q35" {
			ref = i
		}
	}
	// rank is how many newer machine types the family has.
	rank := make([]int, len(machines))
	for i := len(machines) - 1; i >= 0; i-- {
		if n := newer(i); n >= 0 {
			rank[i] = rank[n] + 1
		}
	}
	var jobs []*job
	for _, a := range accels {
		byIndex := make([]*job, len(machines))
		for i, m := range machines {
			byIndex[i] = &job{machine: m.Name, accel: a, order: rank[i], eDone: make(chan struct{}), dDone: make(chan struct{})}
		}
		r := byIndex[ref]
		r.order, r.gDone = -1, make(chan struct{})
		for i, j := range byIndex {
			if j == r {
				continue
			}
			j.ref, j.pred = r, r
			if n := newer(i); n >= 0 {
				j.pred = byIndex[n]
			}
		}
		jobs = append(jobs, byIndex...)
	}
	slices.SortStableFunc(jobs, func(a, b *job) int { return cmp.Compare(a.order, b.order) })
	// Machine types that set the same on x86 CPUs, in either family,
	// take the answers of the first of them to start (the reference
	// when it is one of them): it starts before every job that waits
	// for one of its copies.
	source := map[[2]string]*job{}
	for _, j := range jobs {
		p, ok := compat[j.machine]
		if !ok {
			continue
		}
		k := [2]string{j.accel, cpuProps(p)}
		if s := source[k]; s != nil {
			j.source = s
			s.copies = append(s.copies, j)
		} else {
			source[k] = j
		}
	}
	return jobs
}

// run starts QEMU for the job, expands every model, and, when def is not
// nil, probes the definitions this job must (see definitions.go).
func (j *job) run(ctx context.Context, bin string, models []string, names *featureNames, def *definer) error {
	where := fmt.Sprintf("%s (%s)", j.machine, j.accel)
	c, err := qmp.Start(ctx, bin, qemuArgs(j.machine, j.accel))
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	defer c.Close()
	r := &runner{c: c, bin: bin, where: where, models: models, names: names}
	reqs := make([]request, len(models))
	for i := range models {
		reqs[i] = request{model: i}
	}
	if j.exps, err = r.run(ctx, reqs); err != nil {
		return err
	}
	for _, c := range j.copies {
		c.exps = j.exps
		close(c.eDone)
	}
	close(j.eDone)
	if def != nil {
		if err := j.define(ctx, r, def); err != nil {
			return err
		}
		close(j.dDone)
	}
	// Every answer is in; how QEMU goes (a slow kvm teardown on a loaded
	// host can outlast Close's grace period and be killed) changes none
	// of them.
	c.Close()
	return nil
}

func (j *job) define(ctx context.Context, r *runner, def *definer) error {
	wait := func(ch chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	if j.pred == nil {
		features, gs, err := def.reference(ctx, r, j.exps)
		if err != nil {
			return err
		}
		j.gs = gs
		close(j.gDone)
		j.defs, err = def.levels(ctx, r, j.exps, gs, features)
		return err
	}
	if err := wait(j.pred.eDone); err != nil {
		return err
	}
	if sameAnswers(j.exps, j.pred.exps) {
		return nil // the same definitions as pred
	}
	if err := wait(j.ref.gDone); err != nil {
		return err
	}
	some := def.narrow(j.machine, j.pred.machine, j.exps, j.pred.exps)
	if some == nil {
		var err error
		j.defs, err = def.probe(ctx, r, j.exps, j.ref.exps, j.ref.gs)
		return err
	}
	// The other models' definitions are pred's: wait for them.
	predDefs, err := finalDefs(ctx, j.pred)
	if err != nil {
		return err
	}
	sub := *r
	sub.models = pick(r.models, some)
	defs, err := def.probe(ctx, &sub, pick(j.exps, some), pick(j.ref.exps, some), pick(j.ref.gs, some))
	if err != nil {
		return err
	}
	j.defs = slices.Clone(predDefs)
	for k, i := range some {
		j.defs[i] = defs[k]
	}
	return nil
}

// finalDefs waits until the definitions of j are known and returns them:
// its own, its source's, or (when it probed none) its pred's.
func finalDefs(ctx context.Context, j *job) ([]definition, error) {
	for {
		if j.source != nil {
			j = j.source
			continue
		}
		select {
		case <-j.dDone:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		if j.defs != nil {
			return j.defs, nil
		}
		j = j.pred
	}
}

// pick returns the elements of s at idx.
func pick[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = s[i]
	}
	return out
}

// accelerators validates Options.Accels and Options.KVM, or picks the
// defaults: it returns the accelerators to run QEMU under, and whether
// the kvm answers are to be derived from the tcg ones instead. usable
// says whether /dev/kvm works.
func accelerators(want []string, mode string, usable func() bool) (run []string, derive bool, err error) {
	switch mode {
	case KVMAuto, KVMCapture, KVMDerive:
	default:
		return nil, false, fmt.Errorf("unknown kvm mode %q: want %s or %s", mode, KVMCapture, KVMDerive)
	}
	if want == nil {
		want = []string{"kvm", "tcg"}
	}
	if len(want) == 0 {
		return nil, false, errors.New("no accelerator to import")
	}
	for _, a := range want {
		if a != "tcg" && a != "kvm" {
			return nil, false, fmt.Errorf("unknown accelerator %q: want tcg or kvm", a)
		}
		if !slices.Contains(run, a) {
			run = append(run, a)
		}
	}
	slices.Sort(run)
	if !slices.Contains(run, "kvm") {
		if mode != KVMAuto {
			return nil, false, fmt.Errorf("kvm answers to %s, but kvm is not among the accelerators", mode)
		}
		return run, false, nil
	}
	if mode == KVMCapture || (mode == KVMAuto && usable()) {
		return run, false, nil
	}
	if !slices.Contains(run, "tcg") {
		return nil, false, errors.New("deriving the kvm answers needs the tcg ones: import tcg too (or capture kvm on a host with /dev/kvm)")
	}
	return []string{"tcg"}, true, nil
}

// kvmUsable says whether /dev/kvm opens read-write: QEMU itself needs
// that, and a probe that only stats the file would offer kvm to users
// who cannot use it.
func kvmUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// hostVendor is the CPUID vendor string of this host: under kvm, QEMU
// gives every model the host's vendor, so the kvm expansions are only
// meaningful beside it.
func hostVendor() (string, error) {
	f, err := cpuid.Native()
	if err != nil {
		return "", fmt.Errorf("host CPU vendor: %v", err)
	}
	l := f(0, 0)
	var b []byte
	for _, r := range []uint32{l.EBX, l.EDX, l.ECX} {
		b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	return string(b), nil
}

// qmpMachine is one query-machines entry (the fields used).
type qmpMachine struct {
	Name       string `json:"name"`
	Alias      string `json:"alias"`
	IsDefault  bool   `json:"is-default"`
	Deprecated bool   `json:"deprecated"`
	// CompatProps are the machine type's compatibility properties, in
	// the order QEMU applies them (later ones win); only releases that
	// answer query-machines' compat-props argument (9.1 and newer) give
	// them.
	CompatProps []qmpCompatProp `json:"compat-props"`
}

// qmpCompatProp is one compatibility property of a machine type: QEMU
// sets property of every object of qom-type (and its subtypes) to value.
type qmpCompatProp struct {
	Type     string `json:"qom-type"`
	Property string `json:"property"`
	Value    string `json:"value"`
}

// cpuProps is props (a machine type's cpuCompatProps, in QEMU's order)
// as one string, the key planJobs groups machine types by. Machine types
// with the same key, in either family, expand every CPU model alike: a
// machine type changes a CPU only through these properties and its
// default CPU model version, which is the same for every machine type
// from 4.1 on and, before, changes no expansion (an unversioned model's
// legacy definition is its v1). The importer relies on it
// (Options.EveryMachine turns it off), and TestFidelityLive shows both
// ways byte-identical for each release that lists the properties.
func cpuProps(props []qmpCompatProp) string {
	var b strings.Builder
	for _, p := range props {
		fmt.Fprintf(&b, "%s\x00%s\x00%s\x00", p.Type, p.Property, p.Value)
	}
	return b.String()
}

// cpuCompatProps returns the compatibility properties of m that reach
// x86 CPUs: those of QOM types named *x86_64-cpu, *i386-cpu and *-accel.
func cpuCompatProps(m qmpMachine) []qmpCompatProp {
	var out []qmpCompatProp
	for _, p := range m.CompatProps {
		if strings.HasSuffix(p.Type, "x86_64-cpu") || strings.HasSuffix(p.Type, "i386-cpu") || strings.HasSuffix(p.Type, "-accel") {
			out = append(out, p)
		}
	}
	return out
}

// qmpCPUModel is one query-cpu-definitions entry (the fields used): a
// CPU model. (QMP calls it CpuDefinitionInfo; in cpupolicy a definition is
// a model before expansion, see package core.)
type qmpCPUModel struct {
	Name          string `json:"name"`
	AliasOf       string `json:"alias-of"`
	Static        bool   `json:"static"`
	MigrationSafe bool   `json:"migration-safe"`
	Deprecated    bool   `json:"deprecated"`
	TypeName      string `json:"typename"`
}

// survey asks one QEMU process for its version, machine types and CPU
// models, and which properties its CPUs have (qom-list-properties), which
// it records in names (featureNames.fixed); and the binary for the CPUID
// flags it recognises, those the registry lacks going into
// Raw.NewFeatures. It runs "-machine none", which needs no firmware or
// devices.
// The model list is the same on every machine type and accelerator;
// alias-of is not: "none" gives the answer of machine types 4.1 and
// newer, while 4.0.1 and older report unversioned names without alias-of
// (see catalog.RawModel.AliasOf).
func survey(ctx context.Context, bin string, names *featureNames) (*catalog.Raw, []qmpMachine, error) {
	c, err := qmp.Start(ctx, bin, qemuArgs("none", "tcg"))
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	var v qmp.Version
	if err := c.Execute(ctx, "query-version", nil, &v); err != nil {
		return nil, nil, err
	}
	// Releases before 9.1 refuse the compat-props argument; they are
	// asked again without it.
	var machines []qmpMachine
	if err := c.Execute(ctx, "query-machines", map[string]any{"compat-props": true}, &machines); err != nil {
		var refused *qmp.Error
		if !errors.As(err, &refused) {
			return nil, nil, err
		}
		if err := c.Execute(ctx, "query-machines", nil, &machines); err != nil {
			return nil, nil, err
		}
	}
	var defs []qmpCPUModel
	if err := c.Execute(ctx, "query-cpu-definitions", nil, &defs); err != nil {
		return nil, nil, err
	}
	var props []qmpProperty
	if typ := cpuTypeName(defs); typ != "" {
		if err := c.Execute(ctx, "qom-list-properties", map[string]any{"typename": typ}, &props); err != nil {
			return nil, nil, err
		}
	}
	c.Close() // as in expandAll: the answers are in
	has := map[string]bool{}
	for _, p := range props {
		has[p.Name] = true
	}
	for i, f := range convertFields {
		if f.ifAbsent != "" && len(props) > 0 && !has[f.name] {
			names.fixed[i] = []byte(f.ifAbsent)
		}
	}
	flags, err := cpuFlags(ctx, bin)
	if err != nil {
		return nil, nil, err
	}
	var newFeatures []string
	for _, f := range flags {
		if _, err := names.reg.Lookup(f); err != nil {
			newFeatures = append(newFeatures, f)
		}
	}
	slices.Sort(newFeatures)
	raw := &catalog.Raw{
		NewFeatures: slices.Compact(newFeatures),
		QEMUVersion: v.String(),
		QEMUPackage: v.Package,
		Models:      []catalog.RawModel{},
		Expansions:  []catalog.RawExpansion{},
	}
	for _, d := range defs {
		if !importedModel(d) {
			continue
		}
		raw.Models = append(raw.Models, catalog.RawModel{
			Name:          d.Name,
			AliasOf:       d.AliasOf,
			Static:        d.Static,
			MigrationSafe: d.MigrationSafe,
			Deprecated:    d.Deprecated,
			TypeName:      d.TypeName,
		})
	}
	slices.SortFunc(raw.Models, func(a, b catalog.RawModel) int { return strings.Compare(a.Name, b.Name) })
	if len(raw.Models) == 0 {
		return nil, nil, fmt.Errorf("%s: query-cpu-definitions lists no CPU model to import", bin)
	}
	return raw, machines, nil
}

// qmpProperty is one qom-list-properties entry (the field used).
type qmpProperty struct {
	Name string `json:"name"`
}

// cpuTypeName returns the QOM type of one named CPU model, whose
// properties every x86 CPU has (they are the x86 CPU class's), or "".
func cpuTypeName(defs []qmpCPUModel) string {
	for _, d := range defs {
		if importedModel(d) && d.TypeName != "" {
			return d.TypeName
		}
	}
	return ""
}

// cpuFlags returns the CPUID flags the binary recognises: the names
// "BIN -cpu help" lists under "Recognized CPUID flags:", each release's
// own list of features (QEMU's feature_word_info names). 5.2 to 11.1
// print that heading; a binary that does not is answered with no flags.
func cpuFlags(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "-cpu", "help").Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return nil, fmt.Errorf("%s -cpu help: %v%s", bin, err, msg)
	}
	_, list, ok := strings.Cut(string(out), "Recognized CPUID flags:")
	if !ok {
		return nil, nil
	}
	return strings.Fields(list), nil
}

// importedModel says whether a CPU model is part of the catalog. "host"
// and "max" depend on the host and the accelerator by design, so neither
// is a model a VM definition can pin; "base", the empty static model
// static expansions are expressed against, is kept: QEMU lists it and a
// VM can use it. query-cpu-definitions never lists
// abstract types, but a typename QEMU does not mark as an x86 CPU class
// would be something new and is left out rather than guessed at.
func importedModel(d qmpCPUModel) bool {
	switch d.Name {
	case "host", "max":
		return false
	}
	return d.TypeName == "" || strings.HasSuffix(d.TypeName, "-cpu")
}

// qemuArgs is the command line (less "-qmp stdio") for one process.
// -nodefaults leaves out the default devices (NIC, VGA, serial, …) that
// would only slow start-up; -S keeps the vCPUs stopped, so no guest code
// runs; -display none opens no window. (-nographic is left out: 7.2 and
// 10.0 accept it beside -qmp stdio, but all it adds to -display none is
// putting the serial port and monitor on stdio, and -nodefaults has
// removed both.)
func qemuArgs(machine, accel string) []string {
	return []string{"-machine", machine, "-accel", accel, "-nodefaults", "-S", "-display", "none"}
}

// isPCMachine says whether a machine type is one the catalog covers.
func isPCMachine(name string) bool {
	return strings.HasPrefix(name, "pc-i440fx-") || strings.HasPrefix(name, "pc-q35-")
}

// selectMachines returns the machine types to import, sorted.
func selectMachines(bin string, all []qmpMachine, want []string) ([]catalog.RawMachine, error) {
	byName := map[string]qmpMachine{}
	alias := map[string]string{}
	var names []string
	for _, m := range all {
		if !isPCMachine(m.Name) {
			continue
		}
		byName[m.Name] = m
		names = append(names, m.Name)
		if m.Alias != "" {
			alias[m.Alias] = m.Name
		}
	}
	if want != nil && len(want) == 0 {
		return nil, errors.New("no machine type to import")
	}
	var pick []string
	if want == nil {
		pick = names
	} else {
		qemuHas := map[string]bool{}
		for _, m := range all {
			qemuHas[m.Name] = true
			qemuHas[m.Alias] = true
		}
		for _, w := range want {
			name := w
			if a, ok := alias[w]; ok {
				name = a
			}
			if _, ok := byName[name]; !ok {
				if qemuHas[w] {
					return nil, fmt.Errorf("%s: machine type %q is not a pc-i440fx-* or pc-q35-* machine type", bin, w)
				}
				if s := nearest(w, names); s != "" {
					return nil, fmt.Errorf("%s has no machine type %q (did you mean %q?)", bin, w, s)
				}
				return nil, fmt.Errorf("%s has no machine type %q", bin, w)
			}
			if !slices.Contains(pick, name) {
				pick = append(pick, name)
			}
		}
	}
	if len(pick) == 0 {
		return nil, fmt.Errorf("%s has no pc-i440fx-* or pc-q35-* machine type", bin)
	}
	out := make([]catalog.RawMachine, len(pick))
	for i, n := range pick {
		m := byName[n]
		out[i] = catalog.RawMachine{Name: m.Name, Alias: m.Alias, IsDefault: m.IsDefault, Deprecated: m.Deprecated}
	}
	slices.SortFunc(out, func(a, b catalog.RawMachine) int { return CompareMachines(a.Name, b.Name) })
	return out, nil
}

// CompareMachines orders machine type names by family, then version:
// every pc-i440fx-* before every pc-q35-*, and within a family
// pc-q35-4.0 < pc-q35-4.0.1 < pc-q35-4.1 < pc-q35-10.0. Runs of digits
// compare as numbers and other text as strings, so distribution names
// ("pc-q35-rhel9.4.0") sort sensibly too, after the plain versions.
func CompareMachines(a, b string) int {
	fa, va := splitMachine(a)
	fb, vb := splitMachine(b)
	if c := strings.Compare(fa, fb); c != 0 {
		return c
	}
	if c := compareNatural(va, vb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// splitMachine splits "pc-q35-7.2" into its family "pc-q35" and version
// "7.2".
func splitMachine(name string) (family, version string) {
	for _, f := range []string{"pc-i440fx", "pc-q35"} {
		if v, ok := strings.CutPrefix(name, f+"-"); ok {
			return f, v
		}
	}
	return name, ""
}

// compareNatural compares a and b chunk by chunk, numbers numerically.
// A number sorts before text at the same position.
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		ca, ra := chunk(a)
		cb, rb := chunk(b)
		na, errA := strconv.ParseUint(ca, 10, 64)
		nb, errB := strconv.ParseUint(cb, 10, 64)
		var c int
		switch {
		case errA == nil && errB == nil:
			c = cmp.Compare(na, nb)
		case errA == nil:
			c = -1
		case errB == nil:
			c = 1
		default:
			c = strings.Compare(ca, cb)
		}
		if c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return cmp.Compare(len(a), len(b))
}

// chunk splits off s's leading run of digits or of non-digits.
func chunk(s string) (string, string) {
	digit := func(c byte) bool { return '0' <= c && c <= '9' }
	d := digit(s[0])
	i := 1
	for i < len(s) && digit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

// nearest returns the name closest to w by edit distance, or "" when none
// is close enough to be a plausible typo. Ties go to the machine type of
// the same family nearest in version, so that a machine type this QEMU
// dropped (pc-i440fx-2.3 in 10.0) suggests its oldest successor and a
// typo of 7.2 suggests 7.2, not 7.1 or 9.2.
func nearest(w string, names []string) string {
	return suggest.NearestFunc(w, names, func(a, b string) bool { return versionGap(w, a) < versionGap(w, b) })
}

// versionGap is how far apart two machine types' versions are, as
// major*1000+minor; different families are farthest apart.
func versionGap(a, b string) int {
	fa, va := splitMachine(a)
	fb, vb := splitMachine(b)
	if fa != fb {
		return math.MaxInt
	}
	d := versionNumber(va) - versionNumber(vb)
	return max(d, -d)
}

// versionNumber reads "7.2" (or "4.0.1") as 7*1000+2; text reads as 0.
func versionNumber(v string) int {
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	ma, _ := strconv.Atoi(major)
	mi, _ := strconv.Atoi(minor)
	return ma*1000 + mi
}

// convert turns a query-cpu-model-expansion return into a RawExpansion
// (without its key). Features are the true boolean properties whose names
// the registry knows. The properties RawExpansion has fields for (level,
// vendor, min-level, full-cpuid-auto-level, …) fill them; every other
// property is QEMU configuration (hv-*, phys-bits, l3-cache, …) and is
// ignored. A property the catalog needs, or one that names a
// feature, with an unexpected type is an error: it means a QEMU this code
// has not seen.
func convert(names *featureNames, data json.RawMessage) (catalog.RawExpansion, feature.FeatureSet, error) {
	var e catalog.RawExpansion
	// The raw values of the numeric and string properties, by their
	// index in convertFields.
	var known [len(convertFields)][]byte
	// Features are read without a map (an expansion names ~500): seen
	// are those named so far, set those on; a feature named twice with
	// different values is explained after a second scan.
	var seen, set, conflicting feature.FeatureSet
	err := scanExpansion(data, func(name, v []byte) error {
		if i := convertField(name); i >= 0 {
			known[i] = v
			return nil
		}
		id, ok := names.lookup(name)
		if !ok {
			return nil // not a feature: QEMU configuration
		}
		var on bool
		switch string(v) {
		case "true":
			on = true
		case "false":
		default:
			return fmt.Errorf("property %q names feature %q but is %s, want a boolean", name, names.reg.Name(id), quote(v))
		}
		if seen.Has(id) {
			if set.Has(id) != on {
				conflicting = conflicting.Add(id)
			}
			return nil
		}
		seen = seen.Add(id)
		if on {
			set = set.Add(id)
		}
		return nil
	})
	if err != nil {
		return e, set, err
	}
	if !conflicting.IsEmpty() {
		return e, set, conflictError(names, data, conflicting)
	}
	var errs []string
	for i, f := range convertFields {
		v := known[i]
		if v == nil {
			v = names.fixed[i]
		}
		if v == nil {
			errs = append(errs, fmt.Sprintf("no property %q", f.name))
		} else if err := strict(v, f.dst(&e)); err != nil {
			errs = append(errs, fmt.Sprintf("property %q is %s, want %s", f.name, quote(v), f.want))
		}
	}
	if len(errs) > 0 {
		return e, set, errors.New(strings.Join(errs, "; "))
	}
	// Names are in canonical order, which is sorted order.
	e.Features = names.reg.Names(set)
	return e, set, nil
}

// convertFields are the properties convert reads into RawExpansion
// fields.
//
// ifAbsent is the value of a property that a release dropped because
// every machine type it keeps had it so: QEMU 11.1 dropped the machine
// types up to 2.12 with their compat properties, and with them
// full-cpuid-auto-level (off only on pc_compat_2_7) and
// x-intel-pt-auto-level (off only on pc_compat_3_1); the automatic
// levels they switched are now always on. Which properties a binary has
// is learnt from it (survey's qom-list-properties), never assumed from
// its version.
var convertFields = [...]struct {
	name, want string
	dst        func(*catalog.RawExpansion) any
	ifAbsent   string
}{
	{"level", "an unsigned 32-bit integer", func(e *catalog.RawExpansion) any { return &e.Level }, ""},
	{"xlevel", "an unsigned 32-bit integer", func(e *catalog.RawExpansion) any { return &e.XLevel }, ""},
	{"xlevel2", "an unsigned 32-bit integer", func(e *catalog.RawExpansion) any { return &e.XLevel2 }, ""},
	{"family", "an integer", func(e *catalog.RawExpansion) any { return &e.Family }, ""},
	{"model", "an integer", func(e *catalog.RawExpansion) any { return &e.ModelNum }, ""},
	{"stepping", "an integer", func(e *catalog.RawExpansion) any { return &e.Stepping }, ""},
	{"model-id", "a string", func(e *catalog.RawExpansion) any { return &e.ModelID }, ""},
	{"vendor", "a string", func(e *catalog.RawExpansion) any { return &e.Vendor }, ""},
	{"min-level", "an unsigned 32-bit integer", func(e *catalog.RawExpansion) any { return &e.MinLevel }, ""},
	{"min-xlevel", "an unsigned 32-bit integer", func(e *catalog.RawExpansion) any { return &e.MinXLevel }, ""},
	{"min-xlevel2", "an unsigned 32-bit integer", func(e *catalog.RawExpansion) any { return &e.MinXLevel2 }, ""},
	{"full-cpuid-auto-level", "a boolean", func(e *catalog.RawExpansion) any { return &e.FullCPUIDAutoLevel }, "true"},
	{"x-intel-pt-auto-level", "a boolean", func(e *catalog.RawExpansion) any { return &e.IntelPTAutoLevel }, "true"},
}

// convertField returns the index of name in convertFields, or -1.
func convertField(name []byte) int {
	for i := range convertFields {
		if string(name) == convertFields[i].name {
			return i
		}
	}
	return -1
}

// conflictError explains the features of conflicting, each named by two
// properties that disagree, with a second scan of the reply: the least
// message, so that it does not depend on QEMU's order.
func conflictError(names *featureNames, data json.RawMessage, conflicting feature.FeatureSet) error {
	type first struct {
		prop string
		on   bool
	}
	firsts := map[feature.ID]first{}
	var msgs []string
	scanExpansion(data, func(name, v []byte) error {
		id, ok := names.lookup(name)
		if !ok || !conflicting.Has(id) {
			return nil
		}
		on := string(v) == "true"
		prev, ok := firsts[id]
		if !ok {
			firsts[id] = first{string(name), on}
		} else if prev.on != on {
			a, b := fmt.Sprintf("%q (%v)", prev.prop, prev.on), fmt.Sprintf("%q (%v)", name, on)
			msgs = append(msgs, fmt.Sprintf("properties %s and %s both name feature %q but disagree", min(a, b), max(a, b), names.reg.Name(id)))
		}
		return nil
	})
	return errors.New(slices.Min(msgs))
}

// featureNames memoises Registry.Lookup over property names. Every
// expansion has the same few hundred properties, and Lookup of a name that
// is not a feature looks for a suggestion, an edit-distance scan of the
// whole registry: uncached, that scan was most of an import's time.
//
// It also carries what survey learnt of the binary's CPU properties:
// fixed holds, by index in convertFields, the value of a property the
// binary does not have (convertFields' ifAbsent), nil for one it has.
type featureNames struct {
	reg   *feature.Registry
	mu    sync.RWMutex
	ids   map[string]lookup
	fixed [len(convertFields)][]byte
}

type lookup struct {
	id feature.ID
	ok bool
}

func (n *featureNames) lookup(name []byte) (feature.ID, bool) {
	n.mu.RLock()
	l, seen := n.ids[string(name)] // no allocation for the conversion
	n.mu.RUnlock()
	if !seen {
		id, err := n.reg.Lookup(string(name))
		l = lookup{id, err == nil}
		n.mu.Lock()
		n.ids[string(name)] = l
		n.mu.Unlock()
	}
	return l.id, l.ok
}

// strict is json.Unmarshal without its leniency for null, which it
// accepts for any type by leaving dst alone.
func strict(v json.RawMessage, dst any) error {
	if string(v) == "null" {
		return errors.New("null")
	}
	return json.Unmarshal(v, dst)
}

// quote shows a JSON value in an error message, shortened.
func quote(v json.RawMessage) string {
	s := string(v)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// CatalogName is the name of a catalog imported from QEMU version
// ("7.2.22" → "qemu-7.2"): a release's catalogs share it whatever the
// stable update.
func CatalogName(version string) string {
	if parts := strings.Split(version, "."); len(parts) >= 2 {
		version = parts[0] + "." + parts[1]
	}
	return "qemu-" + version
}
