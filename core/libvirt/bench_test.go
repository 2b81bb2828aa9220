package libvirt

import (
	"os"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// BenchmarkLoadMap loads Debian's whole CPU map (83 files, 58 x86
// models): what `catalog import libvirt` spends before writing.
func BenchmarkLoadMap(b *testing.B) {
	if _, err := os.Stat(DefaultMapDir + "/index.xml"); err != nil {
		testenv.Missing(b, testenv.LibvirtCPUMap, "no libvirt CPU map: %v", err)
	}
	reg := feature.Builtin()
	for b.Loop() {
		if _, err := LoadMap(DefaultMapDir, reg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCPU parses a domain with a <cpu> of five features.
func BenchmarkParseCPU(b *testing.B) {
	reg := feature.Builtin()
	data := []byte(`<domain type='kvm'>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <cpu mode='custom' match='exact' check='partial'>
    <model fallback='forbid'>Haswell-noTSX-IBRS</model>
    <vendor>Intel</vendor>
    <feature policy='require' name='pclmuldq'/>
    <feature policy='force' name='lahf_lm'/>
    <feature policy='disable' name='spec-ctrl'/>
    <feature policy='forbid' name='tsx-ctrl'/>
    <feature name='vmx'/>
  </cpu>
</domain>`)
	for b.Loop() {
		if _, err := ParseCPU("web1.xml", data, reg); err != nil {
			b.Fatal(err)
		}
	}
}
