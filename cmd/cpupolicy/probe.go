package main

import (
	"bytes"
	"context"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/plugins"
)

func runProbe(e *env, args []string) error {
	fs := newFlags("probe")
	format := &formatFlag{allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json (default: json with -o, text otherwise)")
	out := fs.String("o", "", "write the output to `FILE` atomically instead of standard output")
	hostFile := fs.String("host", "", "load a recorded snapshot `FILE` instead of probing")
	dump := fs.String("from-cpuid-dump", "", "build the snapshot from `FILE`, the output of cpuid -r or cpuid -1 -r")
	qmp := fs.String("from-qemu-expansion", "", "build the kvm layer from `FILE`, QEMU's query-cpu-model-expansion reply for model host")
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
	}
	if (*hostFile != "") && (*dump != "" || *qmp != "") || *dump != "" && *qmp != "" {
		return usagef("probe", "--host, --from-cpuid-dump and --from-qemu-expansion exclude each other")
	}
	if format.value == "" {
		format.value = "text"
		if *out != "" {
			format.value = "json"
		}
	}
	reg, err := e.registry()
	if err != nil {
		return err
	}
	snap, err := e.probeSnapshot(reg, *hostFile, *dump, *qmp)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format.value == "json" {
		data, err := snap.Marshal()
		if err != nil {
			return cmdError("probe", err)
		}
		buf.Write(data)
	} else {
		// The host is named by the file it came from, as every command
		// names one (host.Name).
		from := *hostFile + *dump + *qmp // at most one is set
		host.WriteText(&buf, snap, from, reg, *out == "" && colorOK(e.stdout))
	}
	return output(e, "probe", *out, buf.Bytes())
}

// probeSnapshot is the snapshot of the probe flags: a recorded one, one
// built from a cpuid dump or QEMU's host expansion (decoded by the
// plugins), or this host's.
func (e *env) probeSnapshot(reg *feature.Registry, hostFile, dump, qmp string) (*host.HostSnapshot, error) {
	var snap *host.HostSnapshot
	var err error
	switch {
	case hostFile != "":
		return e.loadSnapshot(hostFile)
	case dump != "":
		snap, err = host.ImportFile(dump, host.FromCPUIDDump, reg, e.now())
	case qmp != "":
		snap, err = host.ImportFile(qmp, host.FromQEMUExpansion, reg, e.now())
	default:
		if snap, err = e.probeLive(); err != nil {
			return nil, failf("probe", err)
		}
		return snap, nil
	}
	if err != nil {
		return nil, err
	}
	ps, _, _ := e.plugins.Load(context.Background())
	return snap, plugins.DecodeSnapshot(context.Background(), reg, ps, snap)
}
