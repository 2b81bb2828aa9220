package qemuimport

import (
	"context"
	"errors"
	"fmt"
	"github.com/cpupolicy/cpupolicy/core"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}

func TestCompareMachines(t *testing.T) {
	// Each list is in order.
	for _, names := range [][]string{
		{"pc-i440fx-1.4", "pc-i440fx-1.5", "pc-i440fx-1.7", "pc-i440fx-2.0", "pc-i440fx-2.9", "pc-i440fx-2.10", "pc-i440fx-7.2", "pc-i440fx-10.0"},
		{"pc-q35-4.0", "pc-q35-4.0.1", "pc-q35-4.1", "pc-q35-10.0"},
		{"pc-i440fx-10.0", "pc-q35-2.4"},
		{"pc-q35-10.0", "pc-q35-rhel9.2.0", "pc-q35-rhel9.4.0"},
		{"pc-q35-7.2", "pc-q35-7.2-hpb"},
	} {
		t.Run(strings.Join(names, "<"), func(t *testing.T) {
			for i := range names {
				for j := range names {
					got := CompareMachines(names[i], names[j])
					want := 0
					if i < j {
						want = -1
					} else if i > j {
						want = 1
					}
					if (got < 0) != (want < 0) || (got > 0) != (want > 0) {
						t.Errorf("CompareMachines(%q, %q) = %d, want sign %d", names[i], names[j], got, want)
					}
				}
			}
		})
	}
}

func TestSelectMachines(t *testing.T) {
	all := []qmpMachine{
		{Name: "pc-q35-7.2", Alias: "q35"},
		{Name: "pc-i440fx-7.2", Alias: "pc", IsDefault: true},
		{Name: "pc-i440fx-2.3"},
		{Name: "pc-i440fx-1.4", Deprecated: true},
		{Name: "microvm"},
		{Name: "isapc"},
		{Name: "none"},
	}
	for _, tc := range []struct {
		name string
		want []string
		got  []string
		err  string
	}{
		{"all", nil, []string{"pc-i440fx-1.4", "pc-i440fx-2.3", "pc-i440fx-7.2", "pc-q35-7.2"}, ""},
		{"subset sorted", []string{"pc-q35-7.2", "pc-i440fx-2.3"}, []string{"pc-i440fx-2.3", "pc-q35-7.2"}, ""},
		{"aliases and duplicates", []string{"q35", "pc", "pc-q35-7.2"}, []string{"pc-i440fx-7.2", "pc-q35-7.2"}, ""},
		{"typo", []string{"pc-q35-7.3"}, nil, `qemu has no machine type "pc-q35-7.3" (did you mean "pc-q35-7.2"?)`},
		{"family typo", []string{"pc-i44fx-2.3"}, nil, `(did you mean "pc-i440fx-2.3"?)`},
		{"dropped", []string{"pc-i440fx-2.2"}, nil, `(did you mean "pc-i440fx-2.3"?)`},
		{"nearest version", []string{"pc-q35-7.1"}, nil, `(did you mean "pc-q35-7.2"?)`},
		{"far off", []string{"sparc64"}, nil, `qemu has no machine type "sparc64"`},
		{"not pc", []string{"microvm"}, nil, `machine type "microvm" is not a pc-i440fx-* or pc-q35-* machine type`},
		{"empty list", []string{}, nil, "no machine type to import"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := selectMachines("qemu", all, tc.want)
			if tc.err != "" {
				checkErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Name)
			}
			if !slices.Equal(got, tc.got) {
				t.Errorf("got %v, want %v", got, tc.got)
			}
		})
	}
	_, err := selectMachines("qemu", all[4:], nil)
	checkErr(t, err, "qemu has no pc-i440fx-* or pc-q35-* machine type")
	ms, _ := selectMachines("qemu", all, []string{"pc"})
	if want := (catalog.RawMachine{Name: "pc-i440fx-7.2", Alias: "pc", IsDefault: true}); ms[0] != want {
		t.Errorf("pc = %+v, want %+v", ms[0], want)
	}
}

func TestAccelerators(t *testing.T) {
	yes := func() bool { return true }
	no := func() bool { return false }
	for _, tc := range []struct {
		name   string
		in     []string
		mode   string
		usable func() bool
		want   []string
		derive bool
		err    string
	}{
		{"tcg", []string{"tcg"}, KVMAuto, yes, []string{"tcg"}, false, ""},
		{"repeated", []string{"tcg", "kvm", "tcg"}, KVMAuto, yes, []string{"kvm", "tcg"}, false, ""},
		{"default with kvm", nil, KVMAuto, yes, []string{"kvm", "tcg"}, false, ""},
		{"default without kvm", nil, KVMAuto, no, []string{"tcg"}, true, ""},
		{"both without kvm", []string{"kvm", "tcg"}, KVMAuto, no, []string{"tcg"}, true, ""},
		{"derive asked", nil, KVMDerive, yes, []string{"tcg"}, true, ""},
		{"capture asked", nil, KVMCapture, no, []string{"kvm", "tcg"}, false, ""},
		{"kvm alone, no kvm", []string{"kvm"}, KVMAuto, no, nil, false, "deriving the kvm answers needs the tcg ones"},
		{"kvm alone", []string{"kvm"}, KVMAuto, yes, []string{"kvm"}, false, ""},
		{"derive without kvm", []string{"tcg"}, KVMDerive, yes, nil, false, "kvm answers to derive, but kvm is not among the accelerators"},
		{"mode", nil, "guess", yes, nil, false, `unknown kvm mode "guess": want capture or derive`},
		{"xen", []string{"xen"}, KVMAuto, yes, nil, false, `unknown accelerator "xen": want tcg or kvm`},
		{"none", []string{}, KVMAuto, yes, nil, false, "no accelerator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, derive, err := accelerators(tc.in, tc.mode, tc.usable)
			if tc.err != "" {
				checkErr(t, err, tc.err)
				return
			}
			if err != nil || !slices.Equal(got, tc.want) || derive != tc.derive {
				t.Errorf("accelerators(%q, %q) = %q, %v, %v; want %q, %v", tc.in, tc.mode, got, derive, err, tc.want, tc.derive)
			}
		})
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err == nil {
		f.Close()
	}
	if got, want := kvmUsable(), err == nil; got != want {
		t.Errorf("kvmUsable() = %v, but /dev/kvm opens read-write: %v", got, want)
	}
}

