package check

import (
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// TestHyperVNamesAreQEMUs: every enlightenment of the table is a -cpu
// property QEMU 7.2 and 10.0 accept, on and off.
func TestHyperVNamesAreQEMUs(t *testing.T) {
	for _, name := range []string{"qemu-7.2", "qemu-10.0"} {
		cat, err := catalog.Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range hvEnlightenments {
			cs, err := cat.ParseCPU("qemu64," + e.prop + "=on")
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if cs.Prop(e.prop, "off") != "on" || !strings.Contains(e.desc, "("+e.prop) {
				t.Errorf("%s: %s: parsed %q, description %q", name, e.prop, cs.Prop(e.prop, ""), e.desc)
			}
		}
	}
}

// TestHyperVOnThisMachine: the recorded nested host's KVM emulates no
// Hyper-V (no KVM_CAP_HYPERV: a kernel without CONFIG_KVM_HYPERV), so
// QEMU refuses every enlightenment there, enforce or not; hv-passthrough
// turns on what KVM has, nothing, and starts. Under tcg QEMU checks none.
func TestHyperVOnThisMachine(t *testing.T) {
	snap := loadMachine(t)
	if snap.KVM == nil || snap.KVM.Capabilities[capHyperV] != 0 {
		t.Fatal("this-machine.json was expected to lack KVM_CAP_HYPERV")
	}
	j := testJudge(t, snap, core.KVM)
	for _, tc := range []struct {
		spec    string
		missing []string
		warns   int
	}{
		{"qemu64,hv-relaxed", []string{"hv-relaxed"}, 0},
		{"qemu64,hv_relaxed,hv_vpindex,hv_synic,enforce=off", []string{"hv-relaxed", "hv-vpindex", "hv-synic"}, 0},
		// Proxmox's Windows line: hv_ipi needs hv_vpindex, which it
		// has; hv-tlbflush is off.
		{"qemu64,-hv-tlbflush,hv_ipi,hv_relaxed,hv_spinlocks=0x1fff,hv_vendor_id=KVM Hv,hv_vpindex", []string{"hv-relaxed", "hv-vpindex", "hv-ipi"}, 0},
		{"qemu64,hv-passthrough", nil, 0},
	} {
		out, err := j.Why("", tc.spec, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		var got []string
		for _, m := range out.HyperV {
			got = append(got, m.Feature)
			if m.Layer != LayerKVM || !strings.Contains(m.Reason, "is not supported by kernel") {
				t.Errorf("%s: %+v", tc.spec, m)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.missing, " ") {
			t.Errorf("%s: Hyper-V missing %v, want %v", tc.spec, got, tc.missing)
		}
		if (len(tc.missing) == 0) != out.Runnable && !out.Filtered {
			t.Errorf("%s: runnable %v", tc.spec, out.Runnable)
		}
		if len(tc.missing) > 0 && out.Runnable {
			t.Errorf("%s: runnable with Hyper-V missing", tc.spec)
		}
	}
	tcg := testJudge(t, snap, core.TCG)
	out, err := tcg.Why("", "qemu64,hv-relaxed", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.HyperV) != 0 {
		t.Errorf("tcg: %+v", out.HyperV)
	}
}

// TestHyperVRules holds HyperVProblems to QEMU's rules on KVM answers:
// every bit of every flag (hyperv_feature_supported), the dependencies
// (hv_feature_check_deps) and hv-synic's need of hv-vpindex unless
// x-hv-synic-kvm-only; and on a snapshot that cannot tell, no verdict.
func TestHyperVRules(t *testing.T) {
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	rel := core.Release{Major: 10, Minor: 0}
	// KVM offering hv-time's two bits, hv-vpindex, hv-synic, the
	// relaxed timing and IPI recommendations but not the
	// EX_PROCESSOR_MASKS one that hv-ipi also needs.
	h := &HyperV{Known: true, leaves: map[uint32][4]uint32{
		hvCPUIDFeatures:      {hvTimeRefCount | hvReferenceTSC | hvVPIndex | hvSynIC, 0, 0, 0},
		hvCPUIDEnlightenment: {hvRelaxedTiming | hvClusterIPI, 0, 0, 0},
	}}
	for _, tc := range []struct{ spec, want string }{
		{"qemu64,hv-time,hv-relaxed,hv-vpindex,hv-synic", ""},
		{"qemu64,hv-vpindex,hv-ipi", "hv-ipi: Hyper-V paravirtualized IPI (hv-ipi) is not supported by kernel"},
		{"qemu64,hv-synic", "hv-synic: Hyper-V synthetic interrupt controller (hv-synic) requires Hyper-V VP_INDEX MSR (hv-vpindex)"},
		{"qemu64,hv-synic,x-hv-synic-kvm-only=on", ""},
		{"qemu64,hv-time,hv-stimer", "hv-stimer: Hyper-V synthetic timers (hv-stimer) is not supported by kernel"},
		{"qemu64,hv-apicv", "hv-avic: Hyper-V AVIC/APICv support (hv-avic/hv-apicv) is not supported by kernel"},
	} {
		cs, err := cat.ParseCPU(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		problems, judged := HyperVProblems(cs, rel, h)
		var got []string
		for _, p := range problems {
			got = append(got, p.Prop+": "+p.Message)
		}
		if !judged || strings.Join(got, "; ") != tc.want {
			t.Errorf("%s: %q (judged %v), want %q", tc.spec, got, judged, tc.want)
		}
	}
	cs, _ := cat.ParseCPU("qemu64,hv-relaxed")
	if _, judged := HyperVProblems(cs, rel, hyperVOf(&host.HostSnapshot{})); judged {
		t.Error("a snapshot without KVM data judged Hyper-V")
	}
	// 5.2 also asked hv-relaxed for HV_HYPERCALL_AVAILABLE.
	if p, _ := HyperVProblems(cs, core.Release{Major: 5, Minor: 2}, h); len(p) != 1 {
		t.Errorf("5.2: %+v, want hv-relaxed refused without HV_HYPERCALL_AVAILABLE", p)
	}
}
