package qemuimport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary doubles as a fake QEMU: run with "-fake-qemu=MODE" as its
// first argument it answers the importer's QMP commands from canned data,
// or fails in a chosen way. A shell script in a temporary directory adds
// the flag, since Import runs Options.Binary with QEMU's arguments only.
const fakeFlag = "-fake-qemu="

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], fakeFlag) {
		os.Exit(fakeQEMU(strings.TrimPrefix(os.Args[1], fakeFlag), os.Args[2:]))
	}
	// A fake built with -race would otherwise sleep a second at exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// fakeBinary writes a script that runs the fake in mode and returns its
// path.
func fakeBinary(t *testing.T, mode string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	script := fmt.Sprintf("#!/bin/sh\nexec '%s' '%s%s' \"$@\"\n", exe, fakeFlag, mode)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

const fakeMachines = `[
 {"name": "pc-q35-7.2", "alias": "q35", "deprecated": false},
 {"name": "pc-i440fx-7.2", "alias": "pc", "is-default": true, "deprecated": false},
 {"name": "pc-i440fx-1.4", "deprecated": true},
 {"name": "pc-i440fx-10.0", "deprecated": false},
 {"name": "pc-q35-4.0.1", "deprecated": false},
 {"name": "microvm", "deprecated": false},
 {"name": "none", "deprecated": false}]`

// fakeCompatMachines is fakeMachines as QEMU 9.1 and newer list them
// when asked for compat-props: pc-i440fx-7.2, pc-i440fx-10.0 and
// pc-q35-7.2 set the same on x86 CPUs (and differ on other devices, and
// on a CPU type of another target), pc-i440fx-1.4 and pc-q35-4.0.1 set
// more.
const fakeCompatMachines = `[
 {"name": "pc-q35-7.2", "alias": "q35", "deprecated": false,
  "compat-props": [{"qom-type": "virtio-mem", "property": "unplugged-inaccessible", "value": "off"},
                   {"qom-type": "x86_64-cpu", "property": "legacy-multi-node", "value": "on"}]},
 {"name": "pc-i440fx-7.2", "alias": "pc", "is-default": true, "deprecated": false,
  "compat-props": [{"qom-type": "x86_64-cpu", "property": "legacy-multi-node", "value": "on"}]},
 {"name": "pc-i440fx-1.4", "deprecated": true,
  "compat-props": [{"qom-type": "x86_64-cpu", "property": "legacy-multi-node", "value": "on"},
                   {"qom-type": "qemu64-v1-x86_64-cpu", "property": "xlevel", "value": "0x8000000a"},
                   {"qom-type": "x86_64-cpu", "property": "min-level", "value": "4"}]},
 {"name": "pc-i440fx-10.0", "deprecated": false,
  "compat-props": [{"qom-type": "arm-cpu", "property": "backcompat-pauth-default-use-qarma5", "value": "true"},
                   {"qom-type": "x86_64-cpu", "property": "legacy-multi-node", "value": "on"}]},
 {"name": "pc-q35-4.0.1", "deprecated": false,
  "compat-props": [{"qom-type": "x86_64-cpu", "property": "legacy-multi-node", "value": "on"},
                   {"qom-type": "x86_64-cpu", "property": "x-intel-pt-auto-level", "value": "off"}]},
 {"name": "microvm", "deprecated": false, "compat-props": []},
 {"name": "none", "deprecated": false, "compat-props": []}]`

const fakeDefinitions = `[
 {"name": "qemu64", "typename": "qemu64-x86_64-cpu", "alias-of": "qemu64-v1", "static": false, "migration-safe": true, "deprecated": false},
 {"name": "qemu64-v1", "typename": "qemu64-v1-x86_64-cpu", "static": false, "migration-safe": true, "deprecated": false},
 {"name": "Old-v1", "typename": "Old-v1-x86_64-cpu", "static": false, "migration-safe": true, "deprecated": true},
 {"name": "host", "typename": "host-x86_64-cpu", "static": false, "migration-safe": false, "deprecated": false},
 {"name": "max", "typename": "max-x86_64-cpu", "static": false, "migration-safe": false, "deprecated": false},
 {"name": "base", "typename": "base-x86_64-cpu", "static": true, "migration-safe": true, "deprecated": false}]`

// fakeProps is a full expansion's props as QEMU shapes them, with
// distractions: configuration booleans, a uint64 beyond int64, a string
// hv- property, legacy spellings of features. The request's props are
// applied as QEMU would, in miniature: Old-v1 defines two VMX features,
// which the expansion drops without vmx, and min-level 11, which
// xsaveopt raises to 13 unless full-cpuid-auto-level is off; qemu64-v1
// sets xlevel explicitly on pc-i440fx-1.4.
func fakeProps(mode, machine, accel, model string, props map[string]any) string {
	level := 13
	if machine == "pc-i440fx-1.4" {
		level = 4
	}
	vendor := "AuthenticAMD"
	if accel == "kvm" {
		vendor = "HostVendor!"
	}
	p := map[string]any{
		"level": level, "xlevel": 2147483658, "xlevel2": 0, "min-level": level, "min-xlevel": 2147483658, "min-xlevel2": 0,
		"family": 6, "model": 6, "stepping": 3, "model-id": "QEMU Virtual CPU " + model, "vendor": vendor,
		"full-cpuid-auto-level": machine != "pc-i440fx-1.4", "x-intel-pt-auto-level": true,
		"sse4.2": true, "sse4_2": true, "sse4-2": true, "i64": true, "lm": true, "xd": true,
		"avx": model == "Old-v1", "kvmclock": accel == "kvm",
		"pmu": true, "check": true, "kvm": true, "lbr-fmt": uint64(18446744073709551552),
		"hv-no-nonarch-coresharing": "off", "memory": "/machine/unattached/system[0]", "phys-bits": 0,
	}
	if model == "Old-v1" {
		p["vmx-activity-hlt"], p["vmx-hlt-exit"], p["xsaveopt"] = true, true, true
	}
	for k, v := range props {
		p[k] = v
	}
	// A spelling set in the request sets the others, as QEMU's property
	// aliases do.
	for _, group := range [][]string{{"sse4.2", "sse4_2", "sse4-2"}, {"lm", "i64"}, {"nx", "xd"}} {
		for _, k := range group {
			if v, ok := props[k]; ok {
				for _, o := range group {
					p[o] = v
				}
			}
		}
	}
	if p["vmx"] != true {
		for k := range p {
			if strings.HasPrefix(k, "vmx-") {
				p[k] = false
			}
		}
	}
	if model == "Old-v1" && p["full-cpuid-auto-level"] == false && level == 13 {
		p["level"], p["min-level"] = 11, 11
	}
	if model == "qemu64-v1" && machine == "pc-i440fx-1.4" {
		p["xlevel"] = 2147483652
	}
	switch mode {
	case "badprop":
		p["level"] = "thirteen"
	case "badfeature":
		p["avx"] = 1
	case "disagree":
		p["sse4_2"] = false
	case "missing":
		delete(p, "vendor")
	case "newer":
		delete(p, "full-cpuid-auto-level")
		delete(p, "x-intel-pt-auto-level")
	}
	b, _ := json.Marshal(map[string]any{"model": map[string]any{"name": model, "props": p}})
	return string(b)
}

// fakeQEMU plays qemu-system-x86_64 in one of these modes:
//
//	ok          answers from the canned data above
//	dies        complains on stderr and exits 1 at once
//	dieq35      like ok, but a pc-q35-* machine fails to start
//	badprop     "level" is a string
//	badfeature  "avx" is a number
//	disagree    "sse4.2" and "sse4_2" disagree
//	missing     no "vendor"
//	newer       a release newer than the registry: its CPUs have neither
//	            full-cpuid-auto-level nor x-intel-pt-auto-level, and
//	            -cpu help lists flags the registry does not know
func fakeQEMU(mode string, args []string) int {
	if mode == "dies" {
		fmt.Fprintln(os.Stderr, "qemu-system-x86_64: warning: fake warning")
		fmt.Fprintln(os.Stderr, "qemu-system-x86_64: could not load PC BIOS 'bios-256k.bin'")
		return 1
	}
	var machine, accel string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-machine":
			machine = args[i+1]
		case "-accel":
			accel = args[i+1]
		case "-cpu":
			if args[i+1] == "help" {
				// QEMU's layout: models, then the flags, several a line.
				flags := "avx i64 lm nx\n  sse4.2 vmx vmx-activity-hlt\n  vmx-hlt-exit xsaveopt"
				if mode == "newer" {
					flags += " zz-next zz-future\n  zz-later"
				}
				fmt.Printf("Available CPUs:\nx86 qemu64  QEMU Virtual CPU version 2.5+\n\nRecognized CPUID flags:\n  %s\n", flags)
				return 0
			}
		}
	}
	if mode == "dieq35" && strings.HasPrefix(machine, "pc-q35-") {
		fmt.Fprintf(os.Stderr, "qemu-system-x86_64: -machine %s: fake failure\n", machine)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	send := func(s string) {
		out.WriteString(s + "\n")
		out.Flush()
	}
	send(`{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "fake 1"}, "capabilities": ["oob"]}}`)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var req struct {
			Execute   string `json:"execute"`
			Arguments struct {
				Model struct {
					Name  string         `json:"name"`
					Props map[string]any `json:"props"`
				} `json:"model"`
			} `json:"arguments"`
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			send(`{"error": {"class": "GenericError", "desc": "JSON parse error"}}`)
			continue
		}
		ret := "{}"
		switch req.Execute {
		case "query-version":
			ret = `{"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "fake 1"}`
		case "query-machines":
			ret = fakeMachines
			if mode == "compat" && strings.Contains(in.Text(), `"compat-props":true`) {
				ret = fakeCompatMachines
			}
		case "query-cpu-definitions":
			ret = fakeDefinitions
		case "qom-list-properties":
			// A few of a CPU's ~500 properties, shaped as QEMU lists them.
			props := []string{`{"name": "level", "type": "uint32"}`, `{"name": "avx", "type": "bool"}`,
				`{"name": "check", "type": "bool", "description": "on/off", "default-value": true}`}
			if mode != "newer" {
				props = append(props, `{"name": "full-cpuid-auto-level", "type": "bool"}`, `{"name": "x-intel-pt-auto-level", "type": "bool"}`)
			}
			ret = "[" + strings.Join(props, ", ") + "]"
		case "query-cpu-model-expansion":
			ret = fakeProps(mode, machine, accel, req.Arguments.Model.Name, req.Arguments.Model.Props)
		case "quit":
			send(`{"return": {}, "id": ` + string(req.ID) + `}`)
			return 0
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(ret)); err != nil {
			panic(err)
		}
		send(`{"return": ` + compact.String() + `, "id": ` + string(req.ID) + `}`)
	}
	return 0
}
