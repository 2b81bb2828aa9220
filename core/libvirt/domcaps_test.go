package libvirt

import (
	"os"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

const domcapsFile = "testdata/domcaps/qemu_10.0.0-q35.x86_64.xml"

// TestParseDomainCaps reads libvirt's own test data (re-typed; see the
// file's header): the host-model CPU and every model's verdict.
func TestParseDomainCaps(t *testing.T) {
	reg := feature.Builtin()
	m, err := LoadMap(testMap, reg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(domcapsFile)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := ParseDomainCaps(domcapsFile, data, m, reg)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Domain != "kvm" || dc.Machine != "pc-q35-10.0" || dc.Arch != "x86_64" || dc.Path != "/usr/bin/qemu-system-x86_64" {
		t.Errorf("header: %+v", dc)
	}
	h := dc.HostModel
	if h == nil || h.Model != "EPYC-Rome" || h.Vendor != "AMD" || len(h.Features) != 32 || len(h.Unknown) != 0 {
		t.Fatalf("host-model %+v", h)
	}
	if last := h.Features[len(h.Features)-1]; last.Policy != "disable" || last.Name != "xsaves" {
		t.Errorf("last feature %+v, want xsaves disabled", last)
	}
	// The file lists 150 models, 38 of them usable; EPYC-Rome's one
	// blocker is the xsaves the host-model disables.
	usable := 0
	for _, u := range dc.Models {
		if u.Usable == "yes" {
			usable++
			if len(u.Blockers) != 0 {
				t.Errorf("%s: usable with blockers %v", u.Name, u.Blockers)
			}
		}
	}
	if len(dc.Models) != 150 || usable != 38 {
		t.Errorf("%d models, %d usable; want 150, 38", len(dc.Models), usable)
	}
	rome := dc.Models[indexOf(dc.Models, "EPYC-Rome")]
	if rome.Usable != "no" || rome.Canonical != "EPYC-Rome-v1" || strings.Join(rome.Blockers, ",") != "xsaves" {
		t.Errorf("EPYC-Rome: %+v", rome)
	}
}

func indexOf(ms []UsableModel, name string) int {
	for i, m := range ms {
		if m.Name == name {
			return i
		}
	}
	return -1
}

func TestParseDomainCapsErrors(t *testing.T) {
	reg := feature.Builtin()
	m, err := LoadMap(testMap, reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"not xml", "{}", "f.xml:1: malformed XML"},
		{"wrong root", "<capabilities/>", "f.xml:1: root element is <capabilities>, want <domainCapabilities>"},
		{"no cpu", "<domainCapabilities>\n<arch>x86_64</arch>\n</domainCapabilities>", "f.xml:1: no <cpu> element"},
		{"other arch", "<domainCapabilities><arch>aarch64</arch><cpu/></domainCapabilities>", `f.xml:1: arch "aarch64": only x86 is read`},
		{"bad policy", "<domainCapabilities><cpu><mode name='host-model' supported='yes'><model>EPYC</model>\n<feature policy='force' name='svm'/></mode></cpu></domainCapabilities>",
			`f.xml:2: feature svm: policy="force", want require or disable`},
		{"no model", "<domainCapabilities><cpu><mode name='host-model' supported='yes'><vendor>AMD</vendor></mode></cpu></domainCapabilities>", "f.xml:1: host-model names no model"},
		{"bad usable", "<domainCapabilities><cpu><mode name='custom' supported='yes'>\n<model usable='maybe'>EPYC</model></mode></cpu></domainCapabilities>",
			`f.xml:2: model EPYC: usable="maybe", want yes, no or unknown`},
		{"orphan blockers", "<domainCapabilities><cpu><mode name='custom' supported='yes'>\n<blockers model='EPYC'/></mode></cpu></domainCapabilities>",
			`f.xml:2: blockers of model "EPYC", which is not listed before them`},
		{"twice", "<domainCapabilities><cpu><mode name='custom' supported='yes'><model usable='yes'>EPYC</model>\n<model usable='no'>EPYC</model></mode></cpu></domainCapabilities>",
			"f.xml:2: model EPYC listed twice (first at line 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDomainCaps("f.xml", []byte(tc.doc), m, reg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestHostModelSet: the host-model's features are its map model's, plus
// the required, minus the disabled; a model the map lacks is an error.
func TestHostModelSet(t *testing.T) {
	reg := feature.Builtin()
	m, err := LoadMap(testMap, reg)
	if err != nil {
		t.Fatal(err)
	}
	doc := "<domainCapabilities><cpu><mode name='host-model' supported='yes'><model>EPYC</model><vendor>AMD</vendor>" +
		"<feature policy='require' name='x2apic'/><feature policy='disable' name='sha-ni'/><feature policy='require' name='no-such-feature'/></mode></cpu></domainCapabilities>"
	dc, err := ParseDomainCaps("f.xml", []byte(doc), m, reg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dc.HostModel.Set(m)
	if err != nil {
		t.Fatal(err)
	}
	epyc, _ := m.Model("EPYC")
	x2apic, _ := reg.Lookup("x2apic")
	sha, _ := reg.Lookup("sha-ni")
	if want := epyc.Set.Add(x2apic).Remove(sha); !got.Equal(want) {
		t.Errorf("set %v, want %v", reg.Names(got), reg.Names(want))
	}
	if !epyc.Set.Has(sha) {
		t.Error("EPYC lacks sha-ni: the test proves nothing")
	}
	if u := dc.HostModel.Unknown; len(u) != 1 || u[0].Name != "no-such-feature" || u[0].Policy != "require" {
		t.Errorf("unknown %v", dc.HostModel.Unknown)
	}
	if v := dc.HostModel.VendorString(m); v != "AuthenticAMD" {
		t.Errorf("vendor %q", v)
	}
	dc.HostModel.Model = "EPYC-Rome"
	if _, err := dc.HostModel.Set(m); err == nil || !strings.Contains(err.Error(), "not a model of libvirt's CPU map") {
		t.Errorf("EPYC-Rome (absent from testdata's map): %v", err)
	}
}

// FuzzParseDomainCaps: any input is a one-line error naming the file, or
// a document whose host-model set is its features applied to its model.
func FuzzParseDomainCaps(f *testing.F) {
	data, err := os.ReadFile(domcapsFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(data))
	f.Add("<domainCapabilities><cpu><mode name='host-model' supported='yes'><model>EPYC</model><feature policy='disable' name='svm'/></mode></cpu></domainCapabilities>")
	f.Add("<domainCapabilities><cpu><mode name='custom' supported='yes'><model usable='no'>EPYC</model><blockers model='EPYC'><feature name='svm'/></blockers></mode></cpu></domainCapabilities>")
	reg := feature.Builtin()
	m, err := LoadMap(testMap, reg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		dc, err := ParseDomainCaps("f.xml", []byte(doc), m, reg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.xml:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the file on one line", err)
			}
			return
		}
		if dc.HostModel == nil {
			return
		}
		s, err := dc.HostModel.Set(m)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.xml:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, f := range dc.HostModel.Features {
			if f.Policy == "disable" && s.Has(f.ID) && !disabledAndRequired(dc.HostModel, f.ID) {
				t.Fatalf("%s disabled but in the set", f.Name)
			}
		}
	})
}

func disabledAndRequired(h *HostModel, id feature.ID) bool {
	for _, f := range h.Features {
		if f.ID == id && f.Policy == "require" {
			return true
		}
	}
	return false
}
