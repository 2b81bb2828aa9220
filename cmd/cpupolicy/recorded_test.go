package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core/check"
)

// TestRecordedHosts replays QMP replies captured on three real CPUs (from
// libvirt's test suite): the snapshot made from each host's expansion
// (probe --from-qemu-expansion, in testdata/hosts) must reproduce the
// recorded query-cpu-definitions verdict, under each embedded catalog
// (5.2 to 11.1), for every -vN model the catalog shares with the
// recording, and for host, max and base, which QEMU under kvm lists with
// nothing unavailable there (as cpupolicy must: host and max are what
// the host offers, base asks for nothing). Versioned models never change meaning, but the capturing QEMU
// was older than 7.2 and differed in two documented ways, which the test
// allows and nothing else:
//
//   - it did not yet turn svm off under KVM, so its AMD models also
//     needed svm and svm's dependants npt and nrip-save;
//   - its Cooperlake-v1 lacked taa-no (added to that definition later).
func TestRecordedHosts(t *testing.T) {
	olderQEMU := map[string]bool{"svm": true, "npt": true, "nrip-save": true}
	for _, h := range []struct{ qmp, snap string }{
		{"x86_64-cpuid-Xeon-Gold-6130.json", "xeon-gold-6130.json"},
		{"x86_64-cpuid-EPYC-7502-32-Core.json", "epyc-7502-32-core.json"},
		{"x86_64-cpuid-Core-i7-8550U.json", "core-i7-8550u.json"},
	} {
		recorded := recordedDefinitions(t, "../../testdata/qemu-hosts/"+h.qmp)
		for _, cat := range []string{"qemu-5.2", "qemu-7.2", "qemu-10.0", "qemu-11.1"} {
			t.Run(h.snap+"/"+cat, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run([]string{"models", "--catalog", cat, "--host", "../../testdata/hosts/" + h.snap, "--format", "json"}, strings.NewReader(""), &stdout, &stderr)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				var got []check.ModelVerdict
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				versioned := regexp.MustCompile(`-v[0-9]+$`)
				checked, exact, special := 0, 0, 0
				for _, m := range got {
					want, ok := recorded[m.Name]
					switch {
					case !ok:
						continue
					case m.Name == "host" || m.Name == "max" || m.Name == "base":
						special++
					case !versioned.MatchString(m.Name):
						continue
					}
					checked++
					if slices.Equal(m.UnavailableFeatures, want) {
						exact++
						continue
					}
					for _, f := range m.UnavailableFeatures {
						if !slices.Contains(want, f) && !(m.Name == "Cooperlake-v1" && f == "taa-no") {
							t.Errorf("%s: cpupolicy says %s is missing, the recording does not", m.Name, f)
						}
					}
					for _, f := range want {
						if !slices.Contains(m.UnavailableFeatures, f) && !olderQEMU[f] {
							t.Errorf("%s: the recording says %s is missing, cpupolicy does not", m.Name, f)
						}
					}
				}
				if checked < 40 || special != 3 {
					t.Fatalf("only %d models compared, %d of host, max and base", checked, special)
				}
				t.Logf("%d models compared (host, max, base and the versioned ones), %d identical, the rest differ only as documented", checked, exact)
			})
		}
	}
}

// recordedDefinitions reads the query-cpu-definitions reply among the
// concatenated QMP replies of path: model → sorted set of
// unavailable-features.
func recordedDefinitions(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for {
		var doc struct {
			ID     string `json:"id"`
			Return json.RawMessage
		}
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc.ID != "definitions" {
			continue
		}
		var defs []struct {
			Name        string   `json:"name"`
			Unavailable []string `json:"unavailable-features"`
		}
		if err := json.Unmarshal(doc.Return, &defs); err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, d := range defs {
			s := slices.Clone(d.Unavailable)
			slices.Sort(s)
			out[d.Name] = slices.Compact(s)
		}
		return out
	}
	t.Fatalf("%s: no definitions reply", path)
	return nil
}
