package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/psabi"
)

// Accelerator returns accel checked against cat, or for "" the default:
// kvm, what sites run (tcg only for a catalog without kvm data). The
// default never depends on the machine that runs the check, so a
// recorded host gets the same verdict everywhere.
func Accelerator(cat *catalog.Catalog, accel string) (core.Accel, error) {
	switch a := core.Accel(accel); a {
	case "":
		if cat.HasAccel(core.KVM) {
			return core.KVM, nil
		}
		return core.TCG, nil
	case core.KVM, core.TCG:
		if !cat.HasAccel(a) {
			return "", fmt.Errorf("catalog %s has no %s data", cat.Name(), accel)
		}
		return a, nil
	}
	return "", fmt.Errorf("--accel: got %q, want kvm or tcg", accel)
}

// CatalogRelease returns the QEMU release whose availability rules judge
// hosts for cat (ReleaseFor of its version), and a note to show the user
// when the catalog names no release ("" when it does). A catalog of a
// release whose rules are not known is an error naming the known ones.
func CatalogRelease(cat *catalog.Catalog) (rel core.Release, note string, err error) {
	rel, none, err := ReleaseFor(cat.QEMUVersion())
	switch {
	case err != nil:
		return rel, "", fmt.Errorf("catalog %s: %w", cat.Name(), err)
	case none:
		// Definitions of no QEMU release (libvirt's CPU map) run on
		// whichever QEMU the site has: judge them with QEMU 7.2's rules
		// (Debian 12 pairs its libvirt 9.0 with QEMU 7.2; ReleaseFor).
		return rel, fmt.Sprintf("catalog %s names no QEMU release; judging availability with QEMU %s's rules", cat.Name(), rel), nil
	}
	return rel, "", nil
}

