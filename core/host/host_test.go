package host

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/kvm"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

var fixedTime = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

// fakeProber is a Prober with canned answers, for the paths a live host
// cannot be made to take (no /dev/kvm, no cpuinfo).
type fakeProber struct {
	leaves  cpuid.Leaves
	xcr0    *uint64
	flags   []string
	kvm     *kvm.Info
	kvmErr  error
	kernel  string
	hostErr error
}

func (f fakeProber) CPUID() (cpuid.Leaves, error) { return f.leaves, nil }
func (f fakeProber) XCR0() (uint64, error) {
	if f.xcr0 == nil {
		return 0, errors.New("no xcr0")
	}
	return *f.xcr0, nil
}
func (f fakeProber) CPUInfoFlags() ([]string, error) {
	if f.flags == nil {
		return nil, fs.ErrNotExist
	}
	return f.flags, nil
}
func (f fakeProber) KVM() (*kvm.Info, error)   { return f.kvm, f.kvmErr }
func (f fakeProber) Kernel() (string, error)   { return f.kernel, nil }
func (f fakeProber) Hostname() (string, error) { return "fake", f.hostErr }

func machineDump(t testing.TB) cpuid.Leaves {
	t.Helper()
	f, err := os.Open("../../testdata/hosts/this-machine.cpuid.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ls, err := cpuid.ParseDump(f.Name(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// TestProbeWithoutKVM covers a host where /dev/kvm is missing: the
// snapshot says "kvm": null with the reason, and has no kvm layer.
func TestProbeWithoutKVM(t *testing.T) {
	reg := feature.Builtin()
	_, openErr := kvm.Probe("/nonexistent/kvm")
	if openErr == nil {
		t.Fatal("kvm.Probe of a missing device succeeded")
	}
	s, err := Probe(fakeProber{leaves: machineDump(t), kvmErr: openErr, kernel: "6.1.0-test"}, reg, fixedTime)
	if err != nil {
		t.Fatal(err)
	}
	if s.KVM != nil || s.KVMError != openErr.Error() {
		t.Fatalf("kvm = %v, kvm_error = %q; want null and %q", s.KVM, s.KVMError, openErr)
	}
	if len(s.Features.KVM) != 0 || len(s.Features.HW) == 0 {
		t.Fatalf("layers: hw %d, kvm %d; want hw > 0, kvm 0", len(s.Features.HW), len(s.Features.KVM))
	}
	// Without cpuinfo and XCR0 there is no evidence of anything disabled.
	if !slices.Equal(s.Features.OS, s.Features.HW) {
		t.Errorf("os layer %v differs from hw %v without evidence", s.Features.OS, s.Features.HW)
	}
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("  \"kvm\": null,\n  \"kvm_error\": %q,\n", openErr.Error())
	if !bytes.Contains(data, []byte(want)) {
		t.Errorf("snapshot lacks %q:\n%s", want, data)
	}
	roundTrip(t, "no-kvm", data)
}

// roundTrip checks that data parses and marshals back to the same bytes.
func roundTrip(t *testing.T, name string, data []byte) *HostSnapshot {
	t.Helper()
	s, err := Parse(name, data, feature.Builtin())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	again, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("%s: load → save is not byte-identical:\n--- saved\n%s\n--- loaded\n%s", name, again, data)
	}
	return s
}

func TestRecordedSnapshotsRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/hosts/*.json")
	if len(files) == 0 {
		t.Fatal("no snapshots in testdata/hosts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, f, data)
		})
	}
}

// TestReplayReproducesSnapshot: probing a replayed snapshot gives the same
// snapshot, so the live code path and recorded hosts agree.
func TestReplayReproducesSnapshot(t *testing.T) {
	data, err := os.ReadFile("../../testdata/hosts/this-machine.json")
	if err != nil {
		t.Fatal(err)
	}
	s := roundTrip(t, "this-machine.json", data)
	again, err := Probe(Replay(s), feature.Builtin(), s.ProbedAt)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := again.Marshal()
	if !bytes.Equal(got, data) {
		t.Errorf("replayed probe differs from the recording:\n%s", got)
	}
}

func TestOSLayer(t *testing.T) {
	reg := feature.Builtin()
	hw, err := reg.Set("avx", "avx2", "avx512f", "sse4.2", "vmx-exit-nosave-debugctl", "amx-tile")
	if err != nil {
		t.Fatal(err)
	}
	ymmOnly := uint64(0b111)
	for _, c := range []struct {
		name  string
		xcr0  *uint64
		flags []string
		want  []string
	}{
		{"no evidence", nil, nil, []string{"amx-tile", "avx", "avx2", "avx512f", "sse4.2", "vmx-exit-nosave-debugctl"}},
		{"xcr0 without avx-512 or amx state", &ymmOnly, nil, []string{"avx", "avx2", "sse4.2", "vmx-exit-nosave-debugctl"}},
		{"cpuinfo hides avx2", nil, []string{"avx", "avx512f", "sse4_2", "amx_tile"}, []string{"amx-tile", "avx", "avx512f", "sse4.2", "vmx-exit-nosave-debugctl"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := reg.Names(OSLayer(reg, hw, c.xcr0, c.flags))
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	for _, c := range []struct {
		eax                     uint32
		family, model, stepping int
	}{
		{0x00050654, 6, 85, 4},   // Xeon Gold 6130
		{0x00830f10, 23, 49, 0},  // EPYC 7502
		{0x000806ea, 6, 142, 10}, // Core i7-8550U
		{0x00a00f11, 25, 1, 1},   // EPYC 7763 (Zen 3)
		{0x00000f4a, 15, 4, 10},  // Pentium 4: extended family 0
	} {
		f, m, s := Signature(c.eax)
		if f != c.family || m != c.model || s != c.stepping {
			t.Errorf("Signature(%#x) = %d-%d-%d, want %d-%d-%d", c.eax, f, m, s, c.family, c.model, c.stepping)
		}
	}
}

func TestFromQEMUExpansion(t *testing.T) {
	reg := feature.Builtin()
	for _, c := range []struct {
		file                    string
		vendor, brand           string
		family, model, stepping int
		has, lacks              []string
		// release: every capture is from a QEMU older than 5.2 (libvirt
		// recorded no version): each lacks some of 5.2's properties and
		// has none 5.2 lacks (core/qemurelease's TestDetect).
		release string
	}{
		{"x86_64-cpuid-Xeon-Gold-6130.json", "GenuineIntel", "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", 6, 85, 4,
			[]string{"avx512f", "sse4.1", "kvmclock", "vmx", "pku"}, []string{"svm", "avx512-bf16"}, "pre-5.2"},
		{"x86_64-cpuid-EPYC-7502-32-Core.json", "AuthenticAMD", "AMD EPYC 7502 32-Core Processor", 23, 49, 0,
			[]string{"svm", "clzero", "sha-ni", "x2apic"}, []string{"avx512f", "vmx-ept"}, "pre-5.2"},
		{"x86_64-cpuid-Core-i7-8550U.json", "GenuineIntel", "Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz", 6, 142, 10,
			[]string{"avx2", "pni", "vmx-unrestricted-guest"}, []string{"avx512f"}, "pre-5.2"},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("../../testdata/qemu-hosts", c.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := FromQEMUExpansion(path, f, reg, fixedTime)
			if err != nil {
				t.Fatal(err)
			}
			if s.Vendor != c.vendor || s.Brand != c.brand || s.Family != c.family || s.Model != c.model || s.Stepping != c.stepping {
				t.Errorf("identity = %q %q %d-%d-%d", s.Vendor, s.Brand, s.Family, s.Model, s.Stepping)
			}
			kv, err := reg.Set(s.Features.KVM...)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range c.has {
				if id, _ := reg.Lookup(n); !kv.Has(id) {
					t.Errorf("kvm layer lacks %s", n)
				}
			}
			for _, n := range c.lacks {
				if id, _ := reg.Lookup(n); kv.Has(id) {
					t.Errorf("kvm layer has %s", n)
				}
			}
			if s.KVM != nil || !strings.Contains(s.KVMError, c.file) {
				t.Errorf("kvm = %v, kvm_error = %q", s.KVM, s.KVMError)
			}
			if s.QEMURelease != c.release {
				t.Errorf("qemu_release = %q, want %q", s.QEMURelease, c.release)
			}
			data, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, c.file, data)
		})
	}
}

func TestParseRejects(t *testing.T) {
	good, err := os.ReadFile("../../testdata/hosts/this-machine.json")
	if err != nil {
		t.Fatal(err)
	}
	qmp, err := os.ReadFile("../../testdata/qemu-hosts/x86_64-cpuid-Xeon-Gold-6130.json")
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("fixture lacks %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string // the message after "snap.json"
	}{
		{"empty", nil, ":1:1: not a cpupolicy host snapshot: malformed JSON: unexpected end of JSON input"},
		{"truncated", good[:len(good)/2], ":"},
		{"truncated at the start", good[:1], ":1:2: malformed JSON: unexpected end of JSON input"},
		{"binary noise", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), ":1:1: not a cpupolicy host snapshot: malformed JSON: invalid character"},
		{"an array", []byte("[\n  {}\n]\n"), ":1:1: not a cpupolicy host snapshot: got JSON array, want object"},
		{"schema a number", []byte("{\n  \"schema\": 1\n}"), ":2:13: schema: got JSON number, want string"},
		{"bad time", replace(`"probed_at": "`, `"probed_at": "x`), `:5:3: probed_at "x`},
		{"alien json (a QMP reply)", qmp, `:1:1: not a cpupolicy host snapshot: no "schema" key`},
		{"wrong schema", replace(Schema, "cpupolicy/host-snapshot/v9"), `:2:3: not a cpupolicy host snapshot: schema "cpupolicy/host-snapshot/v9", want "cpupolicy/host-snapshot/v1"`},
		{"unknown key", replace(`"source": `, `"extra": 1, "source": `), `:3:3: unknown key "extra"`}, // at the key
		{"unknown feature", replace(`"hw": ["`, `"hw": ["avx512", "`), `:194:5: features.hw: unknown feature "avx512" (did you mean "avx512f"?)`},
		{"negative subleaf", replace(`"subleaf": 0, "eax": `, `"subleaf": -1, "eax": `), ":15:28: cpuid[0].subleaf: got JSON number -1, want unsigned integer"},
		{"bad source", replace(`"source": "live"`, `"source": "guess"`), `:3:3: unknown source "guess"`},
		{"qemu_release of a live probe", replace(`"source": "live",`, `"source": "live", "qemu_release": "7.2",`), `: qemu_release "7.2" in a snapshot from "live": only a QEMU expansion has one`},
		{"unknown qemu_release", replace(`"source": "live",`, `"source": "qemu-expansion", "qemu_release": "pre-9.9",`), `: qemu_release: unknown QEMU release code "pre-9.9" (want RELEASE, pre-RELEASE, post-RELEASE or near-RELEASE; releases: 5.2, 7.2, 10.0, 11.1)`},
		{"trailing data", append(append([]byte{}, good...), []byte("{}")...), ":200:1: data after the snapshot"},
		{"bad msr key", replace(`"feature_msrs": {`, `"feature_msrs": {"0X10A": 1,`), `:186:5: kvm.feature_msrs: key "0X10A" is not a lowercase "0x…" MSR index`},
		{"bad plugin module", replace(`"features": {`, `"plugins": [{"name": "amd", "version": "1", "module": "md5:00"}], "features": {`), `:193:3: plugins[0]: module "md5:00" is not "sha256:" and 64 lowercase hex digits`},
		{"plugin records out of order", replace(`"features": {`, `"plugins": [{"name": "b", "version": "1", "module": "sha256:`+strings.Repeat("0", 64)+`"}, {"name": "a", "version": "1", "module": "sha256:`+strings.Repeat("1", 64)+`"}], "features": {`), `:193:3: plugins[1]: a is not after b (one record per plugin, sorted by name)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("snap.json", c.data, feature.Builtin())
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", s)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "snap.json"+c.want) {
				t.Errorf("error %q, want prefix %q", msg, "snap.json"+c.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

// TestPluginRecords: records of the plugins that decoded a snapshot are
// kept sorted, one per plugin, and survive a save and a load.
func TestPluginRecords(t *testing.T) {
	s, err := ReadFile("../../testdata/hosts/this-machine.json", feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	h := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	s.RecordPlugin(PluginRecord{Name: "zhaoxin", Version: "1.0.0", Module: h("a")})
	s.RecordPlugin(PluginRecord{Name: "amd", Version: "1.0.0", Module: h("b")})
	s.RecordPlugin(PluginRecord{Name: "amd", Version: "1.1.0", Module: h("c")})
	want := []PluginRecord{{"amd", "1.1.0", h("c")}, {"zhaoxin", "1.0.0", h("a")}}
	if !slices.Equal(s.Plugins, want) {
		t.Fatalf("records %v, want %v", s.Plugins, want)
	}
	if !s.DecodedBy("amd", h("c")) || s.DecodedBy("amd", h("b")) || s.DecodedBy("intel", h("c")) {
		t.Error("DecodedBy does not match name and module")
	}
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("saved.json", data, feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Plugins, want) {
		t.Errorf("loaded records %v, want %v", back.Plugins, want)
	}
	if again, _ := back.Marshal(); !bytes.Equal(again, data) {
		t.Error("save → load → save changed the bytes")
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/hosts/*.json")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"schema":"cpupolicy/host-snapshot/v1"}`))
	f.Add([]byte(`{"schema":"cpupolicy/host-snapshot/v1","source":"live","probed_at":"2026-01-01T00:00:00Z","cpuid":[],"kvm":null,"kvm_error":"x","features":{"hw":[],"os":[],"kvm":[]}}`))
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.json", data, reg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error does not name the file on one line: %q", err)
			}
			return
		}
		// Whatever parses must save and load back to the same bytes.
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Parse("again.json", out, reg)
		if err != nil {
			t.Fatalf("saved snapshot does not load: %v\n%s", err, out)
		}
		out2, _ := s2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("save → load → save changed the bytes")
		}
	})
}

// TestFromCPUIDDumpGolden: the checked-in --from-cpuid-dump snapshot is
// what FromCPUIDDump makes of the checked-in dump, and its CPUID is the
// dump's, leaf for leaf.
func TestFromCPUIDDumpGolden(t *testing.T) {
	golden, err := os.ReadFile("../../testdata/hosts/this-machine.from-dump.json")
	if err != nil {
		t.Fatal(err)
	}
	want := roundTrip(t, "this-machine.from-dump.json", golden)
	dump := "../../testdata/hosts/this-machine.cpuid.txt"
	f, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The golden file was made with the dump's repository-relative name.
	s, err := FromCPUIDDump("testdata/hosts/this-machine.cpuid.txt", f, feature.Builtin(), want.ProbedAt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, golden) {
		t.Errorf("FromCPUIDDump differs from %s:\n%s", "this-machine.from-dump.json", got)
	}
	if !slices.Equal(s.Leaves(), machineDump(t)) {
		t.Errorf("snapshot CPUID differs from the dump")
	}
	var text bytes.Buffer
	if err := cpuid.WriteDump(&text, s.Leaves()); err != nil {
		t.Fatal(err)
	}
	back, err := cpuid.ParseDump("written", &text)
	if err != nil || !slices.Equal(back, s.Leaves()) {
		t.Errorf("snapshot → dump → leaves changed the leaves (%v)", err)
	}
}

// TestLiveKVMIsRawIoctl: the live snapshot's kvm object is exactly what
// kvm.Probe read (which core/kvm checks against a C program doing the raw
// ioctls), entry for entry and in the kernel's order.
func TestLiveKVMIsRawIoctl(t *testing.T) {
	raw, err := kvm.Probe("/dev/kvm")
	if err != nil {
		testenv.Missing(t, testenv.KVM, "no usable /dev/kvm: %v", err)
	}
	var s *HostSnapshot
	// KVM puts the calling CPU's APIC ID into leaves 1 and 0xB: probe both
	// from the same CPU.
	onFirstCPU(func() {
		raw, err = kvm.Probe("/dev/kvm")
		if err == nil {
			s, err = Probe(Live(LiveConfig{}), feature.Builtin(), fixedTime)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.KVM == nil {
		t.Fatalf("live snapshot has no kvm: %s", s.KVMError)
	}
	if !entriesEqual(s.KVM.SupportedCPUID, fromKVMEntries(raw.SupportedCPUID)) {
		t.Errorf("supported_cpuid differs from KVM_GET_SUPPORTED_CPUID")
	}
	if !entriesEqual(s.KVM.EmulatedCPUID, fromKVMEntries(raw.EmulatedCPUID)) {
		t.Errorf("emulated_cpuid differs from KVM_GET_EMULATED_CPUID")
	}
	if fmt.Sprint(s.KVM.Capabilities) != fmt.Sprint(raw.Capabilities) || fmt.Sprint(s.KVM.FeatureMSRs) != fmt.Sprint(raw.FeatureMSRs) {
		t.Errorf("capabilities or feature MSRs differ")
	}
	if len(s.KVM.SupportedCPUID) == 0 || s.KVM.APIVersion != 12 {
		t.Errorf("implausible KVM answer: api %d, %d entries", s.KVM.APIVersion, len(s.KVM.SupportedCPUID))
	}
	t.Logf("kvm: %d supported, %d emulated entries, %d capabilities, %d feature MSRs",
		len(s.KVM.SupportedCPUID), len(s.KVM.EmulatedCPUID), len(s.KVM.Capabilities), len(s.KVM.FeatureMSRs))
}

// entriesEqual compares CPUID entries by value (Flags is a pointer).
func entriesEqual(a, b []CPUIDEntry) bool {
	return slices.EqualFunc(a, b, func(x, y CPUIDEntry) bool {
		if (x.Flags == nil) != (y.Flags == nil) || x.Flags != nil && *x.Flags != *y.Flags {
			return false
		}
		// KVM copies the processor IDs of the CPU the ioctl ran on,
		// which a hypervisor may change between the two probes.
		leaf := func(e CPUIDEntry) cpuid.Leaf {
			return cpuid.Leaf{Leaf: e.Leaf, Subleaf: e.Subleaf, EAX: e.EAX, EBX: e.EBX, ECX: e.ECX, EDX: e.EDX}.WithoutProcessorIDs()
		}
		return leaf(x) == leaf(y)
	})
}

func BenchmarkParseSnapshot(b *testing.B) {
	data, err := os.ReadFile("../../testdata/hosts/this-machine.json")
	if err != nil {
		b.Fatal(err)
	}
	reg := feature.Builtin()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("this-machine.json", data, reg); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzFromQEMUExpansion(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/qemu-hosts/*.json")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data[:min(len(data), 3000)]) // a prefix keeps mutation fast
		}
	}
	f.Add([]byte(`{"return": {"model": {"name": "host", "props": {"avx2": true, "family": 6, "vendor": "GenuineIntel"}}}}`))
	f.Add([]byte(`{"error": {"class": "GenericError", "desc": "no"}}` + "\n" + `{"return": []}`))
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := FromQEMUExpansion("fuzz.qmp", bytes.NewReader(data), reg, fixedTime)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.qmp") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error does not name the file on one line: %q", err)
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("out.json", out, reg); err != nil {
			t.Fatalf("snapshot from an expansion does not load: %v", err)
		}
	})
}

func TestName(t *testing.T) {
	named := &HostSnapshot{Hostname: "node-7"}
	for _, c := range []struct {
		s    *HostSnapshot
		path string
		want string
	}{
		{named, "testdata/hosts/xeon-gold-6130.json", "node-7"},
		{&HostSnapshot{}, "testdata/hosts/xeon-gold-6130.json", "xeon-gold-6130"},
		{&HostSnapshot{}, "xeon.snapshot", "xeon.snapshot"},
		{nil, "a/b.json", "b"},
		{&HostSnapshot{}, "", LiveName},
		{named, "", "node-7"},
	} {
		if got := Name(c.s, c.path); got != c.want {
			t.Errorf("Name(%+v, %q) = %q, want %q", c.s, c.path, got, c.want)
		}
	}
}

// TestABILevels: a snapshot's levels are its layers', written by Marshal;
// Parse rejects a file whose levels contradict its layers, and reads one
// without them (older snapshots).
func TestABILevels(t *testing.T) {
	reg := feature.Builtin()
	data, err := os.ReadFile("../../testdata/hosts/this-machine.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("this-machine.json", data, reg)
	if err != nil {
		t.Fatal(err)
	}
	// A nested guest: the CPU reaches v4, its KVM hides pni and more.
	if got, want := s.Features.ABILevels(), (ABILevels{HW: 4, OS: 4, KVM: 1}); got != want {
		t.Errorf("levels %s, want %s", got, want)
	}
	line := []byte(`"abi_levels": {"hw": 4, "os": 4, "kvm": 1}`)
	if !bytes.Contains(data, line) {
		t.Fatalf("the recording lacks %s", line)
	}
	bad := bytes.Replace(data, line, []byte(`"abi_levels": {"hw": 4, "os": 4, "kvm": 3}`), 1)
	if _, err := Parse("bad.json", bad, reg); err == nil || !strings.Contains(err.Error(), "bad.json: abi_levels (hw 4, os 4, kvm 3) contradict the layers, which reach hw 4, os 4, kvm 1") {
		t.Errorf("contradicting levels: %v", err)
	}
	old := bytes.Replace(data, []byte("},\n  "+string(line)+"\n}"), []byte("}\n}"), 1)
	if bytes.Equal(old, data) {
		t.Fatal("could not cut the levels")
	}
	if _, err := Parse("old.json", old, reg); err != nil {
		t.Errorf("a snapshot without levels: %v", err)
	}
}
