package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/internal/plugintest"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(cleanupAfter{m}, map[string]func(){
		"cpupolicy": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// cleanupAfter removes the plugin builds' scratch directory after the
// tests (testscript.Main exits with m.Run's code).
type cleanupAfter struct{ m *testing.M }

func (c cleanupAfter) Run() int {
	defer plugintest.Cleanup()
	return c.m.Run()
}

// TestScripts runs the end-to-end scripts in testdata/script. $TESTDATA is
// the repository's testdata directory. Conditions are [need:NAME]
// (scriptCondition).
func TestScripts(t *testing.T) {
	td, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("TESTDATA", td)
			// A few real files of libvirt 9.0's CPU map, always present.
			e.Setenv("CPUMAP", filepath.Join(td, "..", "core", "libvirt", "testdata", "cpu_map"))
			e.Setenv("NO_COLOR", "1")
			return nil
		},
		Condition: scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"cpuid-match": cmdCPUIDMatch,
		},
	})
}

// scriptCondition is the scripts' condition hook: [need:NAME] holds where
// internal/testenv's requirement NAME (qemu, kvm, cpuid, libvirt-cpumap,
// …) is met. Where it is not and CPUPOLICY_REQUIRE names it, the
// condition is an error, which fails the script naming what is missing:
// "[!need:qemu] skip" skips only where QEMU is not required.
func scriptCondition(cond string) (bool, error) {
	if name, ok := strings.CutPrefix(cond, "need:"); ok {
		return testenv.Cond(testenv.Req(name))
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// cmdCPUIDMatch: cpuid-match SNAPSHOT DUMP — every leaf/subleaf of the
// `cpuid -r` DUMP is in SNAPSHOT's "cpuid" with equal registers, apart
// from the fields that name the processor ([cpuid.Leaf.WithoutProcessorIDs]),
// which a hypervisor may change between the probe and the dump.
func cmdCPUIDMatch(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cpuid-match SNAPSHOT DUMP")
	}
	snap, err := host.Parse(args[0], []byte(ts.ReadFile(args[0])), feature.Builtin())
	ts.Check(err)
	dump, err := cpuid.ParseDump(args[1], strings.NewReader(ts.ReadFile(args[1])))
	ts.Check(err)
	have := snap.Leaves()
	var bad []string
	for _, want := range dump {
		got, ok := have.Find(want.Leaf, want.Subleaf)
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("leaf %#x subleaf %#x missing", want.Leaf, want.Subleaf))
		case got.WithoutProcessorIDs() != want.WithoutProcessorIDs():
			bad = append(bad, fmt.Sprintf("leaf %#x subleaf %#x: got %08x %08x %08x %08x, cpuid says %08x %08x %08x %08x",
				want.Leaf, want.Subleaf, got.EAX, got.EBX, got.ECX, got.EDX, want.EAX, want.EBX, want.ECX, want.EDX))
		case got != want:
			ts.Logf("leaf %#x subleaf %#x differs only in processor IDs: got %08x %08x %08x %08x, cpuid says %08x %08x %08x %08x",
				want.Leaf, want.Subleaf, got.EAX, got.EBX, got.ECX, got.EDX, want.EAX, want.EBX, want.ECX, want.EDX)
		}
	}
	if neg {
		if len(bad) == 0 {
			ts.Fatalf("snapshot matches the dump")
		}
		return
	}
	if len(bad) > 0 {
		ts.Fatalf("%d of %d dump leaves differ:\n%s", len(bad), len(dump), strings.Join(bad, "\n"))
	}
	ts.Logf("all %d leaves of the dump match (snapshot has %d)", len(dump), len(have))
}

