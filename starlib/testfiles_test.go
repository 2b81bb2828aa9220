package starlib_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// TestFindTestFiles: walking finds *_test.star files, sorted and once
// each, but not under hidden or testdata directories unless named.
func TestFindTestFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a_test.star": "", "b.star": "", "sub/c_test.star": "",
		".hidden/d_test.star": "", "testdata/e_test.star": "", "testdata/hosts/x.json": "{}",
	})
	rel := func(files []string) []string {
		var out []string
		for _, f := range files {
			r, _ := filepath.Rel(dir, f)
			out = append(out, filepath.ToSlash(r))
		}
		return out
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
		err  string
	}{
		{"walk", []string{dir}, []string{"a_test.star", "sub/c_test.star"}, ""},
		{"named twice", []string{dir, filepath.Join(dir, "a_test.star")}, []string{"a_test.star", "sub/c_test.star"}, ""},
		{"testdata named", []string{filepath.Join(dir, "testdata")}, []string{"testdata/e_test.star"}, ""},
		{"not a test file", []string{filepath.Join(dir, "b.star")}, nil, "not a test file"},
		{"missing", []string{filepath.Join(dir, "nope")}, nil, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := starlib.FindTestFiles(c.args)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("got %v, want an error with %q", err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(rel(got), c.want) {
				t.Errorf("got %q, %v; want %q", rel(got), err, c.want)
			}
		})
	}
}

// TestRunTestFiles: each file sees the hosts of the nearest
// testdata/hosts above it (or of HostsDir), Run selects tests, and a
// file that does not load is a load error while the others run.
func TestRunTestFiles(t *testing.T) {
	loadFixtures(t)
	gold, err := os.ReadFile(filepath.Join(hostsDir, "xeon-gold-6130.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"testdata/hosts/gold.json": string(gold),
		"p/hosts_test.star":        "def test_hosts():\n    assert.eq(sorted(hosts.keys()), [\"gold\"])\ndef test_other():\n    assert.eq(1, 2)\n",
		"p/broken_test.star":       "def test_x(:\n",
	})
	cfg := starlib.TestConfig{Catalog: fixtures.cat72, Options: starlib.Options{}}
	files := []string{filepath.Join(dir, "p/broken_test.star"), filepath.Join(dir, "p/hosts_test.star")}
	results, loadErrs, err := starlib.RunTestFiles(context.Background(), files, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(loadErrs) != 1 || !strings.Contains(loadErrs[0].Error(), "broken_test.star:1:") {
		t.Errorf("load errors %v, want broken_test.star's", loadErrs)
	}
	var got []string
	for _, r := range results {
		got = append(got, r.Name+":"+string(r.Status))
	}
	if want := []string{"test_hosts:pass", "test_other:fail"}; !slices.Equal(got, want) {
		t.Errorf("results %q, want %q", got, want)
	}

	cfg.Run = regexp.MustCompile("hosts")
	cfg.HostsDir = filepath.Join(dir, "p") // strict: no snapshot there, so no hosts
	results, _, err = starlib.RunTestFiles(context.Background(), files[1:], cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Status != starlib.TestFail {
		t.Errorf("with HostsDir and Run: %+v, want test_hosts failing (no hosts)", results)
	}
	cfg.HostsDir = filepath.Join(dir, "nope")
	if _, _, err := starlib.RunTestFiles(context.Background(), files[1:], cfg); err == nil {
		t.Error("a missing HostsDir: no error")
	}
}
