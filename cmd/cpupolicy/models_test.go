package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/qmp"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// qemuDefinitions asks a live QEMU on machine under accel for
// query-cpu-definitions: model → unavailable-features as canonical names
// (QEMU may repeat a name; the set is what counts).
func qemuDefinitions(t *testing.T, bin, machine, accel string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	c, err := qmp.Start(ctx, bin, []string{"-machine", machine, "-accel", accel, "-nodefaults", "-S", "-display", "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var defs []struct {
		Name        string   `json:"name"`
		Unavailable []string `json:"unavailable-features"`
	}
	if err := c.Execute(ctx, "query-cpu-definitions", nil, &defs); err != nil {
		t.Fatal(err)
	}
	reg := feature.Builtin()
	out := map[string][]string{}
	for _, d := range defs {
		if d.Name == "host" && slices.Equal(d.Unavailable, []string{"kvm"}) {
			// Not a feature: under tcg QEMU says host needs KVM.
			out[d.Name] = d.Unavailable
			continue
		}
		var s feature.FeatureSet
		for _, n := range d.Unavailable {
			id, err := reg.Lookup(n)
			if err != nil {
				t.Fatalf("QEMU names unavailable %q for %s: %v", n, d.Name, err)
			}
			s = s.Add(id)
		}
		out[d.Name] = nonNil(reg.Names(s))
	}
	return out
}

// TestModelsMatchQEMU: `cpupolicy models --format json` lists exactly
// the models QEMU's own query-cpu-definitions lists on this host (host,
// max and base included) with the same unavailable-features set, under
// kvm and tcg, for QEMU 5.2 (pc-q35-5.2, pc-i440fx-2.3), 7.2
// (pc-q35-7.2, pc-i440fx-2.3), 10.0 (pc-q35-10.0, pc-i440fx-2.4) and
// 11.1 (pc-q35-11.1, pc-i440fx-5.2, its oldest).
func TestModelsMatchQEMU(t *testing.T) {
	accels := []string{"tcg"}
	if testenv.Want(t, testenv.KVM, "models are checked under tcg only") {
		accels = append(accels, "kvm")
	}
	for _, rel := range []struct {
		req      testenv.Req
		catalog  string
		machines []string
	}{
		{testenv.QEMU52, "qemu-5.2", []string{"pc-q35-5.2", "pc-i440fx-2.3"}},
		{testenv.QEMU, "qemu-7.2", []string{"pc-q35-7.2", "pc-i440fx-2.3"}},
		{testenv.QEMU10, "qemu-10.0", []string{"pc-q35-10.0", "pc-i440fx-2.4"}},
		{testenv.QEMU111, "qemu-11.1", []string{"pc-q35-11.1", "pc-i440fx-5.2"}},
	} {
		bin := testenv.Need(t, rel.req, "compare with QEMU's own query-cpu-definitions")
		for _, machine := range rel.machines {
			for _, accel := range accels {
				t.Run(rel.catalog+"/"+machine+"/"+accel, func(t *testing.T) {
					want := qemuDefinitions(t, bin, machine, accel)
					var stdout, stderr bytes.Buffer
					code := run([]string{"models", "--catalog", rel.catalog, "--machine", machine, "--accel", accel, "--format", "json"}, strings.NewReader(""), &stdout, &stderr)
					if code != 0 {
						t.Fatalf("exit %d: %s", code, stderr.String())
					}
					var got []check.ModelVerdict
					if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
						t.Fatal(err)
					}
					if len(got) == 0 {
						t.Fatal("no models")
					}
					runnable := 0
					listed := map[string]bool{}
					for _, m := range got {
						listed[m.Name] = true
						w, ok := want[m.Name]
						if !ok {
							t.Errorf("QEMU does not list %s", m.Name)
							continue
						}
						if !slices.Equal(m.UnavailableFeatures, w) {
							t.Errorf("%s: cpupolicy %v, QEMU %v", m.Name, m.UnavailableFeatures, w)
						}
						if len(w) == 0 {
							runnable++
						}
						for i, f := range m.UnavailableFeatures {
							if i >= len(m.Why) || m.Why[i].Feature != f || m.Why[i].Layer == "" {
								t.Errorf("%s: no layer for %s", m.Name, f)
							}
						}
					}
					for name := range want {
						if !listed[name] {
							t.Errorf("cpupolicy does not list %s, QEMU does", name)
						}
					}
					t.Logf("%d models agree with QEMU (%d runnable)", len(got), runnable)
				})
			}
		}
	}
}

// TestWhySaysKVMHides: this host's KVM hides bits its CPU has; `why`
// must name the kvm layer for them.
func TestWhySaysKVMHides(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"why", "--catalog", "qemu-7.2", "--host", "../../testdata/hosts/this-machine.json", "--format", "json", "Skylake-Client-v4"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (not runnable): %s", code, stderr.String())
	}
	var w check.Explanation
	if err := json.Unmarshal(stdout.Bytes(), &w); err != nil {
		t.Fatal(err)
	}
	layers := map[string]string{}
	for _, m := range w.Missing {
		layers[m.Feature] = m.Layer
	}
	// The CPU has AVX2 (see the snapshot's hw layer) but KVM hides it;
	// the kernel hides rdseed; the CPU lacks spec-ctrl (an AMD part).
	for f, l := range map[string]string{"avx2": "kvm", "rdseed": "os", "spec-ctrl": "hw"} {
		if layers[f] != l {
			t.Errorf("%s: layer %q, want %q", f, layers[f], l)
		}
	}
}

// TestNoKVMDataExit2: every command that judges a host without KVM data
// under kvm (the default) exits 2 with one line naming the host and what
// to do, and the same command under tcg runs.
func TestNoKVMDataExit2(t *testing.T) {
	const dump = "../../testdata/hosts/this-machine.from-dump.json"
	for _, args := range [][]string{
		{"models", "--host", dump},
		{"why", "EPYC", "--host", dump},
		{"diff", "host:" + dump, "EPYC", "--host", "../../testdata/hosts/this-machine.json"},
		{"baseline", dump},
		{"labels", "--host", dump},
	} {
		t.Run(args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append(args, "--catalog", "qemu-7.2"), strings.NewReader(""), &stdout, &stderr)
			want := "cpupolicy: " + dump + ": snapshot has no KVM data (not probed: snapshot built from the cpuid dump testdata/hosts/this-machine.cpuid.txt); probe the host with a readable /dev/kvm or pass --accel tcg\n"
			if code != 2 || stderr.String() != want || stdout.Len() > 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2, stderr %q", code, stdout.String(), stderr.String(), want)
			}
		})
	}
}
