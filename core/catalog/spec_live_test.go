package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/qmp"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// TestResolveSpecKnownFacts: ResolveSpec starts from the definition, not
// the expansion (facts read from QEMU 7.2.22 by hand, with
// query-cpu-model-expansion and these options as props).
func TestResolveSpecKnownFacts(t *testing.T) {
	c, err := Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	if !c.definitions {
		t.Fatal("the embedded qemu-7.2 catalog has no definitions")
	}
	reg := c.Registry()
	resolve := func(spec, machine string, accel core.Accel) *Resolution {
		t.Helper()
		s, err := c.ParseCPU(spec)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.ResolveSpec(s, machine, accel, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	has := func(r *Resolution, names ...string) bool {
		for _, n := range names {
			id, err := reg.Lookup(n)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Features.Has(id) {
				return false
			}
		}
		return true
	}
	vmxCount := func(r *Resolution) int {
		n := 0
		for _, name := range reg.Names(r.Features) {
			if strings.HasPrefix(name, "vmx-") {
				n++
			}
		}
		return n
	}

	// Skylake defines 70 VMX capabilities but not vmx: vmx=on shows them.
	plain := resolve("Skylake-Client-v4", "pc-q35-7.2", core.TCG)
	r := resolve("Skylake-Client-v4,vmx=on", "pc-q35-7.2", core.TCG)
	if !has(r, "vmx", "vmx-ept", "vmx-secondary-ctls", "vmx-entry-ia32e-mode") || vmxCount(r) != 70 || vmxCount(plain) != 0 {
		t.Errorf("Skylake-Client-v4,vmx=on: %d vmx-* features (plain: %d)", vmxCount(r), vmxCount(plain))
	}
	// ... and lm off then takes vmx-entry-ia32e-mode with it.
	if r := resolve("Skylake-Client-v4,vmx=on,-lm", "pc-q35-7.2", core.TCG); has(r, "vmx-entry-ia32e-mode") || !has(r, "vmx-ept") {
		t.Errorf("Skylake-Client-v4,vmx=on,-lm: %v", reg.Names(r.Features))
	}
	// Opteron_G2 defines xlevel 0x80000008; svm raises it to 0x8000000A,
	// and svm=off lowers it again.
	if r := resolve("Opteron_G2,svm=off", "pc-q35-7.2", core.TCG); r.XLevel != 0x80000008 || r.MinXLevel != 0x80000008 || has(r, "svm") {
		t.Errorf("Opteron_G2,svm=off: xlevel %#x, min-xlevel %#x", r.XLevel, r.MinXLevel)
	}
	// pc_compat_2_12 sets EPYC's xlevel: explicit, it stays.
	if r := resolve("EPYC,+perfctr-core,level=5", "pc-i440fx-2.3", core.TCG); r.XLevel != 0x8000000a || r.Level != 5 || r.MinLevel != 0xd {
		t.Errorf("EPYC on pc-i440fx-2.3: level %#x xlevel %#x min-level %#x", r.Level, r.XLevel, r.MinLevel)
	}
	// kvm turns svm off under EPYC-v3, hiding npt and nrip-save.
	if r := resolve("EPYC-v3,svm=on", "pc-q35-7.2", core.KVM); !has(r, "svm", "npt", "nrip-save") {
		t.Errorf("EPYC-v3,svm=on (kvm): %v", reg.Names(r.Features))
	}
	// Without kvm, QEMU clears the KVM word.
	if r := resolve("qemu64,+kvmclock,kvm-pv-eoi=on", "pc-q35-7.2", core.TCG); has(r, "kvmclock") || has(r, "kvm-pv-eoi") {
		t.Errorf("qemu64,+kvmclock under tcg: %v", reg.Names(r.Features))
	}
	if r := resolve("qemu64,+kvmclock,kvm-pv-eoi=on", "pc-q35-7.2", core.KVM); !has(r, "kvmclock", "kvm-pv-eoi") {
		t.Errorf("qemu64,+kvmclock under kvm: %v", reg.Names(r.Features))
	}
	// Minus beats plus, whatever the order; settings apply in order.
	if r := resolve("Skylake-Client-v4,-avx2,+avx2,aes=off,aes=on", "pc-q35-7.2", core.TCG); has(r, "avx2") || !has(r, "aes") {
		t.Errorf("-avx2,+avx2,aes=off,aes=on: %v", reg.Names(r.Features))
	}
}

// specTemplates are the -cpu options TestResolveSpecMatchesQEMU appends
// to every model, each exercising a rule: a dependency, a level rule, an
// explicit level, the KVM word, a property. Each names a feature at most
// once, so that QEMU's -cpu order (feat=on|off, then +feat, then -feat)
// and a props dict mean the same. A template naming a feature the QEMU
// lacks is skipped for it.
var specTemplates = []string{
	"vmx=on",                               // VMX capabilities hidden by the missing vmx
	"vmx=on,-lm",                           // lm → vmx-entry-ia32e-mode (and, 10.0, fred)
	"vmx=on,vmx-secondary-ctls=off",        // the chain below vmx-secondary-ctls
	"vmx=on,+invpcid,-rdrand,-xsaves",      // single-bit VMX dependencies
	"svm=off",                              // the SVM word, and xlevel lowered to the definition's
	"+svm,+npt",                            // svm raises xlevel; npt needs svm
	"-xsave",                               // no dependency for xsave: 0xD.1 stays
	"-xsaveopt,-xsavec,-xgetbv1,-xsaves",   // level lowered to the definition's
	"+intel-pt",                            // level 0x14, or none with full-cpuid-auto-level off; intel-pt-lip
	"+avx512f",                             // CPUID[7,0].EBX: level 7 even with full-cpuid-auto-level off
	"+arat,+avx512vbmi,+xstore",            // words raised only with full-cpuid-auto-level on
	"level=4",                              // explicit, below the automatic level
	"xlevel=0x80000004,xlevel2=0xc0000002", // explicit extended levels
	"arch-capabilities=off,+rdctl-no",      // arch-capabilities → its MSR word
	"+kvmclock,kvm-pv-eoi=on,kvm-hint-dedicated=on",                      // the KVM word: cleared without kvm (not the hints word)
	"vmx=on,vmx-ept=off,+vmx-unrestricted-guest",                         // EPT → its capabilities, unrestricted-guest
	"+sgx,+sgx1,+sgxlc",                                                  // sgx raises level to 0x12; 10.0: its dependencies
	"+lfence-always-serializing",                                         // 10.0: FEAT_8000_0021_EAX raises xlevel
	"+fred,+lkgs,-wrmsrns,+avx10,+avx10-256",                             // 10.0: fred and avx10 dependencies
	"vendor=GenuineIntel,family=6,model=85,stepping=7,model-id=Some CPU", // properties
}

// templateProps turns a -cpu option list into query-cpu-model-expansion props:
// +f and f=on are true, -f and f=off false, the rest numbers or strings.
// It fails when the list names a property twice.
func templateProps(reg *feature.Registry, opts string) (map[string]any, error) {
	p := map[string]any{}
	for _, o := range strings.Split(opts, ",") {
		var k string
		var v any
		switch {
		case o[0] == '+' || o[0] == '-':
			k, v = o[1:], o[0] == '+'
		default:
			key, val, _ := strings.Cut(o, "=")
			k = key
			switch {
			case val == "on":
				v = true
			case val == "off":
				v = false
			case key == "vendor" || key == "model-id":
				v = val
			default:
				n, err := strconv.ParseUint(val, 0, 32)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", o, err)
				}
				v = n
			}
		}
		if id, err := reg.Lookup(k); err == nil {
			k = reg.Name(id)
		}
		if _, dup := p[k]; dup {
			return nil, fmt.Errorf("%q names %s twice", opts, k)
		}
		p[k] = v
	}
	return p, nil
}

// TestResolveSpecMatchesQEMU resolves every named model with each of
// specTemplates on two machine types of each installed QEMU (its newest
// pc-q35, and an old pc-i440fx with full-cpuid-auto-level and
// x-intel-pt-auto-level off), under tcg and kvm, and requires
// query-cpu-model-expansion's answer for the model with the options as
// props: every feature, level, xlevel, xlevel2, family, model, stepping,
// model-id and vendor.
func TestResolveSpecMatchesQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: expands every model with every template in 8 QEMU processes")
	}
	bins := findQEMUBinaries(t)
	if len(bins) == 0 {
		testenv.Missing(t, testenv.QEMU, "no qemu-system-x86_64 of a known release (7.2, 10.0) found")
	}
	accels := []core.Accel{core.TCG}
	if testenv.Want(t, testenv.KVM, "tcg only") {
		accels = append(accels, core.KVM)
	}
	hostVendor := ""
	if f, err := cpuid.Native(); err == nil {
		l := f(0, 0)
		var b []byte
		for _, r := range []uint32{l.EBX, l.EDX, l.ECX} {
			b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
		}
		hostVendor = string(b)
	}
	machines := map[core.Release][]string{qemu52: {"pc-q35-5.2", "pc-i440fx-2.3"}, qemu72: {"pc-q35-7.2", "pc-i440fx-2.3"}, qemu100: {"pc-q35-10.0", "pc-i440fx-2.4"}}
	var mu sync.Mutex
	var summary []string
	t.Cleanup(func() {
		sort.Strings(summary)
		for _, s := range summary {
			t.Log(s)
		}
	})
	for _, b := range bins {
		name := "qemu-" + b.rel.String()
		if !slices.Contains(EmbeddedNames(), name) {
			// A release is known (its rules are in) before its catalog is
			// embedded (RATIONALE.md, "How to add a QEMU release", steps
			// 1-4 before 5); the specs need the catalog's definitions.
			t.Logf("QEMU %s: no embedded catalog %s yet, so its specs are not compared", b.version, name)
			continue
		}
		c, err := Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		if !c.definitions {
			t.Errorf("catalog %s has no definitions", c.name)
			continue
		}
		for _, machine := range machines[b.rel] {
			for _, accel := range accels {
				t.Run(fmt.Sprintf("%s/%s/%s", b.rel, machine, accel), func(t *testing.T) {
					t.Parallel()
					if !b.machines[machine] {
						t.Skipf("QEMU %s has no machine %s", b.version, machine)
					}
					start := time.Now()
					n, bad, skipped := checkSpecsAgainstQEMU(t, c, b, machine, accel, hostVendor)
					mu.Lock()
					summary = append(summary, fmt.Sprintf("QEMU %s %s %s: %d specs (%d models × %d templates) compared, %d mismatches, in %v",
						b.version, machine, accel, n, len(c.models), len(specTemplates)-skipped, bad, time.Since(start).Round(time.Millisecond)))
					mu.Unlock()
				})
			}
		}
	}
}

