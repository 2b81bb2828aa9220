package starlib_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// writeTree writes files (path → content) under a new directory and
// returns it; "HOSTS" in a content is the recorded hosts' directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	hosts, err := filepath.Abs(hostsDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(data, "HOSTS", hosts)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadSiteFile(t *testing.T) {
	loadFixtures(t)
	dir := writeTree(t, map[string]string{
		"site/site.star": `"""A site."""
load("pools.star", "INTEL")

offer("web", cpu = "Skylake-Server-v4", machine = "pc-q35-7.2", pool = "intel")
offer("db", cpu = "EPYC-v3,kvmclock=on", pool = "mixed")
offer("batch", cpu = "qemu64", accel = "tcg")
pool("intel", hosts = INTEL)
pool("mixed", hosts = ["HOSTS/xeon-gold-6130.json", "../hosts/epyc-7502-32-core.json"])
`,
		"site/pools.star":              `INTEL = ["HOSTS/xeon-gold-6130.json", "HOSTS/core-i7-8550u.json"]` + "\n",
		"hosts/epyc-7502-32-core.json": mustRead(t, filepath.Join(hostsDir, "epyc-7502-32-core.json")),
	})
	st, err := starlib.LoadSiteFile(filepath.Join(dir, "site", "site.star"), fixtures.cat72, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Source is the position of the offer() call (its parenthesis).
	file := filepath.Join(dir, "site", "site.star")
	want := []site.Offer{
		{Name: "web", CPU: "Skylake-Server-v4", Machine: "pc-q35-7.2", Pool: "intel", Source: file + ":4:6"},
		{Name: "db", CPU: "EPYC-v3,kvmclock=on", Pool: "mixed", Source: file + ":5:6"},
		{Name: "batch", CPU: "qemu64", Accel: "tcg", Source: file + ":6:6"},
	}
	if len(st.Offers) != len(want) {
		t.Fatalf("offers %+v", st.Offers)
	}
	for i := range want {
		if st.Offers[i] != want[i] {
			t.Errorf("offer %d: got %+v, want %+v", i, st.Offers[i], want[i])
		}
	}
	var pools []string
	for _, p := range st.Pools {
		var names []string
		for _, h := range p.Hosts {
			names = append(names, h.Name)
		}
		pools = append(pools, p.Name+": "+strings.Join(names, " "))
	}
	if got := strings.Join(pools, "; "); got != "intel: xeon-gold-6130 core-i7-8550u; mixed: xeon-gold-6130 epyc-7502-32-core" {
		t.Errorf("pools %s", got)
	}
	// A host named twice is one value: the same host in both pools.
	if st.Pools[0].Hosts[0] != st.Pools[1].Hosts[0] {
		t.Error("xeon-gold-6130 loaded twice")
	}
	// The site checks.
	p, err := starlib.LoadPolicyFile("testdata/policies/runnable.star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := p.Check(context.Background(), starlib.Input{Catalog: fixtures.cat72, Site: st})
	if err != nil || len(vs) != 2 {
		t.Errorf("runnable over the site: %d violations, %v", len(vs), err)
	}
}

func TestLoadSiteFileErrors(t *testing.T) {
	loadFixtures(t)
	tests := []struct {
		name, src string
		want      []string // the lines of the error, in order
	}{
		{"every mistake, sorted", `offer("b", cpu = "Haswel-v4", pool = "p2")
pool("p1", hosts = ["nothere.json"])
offer("a", cpu = "qemu64", machine = "pc-q35-99")
offer("b", cpu = "qemu64")
offer("", cpu = "qemu64")
offer("c", cpu = "")
offer("d", cpu = "qemu64", accel = "hvf")
pool("p1", hosts = ["HOSTS/xeon-gold-6130.json"])
pool("p3", hosts = [])
`, []string{
			`site.star:1:6: offer b: no pool "p2" (did you mean "p1"?)`,
			`site.star:1:6: offer b: unknown CPU model "Haswel-v4" in catalog qemu-7.2 (did you mean "Haswell-v4"?)`,
			`site.star:2:5: pool p1: open nothere.json: no such file or directory`,
			`site.star:3:6: offer a: unknown machine type "pc-q35-99" in catalog qemu-7.2 (did you mean "pc-q35-2.9"?)`,
			`site.star:4:6: offer b: already declared at site.star:1:6`,
			`site.star:5:6: offer: name is empty`,
			`site.star:6:6: offer c: cpu is empty`,
			`site.star:7:6: offer d: accel: got "hvf", want "kvm" or "tcg"`,
			`site.star:8:5: pool p1: already declared at site.star:2:5`,
			`site.star:9:5: pool p3: no hosts`,
		}},
		{"two hosts of one name", `pool("p", hosts = ["HOSTS/xeon-gold-6130.json", "a/xeon-gold-6130.json"])`,
			[]string{`site.star:1:5: pool p: hosts HOSTS/xeon-gold-6130.json and a/xeon-gold-6130.json have the same name "xeon-gold-6130"`}},
		{"not a snapshot", `pool("p", hosts = ["site.star"])`, []string{`site.star:1:5: pool p: site.star:1:1: not a cpupolicy host snapshot`}},
		{"a type error is a Starlark error", `offer("a", cpu = 1)`, []string{`site.star:1:6: offer: for parameter "cpu": got int, want string`}},
		{"an option of the wrong type", `offer("a", cpu = "qemu64", pool = 1)`, []string{`site.star:1:6: offer: pool: got int, want string or None`}},
		{"hosts a string", `pool("p", hosts = "a.json")`, []string{`pool: hosts: got string, want a list of snapshot files`}},
		{"no file access", `load("/etc/passwd", "x")`, []string{`cannot load /etc/passwd: absolute paths are not allowed`}},
	}
	hosts, _ := filepath.Abs(hostsDir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"site.star": tt.src, "a/xeon-gold-6130.json": mustRead(t, filepath.Join(hostsDir, "xeon-gold-6130.json"))})
			file := filepath.Join(dir, "site.star")
			_, err := starlib.LoadSiteFile(file, fixtures.cat72, starlib.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.ReplaceAll(strings.ReplaceAll(err.Error(), dir+"/", ""), hosts, "HOSTS")
			lines := strings.Split(got, "\n")
			if len(tt.want) > 1 {
				if len(lines) != len(tt.want) {
					t.Fatalf("got\n%s\nwant\n%s", got, strings.Join(tt.want, "\n"))
				}
				for i := range lines {
					if lines[i] != tt.want[i] {
						t.Errorf("line %d: got\n%s\nwant\n%s", i+1, lines[i], tt.want[i])
					}
				}
				return
			}
			if !strings.Contains(got, tt.want[0]) {
				t.Errorf("got\n%s\nwant it to contain\n%s", got, tt.want[0])
			}
		})
	}
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestOfferCheck: an offer resolves with the catalog or says why not,
// without naming itself (callers do, as "offer NAME" or "--cpu SPEC").
func TestOfferCheck(t *testing.T) {
	loadFixtures(t)
	for _, tc := range []struct {
		o    site.Offer
		want string // "" for none
	}{
		{site.Offer{Name: "a", CPU: "Haswell-v4,+pcid"}, ""},
		{site.Offer{Name: "a", CPU: "qemu64", Machine: "pc-i440fx-2.0", Accel: "tcg"}, ""},
		{site.Offer{Name: "a", CPU: "Haswel"}, `unknown CPU model "Haswel" in catalog qemu-7.2 (did you mean "Haswell"?)`},
		{site.Offer{Name: "a", CPU: "Haswell", Machine: "pc-q35-99.0"}, `pc-q35-99.0`},
		{site.Offer{Name: "a", CPU: "Haswell,+nosuchbit"}, `nosuchbit`},
	} {
		err := starlib.CheckOffer(fixtures.cat72, tc.o)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.HasPrefix(err.Error(), "config:")):
			t.Errorf("%+v: got %v, want an error with %q and no config: prefix", tc.o, err, tc.want)
		}
	}
}

// TestSiteHostNames: a site's host is named as every command names one
// (host.Name): the hostname its snapshot records (this-machine.json
// records "vm"), else its file's name without ".json".
func TestSiteHostNames(t *testing.T) {
	loadFixtures(t)
	dir := writeTree(t, map[string]string{
		"site.star": `pool("p", hosts = ["HOSTS/xeon-gold-6130.json", "HOSTS/this-machine.json"])` + "\n",
	})
	st, err := starlib.LoadSiteFile(filepath.Join(dir, "site.star"), fixtures.cat72, starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range st.Pools[0].Hosts {
		got = append(got, h.Name)
	}
	if want := []string{"xeon-gold-6130", "vm"}; !slices.Equal(got, want) {
		t.Errorf("host names %q, want %q", got, want)
	}
}
