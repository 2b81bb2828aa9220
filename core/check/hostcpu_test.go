package check

import (
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// TestHostModelMatchesRecordedExpansion: on each recorded host (snapshots
// made from QEMU's own query-cpu-model-expansion of "host" under kvm, from
// libvirt's QMP captures), "-cpu host" and "-cpu max" resolve under kvm to
// exactly the features that expansion recorded and to the host's
// identity; an explicit option wins over what the host offers; host
// under tcg is refused as QEMU refuses it.
func TestHostModelMatchesRecordedExpansion(t *testing.T) {
	for _, name := range []string{"xeon-gold-6130", "epyc-7502-32-core", "core-i7-8550u"} {
		for _, catName := range []string{"qemu-7.2", "qemu-10.0"} {
			t.Run(name+"/"+catName, func(t *testing.T) {
				cat, err := catalog.Embedded(catName)
				if err != nil {
					t.Fatal(err)
				}
				reg := cat.Registry()
				s, err := host.ReadFile("../../testdata/hosts/"+name+".json", reg)
				if err != nil {
					t.Fatal(err)
				}
				if s.Source != host.SourceQEMUExpansion {
					t.Fatalf("%s is not a recorded QEMU host expansion", name)
				}
				want, err := reg.Set(s.Features.KVM...)
				if err != nil {
					t.Fatal(err)
				}
				mt, _ := cat.Newest("pc-q35")
				for _, spec := range []string{"host", "max", "host,migratable=on"} {
					r, _, err := ResolveConfig(cat, spec, mt.Name, core.KVM, s, "")
					if err != nil {
						t.Fatal(err)
					}
					if r.Features != want {
						t.Errorf("%s: %v more than the recorded expansion, %v fewer", spec,
							reg.Names(r.Features.Difference(want)), reg.Names(want.Difference(r.Features)))
					}
					if r.Vendor != s.Vendor || r.Family != s.Family || !strings.Contains(r.ModelID, strings.Fields(s.Brand)[0]) {
						t.Errorf("%s: identity %s %d %q, host %s %d %q", spec, r.Vendor, r.Family, r.ModelID, s.Vendor, s.Family, s.Brand)
					}
				}
				r, _, err := ResolveConfig(cat, "host,-avx2,kvmclock=off", mt.Name, core.KVM, s, "")
				if err != nil {
					t.Fatal(err)
				}
				if names := reg.Names(r.Features); strings.Contains(" "+strings.Join(names, " ")+" ", " avx2 ") || strings.Contains(" "+strings.Join(names, " ")+" ", " kvmclock ") {
					t.Errorf("host,-avx2,kvmclock=off kept them: %v", names)
				}
				if _, _, err := ResolveConfig(cat, "host", mt.Name, core.TCG, nil, ""); err == nil || !strings.Contains(err.Error(), "requires KVM") {
					t.Errorf("host under tcg: %v, want QEMU's refusal", err)
				}
			})
		}
	}
}
