package libvirt

import (
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

const domainXML = `<domain type='kvm'>
  <name>web1</name>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <cpu mode='custom' match='exact' check='partial'>
    <model fallback='forbid'>Haswell-noTSX-IBRS</model>
    <vendor>Intel</vendor>
    <topology sockets='1' dies='1' cores='2' threads='1'/>
    <feature policy='require' name='pclmuldq'/>
    <feature policy='force' name='lahf_lm'/>
    <feature policy='disable' name='spec-ctrl'/>
    <feature policy='forbid' name='tsx-ctrl'/>
    <feature name='vmx'/>
  </cpu>
</domain>
`

func TestParseCPU(t *testing.T) {
	reg := feature.Builtin()
	c, err := ParseCPU("web1.xml", []byte(domainXML), reg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "Haswell-noTSX-IBRS" || c.Fallback != "forbid" || c.Vendor != "Intel" || c.Match != "exact" || c.Pos.Line != 4 {
		t.Errorf("parsed %+v", c)
	}
	// libvirt's names become QEMU's; require/force switch on, and
	// disable/forbid off; a feature without a policy is required.
	const want = "Haswell-noTSX-IBRS,+pclmulqdq,+lahf-lm,-spec-ctrl,-tsx-ctrl,+vmx"
	if got := c.Spec(reg); got != want {
		t.Errorf("Spec() = %q, want %q", got, want)
	}
	if got := reg.Names(c.Forbidden()); len(got) != 1 || got[0] != "tsx-ctrl" {
		t.Errorf("Forbidden() = %v", got)
	}
	// The spec is one QEMU reads: it resolves on the embedded catalog.
	s, err := catalog.ParseCPU(core.Release{Major: 7, Minor: 2}, c.Spec(reg), reg)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	r, err := cat.ResolveSpec(s, "pc-q35-7.2", core.KVM, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"vmx": true, "spec-ctrl": false, "pclmulqdq": true, "tsx-ctrl": false} {
		if got := r.Features.Has(mustID(t, reg, name)); got != want {
			t.Errorf("resolved %s: %v, want %v", name, got, want)
		}
	}
}

func TestParseCPUBare(t *testing.T) {
	c, err := ParseCPU("cpu.xml", []byte("<cpu>\n<model vendor_id='GenuineIntel'>Skylake-Client-v4</model>\n</cpu>"), feature.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Spec(feature.Builtin()); got != "Skylake-Client-v4,vendor=GenuineIntel" {
		t.Errorf("Spec() = %q", got)
	}
}

func TestParseCPUErrors(t *testing.T) {
	for _, tc := range []struct{ name, xml, want string }{
		{"malformed", "<cpu mode='custom'>\n<model>Haswell</model>\n<feature name='x'>\n</cpu>",
			"f.xml:4: malformed XML: element <feature> closed by </cpu>"},
		{"unknown", "<cpu>\n<model>Haswell</model>\n<feature policy='require' name='avx512'/>\n</cpu>",
			`f.xml:3: unknown libvirt feature "avx512" (did you mean "avx512f"?)`},
		{"qemu name", "<cpu><model>Haswell</model>\n\n<feature name='lahf-lm'/></cpu>",
			`f.xml:3: unknown libvirt feature "lahf-lm" (did you mean "lahf_lm"?)`},
		{"policy", "<cpu><model>Haswell</model>\n<feature policy='optional' name='vmx'/></cpu>",
			`f.xml:2: feature vmx: policy="optional", want require, force, disable or forbid`},
		{"mode", "<domain>\n<cpu mode='host-passthrough'/></domain>",
			`f.xml:2: cpu mode "host-passthrough" names no CPU model: only mode='custom' is an offer of a model`},
		{"no model", "<cpu>\n</cpu>", "f.xml:1: <cpu> has no <model>"},
		{"no cpu", "<domain>\n<name>x</name>\n</domain>", "f.xml:1: the domain has no <cpu> element"},
		{"twice", "<cpu><model>Haswell</model>\n<feature name='vmx'/>\n<feature name='vmx' policy='disable'/></cpu>",
			"f.xml:3: feature vmx given twice (first at line 2)"},
		{"spec injection", "<cpu><model>Haswell,+avx512f</model></cpu>", `f.xml:1: model name "Haswell,+avx512f": not a CPU model name`},
		{"root", "<features/>", "f.xml:1: root element is <features>, want <cpu> or <domain>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCPU("f.xml", []byte(tc.xml), feature.Builtin())
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// FuzzParseCPU: no panic; errors are one line naming the file; a parsed
// CPU's Spec is a -cpu spec QEMU's syntax reads back to the same model
// and features.
func FuzzParseCPU(f *testing.F) {
	f.Add(domainXML)
	f.Add("<cpu><model>Haswell</model><feature policy='forbid' name='hle'/></cpu>")
	f.Add("<cpu mode='custom' match='strict'><model vendor_id='AuthenticAMD'>EPYC</model><feature name='svm' policy='disable'/></cpu>")
	reg := feature.Builtin()
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := ParseCPU("f.xml", []byte(doc), reg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.xml:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the file on one line", err)
			}
			return
		}
		s, err := catalog.ParseCPU(core.Release{Major: 10, Minor: 0}, c.Spec(reg), reg)
		if err != nil {
			t.Fatalf("Spec %q does not parse: %v", c.Spec(reg), err)
		}
		on, off := s.Explicit()
		for _, cf := range c.Features {
			if policies[cf.Policy] != on.Has(cf.ID) || policies[cf.Policy] == off.Has(cf.ID) {
				t.Fatalf("feature %s (%s) lost in %q", cf.Name, cf.Policy, c.Spec(reg))
			}
		}
		if s.Model != c.Model {
			t.Fatalf("model %q became %q", c.Model, s.Model)
		}
	})
}
