package export_test

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/export"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
	"github.com/cpupolicy/cpupolicy/labels"
	"github.com/cpupolicy/cpupolicy/site"
)

// pools are pools of the recorded hosts (testdata/hosts) on QEMU 10.0's
// newest q35 machine type.
var pools = map[string][]string{
	"skx":     {"xeon-gold-6130"},
	"rome":    {"epyc-7502-32-core"},
	"laptop":  {"core-i7-8550u"},
	"intel":   {"xeon-gold-6130", "core-i7-8550u"},
	"mixed":   {"epyc-7502-32-core", "this-machine"},
	"pvm-amd": {"this-machine"},
}

type fixture struct {
	cat *catalog.Catalog
	rel core.Release
	m   *libvirt.Map
}

func load(t *testing.T) *fixture {
	t.Helper()
	dir := testenv.Need(t, testenv.LibvirtCPUMap, "name libvirt's models and features")
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		t.Fatal(err)
	}
	rel, _, err := check.CatalogRelease(cat)
	if err != nil {
		t.Fatal(err)
	}
	m, err := libvirt.LoadMap(dir, cat.Registry())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{cat, rel, m}
}

func (f *fixture) judge(t *testing.T, pool string, hosts ...*site.Host) *export.Judged {
	t.Helper()
	if len(hosts) == 0 {
		for _, h := range pools[pool] {
			s, err := host.ReadFile(filepath.Join("..", "testdata", "hosts", h+".json"), f.cat.Registry())
			if err != nil {
				t.Fatal(err)
			}
			hosts = append(hosts, site.NewHost(h, s))
		}
	}
	j, err := export.Judge(export.Input{Catalog: f.cat, Release: f.rel, Machine: "pc-q35-10.0", Map: f.m,
		Pool: site.Pool{Name: pool, Hosts: hosts}})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// resolves returns the features QEMU's -cpu spec gives a guest on the
// test machine type under kvm.
func (f *fixture) resolves(t *testing.T, spec string) feature.FeatureSet {
	t.Helper()
	s, err := f.cat.ParseCPU(spec)
	if err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	r, err := f.cat.ResolveSpec(s, "pc-q35-10.0", core.KVM, "")
	if err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	return r.Features
}

// parseINI reads an INI file the way oslo.config's parser
// (oslo_config/iniparser.py) does: "[section]" headers, "key = value"
// (or "key: value") lines, "#" and ";" comments, blank lines.
func parseINI(t *testing.T, data []byte) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	var sec map[string]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(l, "#"), strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "["):
			if !strings.HasSuffix(l, "]") || len(l) < 3 {
				t.Fatalf("line %d: bad section header %q", n, l)
			}
			sec = map[string]string{}
			out[l[1:len(l)-1]] = sec
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || sec == nil || strings.TrimSpace(k) == "" || l[0] == ' ' || l[0] == '\t' {
				t.Fatalf("line %d: not a key = value line of a section: %q", n, l)
			}
			sec[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// TestNovaINI: the output parses as INI with nova's [libvirt] option names
// and types (nova/conf/libvirt.py: cpu_mode a StrOpt of host-model,
// host-passthrough, custom, none; cpu_models and cpu_model_extra_flags
// ListOpts, comma-separated), cpu_models naming libvirt's models from the
// least to the most advanced, each of which every host runs, and the
// extra flags libvirt's feature names.
func TestNovaINI(t *testing.T) {
	f := load(t)
	for pool := range pools {
		t.Run(pool, func(t *testing.T) {
			j := f.judge(t, pool)
			n, err := export.Nova(j)
			if err != nil {
				t.Fatal(err)
			}
			ini := parseINI(t, n.Text())
			sec, ok := ini["libvirt"]
			if !ok || len(ini) != 1 {
				t.Fatalf("sections %v, want [libvirt] alone", ini)
			}
			for k := range sec {
				if !slices.Contains([]string{"cpu_mode", "cpu_models", "cpu_model_extra_flags"}, k) {
					t.Errorf("option %q is not one of nova's", k)
				}
			}
			if !slices.Contains([]string{"host-model", "host-passthrough", "custom", "none"}, sec["cpu_mode"]) || sec["cpu_mode"] != "custom" {
				t.Errorf("cpu_mode = %q", sec["cpu_mode"])
			}
			models := strings.Split(sec["cpu_models"], ",")
			if len(models) == 0 || !slices.Equal(models, n.CPUModels) {
				t.Fatalf("cpu_models %q, want %v", sec["cpu_models"], n.CPUModels)
			}
			prev := 0
			for _, m := range models {
				if _, ok := f.m.Model(m); !ok {
					t.Errorf("cpu_models: %s is not a model of libvirt's CPU map", m)
				}
				if !slices.Contains(j.Runnable, m) {
					t.Errorf("cpu_models: %s does not run on every host", m)
				}
				c := f.resolves(t, m).Count()
				if c < prev {
					t.Errorf("cpu_models: %s (%d features) after a richer model (%d)", m, c, prev)
				}
				prev = c
			}
			if sec["cpu_model_extra_flags"] != "" {
				for _, fl := range strings.Split(sec["cpu_model_extra_flags"], ",") {
					if _, ok := f.m.Feature(fl); !ok {
						t.Errorf("cpu_model_extra_flags: %q is not a libvirt feature", fl)
					}
				}
			}
			// The last model with the extra flags runs everywhere.
			spec := models[len(models)-1]
			for _, fl := range n.ExtraFlags {
				spec += ",+" + fl
			}
			if got := f.resolves(t, spec); !got.SubsetOf(commonOf(t, f, j)) {
				t.Errorf("%s asks for %v beyond the pool", spec, f.cat.Registry().Names(got.Difference(commonOf(t, f, j))))
			}
		})
	}
}

// commonOf is what every host of the pool gives a guest.
func commonOf(t *testing.T, f *fixture, j *export.Judged) feature.FeatureSet {
	t.Helper()
	var common feature.FeatureSet
	for i, h := range j.Hosts {
		s, err := host.ReadFile(filepath.Join("..", "testdata", "hosts", h+".json"), f.cat.Registry())
		if err != nil {
			t.Fatal(err)
		}
		a, err := check.HostAvailability(h, f.cat.Registry(), s, f.rel, core.KVM)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			common = a.Set
		}
		common = common.Intersect(a.Set)
	}
	return common
}

