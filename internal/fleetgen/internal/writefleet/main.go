// Command writefleet writes a generated fleet as snapshot files, for
// timing `cpupolicy fleet` end to end (bench/fleet.sh):
//
//	go run ./internal/fleetgen/internal/writefleet -n 10000 -o DIR [-seed 1] [-legacy] [BASE.json...]
//
// -legacy writes the snapshots without the keys added since commit
// 107bed2 ("qemu_release" and "abi_levels"), which that commit's binary
// refuses as unknown: bench/speed.sh times it on such a copy of the same
// fleet. Both keys are derived (the release from the property names, the
// levels from the layers), so the copy describes the same hosts.
//
// The bases default to the recorded hosts with KVM data in
// testdata/hosts. Each host is written as DIR/NAME.json, and DIR/site.star
// declares the pools and, on each, an offer of the newest model the
// pool's hardware runs unmasked (which masked hosts and strays from other
// pools may then fail).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/internal/fleetgen"
)

func main() {
	n := flag.Int("n", 1000, "number of hosts")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("o", "", "output directory (created)")
	legacy := flag.Bool("legacy", false, "omit the snapshot keys commit 107bed2 does not know")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "writefleet: -o DIR is required")
		os.Exit(2)
	}
	paths := flag.Args()
	if len(paths) == 0 {
		for _, h := range []string{"xeon-gold-6130", "core-i7-8550u", "epyc-7502-32-core", "this-machine"} {
			paths = append(paths, filepath.Join("testdata", "hosts", h+".json"))
		}
	}
	reg := feature.Builtin()
	var bases []*fleetgen.Base
	for _, p := range paths {
		b, err := fleetgen.LoadBase(p, reg, core.Release{Major: 10, Minor: 0})
		if err != nil {
			fmt.Fprintf(os.Stderr, "writefleet: %v\n", err)
			os.Exit(2)
		}
		bases = append(bases, b)
	}
	hosts, err := fleetgen.Generate(bases, *n, fleetgen.Realistic(*n, *seed, reg), reg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "writefleet: %v\n", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "writefleet: %v\n", err)
		os.Exit(2)
	}
	site, err := siteFile(hosts, reg)
	if err == nil {
		err = os.WriteFile(filepath.Join(*out, "site.star"), site, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "writefleet: %v\n", err)
		os.Exit(1)
	}
	// Hosts of one variant differ only in their names: marshal each
	// variant once and put the name in (a million hosts in minutes, not
	// hours).
	marshalled := map[string][]byte{}
	for _, h := range hosts {
		key := h.Base.Name + "|" + strings.Join(h.Masked, ",")
		tmpl, ok := marshalled[key]
		var err error
		if !ok {
			anon := *h.Snap
			anon.Hostname = ""
			tmpl, err = anon.Marshal()
			if err == nil && *legacy {
				tmpl, err = withoutNewKeys(tmpl)
			}
			marshalled[key] = tmpl
		}
		data := bytes.Replace(tmpl, []byte(`"hostname": "",`), []byte(`"hostname": "`+h.Name+`",`), 1)
		if err == nil {
			err = os.WriteFile(filepath.Join(*out, h.Name+".json"), data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "writefleet: %s: %v\n", h.Name, err)
			os.Exit(1)
		}
	}
}

// withoutNewKeys removes the "qemu_release" and "abi_levels" lines of a
// marshalled snapshot (host.Snapshot.Marshal writes each on a line of its
// own, abi_levels last), leaving valid JSON.
func withoutNewKeys(snap []byte) ([]byte, error) {
	lines := bytes.Split(snap, []byte("\n"))
	var out [][]byte
	for _, l := range lines {
		switch {
		case bytes.HasPrefix(l, []byte(`  "qemu_release": `)):
		case bytes.HasPrefix(l, []byte(`  "abi_levels": `)):
			if len(out) == 0 || !bytes.HasSuffix(out[len(out)-1], []byte(",")) {
				return nil, fmt.Errorf("abi_levels does not follow a key ending in a comma")
			}
			prev := out[len(out)-1]
			out[len(out)-1] = prev[:len(prev)-1]
		default:
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n")), nil
}

// siteFile declares the hosts' pools and an offer on each.
func siteFile(hosts []fleetgen.Host, reg *feature.Registry) ([]byte, error) {
	cat, err := catalog.Embedded("qemu-10.0")
	if err != nil {
		return nil, err
	}
	mt, _ := cat.Newest("pc-q35")
	cands, err := fleet.Candidates(cat, mt.Name, core.KVM)
	if err != nil {
		return nil, err
	}
	var order []string
	members := map[string][]string{}
	count := map[string]map[*fleetgen.Base]int{}
	for _, h := range hosts {
		if members[h.Pool] == nil {
			order = append(order, h.Pool)
			count[h.Pool] = map[*fleetgen.Base]int{}
		}
		members[h.Pool] = append(members[h.Pool], h.Name+".json")
		count[h.Pool][h.Base]++
	}
	var b bytes.Buffer
	b.WriteString("\"\"\"A generated fleet (internal/fleetgen).\"\"\"\n\n")
	for _, p := range order {
		var base *fleetgen.Base
		for bb, n := range count[p] {
			if base == nil || n > count[p][base] || n == count[p][base] && bb.Name < base.Name {
				base = bb
			}
		}
		avail, err := check.Available(reg, base.Snap, core.Release{Major: 10, Minor: 0}, core.KVM)
		if err != nil {
			return nil, err
		}
		if best, _ := fleet.Baseline(cands, []feature.FeatureSet{avail}); best >= 0 {
			fmt.Fprintf(&b, "offer(%q, cpu = %q, pool = %q)\n", "std-"+p, cands[best].Name, p)
		}
		fmt.Fprintf(&b, "pool(%q, hosts = [\n", p)
		for _, m := range members[p] {
			fmt.Fprintf(&b, "    %q,\n", m)
		}
		b.WriteString("])\n")
	}
	return b.Bytes(), nil
}
