package qemurelease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/qmp"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite data/qemu-RELEASE.txt from the installed QEMUs")

// captureNames returns the property names of the first
// query-cpu-model-expansion reply among the JSON documents in file (a QMP
// transcript, or libvirt's two replies one after the other).
func captureNames(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Return struct {
				Model struct {
					Props map[string]json.RawMessage `json:"props"`
				} `json:"model"`
			} `json:"return"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s: no query-cpu-model-expansion reply", file)
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if p := doc.Return.Model.Props; len(p) > 0 {
			return slices.Sorted(maps.Keys(p))
		}
	}
}

// TestDetect: captures of each release identify it; the real hosts'
// captures do too, or say how they differ.
func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		file, want string
		exact      bool
		missing    int // for an inexact detection: how many of the release's names are missing
	}{
		// query-cpu-model-expansion full of max under tcg on q35, taken
		// from each release's binary (Debian's 7.2.22; 5.2, 10.0.2 and
		// 11.1.3 unpacked by scripts/qemu-release.sh).
		{"testdata/qemu-5.2-max-tcg.qmp", "5.2", true, 0},
		{"testdata/qemu-7.2-max-tcg.qmp", "7.2", true, 0},
		{"testdata/qemu-10.0-max-tcg.qmp", "10.0", true, 0},
		{"testdata/qemu-11.1-max-tcg.qmp", "11.1", true, 0},
		// This machine's host expansion under kvm, recorded with QEMU
		// 7.2.22: host has max's properties.
		{"../../testdata/hosts/this-machine.qemu-7.2-host-expansion.qmp", "7.2", true, 0},
		// libvirt's captures from real hosts (tests/cputestdata), made
		// by QEMUs older than 5.2 (they lack its serialize, fsrm,
		// avx512-vp2intersect, … and have nothing it lacks).
		{"../../testdata/qemu-hosts/x86_64-cpuid-EPYC-7502-32-Core.json", "5.2", false, 11},
		{"../../testdata/qemu-hosts/x86_64-cpuid-Core-i7-8550U.json", "5.2", false, 12},
		{"../../testdata/qemu-hosts/x86_64-cpuid-Xeon-Gold-6130.json", "5.2", false, 109},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d := Detect(captureNames(t, tc.file))
			if d.Release != tc.want || d.Exact != tc.exact {
				t.Fatalf("Detect = %s (%+v), want release %s exact %v", d, d, tc.want, tc.exact)
			}
			if tc.exact && (len(d.Missing) > 0 || len(d.Extra) > 0) {
				t.Errorf("exact, yet missing %q extra %q", d.Missing, d.Extra)
			}
			if !tc.exact && (len(d.Missing) != tc.missing || len(d.Extra) != 0) {
				t.Errorf("missing %d, extra %q; want %d missing, none extra", len(d.Missing), d.Extra, tc.missing)
			}
		})
	}
}

// TestDetectCases: Detect on made-up name lists, and what String says.
func TestDetectCases(t *testing.T) {
	v111 := Names("11.1")
	v100 := Names("10.0")
	newer := append(slices.Clone(v111), "zz-future-feature")
	between := append(slices.Clone(v100), "amx-fp8") // 10.1 or so: one of 11.1's new names
	for _, tc := range []struct {
		name   string
		names  []string
		want   string
		exact  bool
		string string
	}{
		{"none", nil, "", false, "no QEMU release (no properties)"},
		{"11.1 shuffled, repeated", append(slices.Clone(v111), v111[3], v111[0]), "11.1", true, "QEMU 11.1"},
		{"newer than 11.1", newer, "11.1", false, "a QEMU release newer than 11.1 (nearest: 11.1, 1 properties it lacks)"},
		{"between 10.0 and 11.1", between, "10.0", false, "a QEMU release newer than 10.0 (nearest: 10.0, 1 properties it lacks)"},
		{"neither", append(v100[1:], "zz"), "10.0", false, "an unknown QEMU release (nearest: 10.0, 1 of its properties missing, 1 it lacks)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Detect(tc.names)
			if d.Release != tc.want || d.Exact != tc.exact || d.String() != tc.string {
				t.Errorf("Detect = %+v, %q; want %s exact %v, %q", d, d, tc.want, tc.exact, tc.string)
			}
		})
	}
	if got, want := Releases(), []string{"5.2", "7.2", "10.0", "11.1"}; !slices.Equal(got, want) {
		t.Errorf("Releases() = %q, want %q", got, want)
	}
	if Names("9.9") != nil {
		t.Error("Names of an unknown release is not nil")
	}
}

// TestListsMatchQEMU holds each embedded list to its release's binary: the
// properties of a full expansion of max under tcg. -update rewrites the
// lists from the binaries.
func TestListsMatchQEMU(t *testing.T) {
	for _, tc := range []struct {
		req testenv.Req
		rel string
	}{
		{testenv.QEMU52, "5.2"}, {testenv.QEMU, "7.2"}, {testenv.QEMU10, "10.0"}, {testenv.QEMU111, "11.1"},
	} {
		t.Run(tc.rel, func(t *testing.T) {
			bin := testenv.Need(t, tc.req, "read QEMU "+tc.rel+"'s CPU properties")
			ctx := context.Background()
			c, err := qmp.Start(ctx, bin, []string{"-machine", "q35", "-accel", "tcg", "-nodefaults", "-S", "-display", "none"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if v := c.Greeting().Version.String(); !strings.HasPrefix(v, tc.rel+".") {
				t.Fatalf("%s is QEMU %s, want %s", bin, v, tc.rel)
			}
			var reply struct {
				Model struct {
					Props map[string]json.RawMessage `json:"props"`
				} `json:"model"`
			}
			if err := c.Execute(ctx, "query-cpu-model-expansion", map[string]any{"type": "full", "model": map[string]any{"name": "max"}}, &reply); err != nil {
				t.Fatal(err)
			}
			live := slices.Sorted(maps.Keys(reply.Model.Props))
			file := "data/qemu-" + tc.rel + ".txt"
			if *update {
				if err := os.WriteFile(file, []byte(strings.Join(live, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := Names(tc.rel); !slices.Equal(got, live) && !*update {
				t.Errorf("%s: %d names, QEMU has %d: missing %q, extra %q (go test -run TestListsMatchQEMU ./core/qemurelease -update)",
					file, len(got), len(live), difference(live, got), difference(got, live))
			}
			if d := Detect(live); !d.Exact || d.Release != tc.rel {
				t.Errorf("QEMU %s's own names detect as %s", tc.rel, d)
			}
		})
	}
}

// TestCode: Code and ParseCode agree on every kind of detection.
func TestCode(t *testing.T) {
	for _, tc := range []struct {
		d    Detection
		code string
	}{
		{Detection{}, ""},
		{Detection{Release: "7.2", Exact: true}, "7.2"},
		{Detection{Release: "5.2", Missing: []string{"fsrm"}}, "pre-5.2"},
		{Detection{Release: "11.1", Extra: []string{"zz"}}, "post-11.1"},
		{Detection{Release: "10.0", Missing: []string{"a"}, Extra: []string{"b"}}, "near-10.0"},
	} {
		if got := tc.d.Code(); got != tc.code {
			t.Errorf("%+v.Code() = %q, want %q", tc.d, got, tc.code)
		}
		if tc.code == "" {
			continue
		}
		d, err := ParseCode(tc.code)
		if err != nil || d.Release != tc.d.Release || d.Exact != tc.d.Exact {
			t.Errorf("ParseCode(%q) = %+v, %v", tc.code, d, err)
		}
	}
	for _, bad := range []string{"", "7.3", "pre-", "pre-pre-5.2", "old-5.2", "11.1 "} {
		if _, err := ParseCode(bad); err == nil || !strings.Contains(err.Error(), "5.2, 7.2, 10.0, 11.1") {
			t.Errorf("ParseCode(%q): %v, want an error naming the releases", bad, err)
		}
	}
}

// FuzzParseCode: a code ParseCode accepts is its release with at most one
// of Code's prefixes, exact exactly when it has none.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"7.2", "pre-5.2", "post-11.1", "near-10.0", "", "pre-", "10.0x", "near-near-10.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		d, err := ParseCode(code)
		if err != nil {
			return
		}
		if Names(d.Release) == nil {
			t.Fatalf("ParseCode(%q) = unknown release %q", code, d.Release)
		}
		if ok := code == d.Release && d.Exact || !d.Exact && slices.ContainsFunc(codePrefixes, func(p string) bool { return code == p+d.Release }); !ok {
			t.Fatalf("ParseCode(%q) = %+v", code, d)
		}
	})
}

// TestKnownIsNames holds known, which ParseCode asks, to Names, which it
// stands for.
func TestKnownIsNames(t *testing.T) {
	for _, rel := range append(Releases(), "", "7", "7.3", "12.0", "../data/qemu-7.2", "data/qemu-7.2", "qemu-7.2", "7.2.txt", "7.2/") {
		if got, want := known(rel), Names(rel) != nil; got != want {
			t.Errorf("known(%q) = %v, want %v", rel, got, want)
		}
	}
}
