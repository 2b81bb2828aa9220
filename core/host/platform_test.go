package host

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

const nfdNode = "testdata/nfd/ovh-gpu-node.json"

// TestFromNFD: a real node's NFD labels (testdata/nfd/README.md) give
// the hw layer, named by QEMU, and the snapshot says what it lacks.
func TestFromNFD(t *testing.T) {
	reg := feature.Builtin()
	s, err := ImportFile(nfdNode, FromNFD, reg, fixedTime)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"adx", "aes", "avx", "avx2", "avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl",
		"avx512vnni", "fma", "hle", "hypervisor", "ibpb", "mpx", "rtm", "sse4.1", "sse4.2", "stibp", "vmx"}
	if !slices.Equal(s.Features.HW, want) {
		t.Errorf("hw %v\nwant %v", s.Features.HW, want)
	}
	if s.Source != SourceNFD || s.Hostname != "nodepool-t1-45-node-6ab531" || len(s.Features.KVM) != 0 || s.KVM != nil {
		t.Errorf("source %q host %q kvm %v", s.Source, s.Hostname, s.Features.KVM)
	}
	if !strings.Contains(s.KVMError, "the hw layer only") || !strings.Contains(s.KVMError, "SSE2") {
		t.Errorf("kvm_error %q: want the missing layers and the unlabelled flags named", s.KVMError)
	}
	// The snapshot round-trips through its file form.
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("nfd.json", data, reg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Features.HW, s.Features.HW) || back.Source != SourceNFD {
		t.Errorf("round trip lost data: %+v", back.Features)
	}
	if got := Unseen(s.Source); !slices.Equal(got, []string{"os", "kvm"}) {
		t.Errorf("Unseen = %v", got)
	}
}

// TestFromNFDNodeFeature: a NodeFeature object lists every CPUID flag
// (no label denylist) and its cpu.model attributes; unknown flags are
// named, not guessed.
func TestFromNFDNodeFeature(t *testing.T) {
	reg := feature.Builtin()
	doc := `{"apiVersion": "nfd.k8s-sigs.io/v1alpha1", "kind": "NodeFeature",
	  "metadata": {"name": "w1-abcde", "labels": {"nfd.node.kubernetes.io/node-name": "w1"}},
	  "spec": {"features": {
	    "flags": {"cpu.cpuid": {"elements": {"SSE2": {}, "SSE3": {}, "CMPXCHG8": {}, "X87": {}, "LAHF": {}, "FROBNICATE": {}}}},
	    "attributes": {"cpu.model": {"elements": {"vendor_id": "AMD", "family": "23", "id": "49"}}}},
	    "labels": {}}}`
	s, err := FromNFD("nf.json", strings.NewReader(doc), reg, fixedTime)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cx8", "fpu", "lahf-lm", "pni", "sse2"}; !slices.Equal(s.Features.HW, want) {
		t.Errorf("hw %v, want %v", s.Features.HW, want)
	}
	if s.Hostname != "w1" || s.Vendor != "AuthenticAMD" || s.Family != 23 || s.Model != 49 {
		t.Errorf("identity %q %q %d %d", s.Hostname, s.Vendor, s.Family, s.Model)
	}
	if !strings.Contains(s.KVMError, "FROBNICATE") || strings.Contains(s.KVMError, "SSE2") {
		t.Errorf("kvm_error %q", s.KVMError)
	}
}

