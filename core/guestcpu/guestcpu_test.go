package guestcpu

import (
	"os"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
)

// TestSourcesAgree: libvirt's own test cpu-exact1 as the domain XML and as
// the QEMU command line libvirt generates from it (its .args, from
// libvirt's tests/qemuxmlconfdata) name the same -cpu spec and
// accelerator, whichever form a command is given; a -cpu spec stays as
// typed, and an empty source names nothing.
func TestSourcesAgree(t *testing.T) {
	reg := feature.Builtin()
	noHost := func() (*libvirt.Host, error) {
		t.Fatal("cpu-exact1 does not depend on the host")
		return nil, nil
	}
	fromXML, err := Load(Source{XML: "../libvirt/testdata/domains/cpu-exact1.x86_64-latest.xml"}, reg)
	if err != nil {
		t.Fatal(err)
	}
	fromArgs, err := Load(Source{Cmdline: "-", Stdin: mustOpen(t, "../qemucmd/testdata/libvirt/cpu-exact1.x86_64-latest.args")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	xmlSpec, forbid, err := fromXML.Spec(reg, anyQEMU, noHost)
	if err != nil {
		t.Fatal(err)
	}
	argsSpec, noForbid, err := fromArgs.Spec(reg, anyQEMU, noHost)
	if err != nil {
		t.Fatal(err)
	}
	if xmlSpec != argsSpec || xmlSpec == "" {
		t.Errorf("XML gives -cpu %q, its .args %q", xmlSpec, argsSpec)
	}
	if forbid == nil || noForbid != nil {
		t.Errorf("forbidden features: XML %v (want a set), .args %v (want none)", forbid, noForbid)
	}
	if fromXML.Accel != fromArgs.Accel {
		t.Errorf("accelerator: XML %q, .args %q", fromXML.Accel, fromArgs.Accel)
	}
	if !fromXML.Given() || !fromArgs.Given() {
		t.Error("a configuration read from a file is not Given")
	}
	if spec := (&Target{CPU: "Haswell,+vmx"}); !spec.Given() || spec.CPU != "Haswell,+vmx" {
		t.Errorf("a -cpu spec: %+v", spec)
	}
	if empty, err := Load(Source{}, reg); err != nil || empty.Given() {
		t.Errorf("an empty source: %+v, %v", empty, err)
	}
	if _, err := Load(Source{Cmdline: "testdata/none.args"}, reg); err == nil || !strings.Contains(err.Error(), "testdata/none.args") {
		t.Errorf("a missing file: %v, want an error naming it", err)
	}
}

func mustOpen(t *testing.T, name string) *strings.Reader {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(data))
}

// anyQEMU has every model and feature.
var anyQEMU = libvirt.QEMU{HasModel: func(string) bool { return true }, HasFeature: func(string) bool { return true }}
