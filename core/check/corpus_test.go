package check

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/qmp"
)

// corpusEntry is one real -cpu string and where it was read.
type corpusEntry struct {
	source, machine, spec string
}

// corpusPath holds real -cpu strings from libvirt's, Proxmox's and QEMU's
// tests (see its header).
const corpusPath = "../catalog/testdata/cpu-corpus.tsv"

func readCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	f, err := os.Open(corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		p := strings.Split(line, "\t")
		if len(p) != 3 {
			t.Fatalf("%s:%d: want 3 tab-separated fields, got %d", corpusPath, n, len(p))
		}
		out = append(out, corpusEntry{p[0], p[1], p[2]})
	}
	return out
}

// qemuCPU is what QEMU made of a -cpu string: the error it refused it
// with, or the CPU's CPUID features (the QOM properties feature-words ∪
// filtered-features: the expansion before TCG's filtering).
type qemuCPU struct {
	err      string
	features feature.FeatureSet
}

// wordInfo is one element of X86CPUFeatureWordInfo.
type wordInfo struct {
	EAX      uint32  `json:"cpuid-input-eax"`
	ECX      *uint32 `json:"cpuid-input-ecx"`
	Register string  `json:"cpuid-register"`
	Features uint32  `json:"features"`
}

// runQEMUCPU starts QEMU bin with -cpu spec on machine under tcg and
// reads the CPU's features.
func runQEMUCPU(bin, machine, spec string, reg *feature.Registry) qemuCPU {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := qmp.Start(ctx, bin, []string{"-machine", machine, "-accel", "tcg", "-cpu", spec, "-smp", "1",
		"-nodefaults", "-no-user-config", "-S", "-display", "none"})
	if err != nil {
		return qemuCPU{err: err.Error()}
	}
	defer q.Close()
	var cpus []struct {
		QOMPath string `json:"qom-path"`
	}
	if err := q.Execute(ctx, "query-cpus-fast", nil, &cpus); err != nil || len(cpus) == 0 {
		return qemuCPU{err: fmt.Sprintf("query-cpus-fast: %v", err)}
	}
	var leaves cpuid.Leaves
	for _, prop := range []string{"feature-words", "filtered-features"} {
		var words []wordInfo
		if err := q.Execute(ctx, "qom-get", map[string]any{"path": cpus[0].QOMPath, "property": prop}, &words); err != nil {
			return qemuCPU{err: fmt.Sprintf("qom-get %s: %v", prop, err)}
		}
		for _, w := range words {
			l := cpuid.Leaf{Leaf: w.EAX}
			if w.ECX != nil {
				l.Subleaf = *w.ECX
			}
			i := 0
			for ; i < len(leaves) && (leaves[i].Leaf != l.Leaf || leaves[i].Subleaf != l.Subleaf); i++ {
			}
			if i == len(leaves) {
				leaves = append(leaves, l)
			}
			r := map[string]cpuid.Reg{"EAX": cpuid.EAX, "EBX": cpuid.EBX, "ECX": cpuid.ECX, "EDX": cpuid.EDX}[w.Register]
			leaves[i].SetReg(r, leaves[i].Reg(r)|w.Features)
		}
	}
	leaves.Sort()
	return qemuCPU{features: reg.Decode(leaves)}
}

// cpuidOnly are the features that live in CPUID (feature-words has no
// MSR words).
func cpuidOnly(reg *feature.Registry) feature.FeatureSet {
	var s feature.FeatureSet
	for _, f := range reg.Features() {
		if !f.Loc.IsMSR() {
			s = s.Add(f.ID)
		}
	}
	return s
}

// TestCorpusMatchesQEMU: every real -cpu string of the corpus is accepted
// by ResolveConfig exactly when QEMU accepts it, and resolves to the
// CPUID features QEMU's CPU object has (feature-words ∪
// filtered-features), on the machine type its source names (when the
// release has it) under tcg — this machine has no /dev/kvm, so kvm is
// not compared here. Both QEMU 10.0 and 7.2.
func TestCorpusMatchesQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts QEMU once per corpus entry and release")
	}
	corpus := readCorpus(t)
	if len(corpus) < 150 {
		t.Errorf("corpus has %d entries, want at least 150", len(corpus))
	}
	for _, want := range []string{"10.0", "7.2"} {
		t.Run(want, func(t *testing.T) {
			bin, _ := findQEMU(t, want)
			cat, err := catalog.Embedded("qemu-" + want)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-machine", "help").Output()
			if err != nil {
				t.Fatal(err)
			}
			machines := map[string]bool{}
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); len(f) > 0 {
					machines[f[0]] = true
				}
			}
			reg := cat.Registry()
			mask := cpuidOnly(reg)
			type job struct {
				e    corpusEntry
				mt   string
				qemu qemuCPU
			}
			var jobs []*job
			seen := map[string]bool{}
			skipped := 0
			for _, e := range corpus {
				if !machines[e.machine] {
					skipped++
					continue
				}
				mt, err := cat.Machine(e.machine)
				if err != nil {
					t.Fatalf("%s: %v", e.source, err)
				}
				if k := mt.Name + "\x00" + e.spec; !seen[k] {
					seen[k] = true
					jobs = append(jobs, &job{e: e, mt: mt.Name})
				}
			}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 2)
			for _, j := range jobs {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					j.qemu = runQEMUCPU(bin, j.mt, j.e.spec, reg)
				}()
			}
			wg.Wait()
			accepted, rejected, bad := 0, 0, 0
			for _, j := range jobs {
				r, _, err := ResolveConfig(cat, j.e.spec, j.mt, core.TCG, nil, "")
				switch {
				case j.qemu.err != "" && err == nil:
					bad++
					t.Errorf("%s: QEMU %s on %s rejects %q (%s); cpupolicy accepts it", j.e.source, want, j.mt, j.e.spec, j.qemu.err)
				case j.qemu.err == "" && err != nil:
					bad++
					t.Errorf("%s: QEMU %s on %s accepts %q; cpupolicy: %v", j.e.source, want, j.mt, j.e.spec, err)
				case err != nil:
					rejected++
				default:
					accepted++
					got := r.Features.Intersect(mask)
					if got != j.qemu.features {
						bad++
						t.Errorf("%s: %q on %s (QEMU %s, tcg): QEMU has %v more, %v fewer", j.e.source, j.e.spec, j.mt, want,
							reg.Names(j.qemu.features.Difference(got)), reg.Names(got.Difference(j.qemu.features)))
					}
				}
			}
			t.Logf("QEMU %s: %d corpus entries, %d distinct (machine, -cpu) pairs compared under tcg: %d accepted by both with equal CPUID features, %d rejected by both, %d mismatches; %d entries skipped (machine type not in this release)",
				want, len(corpus), len(jobs), accepted-0, rejected, bad, skipped)
		})
	}
}
