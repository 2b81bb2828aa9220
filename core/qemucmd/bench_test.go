package qemucmd

import (
	"os"
	"testing"
)

// BenchmarkParse reads the largest of Proxmox's command lines (aio: a VM
// with many disks, 12 KiB of shell-quoted text).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/proxmox/aio.conf.cmd")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("f", data); err != nil {
			b.Fatal(err)
		}
	}
}
