package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
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
// byte for byte what encoding/json writes for the same []modelJSON, on
// every model of both embedded catalogs judged on a recorded host (under
// kvm and tcg, so that rows have many missing features and several
// layers), plus a row with every optional key and characters to escape.
func TestModelsJSONIsMarshalIndent(t *testing.T) {
	for _, cat := range []string{"qemu-7.2", "qemu-10.0"} {
		for _, accel := range []string{"kvm", "tcg"} {
			catName, machine, hostFile := cat, "", "../../testdata/hosts/core-i7-8550u.json"
			e := &env{stdout: io.Discard, stderr: io.Discard, now: time.Now}
			j, rc := newJudge(e, "models", judgeFlags{&catName, &machine, &accel, &hostFile})
			if rc >= 0 {
				t.Fatalf("%s/%s: newJudge: exit %d", cat, accel, rc)
			}
			var rows []modelRow
			var want []modelJSON
			catModels := j.cat.Models()
			for i := range catModels {
				m := &catModels[i]
				_, missing, err := j.missing(m.Name)
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, modelRow{m, missing})
			}
			odd := &catalog.Model{Name: "b\"<x>&\n\t\x01\u2028é\xff", AliasOf: "b-v1", Static: true, Deprecated: true, Source: "plugin \"zx\""}
			rows = append(rows, modelRow{odd, rows[len(rows)-1].missing})
			for _, r := range rows {
				why := map[string]string{}
				for id := range r.missing.All() {
					why[j.reg.Name(id)] = j.avail.Layer(id)
				}
				want = append(want, modelJSON{Name: r.m.Name, UnavailableFeatures: nonNil(j.reg.Names(r.missing)), AliasOf: r.m.AliasOf,
					Static: r.m.Static, MigrationSafe: r.m.MigrationSafe, Deprecated: r.m.Deprecated, Why: why, Source: r.m.Source})
			}
			var got bytes.Buffer
			j.writeModelsJSON(&got, rows)
			data, _ := json.MarshalIndent(want, "", "  ")
			if got.String() != string(data)+"\n" {
				t.Errorf("%s/%s: got\n%s\nwant\n%s", cat, accel, got.String(), data)
			}
			got.Reset()
			j.writeModelsJSON(&got, nil)
			if got.String() != "[]\n" {
				t.Errorf("empty: %q", got.String())
			}
		}
	}
}