// checkSpecsAgainstQEMU returns how many specs it compared, how many
// differed, and how many templates it skipped.
func checkSpecsAgainstQEMU(t *testing.T, c *Catalog, b qemuBinary, machine string, accel core.Accel, hostVendor string) (compared, bad, skipped int) {
	reg := c.Registry()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	q, err := qmp.Start(ctx, b.path, []string{"-machine", machine, "-accel", string(accel), "-nodefaults", "-no-user-config", "-S", "-display", "none"})
	if err != nil {
		if accel == core.KVM {
			testenv.Missing(t, testenv.KVM, "QEMU with kvm: %v", err)
		}
		t.Fatal(err)
	}
	defer q.Close()
	expand := func(model string, props map[string]any) (json.RawMessage, error) {
		m := map[string]any{"name": model}
		if len(props) > 0 {
			m["props"] = props
		}
		var reply json.RawMessage
		err := q.Execute(ctx, "query-cpu-model-expansion", map[string]any{"type": "full", "model": m}, &reply)
		return reply, err
	}
	first, err := expand("base", nil)
	if err != nil {
		t.Fatal(err)
	}
	px, err := newPropIndex(reg, first)
	if err != nil {
		t.Fatal(err)
	}

	type job struct {
		spec  string
		props map[string]any
		want  *Resolution
		got   json.RawMessage
		err   error
	}
	var jobs []*job
	for _, tmpl := range specTemplates {
		props, err := templateProps(reg, tmpl)
		if err != nil {
			t.Fatal(err)
		}
		ok := true
		for k := range props {
			ok = ok && px.keys[k]
		}
		if !ok {
			skipped++
			continue
		}
		for _, m := range c.models {
			spec := m.Name + "," + tmpl
			s, err := c.ParseCPU(spec)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.ResolveSpec(s, machine, accel, hostVendor)
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, &job{spec: spec, props: props, want: want})
		}
	}
	// Pipelined: QMP answers each command in turn, so several in flight
	// keep QEMU busy.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				j.got, j.err = expand(strings.SplitN(j.spec, ",", 2)[0], j.props)
			}
		})
	}
	wg.Wait()

	for _, j := range jobs {
		if j.err != nil {
			t.Fatalf("%s: %v", j.spec, j.err)
		}
		e, err := px.parse(j.got)
		if err != nil {
			t.Fatalf("%s: %v", j.spec, err)
		}
		var family, model, stepping uint64
		var modelID string
		if err := scanProps(j.got, func(k, v []byte) {
			switch string(k) {
			case "family":
				family, _ = strconv.ParseUint(string(v), 10, 32)
			case "model":
				model, _ = strconv.ParseUint(string(v), 10, 32)
			case "stepping":
				stepping, _ = strconv.ParseUint(string(v), 10, 32)
			case "model-id":
				json.Unmarshal(v, &modelID)
			}
		}); err != nil {
			t.Fatal(err)
		}
		w := j.want
		compared++
		var diffs []string
		if e.features != w.Features {
			diffs = append(diffs, fmt.Sprintf("QEMU has %v more, %v fewer", reg.Names(e.features.Difference(w.Features)), reg.Names(w.Features.Difference(e.features))))
		}
		if g, r := [3]uint32{e.level, e.xlevel, e.xlevel2}, [3]uint32{w.Level, w.XLevel, w.XLevel2}; g != r {
			diffs = append(diffs, fmt.Sprintf("QEMU level/xlevel/xlevel2 %#x, resolved %#x", g, r))
		}
		if g, r := fmt.Sprint(family, model, stepping, modelID, e.vendor), fmt.Sprint(w.Family, w.Props.Model, w.Stepping, w.ModelID, w.Vendor); g != r {
			diffs = append(diffs, fmt.Sprintf("QEMU family/model/stepping/model-id/vendor %q, resolved %q", g, r))
		}
		if len(diffs) > 0 {
			bad++
			if bad <= 20 {
				t.Errorf("%s on %s (%s): %s", j.spec, machine, accel, strings.Join(diffs, "; "))
			}
		}
	}
	return compared, bad, skipped
}