func TestImportFake(t *testing.T) {
	bin := fakeBinary(t, "ok")
	var progress [][2]int
	raw, err := Import(context.Background(), Options{
		Binary:   bin,
		Accels:   []string{"tcg", "kvm"},
		KVM:      KVMCapture, // the fake answers kvm too
		Parallel: 3,
		Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fake's kvm answers add kvmclock alone, not QEMU's kvm defaults.
	if len(raw.Warnings) != 1 || !strings.Contains(raw.Warnings[0], "kvm answers of QEMU 7.2.22 differ from those derived from its tcg answers") {
		t.Errorf("warnings %q", raw.Warnings)
	}
	if raw.QEMUVersion != "7.2.22" || raw.QEMUPackage != "fake 1" {
		t.Errorf("version %q package %q", raw.QEMUVersion, raw.QEMUPackage)
	}
	wantMachines := []catalog.RawMachine{
		{Name: "pc-i440fx-1.4", Deprecated: true},
		{Name: "pc-i440fx-7.2", Alias: "pc", IsDefault: true},
		{Name: "pc-i440fx-10.0"},
		{Name: "pc-q35-4.0.1"},
		{Name: "pc-q35-7.2", Alias: "q35"},
	}
	if !slices.Equal(raw.Machines, wantMachines) {
		t.Errorf("machines\n got %+v\nwant %+v", raw.Machines, wantMachines)
	}
	wantModels := []catalog.RawModel{
		{Name: "Old-v1", TypeName: "Old-v1-x86_64-cpu", MigrationSafe: true, Deprecated: true},
		{Name: "base", TypeName: "base-x86_64-cpu", Static: true, MigrationSafe: true},
		{Name: "qemu64", TypeName: "qemu64-x86_64-cpu", AliasOf: "qemu64-v1", MigrationSafe: true},
		{Name: "qemu64-v1", TypeName: "qemu64-v1-x86_64-cpu", MigrationSafe: true},
	}
	if !slices.Equal(raw.Models, wantModels) {
		t.Errorf("models\n got %+v\nwant %+v", raw.Models, wantModels)
	}
	if n := len(raw.Machines) * 2; len(progress) != n || progress[n-1] != [2]int{n, n} || progress[0] != [2]int{1, n} {
		t.Errorf("progress %v, want 1..%d of %d", progress, n, n)
	}
	if len(raw.Expansions) != 4*5*2 {
		t.Fatalf("%d expansions, want 40", len(raw.Expansions))
	}
	// Sorted by model, machine order, accel.
	var keys []string
	for _, e := range raw.Expansions[:4] {
		keys = append(keys, e.Model+" "+e.Machine+" "+e.Accel)
	}
	if want := []string{"Old-v1 pc-i440fx-1.4 kvm", "Old-v1 pc-i440fx-1.4 tcg", "Old-v1 pc-i440fx-7.2 kvm", "Old-v1 pc-i440fx-7.2 tcg"}; !slices.Equal(keys, want) {
		t.Errorf("first expansions %q, want %q", keys, want)
	}
	if !raw.Definitions {
		t.Error("no definitions recorded")
	}
	wants := []catalog.RawExpansion{{
		Model: "qemu64", Machine: "pc-i440fx-1.4", Accel: "tcg",
		Features: []string{"lm", "nx", "sse4.2"},
		Level:    4, XLevel: 0x8000000a, Family: 6, ModelNum: 6, Stepping: 3,
		ModelID: "QEMU Virtual CPU qemu64", Vendor: "AuthenticAMD",
		MinLevel: 4, MinXLevel: 0x8000000a, IntelPTAutoLevel: true,
		DefMinLevel: 4, DefMinXLevel: 0x8000000a,
	}, {
		// Probed (pc-i440fx-1.4 expands differently from 7.2): the
		// latent VMX features, and an explicit xlevel.
		Model: "qemu64-v1", Machine: "pc-i440fx-1.4", Accel: "kvm",
		Features: []string{"kvmclock", "lm", "nx", "sse4.2"},
		Level:    4, XLevel: 0x80000004, Family: 6, ModelNum: 6, Stepping: 3,
		ModelID: "QEMU Virtual CPU qemu64-v1", Vendor: "HostVendor!",
		MinLevel: 4, MinXLevel: 0x8000000a, IntelPTAutoLevel: true,
		DefMinLevel: 4, DefMinXLevel: 0x8000000a, XLevelExplicit: true,
	}, {
		// The reference: probed in full.
		Model: "Old-v1", Machine: "pc-q35-7.2", Accel: "tcg",
		Features: []string{"avx", "lm", "nx", "sse4.2", "xsaveopt"}, Latent: []string{"vmx-activity-hlt", "vmx-hlt-exit"},
		Level: 13, XLevel: 0x8000000a, Family: 6, ModelNum: 6, Stepping: 3,
		ModelID: "QEMU Virtual CPU Old-v1", Vendor: "AuthenticAMD",
		MinLevel: 13, MinXLevel: 0x8000000a, FullCPUIDAutoLevel: true, IntelPTAutoLevel: true,
		DefMinLevel: 11, DefMinXLevel: 0x8000000a,
	}, {
		// Copied from pc-i440fx-7.2, which is the reference's.
		Model: "Old-v1", Machine: "pc-q35-4.0.1", Accel: "kvm",
		Features: []string{"avx", "kvmclock", "lm", "nx", "sse4.2", "xsaveopt"}, Latent: []string{"vmx-activity-hlt", "vmx-hlt-exit"},
		Level: 13, XLevel: 0x8000000a, Family: 6, ModelNum: 6, Stepping: 3,
		ModelID: "QEMU Virtual CPU Old-v1", Vendor: "HostVendor!",
		MinLevel: 13, MinXLevel: 0x8000000a, FullCPUIDAutoLevel: true, IntelPTAutoLevel: true,
		DefMinLevel: 11, DefMinXLevel: 0x8000000a,
	}, {
		Model: "Old-v1", Machine: "pc-i440fx-1.4", Accel: "tcg",
		Features: []string{"avx", "lm", "nx", "sse4.2", "xsaveopt"}, Latent: []string{"vmx-activity-hlt", "vmx-hlt-exit"},
		Level: 4, XLevel: 0x8000000a, Family: 6, ModelNum: 6, Stepping: 3,
		ModelID: "QEMU Virtual CPU Old-v1", Vendor: "AuthenticAMD",
		MinLevel: 4, MinXLevel: 0x8000000a, IntelPTAutoLevel: true,
		DefMinLevel: 4, DefMinXLevel: 0x8000000a,
	}}
	found := 0
	for _, e := range raw.Expansions {
		for _, want := range wants {
			if e.Model == want.Model && e.Machine == want.Machine && e.Accel == want.Accel {
				found++
				if !slices.Equal(e.Features, want.Features) {
					t.Errorf("%s on %s (%s): features %q, want %q", e.Model, e.Machine, e.Accel, e.Features, want.Features)
				}
				if !slices.Equal(e.Latent, want.Latent) {
					t.Errorf("%s on %s (%s): latent %q, want %q", e.Model, e.Machine, e.Accel, e.Latent, want.Latent)
				}
				e.Features, e.Latent = want.Features, want.Latent
				if !equalExpansion(e, want) {
					t.Errorf("expansion\n got %+v\nwant %+v", e, want)
				}
			}
		}
		if e.Accel == "kvm" && !slices.Contains(e.Features, "kvmclock") {
			t.Errorf("%s on %s (kvm): no kvmclock in %q", e.Model, e.Machine, e.Features)
		}
	}
	if found != len(wants) {
		t.Errorf("%d of the %d expansions checked found", found, len(wants))
	}
	if raw.HostVendor == "" {
		t.Error("kvm expansions but no host vendor")
	}
	// The catalog made of it verifies: every definition expands to
	// QEMU's answer.
	raw.HostVendor = "HostVendor!"
	if _, err := catalog.Compact(raw, feature.Builtin(), "fake"); err != nil {
		t.Error(err)
	}
}

func equalExpansion(a, b catalog.RawExpansion) bool {
	if !slices.Equal(a.Features, b.Features) {
		return false
	}
	a.Features, b.Features = nil, nil
	return a.Model == b.Model && a.Machine == b.Machine && a.Accel == b.Accel &&
		a.Level == b.Level && a.XLevel == b.XLevel && a.XLevel2 == b.XLevel2 &&
		a.Family == b.Family && a.ModelNum == b.ModelNum && a.Stepping == b.Stepping &&
		a.ModelID == b.ModelID && a.Vendor == b.Vendor &&
		a.MinLevel == b.MinLevel && a.MinXLevel == b.MinXLevel && a.MinXLevel2 == b.MinXLevel2 &&
		a.FullCPUIDAutoLevel == b.FullCPUIDAutoLevel && a.IntelPTAutoLevel == b.IntelPTAutoLevel &&
		slices.Equal(a.Latent, b.Latent) && a.DefMinLevel == b.DefMinLevel && a.DefMinXLevel == b.DefMinXLevel &&
		a.DefMinXLevel2 == b.DefMinXLevel2 && a.LevelExplicit == b.LevelExplicit &&
		a.XLevelExplicit == b.XLevelExplicit && a.XLevel2Explicit == b.XLevel2Explicit
}

// TestImportCompatFake: a QEMU that lists its machine types' compat
// properties runs once per distinct set of x86 CPU properties, across
// families, and the result is what running every machine type gives.
func TestImportCompatFake(t *testing.T) {
	bin := fakeBinary(t, "compat")
	imp := func(every bool) (*catalog.Raw, int) {
		t.Helper()
		runs := 0
		raw, err := Import(context.Background(), Options{
			Binary: bin, Accels: []string{"tcg", "kvm"}, KVM: KVMCapture, Parallel: 2, EveryMachine: every,
			Progress: func(done, total int) { runs = total },
		})
		if err != nil {
			t.Fatal(err)
		}
		return raw, runs
	}
	grouped, runs := imp(false)
	every, runsEvery := imp(true)
	// pc-i440fx-7.2, pc-i440fx-10.0 and pc-q35-7.2 are one run; 1.4 and
	// 4.0.1 one each; times two accelerators.
	if runs != 6 || runsEvery != 10 {
		t.Errorf("QEMU ran %d times grouped, %d for every machine type; want 6 and 10", runs, runsEvery)
	}
	if !reflect.DeepEqual(grouped, every) {
		t.Errorf("grouped import differs from the import of every machine type")
	}
	// The fake's old machine type does differ: grouping did not hide it.
	var levels []uint32
	for _, e := range grouped.Expansions {
		if e.Model == "qemu64-v1" && e.Accel == "tcg" {
			levels = append(levels, e.Level)
		}
	}
	if !slices.Equal(levels, []uint32{4, 13, 13, 13, 13}) {
		t.Errorf("qemu64-v1's levels by machine type: %v", levels)
	}
}

// TestImportDeriveFake: with kvm derived, QEMU runs under tcg only and
// every tcg answer gets its kvm answer (catalog.DeriveKVM, tested
// against QEMU's there), marked derived, for this host's vendor.
func TestImportDeriveFake(t *testing.T) {
	var progress int
	raw, err := Import(context.Background(), Options{Binary: fakeBinary(t, "ok"), KVM: KVMDerive,
		Progress: func(done, total int) { progress = total }})
	if err != nil {
		t.Fatal(err)
	}
	if progress != len(raw.Machines) {
		t.Errorf("%d QEMU runs, want %d (tcg only)", progress, len(raw.Machines))
	}
	vendor, err := hostVendor()
	if err != nil {
		t.Fatal(err)
	}
	if raw.KVMData != catalog.KVMDerived || raw.HostVendor != vendor {
		t.Errorf("kvm_data %q, host vendor %q; want %q, %q", raw.KVMData, raw.HostVendor, catalog.KVMDerived, vendor)
	}
	n := map[string]int{}
	for i, e := range raw.Expansions {
		n[e.Accel]++
		// Sorted: each kvm answer right before its tcg one.
		if e.Accel == "kvm" && (i+1 == len(raw.Expansions) || raw.Expansions[i+1].Model != e.Model ||
			raw.Expansions[i+1].Machine != e.Machine || raw.Expansions[i+1].Accel != "tcg") {
			t.Errorf("%s on %s: the kvm answer is not before the tcg one", e.Model, e.Machine)
		}
	}
	if n["kvm"] != n["tcg"] || n["tcg"] != len(raw.Models)*len(raw.Machines) {
		t.Errorf("answers per accelerator %v, want %d each", n, len(raw.Models)*len(raw.Machines))
	}
}

// TestImportNewerRelease: a QEMU newer than the registry imports. Its
// CPUs lack the two automatic-level properties (as 11.1's do), which
// read as on, and the flags of its -cpu help that the registry does not
// know are named in NewFeatures; a release the registry knows has none.
func TestImportNewerRelease(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"ok", nil},
		{"newer", []string{"zz-future", "zz-later", "zz-next"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			raw, err := Import(context.Background(), Options{Binary: fakeBinary(t, tc.mode), Accels: []string{"tcg"}, Machines: []string{"pc"}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(raw.NewFeatures, tc.want) {
				t.Errorf("NewFeatures %q, want %q", raw.NewFeatures, tc.want)
			}
			for _, e := range raw.Expansions {
				if !e.FullCPUIDAutoLevel || !e.IntelPTAutoLevel {
					t.Errorf("%s: full-cpuid-auto-level %v, x-intel-pt-auto-level %v, want both on", e.Model, e.FullCPUIDAutoLevel, e.IntelPTAutoLevel)
				}
			}
		})
	}
}

func TestImportFailures(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		opts       Options
		want       []string
	}{
		{"missing binary", "", Options{Binary: "qemu-system-nosuch"}, []string{`exec: "qemu-system-nosuch": executable file not found in $PATH`}},
		{"missing path", "", Options{Binary: "/nonexistent/qemu-system-x86_64"}, []string{"/nonexistent/qemu-system-x86_64", "no such file or directory"}},
		{"dies", "dies", Options{}, []string{"qemu-system-x86_64: exited with status 1: qemu-system-x86_64: could not load PC BIOS 'bios-256k.bin'"}},
		{"machine fails", "dieq35", Options{}, []string{"pc-q35-", "(tcg)", "exited with status 1: qemu-system-x86_64: -machine pc-q35-", ": fake failure"}},
		{"unknown machine", "ok", Options{Machines: []string{"pc-q35-7.3"}}, []string{`/qemu-system-x86_64 has no machine type "pc-q35-7.3" (did you mean "pc-q35-7.2"?)`}},
		{"bad prop", "badprop", Options{Machines: []string{"pc"}}, []string{"expand ", " on pc-i440fx-7.2 (tcg): ", `qemu-system-x86_64: property "level" is "thirteen", want an unsigned 32-bit integer`}},
		{"bad feature", "badfeature", Options{Machines: []string{"pc"}}, []string{" on pc-i440fx-7.2 (tcg): ", `property "avx" names feature "avx" but is 1, want a boolean`}},
		{"disagree", "disagree", Options{Machines: []string{"pc"}}, []string{`properties "sse4-2" (true) and "sse4_2" (false) both name feature "sse4.2" but disagree`}},
		{"missing prop", "missing", Options{Machines: []string{"pc"}}, []string{`no property "vendor"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			if tc.mode != "" {
				o.Binary = fakeBinary(t, tc.mode)
			}
			o.Accels = []string{"tcg"}
			raw, err := Import(context.Background(), o)
			if err == nil {
				t.Fatalf("Import succeeded with %d expansions", len(raw.Expansions))
			}
			checkErr(t, err, tc.want...)
			if tc.mode != "" && !strings.Contains(err.Error(), o.Binary) {
				t.Errorf("error %q does not name the binary %s", err, o.Binary)
			}
		})
	}
}

func TestImportCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Import(ctx, Options{
		Binary:   fakeBinary(t, "ok"),
		Accels:   []string{"tcg"},
		Parallel: 1,
		Progress: func(done, total int) {
			calls++
			cancel()
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
	if calls != 1 {
		t.Errorf("%d progress calls after cancelling, want 1", calls)
	}
}

// TestImportQEMU imports two machine types from the installed QEMU and
// checks facts read by hand from raw QMP sessions with QEMU 7.2.22
// (Debian 1:7.2+dfsg-7+deb12u18): the same commands, typed into
// "qemu-system-x86_64 -machine M -accel A -nodefaults -S -display none
// -qmp stdio".
func TestImportQEMU(t *testing.T) {
	bin := testenv.Need(t, testenv.QEMU, "import from a real QEMU")
	accels := []string{"tcg"}
	if testenv.Want(t, testenv.KVM, "kvm not imported") {
		accels = append(accels, "kvm")
	}
	raw, err := Import(context.Background(), Options{
		Binary:   bin,
		Machines: []string{"q35", "pc-i440fx-2.3"},
		Accels:   accels,
	})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[[3]string]catalog.RawExpansion{}
	for _, e := range raw.Expansions {
		byKey[[3]string{e.Model, e.Machine, e.Accel}] = e
	}
	if len(byKey) != len(raw.Expansions) || len(raw.Expansions) != len(raw.Models)*2*len(accels) {
		t.Errorf("%d expansions (%d distinct) of %d models", len(raw.Expansions), len(byKey), len(raw.Models))
	}
	if !strings.HasPrefix(raw.QEMUVersion, "7.2.") {
		testenv.Missing(t, testenv.QEMU, "QEMU %s: the facts below are QEMU 7.2's", raw.QEMUVersion)
	}

	t.Run("machines", func(t *testing.T) {
		want := []catalog.RawMachine{{Name: "pc-i440fx-2.3"}, {Name: "pc-q35-7.2", Alias: "q35"}}
		if !slices.Equal(raw.Machines, want) {
			t.Errorf("machines %+v, want %+v", raw.Machines, want)
		}
	})
	t.Run("models", func(t *testing.T) {
		if len(raw.Models) != 130 {
			t.Errorf("%d models, want 130 (every model but host and max)", len(raw.Models))
		}
		i := slices.IndexFunc(raw.Models, func(m catalog.RawModel) bool { return m.Name == "Skylake-Client" })
		if i < 0 || raw.Models[i].AliasOf != "Skylake-Client-v1" || !raw.Models[i].MigrationSafe {
			t.Errorf("Skylake-Client: %+v", raw.Models[i])
		}
		for _, m := range raw.Models {
			if m.Name == "host" || m.Name == "max" {
				t.Errorf("model %q imported", m.Name)
			}
		}
	})
	t.Run("qemu64 on pc-i440fx-2.3", func(t *testing.T) {
		// The 2.3 machine type keeps QEMU 2.3's qemu64: level 4 and its
		// model-id; tcg turns on no kvm paravirtual feature.
		got := byKey[[3]string{"qemu64", "pc-i440fx-2.3", "tcg"}]
		want := catalog.RawExpansion{
			Model: "qemu64", Machine: "pc-i440fx-2.3", Accel: "tcg",
			Features: strings.Fields("abm apic clflush cmov cx16 cx8 de fpu fxsr hypervisor lahf-lm lm mca mce mmx msr mtrr nx pae pat pge pni popcnt pse pse36 sep sse sse2 sse4a svm syscall tsc"),
			Level:    4, XLevel: 0x8000000a, Family: 6, ModelNum: 6, Stepping: 3,
			ModelID: "QEMU Virtual CPU version 2.3.0", Vendor: "AuthenticAMD",
			MinLevel: 4, MinXLevel: 0x8000000a,
			// Nothing hidden; the levels are compat properties.
			DefMinLevel: 4, DefMinXLevel: 0x8000000a,
		}
		if !equalExpansion(got, want) {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("Skylake-Client-v4 on pc-q35-7.2", func(t *testing.T) {
		tcg := byKey[[3]string{"Skylake-Client-v4", "pc-q35-7.2", "tcg"}]
		if tcg.Vendor != "GenuineIntel" || tcg.ModelNum != 94 || tcg.Level != 13 || !tcg.FullCPUIDAutoLevel {
			t.Errorf("tcg: %+v", tcg)
		}
		for _, f := range []string{"avx2", "spec-ctrl", "xsaves", "x2apic"} {
			if !slices.Contains(tcg.Features, f) {
				t.Errorf("tcg: no %s in %q", f, tcg.Features)
			}
		}
		// Skylake defines 70 VMX capabilities but not vmx; its level
		// is its own.
		if len(tcg.Latent) != 70 || !slices.Contains(tcg.Latent, "vmx-ept") || slices.Contains(tcg.Latent, "vmx") ||
			tcg.DefMinLevel != 13 || tcg.LevelExplicit || tcg.XLevelExplicit {
			t.Errorf("tcg definition: latent %q, %+v", tcg.Latent, tcg)
		}
		// TCG's defaults turn vme off; QEMU's kvm defaults turn the
		// paravirtual features on.
		for _, f := range []string{"vme", "kvmclock", "hle", "rtm"} {
			if slices.Contains(tcg.Features, f) {
				t.Errorf("tcg: %s in %q", f, tcg.Features)
			}
		}
		if !slices.Contains(accels, "kvm") {
			return
		}
		kvm := byKey[[3]string{"Skylake-Client-v4", "pc-q35-7.2", "kvm"}]
		// Under kvm QEMU gives every model the host's vendor.
		if kvm.Vendor != raw.HostVendor || raw.HostVendor == "" {
			t.Errorf("kvm vendor %q, host vendor %q", kvm.Vendor, raw.HostVendor)
		}
		for _, f := range []string{"vme", "kvmclock", "kvmclock-stable-bit", "kvm-pv-eoi", "avx2"} {
			if !slices.Contains(kvm.Features, f) {
				t.Errorf("kvm: no %s in %q", f, kvm.Features)
			}
		}
	})
	t.Run("definitions", func(t *testing.T) {
		if !raw.Definitions {
			t.Fatal("no definitions recorded")
		}
		// pc_compat_2_12 sets EPYC's xlevel (not EPYC-v1's): explicit,
		// below the model's own min-xlevel.
		e := byKey[[3]string{"EPYC", "pc-i440fx-2.3", "tcg"}]
		if !e.XLevelExplicit || e.XLevel != 0x8000000a || e.DefMinXLevel != 0x8000001e || e.LevelExplicit {
			t.Errorf("EPYC on pc-i440fx-2.3: %+v", e)
		}
		if e := byKey[[3]string{"EPYC-v1", "pc-i440fx-2.3", "tcg"}]; e.XLevelExplicit || e.XLevel != 0x8000001e {
			t.Errorf("EPYC-v1 on pc-i440fx-2.3: %+v", e)
		}
		// kvm turns svm off, which hides the SVM features EPYC defines.
		if !slices.Contains(accels, "kvm") {
			return
		}
		if e := byKey[[3]string{"EPYC-v3", "pc-q35-7.2", "kvm"}]; !slices.Equal(e.Latent, []string{"npt", "nrip-save"}) {
			t.Errorf("EPYC-v3 on pc-q35-7.2 (kvm): latent %q", e.Latent)
		}
	})
}

// TestImportReleasesLive imports the default pc-q35 machine type under
// tcg from each QEMU release's binary (scripts/qemu-release.sh unpacks
// 5.2, 10.0 and 11.1; 7.2 is Debian's). The facts were read from the
// binaries: query-cpu-definitions less host and max, and the flags of
// "-cpu help" that core/feature's table lacks (none since 11.1's names
// are in it). 11.1's CPUs have no
// full-cpuid-auto-level or x-intel-pt-auto-level (qom-list-properties),
// which the importer reads as on.
func TestImportReleasesLive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts two QEMU processes per release")
	}
	for _, tc := range []struct {
		req     testenv.Req
		version string
		models  int
		newer   []string
	}{
		{testenv.QEMU52, "5.2.", 121, nil},
		{testenv.QEMU, "7.2.", 130, nil},
		{testenv.QEMU10, "10.0.", 152, nil},
		{testenv.QEMU111, "11.1.", 187, nil},
	} {
		t.Run(string(tc.req), func(t *testing.T) {
			bin := testenv.Need(t, tc.req, "import from QEMU "+strings.TrimSuffix(tc.version, "."))
			raw, err := Import(context.Background(), Options{Binary: bin, Machines: []string{"q35"}, Accels: []string{"tcg"}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(raw.QEMUVersion, tc.version) {
				t.Fatalf("%s is QEMU %s, want %sx", bin, raw.QEMUVersion, tc.version)
			}
			if len(raw.Models) != tc.models || len(raw.Expansions) != tc.models {
				t.Errorf("%d models, %d expansions, want %d each", len(raw.Models), len(raw.Expansions), tc.models)
			}
			if !slices.Equal(raw.NewFeatures, tc.newer) {
				t.Errorf("NewFeatures %q, want %q", raw.NewFeatures, tc.newer)
			}
			// A known release's import records definitions (11.1's read
			// with the Z probe, definitions_levels.go).
			if _, err := core.ParseRelease(raw.QEMUVersion); err == nil && !raw.Definitions {
				t.Errorf("QEMU %s is a known release, but the import has no definitions", raw.QEMUVersion)
			}
			for _, e := range raw.Expansions {
				// Every machine type a q35 alias names has both
				// automatic levels on, as property or as rule.
				if !e.FullCPUIDAutoLevel || !e.IntelPTAutoLevel || len(e.Features) == 0 && e.Model != "base" {
					t.Errorf("%s on %s: %+v", e.Model, e.Machine, e)
				}
			}
		})
	}
}

// driftFinding is what changed for one model between two releases on one
// machine type both have, under tcg.
type driftFinding struct {
	model          string
	gained, lost   []string // features
	otherDiffering []string // level, xlevel, family, … that differ
}

// driftImports are releaseDrift's imports, by binary and machine type
// (the tests that use it do not run in parallel).
var driftImports = map[string]map[string]catalog.RawExpansion{}

// releaseDrift imports machine from both binaries under tcg and returns
// the models only the older or only the newer has, and the models both
// have that expand differently.
func releaseDrift(t *testing.T, oldBin, newBin, machine string) (removed, added []string, changed []driftFinding) {
	t.Helper()
	imp := func(bin string) map[string]catalog.RawExpansion {
		// The 5.2→11.1 comparison takes the machine types the steps
		// already imported: each is imported once per test run.
		key := bin + " " + machine
		if m, ok := driftImports[key]; ok {
			return m
		}
		raw, err := Import(context.Background(), Options{Binary: bin, Machines: []string{machine}, Accels: []string{"tcg"}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]catalog.RawExpansion{}
		for _, e := range raw.Expansions {
			m[e.Model] = e
		}
		driftImports[key] = m
		return m
	}
	o, n := imp(oldBin), imp(newBin)
	for name := range o {
		if _, ok := n[name]; !ok {
			removed = append(removed, name)
		}
	}
	for name, ne := range n {
		oe, ok := o[name]
		if !ok {
			added = append(added, name)
			continue
		}
		f := driftFinding{model: name}
		for _, x := range ne.Features {
			if !slices.Contains(oe.Features, x) {
				f.gained = append(f.gained, x)
			}
		}
		for _, x := range oe.Features {
			if !slices.Contains(ne.Features, x) {
				f.lost = append(f.lost, x)
			}
		}
		for _, c := range []struct {
			name string
			a, b any
		}{
			{"level", oe.Level, ne.Level}, {"xlevel", oe.XLevel, ne.XLevel}, {"xlevel2", oe.XLevel2, ne.XLevel2},
			{"family", oe.Family, ne.Family}, {"model", oe.ModelNum, ne.ModelNum}, {"stepping", oe.Stepping, ne.Stepping},
			{"model-id", oe.ModelID, ne.ModelID}, {"vendor", oe.Vendor, ne.Vendor},
		} {
			if c.a != c.b {
				f.otherDiffering = append(f.otherDiffering, fmt.Sprintf("%s %v→%v", c.name, c.a, c.b))
			}
		}
		if f.gained != nil || f.lost != nil || f.otherDiffering != nil {
			changed = append(changed, f)
		}
	}
	slices.Sort(removed)
	slices.Sort(added)
	slices.SortFunc(changed, func(a, b driftFinding) int { return strings.Compare(a.model, b.model) })
	return removed, added, changed
}

// TestReleaseDriftLive compares consecutive QEMU releases on the newest
// machine type the older one has (which the newer keeps): QEMU's rule is
// that a model on a given machine type never changes, so every model both
// have must expand alike there. The models each release drops or adds,
// and every model that does change, are the drift table of
// bench/RESULTS.md; this test holds the table to the real binaries (tcg:
// no /dev/kvm here).
func TestReleaseDriftLive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: imports one machine type from each of four QEMUs")
	}
	var allAdded []string
	for _, tc := range []struct {
		old, new       testenv.Req
		machine        string
		removed, added []string
		changed        []string // "model: what differs"
	}{
		// 7.2 dropped Icelake-Client (deprecated in 5.2), and on the
		// 5.2 machine type qemu64-v1 is no longer 5.2's: 7.2 made
		// qemu64 family 15 model 107 stepping 1, keeping 6/6/3 on old
		// machine types only for the unversioned qemu64 class (the
		// compat property names it), not for qemu64-v1.
		{testenv.QEMU52, testenv.QEMU, "pc-q35-5.2",
			strings.Fields("Icelake-Client Icelake-Client-noTSX Icelake-Client-v1 Icelake-Client-v2"),
			strings.Fields(`Cascadelake-Server-v5 Cooperlake-v2 Denverton-v3 Dhyana-v2 EPYC-Milan EPYC-Milan-v1
				EPYC-Rome-v2 Icelake-Server-v5 Icelake-Server-v6 Skylake-Client-v4 Skylake-Server-v5 Snowridge-v3 Snowridge-v4`),
			[]string{`qemu64-v1: features +[] -[] ["family 6→15" "model 6→107" "stepping 3→1"]`}},
		{testenv.QEMU, testenv.QEMU10, "pc-q35-7.2", nil,
			strings.Fields(`ClearwaterForest ClearwaterForest-v1 EPYC-Genoa EPYC-Genoa-v1 EPYC-Milan-v2 EPYC-Rome-v3
				EPYC-Rome-v4 EPYC-v4 GraniteRapids GraniteRapids-v1 GraniteRapids-v2 Icelake-Server-v7 SapphireRapids
				SapphireRapids-v1 SapphireRapids-v2 SapphireRapids-v3 SierraForest SierraForest-v1 SierraForest-v2
				YongFeng YongFeng-v1 YongFeng-v2`), nil},
		{testenv.QEMU10, testenv.QEMU111, "pc-q35-10.0", nil,
			strings.Fields(`Cascadelake-Server-v6 Cascadelake-Server-v7 ClearwaterForest-v2 ClearwaterForest-v3
				ClearwaterForest-v4 DiamondRapids DiamondRapids-v1 DiamondRapids-v2 EPYC-Genoa-v2 EPYC-Genoa-v3
				EPYC-Milan-v3 EPYC-Milan-v4 EPYC-Rome-v5 EPYC-Turin EPYC-Turin-v1 EPYC-Turin-v2 EPYC-v5
				GraniteRapids-v3 GraniteRapids-v4 GraniteRapids-v5 GraniteRapids-v6 GraniteRapids-v7
				Icelake-Server-v8 Icelake-Server-v9 SapphireRapids-v4 SapphireRapids-v5 SapphireRapids-v6
				SapphireRapids-v7 SapphireRapids-v8 SierraForest-v3 SierraForest-v4 SierraForest-v5
				SierraForest-v6 Skylake-Server-v6 YongFeng-v3`), nil},
	} {
		t.Run(string(tc.old)+"→"+string(tc.new), func(t *testing.T) {
			oldBin := testenv.Need(t, tc.old, "compare releases")
			newBin := testenv.Need(t, tc.new, "compare releases")
			removed, added, changed := releaseDrift(t, oldBin, newBin, tc.machine)
			if !slices.Equal(removed, tc.removed) {
				t.Errorf("on %s, %d models only the older has: %q, want %q", tc.machine, len(removed), removed, tc.removed)
			}
			if !slices.Equal(added, tc.added) {
				t.Errorf("on %s, %d models only the newer has: %q, want %q", tc.machine, len(added), added, tc.added)
			}
			var got []string
			for _, c := range changed {
				got = append(got, fmt.Sprintf("%s: features +%q -%q %q", c.model, c.gained, c.lost, c.otherDiffering))
			}
			if !slices.Equal(got, tc.changed) {
				t.Errorf("on %s, models that changed:\n got %q\nwant %q", tc.machine, got, tc.changed)
			}
		})
		allAdded = append(allAdded, tc.added...)
	}
	slices.Sort(allAdded)

	// A site going from 5.2 straight to 11.1 (what `catalog verify` of
	// a 5.2 lock against 11.1 checks): 11.1 keeps only the 5.2 machine
	// types of 5.2's 43, and on both every model 5.2 has and 11.1 kept
	// expands as it did, but for qemu64-v1's identity; the models 11.1 adds
	// are those of the three steps.
	t.Run("qemu-5.2→qemu-11.1", func(t *testing.T) {
		oldBin := testenv.Need(t, testenv.QEMU52, "compare releases")
		newBin := testenv.Need(t, testenv.QEMU111, "compare releases")
		machines := func(bin string) []string {
			_, all, err := survey(context.Background(), bin, &featureNames{reg: feature.Builtin(), ids: map[string]lookup{}})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range all {
				if isPCMachine(m.Name) {
					out = append(out, m.Name)
				}
			}
			return out
		}
		o, n := machines(oldBin), machines(newBin)
		var kept []string
		for _, m := range o {
			if slices.Contains(n, m) {
				kept = append(kept, m)
			}
		}
		slices.Sort(kept)
		if len(o) != 43 || !slices.Equal(kept, []string{"pc-i440fx-5.2", "pc-q35-5.2"}) {
			t.Errorf("5.2 has %d machine types, of which 11.1 keeps %q; want 43 and the two 5.2 ones", len(o), kept)
		}
		for _, m := range kept {
			removed, added, changed := releaseDrift(t, oldBin, newBin, m)
			var got []string
			for _, c := range changed {
				got = append(got, fmt.Sprintf("%s: features +%q -%q %q", c.model, c.gained, c.lost, c.otherDiffering))
			}
			if !slices.Equal(removed, strings.Fields("Icelake-Client Icelake-Client-noTSX Icelake-Client-v1 Icelake-Client-v2")) ||
				!slices.Equal(added, allAdded) ||
				!slices.Equal(got, []string{`qemu64-v1: features +[] -[] ["family 6→15" "model 6→107" "stepping 3→1"]`}) {
				t.Errorf("on %s: removed %q, added %d (want the %d of the steps), changed %q", m, removed, len(added), len(allAdded), got)
			}
		}
	})
}
