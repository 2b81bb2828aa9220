package qemucmd

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/core"
)

// TestRealCommandLines reads libvirt's and Proxmox's generated command
// lines (testdata/SOURCES.md) and compares what it takes from each with
// the file's own -machine, -accel and -cpu lines, read by eye.
func TestRealCommandLines(t *testing.T) {
	for _, tc := range []struct {
		file, program, machine, variant string
		accels                          []string
		accel                           core.Accel
		cpu                             string
	}{
		{"libvirt/cpu-host-passthrough.x86_64-latest.args", "/usr/bin/qemu-system-x86_64", "pc", "", []string{"kvm"}, core.KVM, "host,migratable=on"},
		{"libvirt/cpu-exact1.x86_64-latest.args", "/usr/bin/qemu-system-x86_64", "pc", "", []string{"kvm"}, core.KVM,
			"qemu64,mca=off,pse36=off,clflush=off,syscall=off,nx=off,lm=off,svm=off"},
		{"libvirt/cpu-Haswell.x86_64-latest.args", "/usr/bin/qemu-system-x86_64", "pc", "", []string{"kvm"}, core.KVM, "Haswell"},
		// A quoted -cpu with a space inside a value.
		{"libvirt/cpu-host-model-vendor.x86_64-latest.args", "/usr/bin/qemu-system-x86_64", "pc", "", []string{"tcg"}, core.TCG,
			"Haswell,vendor=Libvirt QEMU,vme=on,ds=on,acpi=on,ss=on,tm=on,pbe=on,dtes64=on,monitor=on,ds-cpl=on,vmx=on,smx=on,est=on,tm2=on,xtpr=on,pdcm=on,f16c=on,rdrand=on,pdpe1gb=on,abm=on,lahf-lm=on"},
		{"libvirt/cpu-tsc-frequency.x86_64-latest.args", "/usr/bin/qemu-system-x86_64", "pc", "", []string{"kvm"}, core.KVM,
			"Haswell,vme=on,ds=on,acpi=on,ss=on,tm=on,pbe=on,dtes64=on,monitor=on,ds-cpl=on,vmx=on,smx=on,est=on,tm2=on,xtpr=on,pdcm=on,f16c=on,rdrand=on,pdpe1gb=on,abm=on,lahf-lm=on,invtsc=on,tsc-frequency=4567890000"},
		// Proxmox runs /usr/bin/kvm without an accelerator: QEMU's
		// default for a program named *kvm is kvm, then tcg.
		{"proxmox/cpu-level.conf.cmd", "/usr/bin/kvm", "pc-i440fx-5.1", "+pve0", nil, core.KVM,
			"host,level=30,-cet-ibt,-cet-ss,-hv-tlbflush,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,hv_synic,hv_time,hv_vapic,hv_vpindex,+kvm_pv_eoi,+kvm_pv_unhalt,+md-clear,+pdpe1gb,-vmx-mbec"},
		{"proxmox/custom-cpu-model.conf.cmd", "/usr/bin/kvm", "pc-i440fx-5.1", "+pve0", nil, core.KVM,
			"athlon,+aes,+avx,enforce,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,hv_synic,hv_time,hv_vapic,hv_vendor_id=testvend,hv_vpindex,+kvm_pv_eoi,-kvm_pv_unhalt,vendor=AuthenticAMD,+virt-ssbd,phys-bits=40"},
		{"proxmox/custom-cpu-model-host-phys-bits.conf.cmd", "/usr/bin/kvm", "pc-i440fx-5.1", "+pve0", nil, core.KVM,
			"athlon,+aes,+avx,enforce,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,hv_synic,hv_time,hv_vapic,hv_vendor_id=testvend,hv_vpindex,+kvm_pv_eoi,-kvm_pv_unhalt,vendor=AuthenticAMD,host-phys-bits=true"},
		// A template VM: -machine accel=tcg.
		{"proxmox/efi-raw-template.conf.cmd", "/usr/bin/kvm", "pc", "+pve0", []string{"tcg"}, core.TCG, "qemu64"},
		{"proxmox/q35-viommu-intel-guest-phys-bits.conf.cmd", "/usr/bin/kvm", "q35", "+pve0", nil, core.KVM, "host,+kvm_pv_eoi,+kvm_pv_unhalt,guest-phys-bits=39"},
		{"proxmox/pinned-version-pxe-pve.conf.cmd", "/usr/bin/kvm", "pc-q35-4.1", "+pve2", nil, core.KVM, "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep"},
		{"proxmox/minimal-defaults.conf.cmd", "/usr/bin/kvm", "pc", "+pve0", nil, core.KVM, "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep"},
		{"proxmox/os-solaris.conf.cmd", "/usr/bin/kvm", "pc", "+pve0", nil, core.KVM, "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep,-x2apic"},
		{"proxmox/q35-windows-pinning.conf.cmd", "/usr/bin/kvm", "pc-q35-9.2", "+pve0", nil, core.KVM,
			"kvm64,-cet-ibt,-cet-ss,enforce,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,hv_synic,hv_time,hv_vapic,hv_vpindex,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep"},
		{"proxmox/win11-host-11.0+pve2.conf.cmd", "/usr/bin/kvm", "pc-q35-11.0", "+pve2", nil, core.KVM,
			"host,-cet-ibt,-cet-ss,hv_evmcs,hv_ipi,hv_relaxed,hv_reset,hv_runtime,hv_spinlocks=0x1fff,hv_stimer,hv_synic,hv_time,hv_vapic,hv_vpindex,+kvm_pv_eoi,+kvm_pv_unhalt"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			check := func(t *testing.T, c *Config) {
				t.Helper()
				if c.Program != tc.program || c.Machine != tc.machine || c.MachineVariant != tc.variant || c.CPU != tc.cpu || !slices.Equal(c.Accels, tc.accels) {
					t.Errorf("got program %q machine %q%s accels %q cpu %q\nwant program %q machine %q%s accels %q cpu %q",
						c.Program, c.Machine, c.MachineVariant, c.Accels, c.CPU, tc.program, tc.machine, tc.variant, tc.accels, tc.cpu)
				}
				a, def, err := c.Accel()
				if err != nil || a != tc.accel || def != (tc.accels == nil) {
					t.Errorf("Accel() = %s, %v, %v; want %s", a, def, err, tc.accel)
				}
			}
			c, err := Parse(tc.file, data)
			if err != nil {
				t.Fatal(err)
			}
			check(t, c)
			// The same command line as /proc/PID/cmdline holds it.
			words, err := split(tc.file, data)
			if err != nil {
				t.Fatal(err)
			}
			var nul []byte
			for _, w := range words {
				nul = append(append(nul, w.Text...), 0)
			}
			c, err = Parse(tc.file, nul)
			if err != nil {
				t.Fatal(err)
			}
			check(t, c)
		})
	}
}

