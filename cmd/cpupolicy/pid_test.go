package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// TestWhyPID starts a real QEMU 7.2 under tcg, stopped (-S), and asks
// `why --pid` about it: the process's own command line gives the model,
// machine type and accelerator, and the features why reports missing are
// exactly the ones QEMU itself warns "TCG doesn't support requested
// feature" about as it builds the CPU. With "-accel kvm -accel tcg" the
// accelerator why judges under is the one QEMU reports (query-kvm): tcg
// on a host without /dev/kvm, kvm on one with it.
func TestWhyPID(t *testing.T) {
	bin := testenv.Need(t, testenv.QEMU, "why --pid reads a running QEMU's command line")
	for _, tc := range []struct{ machine, cpu, accel string }{
		{"pc-q35-7.2", "Skylake-Client-v4,+vmx", "-machine accel=tcg"},
		{"pc-i440fx-7.2", "EPYC-v3", "-accel tcg"},
		{"pc-q35-7.2", "Haswell,pcid=off,-x2apic", "-machine accel=tcg"},
		{"pc-q35-7.2", "Westmere", "-accel kvm -accel tcg"},
	} {
		t.Run(tc.cpu, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			args := []string{"-S", "-nodefaults", "-display", "none", "-M", tc.machine, "-cpu", tc.cpu, "-qmp", "stdio"}
			if a, ok := strings.CutPrefix(tc.accel, "-machine "); ok {
				args[5] += "," + a
			} else {
				args = append(args, strings.Fields(tc.accel)...)
			}
			cmd := exec.CommandContext(ctx, bin, args...)
			// QEMU writes its warnings straight into a file (no copying
			// goroutine that could lag behind the QMP reply).
			stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			cmd.Stderr = stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				in.Close()
				cmd.Process.Kill()
				cmd.Wait()
			}()
			// QMP answers commands from QEMU's main loop, which runs
			// once the machine and its CPUs are built: after the
			// second reply, QEMU has printed every warning.
			io.WriteString(in, `{"execute":"qmp_capabilities"}`+"\n"+`{"execute":"query-kvm"}`+"\n")
			sc := bufio.NewScanner(out)
			var kvm struct {
				Return struct{ Enabled bool }
			}
			for replies := 0; replies < 2 && sc.Scan(); {
				if strings.HasPrefix(sc.Text(), `{"return"`) {
					replies++
					if replies == 2 {
						if err := json.Unmarshal(sc.Bytes(), &kvm); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			accel := map[bool]string{true: "kvm", false: "tcg"}[kvm.Return.Enabled]
			warnings, err := os.ReadFile(stderr.Name())
			if err != nil {
				t.Fatal(err)
			}
			qemuMissing := tcgWarnings(string(warnings))

			var stdout, errOut bytes.Buffer
			code := run([]string{"why", "--pid", strconv.Itoa(cmd.Process.Pid), "--catalog", "qemu-7.2", "--format", "json"}, strings.NewReader(""), &stdout, &errOut)
			var ex check.Explanation
			if err := json.Unmarshal(stdout.Bytes(), &ex); err != nil {
				t.Fatalf("exit %d: %v\nstdout: %s\nstderr: %s", code, err, stdout.String(), errOut.String())
			}
			if ex.Model != tc.cpu || ex.Machine != tc.machine || string(ex.Accel) != accel {
				t.Errorf("why judged %s on %s (%s), want %s on %s (%s)", ex.Model, ex.Machine, ex.Accel, tc.cpu, tc.machine, accel)
			}
			if accel == "kvm" {
				// Under kvm QEMU warns of what the host lacks; that
				// comparison is the kvm tests' (recorded snapshots).
				return
			}
			var missing []string
			for _, m := range ex.Missing {
				missing = append(missing, m.Feature)
			}
			slices.Sort(missing)
			if !slices.Equal(missing, qemuMissing) {
				t.Errorf("why: missing %v\nQEMU warns of %v", missing, qemuMissing)
			}
			// No enforce on the line: QEMU started the guest without
			// the missing features (it is running), and why says so.
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
		})
	}
}

// tcgWarning is QEMU's "TCG doesn't support requested feature:
// CPUID.01H:ECX.vmx [bit 5]" (or "MSR(48EH).vmx-tsc-offset [bit 3]").
var tcgWarning = regexp.MustCompile(`TCG doesn't support requested feature: (?:CPUID\.[0-9A-F]+H:[A-Z]+|MSR\([0-9A-F]+H\))\.([a-z0-9_.-]+) \[bit \d+\]`)

// tcgWarnings returns the sorted, distinct names of the features QEMU's
// stderr warns about. (A warning without a name, "MSR(48CH) [bit 14]",
// is a bit QEMU 7.2's table leaves unnamed; no feature of cpupolicy's
// can match it.)
func tcgWarnings(stderr string) []string {
	var out []string
	for _, m := range tcgWarning.FindAllStringSubmatch(stderr, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}
