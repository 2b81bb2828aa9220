package main

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkModelsCommand is `cpupolicy models --host F --format json`
// in process, minus process start and the first parse of the embedded
// catalog (BenchmarkParseEmbedded in core/catalog): host load,
// availability, every verdict, JSON out.
func BenchmarkModelsCommand(b *testing.B) {
	args := []string{"models", "--catalog", "qemu-7.2", "--host", "../../testdata/hosts/this-machine.json", "--format", "json"}
	b.ReportAllocs()
	for b.Loop() {
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