// HostAvailability is Compute for the host called name (a snapshot's file
// name, or "this host"); its errors start with name. It is the one place
// that decides what judging a host without KVM data under kvm means: an
// error wrapping ErrNoKVM that says how to get a verdict, the same in
// every command.
func HostAvailability(name string, reg *feature.Registry, s *host.HostSnapshot, rel core.Release, accel core.Accel) (*Availability, error) {
	a, err := Compute(reg, s, rel, accel)
	switch {
	case errors.Is(err, ErrNoKVM):
		return nil, fmt.Errorf("%s: %w; probe the host with a readable /dev/kvm or pass --accel tcg", name, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return a, nil
}

// layerRank orders layers from the host's bottom up, as verdicts list them.
var layerRank = map[string]int{LayerHW: 0, LayerOS: 1, LayerKVM: 2, LayerTCG: 3, LayerQEMU: 4}

// Layers lists the layers in the order verdicts report them.
var Layers = []string{LayerHW, LayerOS, LayerKVM, LayerTCG, LayerQEMU}

// LayerReason explains in a sentence why a layer lacks a feature.
func LayerReason(layer string) string {
	return map[string]string{
		LayerHW:   "the CPU lacks it",
		LayerOS:   "the CPU has it, the host kernel disabled it",
		LayerKVM:  "KVM will not give it to guests on this host",
		LayerTCG:  "TCG does not emulate it",
		LayerQEMU: "this QEMU release does not know it",
	}[layer]
}

// A Judge judges CPU models of one catalog on one machine type under one
// accelerator against what one host makes available there.
type Judge struct {
	Catalog *catalog.Catalog
	Machine *catalog.MachineType
	Accel   core.Accel
	// Avail is the host's availability under Accel.
	Avail *Availability
	// Vendor is the CPU vendor QEMU gives kvm guests on the host ("" when
	// no host was probed, under tcg).
	Vendor string
	// Host names the host in verdicts: host.Name's rule, "any host"
	// under tcg without one.
	Host string
}

// HostLabel is how a verdict names the host of snapshot s (nil: none)
// read from file path ("" for a live probe): host.Name.
func HostLabel(s *host.HostSnapshot, path string) string {
	if s == nil {
		return "any host"
	}
	return host.Name(s, path)
}

// Missing returns model's features on the judge's machine type and
// accelerator, and those the host does not make available, without
// allocating: features do not depend on the vendor, so
// catalog.Features serves.
func (j *Judge) Missing(model string) (features, missing feature.FeatureSet, err error) {
	if features, err = j.Catalog.Features(model, j.Machine.Name, j.Accel); err != nil {
		return
	}
	return features, features.Difference(j.Avail.Set), nil
}

// FeatureLayers maps features to the layer that lacks each, in canonical
// feature order: a JSON object that keeps this order (encoding/json would
// sort a map's keys, which differs for features a plugin added).
type FeatureLayers []FeatureLayer

// FeatureLayer is a missing feature and the layer that lacks it.
type FeatureLayer struct{ Feature, Layer string }

// MarshalJSON writes {"feature": "layer", …} in order. `models` writes
// one per model, a few dozen features each, so names that need no escape
// (all of QEMU's) are copied as they are rather than each marshalled.
func (fl FeatureLayers) MarshalJSON() ([]byte, error) {
	n := 2
	for _, f := range fl {
		n += len(f.Feature) + len(f.Layer) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, f := range fl {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, f.Feature), ':')
		b = appendString(b, f.Layer)
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string, as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// UnmarshalJSON reads what MarshalJSON writes, keeping the order.
func (fl *FeatureLayers) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("feature layers: want an object")
	}
	*fl = FeatureLayers{}
	for dec.More() {
		var f FeatureLayer
		t, err := dec.Token()
		if err != nil {
			return err
		}
		f.Feature, _ = t.(string)
		if err := dec.Decode(&f.Layer); err != nil {
			return err
		}
		*fl = append(*fl, f)
	}
	return nil
}

// ModelVerdict is one model's runnability in a listing: QMP's
// query-cpu-definitions entry plus "why". Its JSON keys are a contract.
type ModelVerdict struct {
	Name                string        `json:"name"`
	UnavailableFeatures []string      `json:"unavailable-features"`
	AliasOf             string        `json:"alias-of,omitempty"`
	Static              bool          `json:"static"`
	MigrationSafe       bool          `json:"migration-safe"`
	Deprecated          bool          `json:"deprecated"`
	Why                 FeatureLayers `json:"why"`
	// ABILevel is the x86-64 psABI level the model's features reach
	// (psabi.Level: 0 … 4), whatever the host.
	ABILevel int `json:"abi-level"`
	// Source names the plugin that added the model ("plugin amd"); the
	// catalog's own models have none.
	Source string `json:"source,omitempty"`
}

// Runnable reports whether the model runs on the host.
func (v *ModelVerdict) Runnable() bool { return len(v.UnavailableFeatures) == 0 }

// Models judges every model of the catalog, in catalog order. The
// verdicts' name lists share two backing arrays (one allocation each, not
// two per model: `models` is called in loops).
func (j *Judge) Models() ([]ModelVerdict, error) {
	reg := j.Catalog.Registry()
	levels, err := psabi.NewSets(reg)
	if err != nil {
		return nil, err
	}
	n := j.Catalog.NumModels()
	sets := make([]feature.FeatureSet, 0, n)
	lv := make([]psabi.Level, 0, n)
	total := 0
	for m := range j.Catalog.AllModels() {
		features, missing, err := j.Missing(m.Name)
		if err != nil {
			return nil, err
		}
		sets = append(sets, missing)
		lv = append(lv, levels.Of(features))
		total += missing.Count()
	}
	names := make([]string, 0, total)
	why := make(FeatureLayers, 0, total)
	out := make([]ModelVerdict, 0, n)
	for m := range j.Catalog.AllModels() {
		start := len(names)
		for id := range sets[len(out)].All() {
			names = append(names, reg.Name(id))
			why = append(why, FeatureLayer{reg.Name(id), j.Avail.Layer(id)})
		}
		end := len(names)
		out = append(out, ModelVerdict{Name: m.Name, UnavailableFeatures: names[start:end:end], AliasOf: m.AliasOf,
			Static: m.Static, MigrationSafe: m.MigrationSafe, Deprecated: m.Deprecated,
			Why: why[start:end:end], ABILevel: int(lv[len(out)]), Source: m.Source})
	}
	return j.appendHostModels(out), nil
}

// appendHostModels adds host and max, which query-cpu-definitions lists
// beside the named models (base is one of the catalog's): max is made of
// what the accelerator offers, so it always runs; host needs KVM
// (QEMU lists "kvm" as its unavailable feature under tcg:
// x86_cpu_class_check_missing_features, host_cpuid_required).
func (j *Judge) appendHostModels(out []ModelVerdict) []ModelVerdict {
	for _, name := range []string{"host", "max"} {
		if j.Catalog.HasModel(name) {
			continue // a catalog that lists them itself
		}
		v := ModelVerdict{Name: name, UnavailableFeatures: []string{}, Why: FeatureLayers{}}
		if name == "host" && j.Accel != core.KVM {
			v.UnavailableFeatures = []string{"kvm"}
			v.Why = FeatureLayers{{Feature: "kvm", Layer: LayerTCG}}
		}
		out = append(out, v)
	}
	return out
}

// Explanation is why one model or -cpu spec is runnable or not: each
// missing feature with its layer, and the runnable versions of the same
// model. Its JSON keys are a contract.
type Explanation struct {
	Model    string     `json:"model"`
	Machine  string     `json:"machine"`
	Accel    core.Accel `json:"accel"`
	QEMU     string     `json:"qemu"`
	Host     string     `json:"host"`
	Runnable bool       `json:"runnable"`
	Missing  []Missing  `json:"missing"`
	// AliasOf is the versioned model the name given is an alias of
	// ("Skylake-Client-IBRS" → "Skylake-Client-v2"), "" for a versioned
	// name: the versions are looked for from it.
	AliasOf string `json:"alias_of,omitempty"`
	// Nearest lists the runnable versions of the same model.
	Nearest []string `json:"runnable_versions"`
	// Filtered (for a -cpu spec without enforce) says QEMU starts the
	// guest without the Missing features, warning: the guest runs.
	Filtered bool `json:"filtered,omitempty"`
	// Warnings are QEMU's warnings about the -cpu spec itself.
	Warnings []string `json:"warnings,omitempty"`
	// Forbidden (for a libvirt <cpu> only) lists the features it forbids
	// and the host makes available: libvirt will not start the domain.
	Forbidden []string `json:"forbidden_present,omitempty"`
	// Source is where the host's snapshot came from (host.Sources), and
	// Unseen the layers that source could not see under kvm: a feature
	// missing at kvm may then be missing lower down, which the verdict
	// cannot tell.
	Source string   `json:"source,omitempty"`
	Unseen []string `json:"unseen_layers,omitempty"`
	// HyperV lists the Hyper-V enlightenments the -cpu spec turns on
	// that KVM on the host lacks: QEMU refuses to start the guest
	// whatever enforce says ("Hyper-V … is not supported by kernel").
	HyperV []Missing `json:"hyperv_missing,omitempty"`
}

// Missing is one feature a guest cannot get, and why.
type Missing struct {
	Feature  string `json:"feature"`
	Layer    string `json:"layer"`
	Location string `json:"location"`
	Reason   string `json:"reason"`
}

// Why explains model, or with spec != "" the QEMU -cpu spec (model is
// then ignored). forbid, when non-nil, holds the features a libvirt <cpu>
// forbids: libvirt refuses to start a domain whose <cpu> forbids one the
// host makes available.
func (j *Judge) Why(model, spec string, forbid *feature.FeatureSet) (*Explanation, error) {
	reg := j.Catalog.Registry()
	var r *catalog.Resolution
	var cs *catalog.CPUSpec
	var err error
	if spec != "" {
		if cs, err = j.Catalog.ParseCPU(spec); err == nil {
			r, err = resolveConfig(j.Catalog, cs, j.Machine.Name, j.Accel, j.Avail, &catalog.HostCPU{Vendor: j.Vendor}, nil)
		}
	} else {
		r, err = j.Catalog.Resolve(model, j.Machine.Name, j.Accel, j.Vendor)
	}
	if err != nil {
		return nil, err
	}
	missing := r.Features.Difference(j.Avail.Set)
	var present feature.FeatureSet
	if forbid != nil {
		present = forbid.Intersect(j.Avail.Set)
	}
	target := j.versionOf(r.Model)
	out := &Explanation{Model: r.Model, Machine: j.Machine.Name, Accel: j.Accel, QEMU: j.Catalog.QEMUVersion(), Host: j.Host,
		Runnable: missing.IsEmpty() && present.IsEmpty(), Missing: []Missing{}, Nearest: j.runnableVersions(target)}
	if target != nil && target.Name != strings.SplitN(r.Model, ",", 2)[0] {
		out.AliasOf = target.Name
	}
	if cs != nil {
		out.Warnings = cs.Warnings
		// Without enforce QEMU starts the guest without the features the
		// host lacks (x86_cpu_filter_features), warning about each
		// unless check=off: runnable, with the missing ones filtered. A
		// libvirt <cpu> (forbid != nil) is judged by libvirt's own check
		// before QEMU runs: missing features stay fatal.
		if !cs.Enforce() && forbid == nil && !missing.IsEmpty() {
			out.Filtered, out.Runnable = true, present.IsEmpty()
		}
		// What QEMU refuses when it realizes the CPU, beyond features
		// (enforce is judged above, by layer).
		if err := realizeChecks(j.Catalog, cs, r, nil); err != nil {
			out.Runnable = false
			out.Warnings = append(out.Warnings, err.Error())
		}
		j.hyperV(cs, out)
	}
	if forbid != nil {
		out.Forbidden = append([]string{}, reg.Names(present)...)
	}
	if u := host.Unseen(j.Avail.Source); j.Accel == core.KVM && j.Avail.Source != "" && len(u) > 0 {
		out.Source, out.Unseen = j.Avail.Source, u
	}
	for id := range missing.All() {
		l := j.Avail.Layer(id)
		out.Missing = append(out.Missing, Missing{Feature: reg.Name(id), Layer: l, Location: reg.Feature(id).Loc.String(), Reason: LayerReason(l)})
	}
	sort.SliceStable(out.Missing, func(a, b int) bool { return layerRank[out.Missing[a].Layer] < layerRank[out.Missing[b].Layer] })
	return out, nil
}

// hyperV adds to out the Hyper-V enlightenments of cs QEMU refuses on
// the host under kvm: one KVM lacks is missing at the kvm layer, one
// whose partner is off a warning; either way QEMU exits, enforce or not.
func (j *Judge) hyperV(cs *catalog.CPUSpec, out *Explanation) {
	if j.Accel != core.KVM || j.Avail.HyperV == nil {
		return
	}
	problems, judged := HyperVProblems(cs, j.Avail.Release, j.Avail.HyperV)
	for _, p := range problems {
		out.Runnable = false
		if !p.Missing {
			out.Warnings = append(out.Warnings, p.Message)
			continue
		}
		reason := p.Message
		if j.Avail.HyperV.None {
			reason += " (KVM on this host emulates no Hyper-V: KVM_CAP_HYPERV is 0)"
		}
		out.HyperV = append(out.HyperV, Missing{Feature: p.Prop, Layer: LayerKVM, Location: p.Location, Reason: reason})
	}
	if !judged {
		out.Warnings = append(out.Warnings, "Hyper-V enlightenments not judged: the snapshot has no KVM_GET_SUPPORTED_HV_CPUID answer (probe the host with this cpupolicy, on Linux 5.11 or later)")
	}
}

// versionOf returns the versioned model that spec (a model name or -cpu
// spec) names: the model itself, or the version an alias stands for
// (aliases chain to a versioned name in one step in QEMU's catalogs, but
// a loop is cut), nil for a name the catalog does not know.
func (j *Judge) versionOf(spec string) *catalog.Model {
	m, err := j.Catalog.Model(strings.SplitN(spec, ",", 2)[0])
	for hops := 0; err == nil && m.AliasOf != "" && hops < 8; hops++ {
		var t *catalog.Model
		if t, err = j.Catalog.Model(m.AliasOf); err == nil {
			m = t
		}
	}
	if err != nil {
		return nil
	}
	return m
}

// runnableVersions lists the runnable versions (-vN) of m's base model
// other than m itself (none for nil).
func (j *Judge) runnableVersions(m *catalog.Model) []string {
	out := []string{}
	if m == nil {
		return out
	}
	for o := range j.Catalog.AllModels() {
		if o.Base != m.Base || o.Name == m.Name || o.Version == 0 {
			continue
		}
		if _, missing, err := j.Missing(o.Name); err == nil && missing.IsEmpty() {
			out = append(out, o.Name)
		}
	}
	return out
}
