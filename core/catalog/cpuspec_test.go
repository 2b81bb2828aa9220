package catalog

import (
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

var (
	qemu72Grammar  = core.Release{Major: 7, Minor: 2}
	qemu100Grammar = core.Release{Major: 10, Minor: 0}
)

func TestParseCPU(t *testing.T) {
	reg := feature.Builtin()
	s, err := ParseCPU(qemu100Grammar, "Skylake-Client-v4,+avx512f,-hle,sse4_1=off,kvm_pv_eoi,model-id=A B,,level=0xd,enforce,hv_spinlocks=0x1fff,-kvm,tsc-freq=2.5G,pmu=yes", reg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"model-id": "A B", "level": "13", "enforce": "on", "hv-spinlocks": "8191", "kvm": "off", "tsc-frequency": "2500000000", "pmu": "on"}
	if s.Model != "Skylake-Client-v4" || len(s.Props) != len(want) {
		t.Errorf("parsed %+v", s)
	}
	for k, v := range want {
		if s.Props[k] != v {
			t.Errorf("%s = %q, want %q", k, s.Props[k], v)
		}
	}
	if !s.Enforce() || !s.Check() {
		t.Errorf("enforce %v check %v", s.Enforce(), s.Check())
	}
	on, off := s.Explicit()
	if got := reg.Names(on); strings.Join(got, " ") != "avx512f kvm-pv-eoi" {
		t.Errorf("explicit on %v", got)
	}
	if got := reg.Names(off); strings.Join(got, " ") != "hle sse4.1" {
		t.Errorf("explicit off %v", got)
	}
	if got := s.Canonical(reg); got != "Skylake-Client-v4,sse4.1=off,kvm-pv-eoi=on,enforce=on,hv-spinlocks=8191,kvm=off,level=13,model-id=A B,pmu=on,tsc-frequency=2500000000,+avx512f,-hle" {
		t.Errorf("Canonical = %q", got)
	}
	// Each rejection is QEMU's (qemu-system-x86_64 10.0.2 -cpu SPEC
	// -accel tcg, by hand): its reason, and a suggestion only for a
	// plausible typo.
	for _, tc := range []struct{ spec, want string }{
		{"", `cpu spec "": no model name`},
		{"Haswell,+avx512", `cpu spec "Haswell,+avx512": option "+avx512": unknown feature "avx512" (did you mean "avx512f"?)`},
		{"Haswell,avx2=maybe", `cpu spec "Haswell,avx2=maybe": option "avx2=maybe": parameter "avx2" expects 'on' or 'off'`},
		{"Haswell,avx2=ON", `cpu spec "Haswell,avx2=ON": option "avx2=ON": parameter "avx2" expects 'on' or 'off'`},
		{"Haswell,SSE4_1", `cpu spec "Haswell,SSE4_1": option "SSE4_1": unknown feature "SSE4-1" (did you mean "sse4-1"?)`},
		{"Haswell,+hv_relaxed", `cpu spec "Haswell,+hv_relaxed": option "+hv_relaxed": unknown feature "hv_relaxed" (did you mean "hv-relaxed"?)`},
		{"Haswell,level", `cpu spec "Haswell,level": option "level": parameter "level" expects uint64`},
		{"Haswell,level=-1", `cpu spec "Haswell,level=-1": option "level=-1": parameter "level" expects uint32_t`},
		{"Haswell,+level", `cpu spec "Haswell,+level": option "+level": parameter "level" expects uint32, not on or off`},
		{"Haswell,family=300", `cpu spec "Haswell,family=300": option "family=300": parameter "family" can be at most 270`},
		{"Haswell,vendor=Intel", `cpu spec "Haswell,vendor=Intel": option "vendor=Intel": value of property 'vendor' must consist of exactly 12 characters`},
		{"Haswell,tsc-freq=abc", `cpu spec "Haswell,tsc-freq=abc": option "tsc-freq=abc": bad numerical value abc`},
		{"Haswell,feature-words=1", `cpu spec "Haswell,feature-words=1": option "feature-words=1": property "feature-words" is not writable`},
		{"Haswell,migratable=on", `cpu spec "Haswell,migratable=on": option "migratable=on": QEMU 10.0's x86 CPU has property "migratable" only in models host and max`},
		{"Haswell,enforce=maybe", `cpu spec "Haswell,enforce=maybe": option "enforce=maybe": parameter "enforce" expects 'on' or 'off'`},
		{"Haswell,enforced", `cpu spec "Haswell,enforced": option "enforced": unknown feature "enforced" (did you mean "enforce"?)`},
		{"Haswell,enfroce", `cpu spec "Haswell,enfroce": option "enfroce": unknown feature "enfroce" (did you mean "enforce"?)`},
		{"Haswell,frobnicate", `cpu spec "Haswell,frobnicate": option "frobnicate": unknown feature "frobnicate"`},
	} {
		_, err := ParseCPU(qemu100Grammar, tc.spec, reg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseCPU(%q):\n got %v\nwant %s", tc.spec, err, tc.want)
		}
	}
	// What QEMU accepts: host and max have migratable; "y" is a flag
	// value; empty options are skipped; fred is a 10.0 feature, not 7.2's.
	for _, spec := range []string{"host,migratable=on,host-phys-bits=on,host-phys-bits-limit=39", "max,+pmu,-kvm", "qemu64,pmu=y,,", "qemu64,", "qemu64,hv-no-nonarch-coresharing=auto,x-hv-max-vps=-5"} {
		if _, err := ParseCPU(qemu100Grammar, spec, reg); err != nil {
			t.Errorf("ParseCPU(%q): %v", spec, err)
		}
	}
	if _, err := ParseCPU(qemu72Grammar, "Haswell,+fred", reg); err == nil {
		t.Error("QEMU 7.2 has no fred, but its grammar accepts it")
	}
	if s, _ := ParseCPU(qemu100Grammar, "qemu64,+x2apic,x2apic=off", reg); len(s.Warnings) != 1 {
		t.Errorf("ambiguous +x2apic,x2apic=off: warnings %q", s.Warnings)
	}
}

// FuzzParseCPU: no panic, one-line errors, and a parsed spec written back
// (Canonical) parses to the same spec.
func FuzzParseCPU(f *testing.F) {
	for _, s := range []string{
		"Skylake-Client-v4,+avx512f,-hle", "EPYC,svm=off,level=13", "qemu64,model-id=a,,b", ",,,", "x,+,-,=",
		"Haswell,vendor=GenuineIntel", "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep",
		"host,migratable=on,host-phys-bits=on,host-phys-bits-limit=39",
		"host,level=30,-cet-ibt,-hv-tlbflush,hv_ipi,hv_relaxed,hv_spinlocks=0x1fff,hv_vendor_id=KVM Hv,+kvm_pv_eoi,+md-clear,-vmx-mbec",
		"qemu64,hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x2fff,hv-passthrough=on", "Haswell,tsc-frequency=4567890000,tsc-freq=2.5G",
		"core2duo,+ds,+acpi,+ht,+ds_cpl,+lahf_lm,l3-cache=off,phys-bits=42", "Cascadelake-Server-v1,x-force-features=on,check=off,enforce=off,+arch-capabilities",
		"athlon,+aes,enforce,hv_ipi,hv_vendor_id=testvend,vendor=AuthenticAMD,+virt-ssbd,phys-bits=40", "qemu64,pmu=off",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, spec string, new bool) {
		rel := qemu72Grammar
		if new {
			rel = qemu100Grammar
		}
		s, err := ParseCPU(rel, spec, reg)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if s.Model == "" {
			t.Fatalf("parsed %q without a model", spec)
		}
		c := s.Canonical(reg)
		s2, err := ParseCPU(rel, c, reg)
		if err != nil {
			t.Fatalf("%q parses, its canonical form %q does not: %v", spec, c, err)
		}
		on, off := s.Explicit()
		on2, off2 := s2.Explicit()
		if c2 := s2.Canonical(reg); on != on2 || off != off2 || c2 != c || s.Enforce() != s2.Enforce() {
			t.Fatalf("%q → %q → %q", spec, c, c2)
		}
	})
}
