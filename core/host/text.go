package host

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/psabi"
	"github.com/cpupolicy/cpupolicy/internal/ansi"
)

// WriteText writes a summary of s, read from file path ("" for a live
// probe), for people (`cpupolicy probe`): the host as Name calls it,
// where it came from, the CPU, the kernel and KVM, then the features a
// layer withholds; color makes the titles bold for a terminal.
func WriteText(w io.Writer, s *HostSnapshot, path string, reg *feature.Registry, color bool) {
	writeSummary(w, s, Name(s, path))
	writeWithheld(w, s, reg, color)
}

func writeSummary(w io.Writer, s *HostSnapshot, name string) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
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
	lv := s.Features.ABILevels()
	level := func(names []string, l int) string {
		if len(names) == 0 {
			return "unknown" // the layer was not seen (see below)
		}
		return psabi.Level(l).String()
	}
	fmt.Fprintf(tw, "x86-64 level\thw %s, os %s, kvm %s\n", level(s.Features.HW, lv.HW), level(s.Features.OS, lv.OS), level(s.Features.KVM, lv.KVM))
	tw.Flush()
}

// writeWithheld lists, by layer, the features the CPU has that the
// kernel or KVM withhold, and says which layers a partial snapshot lacks.
func writeWithheld(w io.Writer, s *HostSnapshot, reg *feature.Registry, color bool) {
	bold := func(t string) string { return ansi.Paint(color, ansi.Bold, t) }

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
	if s.Source == SourceLive {
		list("the CPU has, the kernel disabled (hw, not os)", hw.Difference(osl), "")
	}
	if s.KVM != nil {
		list("the CPU has, KVM will not give a guest (hw, not kvm)", hw.Difference(kv), "")
	}
	if seen := Seen(s.Source); len(seen) == 1 {
		fmt.Fprintf(w, "\nonly the %s layer is known: %s\n", seen[0], strings.TrimPrefix(s.KVMError, "not probed: "))
	}
}
