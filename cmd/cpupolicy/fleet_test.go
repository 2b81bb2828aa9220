package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
	"github.com/cpupolicy/cpupolicy/site"
)

// update (-update) rewrites the generated files tests compare with:
// docs/fleet-report.png and the golden files in testdata/labels.
var update = flag.Bool("update", false, "rewrite docs/fleet-report.png and testdata/labels golden files")

// fleetSite writes a site over the recorded hosts into dir: pools by
// vendor and one mixing them, and offers that pass and fail.
func fleetSite(t *testing.T, dir string) string {
	t.Helper()
	for _, h := range []string{"xeon-gold-6130", "core-i7-8550u", "epyc-7502-32-core", "this-machine"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hosts", h+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, h+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	site := filepath.Join(dir, "site.star")
	err := os.WriteFile(site, []byte(`
offer("web", cpu = "Skylake-Client-v4", pool = "intel")
offer("db", cpu = "Skylake-Server-v5", pool = "intel")
offer("legacy", cpu = "qemu64", pool = "amd")
offer("mixed", cpu = "qemu64", pool = "all")
offer("mixed-tcg", cpu = "qemu64", pool = "all", accel = "tcg")
pool("intel", hosts = ["xeon-gold-6130.json", "core-i7-8550u.json"])
pool("amd", hosts = ["epyc-7502-32-core.json", "this-machine.json"])
pool("all", hosts = ["epyc-7502-32-core.json", "xeon-gold-6130.json"])
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return site
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

// TestFleetExitCodes pins fleet's exit status: 0 when every pool offer
// runs and migrates, 1 when one does not, 2 on bad input.
func TestFleetExitCodes(t *testing.T) {
	dir := t.TempDir()
	site := fleetSite(t, dir)
	good := filepath.Join(dir, "good.star")
	os.WriteFile(good, []byte(`offer("web", cpu = "Skylake-Client-v4", pool = "p")
pool("p", hosts = ["xeon-gold-6130.json", "core-i7-8550u.json"])
`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema": "cpupolicy/host-snapshot/v1", "source": `), 0o644)
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"hosts only", []string{"fleet", filepath.Join(dir, "xeon-gold-6130.json")}, 0},
		{"offers pass", []string{"fleet", "--site", good}, 0},
		{"offers fail", []string{"fleet", "--site", site}, 1},
		{"offers fail json", []string{"fleet", "--site", site, "--format", "json"}, 1},
		{"offers fail html", []string{"fleet", "--site", site, "--format", "html", "-o", filepath.Join(dir, "r.html")}, 1},
		{"malformed snapshot", []string{"fleet", "--site", good, bad}, 2},
		{"no hosts", []string{"fleet"}, 2},
		{"bad machine", []string{"fleet", "--site", good, "--machine", "pc-q35-0.1"}, 2},
		{"bad format", []string{"fleet", "--site", good, "--format", "pdf"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			if c.code == 2 && strings.Count(stderr, "\n") != 1 {
				t.Fatalf("stderr is not one line: %q", stderr)
			}
			if c.name == "malformed snapshot" && !strings.Contains(stderr, bad) {
				t.Fatalf("stderr does not name %s: %q", bad, stderr)
			}
		})
	}
}