// TestExitCodes pins the exit status and the one-line error of each class
// of bad input, in process.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	snap, err := os.ReadFile("../../testdata/hosts/this-machine.json")
	if err != nil {
		t.Fatal(err)
	}
	good := write("good.json", snap)
	truncated := write("truncated.json", snap[:len(snap)/3])
	noise := write("noise.bin", []byte{0x7f, 'E', 'L', 'F', 0, 0xff, 0xfe, 1, 2, 3})
	badDump := write("bad.txt", []byte("CPU 0:\n   0x00000000 0x00: eax=0x00000010 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n   0x00000001 0x00: eax=0x00zz0f10\n"))
	qmp := "../../testdata/qemu-hosts/x86_64-cpuid-Xeon-Gold-6130.json"
	out := filepath.Join(dir, "out.json")
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string // regexp-free prefix of the first stderr line
	}{
		{"no command", nil, 2, "Cpupolicy checks"},
		{"unknown command", []string{"prob"}, 2, `cpupolicy: unknown command "prob" (did you mean "probe"?)`},
		{"help", []string{"-h"}, 0, ""},
		{"probe help", []string{"probe", "-h"}, 0, ""},
		{"bad flag", []string{"probe", "--nope"}, 2, "cpupolicy probe: unknown flag --nope;"},
		{"bad format", []string{"probe", "--format", "yaml"}, 2, `cpupolicy probe: invalid value "yaml" for flag -format: got "yaml", want text or json`},
		{"two sources", []string{"probe", "--host", good, "--from-cpuid-dump", badDump}, 2, "cpupolicy probe: --host, --from-cpuid-dump, --from-qemu-expansion, --from-domcapabilities and --from-nfd exclude each other"},
		{"stray argument", []string{"probe", "extra"}, 2, `cpupolicy probe: unexpected argument "extra"`},
		{"good snapshot", []string{"probe", "--host", good, "-o", out}, 0, ""},
		{"missing file", []string{"probe", "--host", filepath.Join(dir, "missing.json"), "-o", out + "2"}, 2, "cpupolicy: open " + filepath.Join(dir, "missing.json") + ": no such file or directory"},
		{"truncated snapshot", []string{"probe", "--host", truncated, "-o", out + "2"}, 2, "cpupolicy: " + truncated + ":"},
		{"binary noise", []string{"probe", "--host", noise, "-o", out + "2"}, 2, "cpupolicy: " + noise + ":1:1: not a cpupolicy host snapshot"},
		{"alien snapshot", []string{"probe", "--host", qmp, "-o", out + "2"}, 2, "cpupolicy: " + qmp + `:1:1: not a cpupolicy host snapshot: no "schema" key`},
		{"malformed dump line", []string{"probe", "--from-cpuid-dump", badDump, "-o", out + "2"}, 2, "cpupolicy: " + badDump + ":3: "},
		{"noise as dump", []string{"probe", "--from-cpuid-dump", noise, "-o", out + "2"}, 2, "cpupolicy: " + noise + ":1: "},
		{"noise as qmp", []string{"probe", "--from-qemu-expansion", noise, "-o", out + "2"}, 2, "cpupolicy: " + noise + ":1:1: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(c.args, strings.NewReader(""), &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr.String())
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			if !strings.HasPrefix(first, c.stderr) {
				t.Errorf("stderr %q, want prefix %q", first, c.stderr)
			}
			if c.code == 2 && c.name != "no command" && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("input error is not one line: %q", stderr.String())
			}
			if c.code != 0 && stdout.Len() > 0 && c.name != "no command" {
				t.Errorf("failure wrote to stdout: %q", stdout.String())
			}
		})
	}
	if _, err := os.Stat(out + "2"); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s behind", out+"2")
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".cpupolicy-*")); len(tmps) > 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, snap) {
		t.Errorf("probe --host F -o OUT is not byte-identical to F")
	}
}

// TestProbeDeterministicTime: the clock comes from env, so -o output of a
// dump is reproducible.
func TestProbeDumpReproducible(t *testing.T) {
	e := &env{stdin: strings.NewReader(""), now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	var a, b bytes.Buffer
	e.stdout, e.stderr = &a, os.Stderr
	if err := runProbe(e, []string{"--from-cpuid-dump", "../../testdata/hosts/this-machine.cpuid.txt", "--format", "json"}); err != nil {
		t.Fatal(err)
	}
	e.stdout = &b
	runProbe(e, []string{"--from-cpuid-dump", "../../testdata/hosts/this-machine.cpuid.txt", "--format", "json"})
	if !bytes.Equal(a.Bytes(), b.Bytes()) || !bytes.Contains(a.Bytes(), []byte(`"probed_at": "2026-01-02T03:04:05Z"`)) {
		t.Errorf("dump snapshots differ or ignore the clock:\n%s", a.String())
	}
}