// TestLibvirtResolves: the <cpu> parses as the --cpu-xml flag reads it
// (libvirt.ParseCPU) and its -cpu spec resolves to the pool's best model.
func TestLibvirtResolves(t *testing.T) {
	f := load(t)
	for pool := range pools {
		t.Run(pool, func(t *testing.T) {
			j := f.judge(t, pool)
			c, err := export.Libvirt(j)
			if err != nil {
				t.Fatal(err)
			}
			cpu, err := libvirt.ParseCPU("export.xml", c.Text(), f.cat.Registry())
			if err != nil {
				t.Fatalf("%v\n%s", err, c.Text())
			}
			if cpu.Match != "exact" || cpu.Model != c.Model || cpu.Fallback != "forbid" {
				t.Errorf("parsed %+v", cpu)
			}
			spec, err := cpu.Spec(f.cat.Registry(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, want := f.resolves(t, spec), f.resolves(t, j.Best)
			if !got.Equal(want) {
				t.Errorf("%s resolves to %v more, %v fewer than %s", spec,
					f.cat.Registry().Names(got.Difference(want)), f.cat.Registry().Names(want.Difference(got)), j.Best)
			}
		})
	}
}

// Proxmox's section-config syntax (pve-common PVE/SectionConfig.pm:
// parse_section_header and parse_config), the pve-configid format
// (PVE/JSONSchema.pm) and the cpu-model properties (qemu-server
// PVE/QemuServer/CPUConfig.pm: $cpu_fmt).
var (
	pveHeader   = regexp.MustCompile(`^(\S+):\s*(\S+)\s*$`)
	pveProperty = regexp.MustCompile(`^\s+(\S+)(\s+(.*\S))?\s*$`)
	pveConfigID = regexp.MustCompile(`(?i)^[a-z][a-z0-9_-]+$`)
	pveFlags    = regexp.MustCompile(`^[+-][a-zA-Z0-9\-_\.]+(;[+-][a-zA-Z0-9\-_\.]+)*$`)
)

// TestProxmoxSectionConfig: the output is one cpu-model section that
// Proxmox's parser accepts, and reported-model plus flags give the
// pool's best model.
func TestProxmoxSectionConfig(t *testing.T) {
	f := load(t)
	for pool := range pools {
		t.Run(pool, func(t *testing.T) {
			j := f.judge(t, pool)
			p, err := export.Proxmox(j)
			if err != nil {
				t.Fatal(err)
			}
			sections := 0
			props := map[string]string{}
			sc := bufio.NewScanner(bytes.NewReader(p.Text()))
			for sc.Scan() {
				l := sc.Text()
				if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
					continue
				}
				if m := pveHeader.FindStringSubmatch(l); m != nil {
					sections++
					if m[1] != "cpu-model" || !pveConfigID.MatchString(m[2]) || m[2] != p.Name {
						t.Errorf("section header %q", l)
					}
					continue
				}
				m := pveProperty.FindStringSubmatch(l)
				if m == nil || sections == 0 {
					t.Fatalf("line %q is neither a section header nor a property", l)
				}
				if _, dup := props[m[1]]; dup {
					t.Errorf("property %s twice", m[1])
				}
				props[m[1]] = m[3]
			}
			if sections != 1 {
				t.Fatalf("%d sections", sections)
			}
			for k, v := range props {
				switch k {
				case "reported-model":
					if !slices.Contains(export.ProxmoxModels(), v) {
						t.Errorf("reported-model %q is not in Proxmox's list", v)
					}
				case "flags":
					if !pveFlags.MatchString(v) {
						t.Errorf("flags %q", v)
					}
				case "phys-bits":
					if n, err := strconv.Atoi(v); (err != nil || n < 8 || n > 64) && v != "host" {
						t.Errorf("phys-bits %q", v)
					}
				default:
					t.Errorf("property %q is not a cpu-model property", k)
				}
			}
			spec := props["reported-model"]
			if props["flags"] != "" {
				spec += "," + strings.ReplaceAll(props["flags"], ";", ",")
			}
			if got, want := f.resolves(t, spec), f.resolves(t, j.Best); !got.Equal(want) {
				t.Errorf("%s differs from %s", spec, j.Best)
			}
		})
	}
}

// TestProxmoxPhysBits: with raw CPUID (a live snapshot) the section
// gives the host's physical address bits (CPUID 0x80000008 EAX[7:0]).
func TestProxmoxPhysBits(t *testing.T) {
	f := load(t)
	j := f.judge(t, "pvm-amd")
	p, err := export.Proxmox(j)
	if err != nil {
		t.Fatal(err)
	}
	s, err := host.ReadFile("../testdata/hosts/this-machine.json", f.cat.Registry())
	if err != nil {
		t.Fatal(err)
	}
	l, ok := s.Leaves().Find(0x80000008, 0)
	if !ok || p.PhysBits != int(l.EAX&0xff) || p.PhysBits == 0 {
		t.Errorf("phys-bits %d, leaf %v", p.PhysBits, l)
	}
	if !strings.Contains(string(p.Text()), fmt.Sprintf("\tphys-bits %d\n", p.PhysBits)) {
		t.Errorf("text:\n%s", p.Text())
	}
}

// TestKubeVirtExport: cpuModel is a model node-labeller labels on every
// host, and where libvirt's definition of a model the pool runs asks for
// a feature QEMU's does not and a host lacks, the export says to disable
// it. The second case is the Xeon Gold 6130 as a kernel without KVM MPX
// support (Linux 5.6 removed it) shows it: its recorded expansion less
// mpx. libvirt 9.0's Skylake-Server has mpx, QEMU 10.0's Skylake-Server
// (-v1) does not (cmd/cpupolicy/testdata/script/libvirt_import.txtar):
// KubeVirt's case for disabling mpx.
func TestKubeVirtExport(t *testing.T) {
	f := load(t)
	j := f.judge(t, "intel")
	k, err := export.KubeVirt(j, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range pools["intel"] {
		s, _ := host.ReadFile(filepath.Join("..", "testdata", "hosts", h+".json"), f.cat.Registry())
		a, _ := check.HostAvailability(h, f.cat.Registry(), s, f.rel, core.KVM)
		n, err := labels.KubeVirt(labels.KubeVirtInput{Host: h, Catalog: f.cat, Machine: "pc-q35-10.0", Snapshot: s, Avail: a, Map: f.m})
		if err != nil {
			t.Fatal(err)
		}
		if n.Labels[labels.KubeVirtModel+k.CPUModel] != "true" {
			t.Errorf("cpuModel %s is not labelled on %s", k.CPUModel, h)
		}
	}
	if len(k.ObsoleteCPUModels) != len(labels.KubeVirtObsolete) {
		t.Errorf("obsoleteCPUModels %v", k.ObsoleteCPUModels)
	}
	text := string(k.Text())
	for _, want := range []string{"kind: KubeVirt\n", "  configuration:\n    cpuModel: \"" + k.CPUModel + "\"\n", "    obsoleteCPUModels:\n      \"486\": true\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}

	s, err := host.ReadFile("../testdata/hosts/xeon-gold-6130.json", f.cat.Registry())
	if err != nil {
		t.Fatal(err)
	}
	s.Features.KVM = slices.DeleteFunc(s.Features.KVM, func(n string) bool { return n == "mpx" })
	nompx := f.judge(t, "skx-no-mpx", site.NewHost("xeon-gold-6130-nompx", s))
	k, err = export.KubeVirt(nompx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.FeaturesToDisable["Skylake-Server"]; !slices.Equal(got, []string{"mpx"}) {
		t.Errorf("Skylake-Server: disable %v, want [mpx] (all: %v)", got, k.FeaturesToDisable)
	}
	if k.CPUModel == "Skylake-Server" {
		t.Error("cpuModel Skylake-Server, which node-labeller does not label without mpx")
	}
	if !strings.Contains(string(k.Text()), "#   - name: \"mpx\"\n#     policy: disable\n") {
		t.Errorf("text:\n%s", k.Text())
	}
}