// TestFleetAgreesWithPolicies: the offers fleet finds unsafe are exactly
// those the built-in runnable and migration-safe policies report on the
// same site.
func TestFleetAgreesWithPolicies(t *testing.T) {
	dir := t.TempDir()
	siteFile := fleetSite(t, dir)
	for _, cat := range []string{"qemu-7.2", "qemu-10.0"} {
		_, out, stderr := runCLI("check", "--catalog", cat, "--site", siteFile, "--policy", "runnable", "--policy", "migration-safe", "--format", "json")
		var rep struct {
			Violations []struct {
				Policy string `json:"policy"`
				Offer  string `json:"offer"`
			} `json:"violations"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("check: %v; stderr %s", err, stderr)
		}
		var fromPolicies []string
		for _, v := range rep.Violations {
			if !slices.Contains(fromPolicies, v.Offer) {
				fromPolicies = append(fromPolicies, v.Offer)
			}
		}
		_, out, stderr = runCLI("fleet", "--catalog", cat, "--site", siteFile, "--format", "json")
		var fr site.FleetReport
		if err := json.Unmarshal([]byte(out), &fr); err != nil {
			t.Fatalf("fleet: %v; stderr %s", err, stderr)
		}
		var fromFleet []string
		for _, p := range fr.Pools {
			fromFleet = append(fromFleet, p.UnsafeOffers...)
		}
		sort.Strings(fromPolicies)
		sort.Strings(fromFleet)
		if len(fromFleet) == 0 || !slices.Equal(fromFleet, fromPolicies) {
			t.Errorf("%s: fleet finds %v unsafe, the policies %v", cat, fromFleet, fromPolicies)
		}
	}
}

// Cell colours of the HTML report (templates/fleet.html).
var (
	cellGreen = [3]uint8{0x2d, 0xa4, 0x4e}
	cellRed   = [3]uint8{0xcf, 0x22, 0x2e}
)

// TestFleetHTMLInChromium renders the HTML report of the recorded hosts
// in headless Chromium, and checks the page as a browser shows it: in the
// screenshot, each host row of the matrix has as many green cells as the
// host runs models (counted independently with check.Compute) and red
// ones for the rest; in the DOM, the cells' classes and hover titles
// name the missing bits. With -update the screenshot becomes
// docs/fleet-report.png.
func TestFleetHTMLInChromium(t *testing.T) {
	chromium := testenv.Need(t, testenv.Chromium, "render the HTML report")
	dir := t.TempDir()
	site := fleetSite(t, dir)
	page := filepath.Join(dir, "fleet.html")
	if code, _, stderr := runCLI("fleet", "--catalog", "qemu-10.0", "--site", site, "--format", "html", "-o", page); code != 1 {
		t.Fatalf("fleet exit %d, want 1: %s", code, stderr)
	}
	html, _ := os.ReadFile(page)
	if m := regexp.MustCompile(`(?i)(src|href)=["']?(https?:)?//`).Find(html); m != nil {
		t.Fatalf("the page fetches something: %s", m)
	}

	// The truth, independently: which models each host runs.
	reg := feature.Builtin()
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := cat.Newest("pc-q35")
	var models []string
	var reqs []feature.FeatureSet
	catModels := cat.Models()
	for i := range catModels {
		if catModels[i].AliasOf == "" {
			r, err := cat.Resolve(catModels[i].Name, mt.Name, core.KVM, "")
			if err != nil {
				t.Fatal(err)
			}
			models, reqs = append(models, catModels[i].Name), append(reqs, r.Features)
		}
	}
	type row struct {
		host    string
		runs    int
		missing map[string][]string // model → missing bits
	}
	var rows []row // in the order of the site's pools
	for _, h := range []string{"xeon-gold-6130", "core-i7-8550u", "epyc-7502-32-core", "this-machine", "epyc-7502-32-core", "xeon-gold-6130"} {
		s, err := (&env{}).loadSnapshot(filepath.Join(dir, h+".json"))
		if err != nil {
			t.Fatal(err)
		}
		a, err := check.Compute(reg, s, core.Release{Major: 10, Minor: 0}, core.KVM)
		if err != nil {
			t.Fatal(err)
		}
		r := row{host: host.Name(s, h+".json"), missing: map[string][]string{}} // this-machine.json records hostname "vm"
		for i, q := range reqs {
			if m := q.Difference(a.Set); m.IsEmpty() {
				r.runs++
			} else {
				r.missing[models[i]] = reg.Names(m)
			}
		}
		rows = append(rows, r)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	chrome := func(args ...string) []byte {
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--force-device-scale-factor=1", "--user-data-dir=" + filepath.Join(dir, "profile")}, args...)
		cmd := exec.CommandContext(ctx, chromium, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
		}
		return stdout.Bytes()
	}

	// The DOM as Chromium parsed it.
	dom := string(chrome("--dump-dom", "file://"+page))
	trs := regexp.MustCompile(`(?s)<tr data-host="([^"]+)">(.*?)</tr>`).FindAllStringSubmatch(dom, -1)
	if len(trs) != len(rows) {
		t.Fatalf("DOM has %d host rows, want %d", len(trs), len(rows))
	}
	cell := regexp.MustCompile(`<td class="c (ok|no)[^"]*" title="([^"]*)"`)
	for i, tr := range trs {
		if tr[1] != rows[i].host {
			t.Fatalf("DOM row %d is %s, want %s", i, tr[1], rows[i].host)
		}
		cells := cell.FindAllStringSubmatch(tr[2], -1)
		if len(cells) != len(models) {
			t.Fatalf("row %s has %d cells, want %d", tr[1], len(cells), len(models))
		}
		for j, c := range cells {
			miss, blocked := rows[i].missing[models[j]]
			if (c[1] == "no") != blocked {
				t.Errorf("%s on %s: cell %s, want blocked=%v", models[j], tr[1], c[1], blocked)
			}
			if blocked && !strings.HasSuffix(c[2], ": "+strings.Join(miss, " ")) {
				t.Errorf("%s on %s: title %q does not name the missing %v", models[j], tr[1], c[2], miss)
			}
		}
	}
	if !strings.Contains(dom, `title="Skylake-Server-v5 on core-i7-8550u: missing 7: avx512bw avx512cd avx512dq avx512f avx512vl clwb pku"`) {
		t.Error("the DOM lacks the hover title naming the laptop's missing AVX-512 bits")
	}

	// The screenshot: find the matrix rows (horizontal bands of cell
	// colour) and count the green and red cells along each band's middle.
	shot := filepath.Join(dir, "fleet.png")
	chrome("--screenshot="+shot, "--window-size=1600,1000", "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	bands := cellBands(img)
	// The legend's two swatches come first; then one band per host row.
	if len(bands) < len(rows) {
		t.Fatalf("screenshot shows %d bands of cell colour, want at least %d host rows", len(bands), len(rows))
	}
	bands = bands[len(bands)-len(rows):]
	for i, y := range bands {
		green, red := countCells(img, y)
		if green != rows[i].runs || red != len(models)-rows[i].runs {
			t.Errorf("row %d (%s) at y=%d: %d green and %d red cells, want %d and %d",
				i, rows[i].host, y, green, red, rows[i].runs, len(models)-rows[i].runs)
		}
	}
	if *update {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "fleet-report.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func near(c [3]uint8, r, g, b uint32) bool {
	d := func(x uint8, y uint32) bool { y >>= 8; return int(x)-int(y) <= 6 && int(y)-int(x) <= 6 }
	return d(c[0], r) && d(c[1], g) && d(c[2], b)
}

// cellBands returns the middle y of each run of rows that hold more
// than one pixel of cell colour.
func cellBands(img image.Image) []int {
	b := img.Bounds()
	var out []int
	start := -1
	for y := b.Min.Y; y <= b.Max.Y; y++ {
		n := 0
		if y < b.Max.Y {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if near(cellGreen, r, g, bl) || near(cellRed, r, g, bl) {
					n++
				}
			}
		}
		switch {
		case n > 1 && start < 0:
			start = y
		case n <= 1 && start >= 0:
			out = append(out, (start+y-1)/2)
			start = -1
		}
	}
	return out
}

// countCells counts the runs of green and of red pixels along row y.
func countCells(img image.Image, y int) (green, red int) {
	b := img.Bounds()
	prev := 0
	for x := b.Min.X; x < b.Max.X; x++ {
		r, g, bl, _ := img.At(x, y).RGBA()
		cur := 0
		switch {
		case near(cellGreen, r, g, bl):
			cur = 1
		case near(cellRed, r, g, bl):
			cur = 2
		}
		if cur != prev {
			switch cur {
			case 1:
				green++
			case 2:
				red++
			}
		}
		prev = cur
	}
	return green, red
}

// TestFleetHTMLGroupsSameHosts: hosts of a pool that offer the same and
// have the same vendor share one matrix row, which names them all.
func TestFleetHTMLGroupsSameHosts(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../testdata/hosts/xeon-gold-6130.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		os.WriteFile(filepath.Join(dir, n+".json"), data, 0o644)
	}
	laptop, _ := os.ReadFile("../../testdata/hosts/core-i7-8550u.json")
	os.WriteFile(filepath.Join(dir, "d.json"), laptop, 0o644)
	code, out, stderr := runCLI("fleet", dir, "--format", "html")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := regexp.MustCompile(`<tr data-host="([^"]+)"( data-same="(\d+)")?>`).FindAllStringSubmatch(out, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1]+"+"+r[3])
	}
	if want := []string{"a+2", "d+"}; !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if !strings.Contains(out, `title="the same as a: b c"`) {
		t.Error("the grouped row does not name its other hosts")
	}
}
