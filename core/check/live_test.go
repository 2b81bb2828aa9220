package check

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// qemuSpellings maps every spelling QEMU itself uses for a feature
// property (the canonical name and QEMU's own aliases, normalised like
// QEMU's parser: lower case, '_' as '-') to the feature. Linux and libvirt
// aliases are deliberately left out: a QEMU property or
// unavailable-features entry that is not a QEMU feature spelling (hv-*,
// x-*, pmu, migratable, "kvm", "type", …) is not a feature, even if some
// other tool happens to spell a feature that way.
func qemuSpellings(reg *feature.Registry) map[string]feature.ID {
	m := map[string]feature.ID{}
	for _, f := range reg.Features() {
		if f.Source != "" {
			continue
		}
		m[normName(f.Name)] = f.ID
		for _, a := range f.Aliases {
			if a.Source == feature.QEMU {
				m[normName(a.Name)] = f.ID
			}
		}
	}
	return m
}

func normName(n string) string { return strings.ToLower(strings.ReplaceAll(n, "_", "-")) }

// qemuFeatures splits QEMU names into the features they name (with how
// often each was named) and the names that are not features.
func qemuFeatures(spell map[string]feature.ID, list []string) (feature.FeatureSet, map[feature.ID]int, []string) {
	var s feature.FeatureSet
	count := map[feature.ID]int{}
	var other []string
	for _, n := range list {
		id, ok := spell[normName(n)]
		if !ok {
			other = append(other, n)
			continue
		}
		s = s.Add(id)
		count[id]++
	}
	sort.Strings(other)
	return s, count, other
}

// liveSnapshot probes this machine once per test binary run.
func liveSnapshot(t *testing.T, reg *feature.Registry) *host.HostSnapshot {
	t.Helper()
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		testenv.Missing(t, testenv.KVM, "no usable /dev/kvm: %v", err)
	}
	f.Close()
	s, err := host.Probe(host.Live(host.LiveConfig{}), reg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.KVM == nil {
		testenv.Missing(t, testenv.KVM, "KVM not probed: %s", s.KVMError)
	}
	return s
}

// TestLiveQEMU runs each known release's real QEMU (5.2, 7.2, 10.0) under
// KVM and TCG (one process each) and holds Compute to what QEMU itself
// says:
//
//  1. For every model of query-cpu-definitions, unavailable-features (as
//     a set) is exactly the model's features (the true feature properties
//     of its full expansion) minus Compute's Set; the names QEMU lists that
//     are not features, and the names it lists more than once, are
//     exactly the expected ones.
//  2. The expansion of "host" (KVM) or "max" (TCG) differs from the Set
//     exactly by the differences predictExpansion explains.
func TestLiveQEMU(t *testing.T) {
	reg := feature.Builtin()
	spell := qemuSpellings(reg)
	var snap *host.HostSnapshot
	for _, rel := range core.Releases() {
		version := rel.String()
		for _, accel := range []core.Accel{core.KVM, core.TCG} {
			t.Run(version+"/"+string(accel), func(t *testing.T) {
				bin, machine := findQEMU(t, version)
				s := (*host.HostSnapshot)(nil)
				if accel == core.KVM {
					if snap == nil {
						snap = liveSnapshot(t, reg)
					}
					s = snap
				}
				a, err := Compute(reg, s, rel, accel)
				if err != nil {
					t.Fatal(err)
				}
				q := startQEMU(t, bin, machine, string(accel))
				sess, err := querySession(q)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("QEMU %s (%s), machine %s, accel %s: %d models, %d features available",
					sess.version, bin, machine, accel, len(sess.defs), a.Set.Count())
				checkUnavailable(t, reg, spell, a, s, sess)
				checkHostModel(t, reg, spell, a, s, sess)
			})
		}
	}
}

