package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

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
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("probe", "unexpected argument %q", fs.Arg(0))
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
		writeProbeText(&buf, snap, reg, *out == "" && colorOK(e.stdout))
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
		snap, err = fromFile(dump, func(name string, r io.Reader) (*host.HostSnapshot, error) {
			return host.FromCPUIDDump(name, r, reg, e.now())
		})
	case qmp != "":
		snap, err = fromFile(qmp, func(name string, r io.Reader) (*host.HostSnapshot, error) {
			return host.FromQEMUExpansion(name, r, reg, e.now())
		})
	default:
		if snap, err = e.probeLive(); err != nil {
			return nil, failf("probe", err)
		}
		return snap, nil
	}
	if err != nil {
		return nil, err
	}
	ps, _, _ := e.plugins.load()
	return snap, plugins.DecodeSnapshot(context.Background(), reg, ps, snap)
}

func fromFile(path string, build func(string, io.Reader) (*host.HostSnapshot, error)) (*host.HostSnapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return build(path, f)
}

// writeProbeText prints the human summary of a snapshot.
func writeProbeText(w io.Writer, s *host.HostSnapshot, reg *feature.Registry, color bool) {
	bold := func(t string) string {
		if color {
			return "\x1b[1m" + t + "\x1b[0m"
		}
		return t
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	name := s.Hostname
	if name == "" {
		name = "(unnamed host)"
	}
	fmt.Fprintf(tw, "host\t%s (%s, %s)\n", name, s.Source, s.ProbedAt.Format("2006-01-02 15:04:05Z"))
	fmt.Fprintf(tw, "cpu\t%s, family %d model %d stepping %d\n", s.Vendor, s.Family, s.Model, s.Stepping)
	if s.Brand != "" {
		fmt.Fprintf(tw, "brand\t%s\n", s.Brand)
	}
	if s.Kernel != "" {
		fmt.Fprintf(tw, "kernel\t%s\n", s.Kernel)
	}
	if s.XCR0 != nil {
		fmt.Fprintf(tw, "xcr0\t%#x\n", *s.XCR0)
	}
	if s.KVM != nil {
		k := s.KVM
		fmt.Fprintf(tw, "kvm\tAPI %d, %d capabilities, %d supported and %d emulated CPUID entries, %d feature MSRs\n",
			k.APIVersion, len(k.Capabilities), len(k.SupportedCPUID), len(k.EmulatedCPUID), len(k.FeatureMSRs))
	} else {
		fmt.Fprintf(tw, "kvm\tnone: %s\n", s.KVMError)
	}
	fmt.Fprintf(tw, "features\thw %d, os %d, kvm %d\n", len(s.Features.HW), len(s.Features.OS), len(s.Features.KVM))
	tw.Flush()

	hw, osl, kv, err := s.Sets(reg)
	if err != nil {
		return // Parse validated the names; unreachable for loaded snapshots.
	}
	list := func(title string, set feature.FeatureSet, why string) {
		if set.IsEmpty() {
			return
		}
		fmt.Fprintf(w, "\n%s (%d):\n", bold(title), set.Count())
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "  FEATURE\tLOCATION\tLINUX\n")
		for id := range set.All() {
			f := reg.Feature(id)
			linux := f.Linux
			if linux == "" {
				linux = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, f.Loc, linux)
		}
		tw.Flush()
		if why != "" {
			fmt.Fprintf(w, "  %s\n", why)
		}
	}
	if s.Source == host.SourceLive {
		list("the CPU has, the kernel disabled (hw, not os)", hw.Difference(osl), "")
	}
	if s.KVM != nil {
		list("the CPU has, KVM will not give a guest (hw, not kvm)", hw.Difference(kv), "")
	}
	if s.Source == host.SourceCPUIDDump {
		fmt.Fprintf(w, "\nonly the hw layer is known: %s\n", strings.TrimPrefix(s.KVMError, "not probed: "))
	}
	if s.Source == host.SourceQEMUExpansion {
		fmt.Fprintf(w, "\nonly the kvm layer is known: %s\n", strings.TrimPrefix(s.KVMError, "not probed: "))
	}
}
