package main

import (
	"bytes"
	"encoding/json"
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

// TestModelsJSONIsMarshalIndent: the hand-written JSON of `models` is
// byte for byte what encoding/json would write.
func TestModelsJSONIsMarshalIndent(t *testing.T) {
	models := []modelJSON{
		{Name: "a", UnavailableFeatures: []string{}, Why: map[string]string{}},
		{Name: "b\"<x>", UnavailableFeatures: []string{"avx2", "sse4.1"}, AliasOf: "b-v1", Static: true, Deprecated: true,
			Why: map[string]string{"avx2": "kvm", "sse4.1": "hw"}},
	}
	var got bytes.Buffer
	writeModelsJSON(&got, models)
	want, _ := json.MarshalIndent(models, "", "  ")
	if got.String() != string(want)+"\n" {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want)
	}
	got.Reset()
	writeModelsJSON(&got, nil)
	if got.String() != "[]\n" {
		t.Errorf("empty: %q", got.String())
	}
}
