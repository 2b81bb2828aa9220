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
// Processes run Parallel at a time; within each, the expansions are
// pipelined (several commands in flight, replies matched by id), since
// QEMU answers one in well under a millisecond and a round trip per
// command would cost about as much again.
package qemuimport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"cpupolicy/core/catalog"
	"cpupolicy/core/cpuid"
	"cpupolicy/core/feature"
	"cpupolicy/core/qmp"
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
	// Accels are the accelerators, "tcg" and/or "kvm"; nil for tcg, plus
	// kvm when /dev/kvm opens read-write.
	Accels []string
	// Parallel is how many QEMU processes run at once; 0 for
	// runtime.NumCPU().
	Parallel int
	// Progress, if not nil, is called after each (machine type,
	// accelerator) is done, with the number done and the total. Calls
	// are never concurrent, and done increases by one each time.
	Progress func(done, total int)
}

// Import runs QEMU as Options say and returns what it answered. The result
// is deterministic for a given binary and host: Machines are sorted by
// family, then by version; Models by name; Expansions by model, then
// machine (in Machines' order), then accelerator.
func Import(ctx context.Context, o Options) (*catalog.Raw, error) {
	bin := cmp.Or(o.Binary, DefaultBinary)
	accels, err := accelerators(o.Accels)
	if err != nil {
		return nil, err
	}
	par := o.Parallel
	if par <= 0 {
		par = runtime.NumCPU()
	}

	raw, all, err := survey(ctx, bin)
	if err != nil {
		return nil, err
	}
	raw.Machines, err = selectMachines(bin, all, o.Machines)
	if err != nil {
		return nil, err
	}

	type job struct {
		machine, accel string
	}
	var jobs []job
	for _, m := range raw.Machines {
		for _, a := range accels {
			jobs = append(jobs, job{m.Name, a})
		}
	}
	models := make([]string, len(raw.Models))
	for i, m := range raw.Models {
		models[i] = m.Name
	}
	results := make([][]catalog.RawExpansion, len(jobs))
	names := &featureNames{reg: feature.Builtin(), ids: map[string]lookup{}}

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
	for range min(par, len(jobs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				exps, err := expandAll(ctx, bin, jobs[i].machine, jobs[i].accel, models, names)
				mu.Lock()
				if err != nil {
					// The first failure explains; the others are
					// mostly its consequence (cancelled siblings).
					if firstErr == nil {
						firstErr = err
						cancel(err)
					}
				} else if firstErr == nil {
					results[i] = exps
					done++
					if o.Progress != nil {
						o.Progress(done, len(jobs))
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

	raw.Expansions = make([]catalog.RawExpansion, 0, len(jobs)*len(models))
	for _, r := range results {
		raw.Expansions = append(raw.Expansions, r...)
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
	if slices.Contains(accels, "kvm") && len(jobs) > 0 {
		raw.HostVendor, err = hostVendor()
		if err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// accelerators validates Options.Accels, or picks the default.
func accelerators(want []string) ([]string, error) {
	if want == nil {
		out := []string{"tcg"}
		// QEMU itself needs read-write access; a probe that only stats
		// the file would offer kvm to users who cannot use it.
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			f.Close()
			out = append(out, "kvm")
		}
		return out, nil
	}
	if len(want) == 0 {
		return nil, errors.New("no accelerator to import")
	}
	var out []string
	for _, a := range want {
		if a != "tcg" && a != "kvm" {
			return nil, fmt.Errorf("unknown accelerator %q: want tcg or kvm", a)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out, nil
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
}

// qmpCPUDefinition is one query-cpu-definitions entry (the fields used).
type qmpCPUDefinition struct {
	Name          string `json:"name"`
	AliasOf       string `json:"alias-of"`
	Static        bool   `json:"static"`
	MigrationSafe bool   `json:"migration-safe"`
	Deprecated    bool   `json:"deprecated"`
	TypeName      string `json:"typename"`
}

// survey asks one QEMU process for its version, machine types and CPU
// models. It runs "-machine none", which needs no firmware or devices.
// The model list is the same on every machine type and accelerator;
// alias-of is not: "none" gives the answer of machine types 4.1 and
// newer, while 4.0.1 and older report unversioned names without alias-of
// (see catalog.RawModel.AliasOf).
func survey(ctx context.Context, bin string) (*catalog.Raw, []qmpMachine, error) {
	c, err := qmp.Start(ctx, bin, qemuArgs("none", "tcg"))
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	var v qmp.Version
	if err := c.Execute(ctx, "query-version", nil, &v); err != nil {
		return nil, nil, err
	}
	var machines []qmpMachine
	if err := c.Execute(ctx, "query-machines", nil, &machines); err != nil {
		return nil, nil, err
	}
	var defs []qmpCPUDefinition
	if err := c.Execute(ctx, "query-cpu-definitions", nil, &defs); err != nil {
		return nil, nil, err
	}
	c.Close() // as in expandAll: the answers are in
	raw := &catalog.Raw{
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

// importedModel says whether a CPU model is part of the catalog. "host"
// and "max" depend on the host and the accelerator by design, so neither
// is a model a VM definition can pin; "base", the empty static model
// static expansions are expressed against, is kept: QEMU lists it and a
// VM can use it. query-cpu-definitions never lists
// abstract types, but a typename QEMU does not mark as an x86 CPU class
// would be something new and is left out rather than guessed at.
func importedModel(d qmpCPUDefinition) bool {
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
	best, bestD := "", len(w)/2+2
	for _, n := range names {
		d := editDistance(w, n)
		if d < bestD || (d == bestD && best != "" && versionGap(w, n) < versionGap(w, best)) {
			best, bestD = n, d
		}
	}
	return best
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

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expandAll starts QEMU for one (machine, accel) and expands every model,
// keeping up to inFlight expansions in flight.
func expandAll(ctx context.Context, bin, machine, accel string, models []string, names *featureNames) ([]catalog.RawExpansion, error) {
	where := fmt.Sprintf("%s (%s)", machine, accel)
	c, err := qmp.Start(ctx, bin, qemuArgs(machine, accel))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer c.Close()
	out := make([]catalog.RawExpansion, len(models))
	errs := make([]error, len(models))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(inFlight, len(models)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(models) {
					return
				}
				var reply json.RawMessage
				args := map[string]any{"type": "full", "model": map[string]string{"name": models[i]}}
				if err := c.Execute(ctx, "query-cpu-model-expansion", args, &reply); err != nil {
					errs[i] = fmt.Errorf("expand %s on %s: %w", models[i], where, err)
					return
				}
				e, err := convert(names, reply)
				if err != nil {
					// Shaped like the QMP errors above: context, then
					// the binary and what it said.
					errs[i] = fmt.Errorf("expand %s on %s: %s: %w", models[i], where, bin, err)
					return
				}
				e.Model, e.Machine, e.Accel = models[i], machine, accel
				out[i] = e
			}
		})
	}
	wg.Wait()
	// The first in model order: the rest usually repeat it (QEMU died)
	// and would make the message several lines.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// Every answer is in; how QEMU goes (a slow kvm teardown on a loaded
	// host can outlast Close's grace period and be killed) changes none
	// of them.
	c.Close()
	return out, nil
}

// convert turns a query-cpu-model-expansion return into a RawExpansion
// (without its key). Features are the true boolean properties whose names
// the registry knows. The properties RawExpansion has fields for (level,
// vendor, min-level, full-cpuid-auto-level, …) fill them; every other
// property is QEMU configuration (hv-*, phys-bits, l3-cache, …) and is
// ignored. A property the catalog needs, or one that names a
// feature, with an unexpected type is an error: it means a QEMU this code
// has not seen.
func convert(names *featureNames, data json.RawMessage) (catalog.RawExpansion, error) {
	var e catalog.RawExpansion
	// The raw values of the numeric and string properties, by name.
	known := map[string][]byte{}
	type seen struct {
		prop string
		on   bool
	}
	byID := map[feature.ID]seen{}
	var set feature.FeatureSet
	var conflicts []string
	err := scanExpansion(data, func(name, v []byte) error {
		switch string(name) {
		case "level", "xlevel", "xlevel2", "family", "model", "stepping", "model-id", "vendor",
			"min-level", "min-xlevel", "min-xlevel2", "full-cpuid-auto-level", "x-intel-pt-auto-level":
			known[string(name)] = v
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
		if prev, ok := byID[id]; ok {
			if prev.on != on {
				a, b := fmt.Sprintf("%q (%v)", prev.prop, prev.on), fmt.Sprintf("%q (%v)", name, on)
				conflicts = append(conflicts, fmt.Sprintf("properties %s and %s both name feature %q but disagree", min(a, b), max(a, b), names.reg.Name(id)))
			}
			return nil
		}
		byID[id] = seen{string(name), on}
		if on {
			set = set.Add(id)
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	if len(conflicts) > 0 {
		// The least, so the message does not depend on QEMU's order.
		return e, errors.New(slices.Min(conflicts))
	}
	var errs []string
	field := func(name string, dst any, want string) {
		v, ok := known[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("no property %q", name))
		} else if err := strict(v, dst); err != nil {
			errs = append(errs, fmt.Sprintf("property %q is %s, want %s", name, quote(v), want))
		}
	}
	field("level", &e.Level, "an unsigned 32-bit integer")
	field("xlevel", &e.XLevel, "an unsigned 32-bit integer")
	field("xlevel2", &e.XLevel2, "an unsigned 32-bit integer")
	field("family", &e.Family, "an integer")
	field("model", &e.ModelNum, "an integer")
	field("stepping", &e.Stepping, "an integer")
	field("model-id", &e.ModelID, "a string")
	field("vendor", &e.Vendor, "a string")
	field("min-level", &e.MinLevel, "an unsigned 32-bit integer")
	field("min-xlevel", &e.MinXLevel, "an unsigned 32-bit integer")
	field("min-xlevel2", &e.MinXLevel2, "an unsigned 32-bit integer")
	field("full-cpuid-auto-level", &e.FullCPUIDAutoLevel, "a boolean")
	field("x-intel-pt-auto-level", &e.IntelPTAutoLevel, "a boolean")
	if len(errs) > 0 {
		return e, errors.New(strings.Join(errs, "; "))
	}
	// Names are in canonical order, which is sorted order.
	e.Features = names.reg.Names(set)
	return e, nil
}

// featureNames memoises Registry.Lookup over property names. Every
// expansion has the same few hundred properties, and Lookup of a name that
// is not a feature looks for a suggestion, an edit-distance scan of the
// whole registry: uncached, that scan was most of an import's time.
type featureNames struct {
	reg *feature.Registry
	mu  sync.RWMutex
	ids map[string]lookup
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