// checkUnavailable is check 1 of TestLiveQEMU.
func checkUnavailable(t *testing.T, reg *feature.Registry, spell map[string]feature.ID, a *Availability, s *host.HostSnapshot, sess *qemuSession) {
	t.Helper()
	bits, xcr0 := supportedBits(t, reg, a, s)
	equal := 0
	for _, d := range sess.defs {
		e, ok := sess.expansions[d.Name]
		if !ok {
			t.Errorf("%s: no expansion", d.Name)
			continue
		}
		required, _, _ := qemuFeatures(spell, e.trueProps())
		got, count, other := qemuFeatures(spell, d.UnavailableFeatures)
		want := required.Difference(a.Set)
		if got != want {
			t.Errorf("%s: QEMU's unavailable-features minus ours: %v; ours minus QEMU's: %v",
				d.Name, reg.Names(got.Difference(want)), reg.Names(want.Difference(got)))
		} else {
			equal++
		}
		// The only non-feature QEMU lists: "kvm" for host without KVM
		// (x86_cpu_class_check_missing_features, host_cpuid_required).
		var wantOther []string
		if a.Accel == core.TCG && d.Name == "host" {
			wantOther = []string{"kvm"}
		}
		if !slices.Equal(other, wantOther) {
			t.Errorf("%s: non-feature names %q in unavailable-features, want %q", d.Name, other, wantOther)
		}
		// QEMU names a feature once per missing bit: its own, and each
		// XSAVE component it made QEMU request (x86_cpu_feature_name).
		for id, n := range count {
			if len(reg.Feature(id).Also) > 0 {
				continue // one name on several bits (kvmclock)
			}
			if w := timesListed(reg, a, id, bits, xcr0, required); n != w {
				t.Errorf("%s: %s listed %d times, want %d", d.Name, reg.Name(id), n, w)
			}
		}
	}
	t.Logf("unavailable-features equal for %d of %d models", equal, len(sess.defs))
}

// supportedBits returns the per-bit answer of x86_cpu_get_supported_feature_word
// (before the XSAVE component filter) and the supported XSAVE components.
func supportedBits(t *testing.T, reg *feature.Registry, a *Availability, s *host.HostSnapshot) (feature.FeatureSet, uint64) {
	t.Helper()
	r := rulesOf(a.Release)
	if a.Accel == core.KVM {
		return kvmSupported(reg, s, r)
	}
	return tcgSupported(reg, r)
}

// timesListed predicts how often QEMU lists feature id in a model's
// unavailable-features: once if its bit is unsupported, plus once per
// XSAVE component of it that QEMU requested (the model has xsave; in
// 10.0 only x87/SSE) and that is unsupported.
func timesListed(reg *feature.Registry, a *Availability, id feature.ID, bits feature.FeatureSet, xcr0 uint64, model feature.FeatureSet) int {
	n := 0
	if !bits.Has(id) {
		n++
	}
	xsave, _ := reg.Lookup("xsave")
	if !model.Has(xsave) {
		return n
	}
	r := rulesOf(a.Release)
	for _, c := range xsaveAreas {
		if c.feature != reg.Name(id) || (!r.xsaveAllComponents && c.component > feature.XStateSSE) {
			continue
		}
		if xcr0>>c.component&1 == 0 {
			n++
		}
	}
	return n
}

// checkHostModel is check 2 of TestLiveQEMU.
func checkHostModel(t *testing.T, reg *feature.Registry, spell map[string]feature.ID, a *Availability, s *host.HostSnapshot, sess *qemuSession) {
	t.Helper()
	model, vendor := "host", ""
	if a.Accel == core.TCG {
		model, vendor = "max", "AuthenticAMD" // max_x86_cpu_initfn
	} else {
		vendor = s.Vendor
	}
	e, ok := sess.expansions[model]
	if !ok {
		t.Fatalf("no expansion of %s", model)
	}
	got, _, _ := qemuFeatures(spell, e.trueProps())
	bits, _ := supportedBits(t, reg, a, s)
	predicted, why, err := predictExpansion(reg, a, bits, vendor)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for id := range got.SymmetricDifference(a.Set).All() {
		side := "available, not in " + model
		if got.Has(id) {
			side = "in " + model + ", not available"
		}
		r, ok := why[id]
		if !ok {
			r = "UNEXPLAINED"
		}
		lines = append(lines, fmt.Sprintf("%-28s %-28s %s", reg.Name(id), side, r))
	}
	t.Logf("%s vs Compute: %d differences\n%s", model, len(lines), strings.Join(lines, "\n"))
	if got != predicted {
		t.Errorf("%s: QEMU's expansion minus predicted: %v; predicted minus QEMU's: %v",
			model, reg.Names(got.Difference(predicted)), reg.Names(predicted.Difference(got)))
	}
}
