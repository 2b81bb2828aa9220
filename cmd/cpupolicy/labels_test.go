package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/labels"
)

// TestLabelsGolden writes the NFD labels of every recorded host (with the
// offers of testdata/labels/site.star) and compares them with
// testdata/labels/HOST.labels; -update rewrites those.
func TestLabelsGolden(t *testing.T) {
	hosts, err := filepath.Glob("../../testdata/hosts/*.json")
	if err != nil || len(hosts) == 0 {
		t.Fatalf("no recorded hosts: %v", err)
	}
	for _, h := range hosts {
		name := strings.TrimSuffix(filepath.Base(h), ".json")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			rc := run([]string{"labels", "--host", h, "--catalog", "qemu-10.0", "--site", "testdata/labels/site.star"}, nil, &stdout, &stderr)
			if strings.HasSuffix(name, ".from-dump") {
				// A snapshot from a cpuid dump knows no KVM: nothing to label.
				if rc != 2 || !strings.Contains(stderr.String(), "no KVM data") || stdout.Len() > 0 {
					t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 for a snapshot without KVM data", rc, stdout.String(), stderr.String())
				}
				return
			}
			if rc != 0 {
				t.Fatalf("exit %d: %s", rc, stderr.String())
			}
			golden := filepath.Join("testdata", "labels", name+".labels")
			// Validated before -update writes it, so that a golden file
			// never holds labels that the test would reject.
			checkFeatureFile(t, stdout.String())
			if *update {
				if t.Failed() {
					t.Fatalf("%s not updated: the labels above are invalid", golden)
				}
				if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := stdout.String(); got != string(want) {
				t.Errorf("labels of %s differ from %s (run with -update if the change is right):\n%s", name, golden, got)
			}
		})
	}
}

// checkFeatureFile holds a labels file to NFD's format and Kubernetes'
// label syntax: comments, or name=value with a cpupolicy.io/ name and a
// value that are valid labels, sorted, no name twice.
func checkFeatureFile(t *testing.T, text string) {
	t.Helper()
	prev := ""
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		name, hasPrefix := strings.CutPrefix(k, labels.Prefix)
		if !ok || !hasPrefix || !labels.Valid(name) || !labels.Valid(v) {
			t.Errorf("line %d: %q is not cpupolicy.io/NAME=VALUE with valid label syntax", i+1, line)
		}
		if k <= prev {
			t.Errorf("line %d: %s is not after %s", i+1, k, prev)
		}
		prev = k
	}
}