// TestProxmoxCorpus reads every x86 command line of Proxmox's cfg2cmd
// tests (92 files) and checks what it takes against the file's own
// "  -cpu" and "  -machine" lines, read as lines: qm showcmd --pretty
// puts one option on a line, its argument single-quoted when it needs
// quotes.
func TestProxmoxCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/proxmox/*.conf.cmd")
	if err != nil || len(files) != 92 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	line := func(data, opt string) string {
		for _, l := range strings.Split(data, "\n") {
			if v, ok := strings.CutPrefix(l, "  -"+opt+" "); ok {
				v = strings.TrimSuffix(v, " \\")
				return strings.Trim(v, "'")
			}
		}
		return ""
	}
	accels := map[core.Accel]int{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(file, data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if c.Program != "/usr/bin/kvm" || c.CPU != line(string(data), "cpu") {
			t.Errorf("%s: program %q cpu %q, file has -cpu %q", file, c.Program, c.CPU, line(string(data), "cpu"))
		}
		m := line(string(data), "machine")
		if !strings.Contains(m, "type="+c.Machine+c.MachineVariant) || c.MachineVariant == "" {
			t.Errorf("%s: machine %q%s, file has -machine %q", file, c.Machine, c.MachineVariant, m)
		}
		tg, err := c.Target()
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if want := map[bool]core.Accel{true: core.TCG, false: core.KVM}[strings.Contains(m, "accel=tcg")]; tg.Accel != want {
			t.Errorf("%s: accelerator %s, want %s", file, tg.Accel, want)
		}
		accels[tg.Accel]++
	}
	// Proxmox starts templates under tcg, every other VM under QEMU's
	// default for /usr/bin/kvm.
	if accels[core.TCG] != 3 || accels[core.KVM] != 89 {
		t.Errorf("accelerators %v", accels)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in     string
		machine, cpu string
		accels       []string
		accel        core.Accel
		defaultAccel bool
		program      string
	}{
		// ps -o args prints the arguments joined by spaces, unquoted.
		{"ps", "qemu-system-x86_64 -enable-kvm -M q35 -cpu Skylake-Client-v4,+vmx -m 4096 -drive file=/v/a.qcow2,if=virtio",
			"q35", "Skylake-Client-v4,+vmx", []string{"kvm"}, core.KVM, false, "qemu-system-x86_64"},
		{"no program", "-machine type=pc-q35-7.2,accel=kvm:tcg -cpu EPYC", "pc-q35-7.2", "EPYC", []string{"kvm", "tcg"}, core.KVM, false, ""},
		// QEMU's default accelerator is tcg unless the program is
		// named *kvm.
		{"default tcg", "/usr/bin/qemu-system-x86_64 -cpu max", "", "max", nil, core.TCG, true, "/usr/bin/qemu-system-x86_64"},
		{"default kvm", "/usr/libexec/qemu-kvm -cpu host", "", "host", nil, core.KVM, true, "/usr/libexec/qemu-kvm"},
		// An option's argument is never an option: -name's value here
		// is "-cpu", and the last -cpu wins.
		{"argument not option", "qemu -name -cpu -cpu Haswell -cpu EPYC", "", "EPYC", nil, core.TCG, true, "qemu"},
		{"double dash and merge", "qemu --machine pc-i440fx-7.2 -machine usb=off --accel tcg,thread=multi -cpu qemu64", "pc-i440fx-7.2", "qemu64", []string{"tcg"}, core.TCG, false, "qemu"},
		{"escaped comma", "qemu -machine 'pc-q35-7.2,,x,accel=tcg'", "pc-q35-7.2,x", "", []string{"tcg"}, core.TCG, false, "qemu"},
		{"json machine", `qemu -machine '{"type":"q35","accel":"kvm"}'`, "q35", "", []string{"kvm"}, core.KVM, false, "qemu"},
		{"double quotes", `qemu -cpu "host,hv_vendor_id=KVM Hv" -accel kvm -accel tcg`, "", "host,hv_vendor_id=KVM Hv", []string{"kvm", "tcg"}, core.KVM, false, "qemu"},
		{"comment and continuation", "# started by hand\nqemu \\\n  -cpu EPYC # the model\n", "", "EPYC", nil, core.TCG, true, "qemu"},
		// A "+pveN" alone is no machine type with a Proxmox suffix.
		{"pve suffix alone", "-machine '+pve0'", "+pve0", "", nil, core.TCG, true, ""},
		{"disk image and no-arg options", "qemu disk.img -S -nodefaults -snapshot -cpu Haswell", "", "Haswell", nil, core.TCG, true, "qemu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("cmd", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Machine != tc.machine || c.CPU != tc.cpu || !slices.Equal(c.Accels, tc.accels) || c.Program != tc.program {
				t.Errorf("got %+v", c)
			}
			a, def, err := c.Accel()
			if err != nil || a != tc.accel || def != tc.defaultAccel {
				t.Errorf("Accel() = %s, %v, %v; want %s, %v", a, def, err, tc.accel, tc.defaultAccel)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"quote", "qemu \\\n  -cpu 'Haswell,+vmx\n", "f:2:8: unterminated single quote"},
		{"dquote", "qemu -cpu \"Haswell", "f:1:11: unterminated double quote"},
		{"backslash", "qemu -cpu \\", "f:1:11: backslash at the end of the input"},
		{"missing argument", "qemu -S\n-cpu", "f:2:1: -cpu requires an argument"},
		{"conflict", "qemu -accel kvm -machine pc,accel=tcg", "f:1:26: -machine accel= and -accel (or -enable-kvm) exclude each other, as in QEMU"},
		{"empty accel", "qemu -machine accel=kvm:", `f:1:15: -machine accel="kvm:": "" is not an accelerator name`},
		{"accel without name", "qemu -accel thread=multi", `f:1:13: -accel "thread=multi" names no accelerator`},
		{"json", "qemu -machine '{\"type\":'", "f:1:15: -machine: JSON argument: unexpected EOF"},
		{"empty", "  \n", "f:1:1: no QEMU command: the input has no program and no options"},
		{"nul", "qemu\x00-cpu\x00", "f: argument 2: -cpu requires an argument"},
		{"other target", "LC_ALL=C \\\n/usr/bin/qemu-system-aarch64 -cpu max", "f:2:1: /usr/bin/qemu-system-aarch64 runs aarch64 guests; cpupolicy judges x86 (qemu-system-x86_64)"},
		// Fuzz finds (testdata/fuzz/FuzzParse).
		{"quoted option name", "'-\n'", `f:1:1: "-\n" requires an argument`},
		{"accel not a name", "-machine accel==", `f:1:10: -machine accel="=": "=" is not an accelerator name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f", []byte(tc.in))
			var e *Error
			if err == nil || err.Error() != tc.want || !errors.As(err, &e) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestAccelUnknown(t *testing.T) {
	c, err := Parse("f", []byte("qemu -accel xen"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Accel(); err == nil || !strings.Contains(err.Error(), `"xen"`) {
		t.Errorf("Accel() error = %v", err)
	}
}

// FuzzParse: no panic; an error is one line naming the file; a parsed
// line's -cpu and machine type survive being written back as a
// NUL-separated command line and read again.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/[lp]*/*")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("qemu\x00-machine\x00q35,accel=kvm\x00-cpu\x00host\x00"))
	f.Add([]byte(`qemu -M "pc" -cpu 'a'"b"\c -enable-kvm # x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name the file on one line", err)
			}
			return
		}
		args := []string{"qemu"}
		if c.Program != "" {
			args[0] = c.Program
		}
		if c.Machine != "" {
			args = append(args, "-machine", "type="+strings.ReplaceAll(c.Machine+c.MachineVariant, ",", ",,"))
		}
		for _, a := range c.Accels {
			args = append(args, "-accel", strings.ReplaceAll(a, ",", ",,"))
		}
		if c.CPU != "" {
			args = append(args, "-cpu", c.CPU)
		}
		var nul []byte
		for _, a := range args {
			nul = append(append(nul, a...), 0)
		}
		if strings.ContainsRune(strings.Join(args, ""), 0) {
			return // a NUL inside an argument cannot be written back
		}
		d, err := Parse("f", nul)
		if err != nil {
			t.Fatalf("%q: written back as %q: %v", data, nul, err)
		}
		if d.Machine != c.Machine || d.MachineVariant != c.MachineVariant || d.CPU != c.CPU || !slices.Equal(d.Accels, c.Accels) {
			t.Fatalf("%q: read %+v, written back and read %+v", data, c, d)
		}
	})
}

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		in, cpu, machine string
		accel            core.Accel
		notes            int
	}{
		{"qemu-system-x86_64", "qemu64", "pc", core.TCG, 3},
		{"kvm -machine type=q35+pve0 -cpu host", "host", "q35", core.KVM, 2},
		{"qemu -accel kvm -accel tcg -M pc-q35-7.2 -cpu EPYC", "EPYC", "pc-q35-7.2", core.KVM, 1},
		{"qemu -machine pc-i440fx-7.2,accel=tcg -cpu Haswell", "Haswell", "pc-i440fx-7.2", core.TCG, 0},
	} {
		c, err := Parse("f", []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Target()
		if err != nil || got.CPU != tc.cpu || got.Machine != tc.machine || got.Accel != tc.accel || len(got.Notes) != tc.notes {
			t.Errorf("%q: Target() = %+v, %v", tc.in, got, err)
		}
	}
}

// TestAccelRunning: for a running QEMU, whether it holds /dev/kvm says
// which accelerator of its list it ended up with.
func TestAccelRunning(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		in   string
		open *bool
		want core.Accel
	}{
		{"qemu -accel kvm -accel tcg", &no, core.TCG},
		{"qemu -accel kvm -accel tcg", &yes, core.KVM},
		{"qemu -accel kvm -accel tcg", nil, core.KVM},
		{"qemu-kvm", &no, core.TCG},
		{"qemu", &yes, core.KVM},
		{"qemu -machine accel=tcg:kvm", &yes, core.KVM},
		// One accelerator: QEMU exits if it fails, so it is that one.
		{"qemu -accel kvm", &no, core.KVM},
	} {
		c, err := Parse("f", []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		c.KVMOpen = tc.open
		if got, _, err := c.Accel(); got != tc.want || err != nil {
			t.Errorf("%q with /dev/kvm open %v: Accel() = %s, %v; want %s", tc.in, tc.open, got, err, tc.want)
		}
	}
}

func TestReadPID(t *testing.T) {
	// This test's own process is no QEMU.
	if _, err := ReadPID(os.Getpid()); err == nil || !strings.Contains(err.Error(), "not QEMU") {
		t.Errorf("ReadPID(self) = %v", err)
	}
	if _, err := ReadPID(-1); err == nil {
		t.Error("ReadPID(-1) succeeded")
	}
}