func TestFromNFDErrors(t *testing.T) {
	reg := feature.Builtin()
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "f.json:1:1: malformed JSON"},
		{"syntax", "{\n\"kind\": }", "f.json:2:"},
		{"kind", `{"kind": "Pod"}`, `f.json: kind "Pod", want Node or NodeFeature`},
		{"no flags", `{"kind": "Node", "metadata": {"labels": {"kubernetes.io/os": "linux"}}}`, "f.json: no CPUID flags"},
		{"trailing", `{"kind": "Node"} {}`, "f.json:1:18: data after the object"},
		{"bad family", `{"kind": "Node", "metadata": {"labels": {"feature.node.kubernetes.io/cpu-cpuid.AVX": "true", "feature.node.kubernetes.io/cpu-model.family": "six"}}}`,
			`f.json: cpu-model family "six" is not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromNFD("f.json", strings.NewReader(tc.doc), reg, fixedTime)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want %q…", err, tc.want)
			}
		})
	}
}

// FuzzFromNFD: any input is a one-line error naming the file, or a
// snapshot that Parse accepts back.
func FuzzFromNFD(f *testing.F) {
	data, err := os.ReadFile(nfdNode)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(data))
	f.Add(`{"kind": "NodeFeature", "metadata": {"name": "n"}, "spec": {"features": {"flags": {"cpu.cpuid": {"elements": {"AVX": {}}}}}}}`)
	f.Add(`{"kind": "Node", "metadata": {"labels": {"feature.node.kubernetes.io/cpu-cpuid.AVX": "true", "feature.node.kubernetes.io/cpu-model.id": "85"}}}`)
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := FromNFD("f.json", strings.NewReader(doc), reg, fixedTime)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the file on one line", err)
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("back.json", out, reg); err != nil {
			t.Fatalf("snapshot does not parse back: %v", err)
		}
	})
}

// TestFromDomCapabilities: libvirt's host-model CPU becomes the kvm
// layer, the source and what it could not see recorded.
func TestFromDomCapabilities(t *testing.T) {
	reg := feature.Builtin()
	m, err := libvirt.LoadMap("../libvirt/testdata/cpu_map", reg)
	if err != nil {
		t.Fatal(err)
	}
	doc := `<domainCapabilities><domain>kvm</domain><machine>pc-q35-7.2</machine><arch>x86_64</arch><cpu>
	  <mode name='host-model' supported='yes'><model fallback='forbid'>Skylake-Server</model><vendor>Intel</vendor>
	  <feature policy='require' name='x2apic'/><feature policy='disable' name='hle'/><feature policy='require' name='gds-no'/></mode>
	</cpu></domainCapabilities>`
	s, err := FromDomCapabilities("dc.xml", strings.NewReader(doc), reg, m, fixedTime)
	if err != nil {
		t.Fatal(err)
	}
	sky, _ := m.Model("Skylake-Server")
	kv, err := reg.Set(s.Features.KVM...)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := reg.Set("x2apic", "gds-no")
	hle, _ := reg.Lookup("hle")
	if w := sky.Set.Union(want).Remove(hle); !kv.Equal(w) {
		t.Errorf("kvm %v\nwant %v", reg.Names(kv), reg.Names(w))
	}
	if s.Source != SourceDomCapabilities || s.Vendor != "GenuineIntel" || len(s.Features.HW) != 0 || len(s.CPUID) != 0 {
		t.Errorf("snapshot %+v", s)
	}
	if !strings.Contains(s.KVMError, "host-model CPU Skylake-Server in dc.xml (kvm, pc-q35-7.2)") {
		t.Errorf("kvm_error %q", s.KVMError)
	}
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("dc.json", data, reg); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ doc, want string }{
		{`<domainCapabilities><domain>qemu</domain><cpu><mode name='host-model' supported='no'/></cpu></domainCapabilities>`, `dc.xml: no supported host-model CPU (a "qemu" domain)`},
		{`<domainCapabilities><cpu><mode name='host-model' supported='yes'><model>Nope</model></mode></cpu></domainCapabilities>`, "dc.xml:1: host-model Nope is not a model"},
	} {
		if _, err := FromDomCapabilities("dc.xml", strings.NewReader(bad.doc), reg, m, fixedTime); err == nil || !strings.HasPrefix(err.Error(), bad.want) {
			t.Errorf("got %v, want %q", err, bad.want)
		}
	}
}
