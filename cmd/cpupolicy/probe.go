package main

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/libvirt"
	"github.com/cpupolicy/cpupolicy/internal/tty"
	"github.com/cpupolicy/cpupolicy/plugins"
)

// probeSources are probe's source flags, at most one of which is given.
type probeSources struct {
	hostFile, dump, qmp, domcaps, nfd, cpuMap *string
}

func runProbe(e *env, args []string) error {
	fs := newFlags("probe")
	format := &formatFlag{Allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json (default: json with -o, text otherwise)")
	out := fs.String("o", "", "write the output to `FILE` atomically instead of standard output")
	src := probeSources{
		hostFile: fs.String("host", "", "load a recorded snapshot `FILE` instead of probing"),
		dump:     fs.String("from-cpuid-dump", "", "build the snapshot from `FILE`, the output of cpuid -r or cpuid -1 -r"),
		qmp:      fs.String("from-qemu-expansion", "", "build the kvm layer from `FILE`, QEMU's query-cpu-model-expansion reply for model host"),
		domcaps:  fs.String("from-domcapabilities", "", "build the kvm layer from `FILE`, the output of virsh domcapabilities (its host-model CPU)"),
		nfd:      fs.String("from-nfd", "", "build the hw layer from `FILE`, a Kubernetes Node (kubectl get node -o json) or NFD NodeFeature object"),
		cpuMap:   fs.String("cpu-map", libvirt.DefaultMapDir, "libvirt's CPU map `DIR`, which --from-domcapabilities expands the host-model CPU with"),
	}
	if err := parseNoArgs(e, fs, args); err != nil {
		return err
	}
	n := 0
	for _, s := range []string{*src.hostFile, *src.dump, *src.qmp, *src.domcaps, *src.nfd} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return usagef("probe", "--host, --from-cpuid-dump, --from-qemu-expansion, --from-domcapabilities and --from-nfd exclude each other")
	}
	if format.Value == "" {
		format.Value = "text"
		if *out != "" {
			format.Value = "json"
		}
	}
	reg, err := e.registry()
	if err != nil {
		return err
	}
	snap, err := e.probeSnapshot(reg, src)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format.Value == "json" {
		data, err := snap.Marshal()
		if err != nil {
			return cmdError("probe", err)
		}
		buf.Write(data)
	} else {
		// The host is named by the file it came from, as every command
		// names one (host.Name).
		from := *src.hostFile + *src.dump + *src.qmp + *src.domcaps + *src.nfd // at most one is set
		host.WriteText(&buf, snap, from, reg, *out == "" && tty.Color(e.stdout))
	}
	return output(e, "probe", *out, buf.Bytes())
}

// probeSnapshot is the snapshot of the probe flags: a recorded one, one
// built from a cpuid dump, QEMU's host expansion, libvirt's
// domcapabilities or NFD's labels (decoded by the plugins), or this
// host's.
func (e *env) probeSnapshot(reg *feature.Registry, src probeSources) (*host.HostSnapshot, error) {
	var snap *host.HostSnapshot
	var err error
	switch {
	case *src.hostFile != "":
		return e.loadSnapshot(*src.hostFile)
	case *src.dump != "":
		snap, err = host.ImportFile(*src.dump, host.FromCPUIDDump, reg, e.now())
	case *src.qmp != "":
		snap, err = host.ImportFile(*src.qmp, host.FromQEMUExpansion, reg, e.now())
	case *src.nfd != "":
		snap, err = host.ImportFile(*src.nfd, host.FromNFD, reg, e.now())
	case *src.domcaps != "":
		var m *libvirt.Map
		if m, err = libvirt.LoadMap(*src.cpuMap, reg); err != nil {
			return nil, err
		}
		snap, err = host.ImportFile(*src.domcaps, func(name string, r io.Reader, reg *feature.Registry, now time.Time) (*host.HostSnapshot, error) {
			return host.FromDomCapabilities(name, r, reg, m, now)
		}, reg, e.now())
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
