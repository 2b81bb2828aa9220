// Package fleetgen makes fleets of realistic host snapshots for
// benchmarks, demos and tests of `cpupolicy fleet`: each generated host is
// a real recorded snapshot (a [Base]) with a few feature bits masked off,
// the way a BIOS setting (the CPU hides the bit), an older or hardened
// kernel (it disables the bit) or an older KVM (it does not pass the bit
// on) makes otherwise identical machines differ. Generation is
// deterministic: the same bases, configuration and seed give the same
// hosts.
package fleetgen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// Base is a recorded host that generated hosts are variations of.
type Base struct {
	// Name is the file's name without its extension.
	Name string
	Snap *host.HostSnapshot
	// maskable[layer] are the features a guest gets on Snap that masking
	// at that layer really takes away, so that check.Compute then names
	// that layer as the one lacking it.
	maskable [numLayers][]feature.ID
}

// Layers at which a bit is masked.
const (
	layerHW  = iota // the BIOS hides it: raw CPUID, and so every layer
	layerOS         // the kernel disables it: os and kvm layers
	layerKVM        // KVM does not pass it on: kvm layer
	numLayers
)

var layerNames = [numLayers]string{check.LayerHW, check.LayerOS, check.LayerKVM}

// LoadBase reads a base from path: a host snapshot (cpupolicy probe
// --format json) or QMP replies holding query-cpu-model-expansion of the
// host model (testdata/qemu-hosts). It must carry KVM data: the bits a
// generated host lacks are judged under KVM. rules is the QEMU release
// whose rules decide which bits a guest gets ("7.2" or "10.0").
func LoadBase(path string, reg *feature.Registry, rules core.Release) (*Base, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := host.Parse(path, data, reg)
	if errors.Is(err, host.ErrNotSnapshot) {
		s, err = host.FromQEMUExpansion(path, strings.NewReader(string(data)), reg, time.Unix(0, 0))
	}
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return NewBase(name, s, reg, rules)
}

// NewBase returns snapshot s as a base named name.
func NewBase(name string, s *host.HostSnapshot, reg *feature.Registry, rules core.Release) (*Base, error) {
	a, err := check.Compute(reg, s, rules, core.KVM)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	b := &Base{Name: name, Snap: s}
	for id := range a.Set.All() {
		for l := range numLayers {
			// Masked where check.Compute would blame: the paravirtual
			// bits and the feature-MSR bits cannot be hidden by a BIOS,
			// and a snapshot from QEMU's expansion has no hw layer.
			m := mask(s, reg, []feature.ID{id}, []int{l})
			got, err := check.Compute(reg, m, rules, core.KVM)
			if err == nil && !got.Set.Has(id) && got.Set.SubsetOf(a.Set) && got.Layer(id) == layerNames[l] {
				b.maskable[l] = append(b.maskable[l], id)
			}
		}
	}
	return b, nil
}

// Host is one generated host.
type Host struct {
	Name, Pool string
	Base       *Base
	Snap       *host.HostSnapshot
	// Masked names the masked features as "name (layer)".
	Masked []string
}

// Config says what fleet to generate. The zero value gives one pool per
// base and hosts without masks.
type Config struct {
	// Seed seeds the random choices.
	Seed uint64
	// Pools is the number of pools (0: one per base). Pool i's hosts are
	// variations of base i mod len(bases), except for the Strays.
	Pools int
	// Strays is the fraction of hosts that are variations of another
	// base than their pool's: the odd machine racked with the others.
	Strays float64
	// MaskedHosts is the fraction of hosts with masked bits; such a host
	// has 1 to MaxMasked of them.
	MaskedHosts float64
	MaxMasked   int
	// Variants, when not 0, is how many distinct sets of masks each
	// base has: a masked host takes one of them, drawn at random, as real
	// hosts share their kernel, microcode and BIOS settings with many
	// others. 0 draws every masked host's masks anew.
	Variants int
	// Relevant limits masking to these features when not empty: e.g.
	// the union of a catalog's models, so that masks change verdicts.
	Relevant feature.FeatureSet
}

// Toggled are the features that do differ between hosts of the same
// CPU model in real fleets: TSX (hle, rtm) switched off by microcode or
// the kernel, MPX dropped by newer kernels and KVM, AVX-512, SGX, VMX/SVM
// and 5-level paging as BIOS options, the speculation-control bits that
// come with microcode and kernel updates, and the KVM paravirtual
// features newer KVMs added.
var Toggled = []string{
	"hle", "rtm", "mpx", "pku", "la57", "vmx", "svm", "sgx", "avx512f",
	"spec-ctrl", "ssbd", "md-clear", "stibp", "invpcid", "pcid", "xsaves",
	"umip", "rdseed", "waitpkg", "tsc-adjust",
	"kvm-pv-ipi", "kvm-poll-control", "kvm-pv-sched-yield", "kvm-asyncpf-int",
}

// Realistic is a configuration close to a real site's: pools of 100
// hosts (for n hosts), one host in a hundred from another pool's
// hardware, and a third of the hosts with up to three of the [Toggled]
// features masked, in one of 75 variants per base: with four bases, a
// few hundred distinct hosts however large the fleet, as real fleets
// have a few hundred distinct CPU, kernel and KVM combinations.
func Realistic(n int, seed uint64, reg *feature.Registry) Config {
	toggled, _ := reg.Set(Toggled...) // built-in names
	return Config{Seed: seed, Pools: max(1, n/100), Strays: 0.01, MaskedHosts: 0.33, MaxMasked: 3, Variants: 75, Relevant: toggled}
}

// variant is a set of masks and the snapshot they give.
type variant struct {
	ids    []feature.ID
	layers []int
	masked []string
	snap   *host.HostSnapshot
}

// Generate returns n hosts made from bases, named BASE-POOL-NNNNNN.
func Generate(bases []*Base, n int, cfg Config, reg *feature.Registry) ([]Host, error) {
	if len(bases) == 0 {
		return nil, errors.New("fleetgen: no bases")
	}
	pools := cfg.Pools
	if pools <= 0 {
		pools = len(bases)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x666c656574))
	out := make([]Host, 0, n)
	variants := map[*Base][]*variant{}
	for i := range n {
		p := rng.IntN(pools)
		b := bases[p%len(bases)]
		if len(bases) > 1 && rng.Float64() < cfg.Strays {
			b = bases[(p+1+rng.IntN(len(bases)-1))%len(bases)]
		}
		pool := fmt.Sprintf("pool-%03d", p)
		h := Host{Name: fmt.Sprintf("%s-%s-%06d", b.Name, pool, i), Pool: pool, Base: b}
		if cfg.MaxMasked > 0 && rng.Float64() < cfg.MaskedHosts {
			var v *variant
			if cfg.Variants > 0 {
				vs := variants[b]
				if vs == nil {
					// Drawn from their own source, so that a base's
					// variants do not depend on where its first host is.
					vr := rand.New(rand.NewPCG(cfg.Seed, uint64(slices.Index(bases, b))))
					for range cfg.Variants {
						vs = append(vs, drawMasks(vr, b, cfg, reg))
					}
					variants[b] = vs
				}
				v = vs[rng.IntN(len(vs))]
			} else {
				v = drawMasks(rng, b, cfg, reg)
			}
			h.Masked = v.masked
			h.Snap = v.snap
		} else {
			h.Snap = b.Snap
		}
		c := *h.Snap
		c.Hostname = h.Name
		h.Snap = &c
		out = append(out, h)
	}
	return out, nil
}

// drawMasks draws 1 to cfg.MaxMasked masks for a host of b and masks a
// copy of b's snapshot with them. Hosts of one variant share the copy
// (only their names differ), which keeps a million-host fleet small.
func drawMasks(rng *rand.Rand, b *Base, cfg Config, reg *feature.Registry) *variant {
	v := &variant{}
	k := 1 + rng.IntN(cfg.MaxMasked)
	for range k {
		l := rng.IntN(numLayers)
		cands := b.maskable[l]
		if !cfg.Relevant.IsEmpty() {
			cands = relevant(cands, cfg.Relevant)
		}
		if len(cands) == 0 {
			continue
		}
		id := cands[rng.IntN(len(cands))]
		if slices.Contains(v.ids, id) {
			continue
		}
		v.ids, v.layers = append(v.ids, id), append(v.layers, l)
		v.masked = append(v.masked, fmt.Sprintf("%s (%s)", reg.Name(id), layerNames[l]))
	}
	v.snap = mask(b.Snap, reg, v.ids, v.layers)
	return v
}

func relevant(ids []feature.ID, set feature.FeatureSet) []feature.ID {
	var out []feature.ID
	for _, id := range ids {
		if set.Has(id) {
			out = append(out, id)
		}
	}
	return out
}

// mask returns a copy of s with features ids masked at layers (same
// length); s itself is not modified, and what the copy shares with it is
// never modified.
func mask(s *host.HostSnapshot, reg *feature.Registry, ids []feature.ID, layers []int) *host.HostSnapshot {
	c := *s
	c.Features = host.Layers{HW: s.Features.HW, OS: s.Features.OS, KVM: s.Features.KVM}
	if len(ids) == 0 {
		return &c
	}
	c.CPUID = slices.Clone(s.CPUID)
	c.CPUInfoFlags = slices.Clone(s.CPUInfoFlags)
	if s.KVM != nil {
		k := *s.KVM
		k.SupportedCPUID = slices.Clone(s.KVM.SupportedCPUID)
		k.FeatureMSRs = make(map[uint32]uint64, len(s.KVM.FeatureMSRs))
		for m, v := range s.KVM.FeatureMSRs {
			k.FeatureMSRs[m] = v
		}
		c.KVM = &k
	}
	drop := func(list []string, name string) []string {
		return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == name })
	}
	for i, id := range ids {
		f := reg.Feature(id)
		l := layers[i]
		c.Features.KVM = drop(c.Features.KVM, f.Name)
		if l <= layerOS {
			c.Features.OS = drop(c.Features.OS, f.Name)
			if f.Linux != "" {
				c.CPUInfoFlags = drop(c.CPUInfoFlags, f.Linux)
			}
		}
		if l == layerHW {
			c.Features.HW = drop(c.Features.HW, f.Name)
			clearBit(c.CPUID, f.Loc)
		}
		if c.KVM != nil {
			if f.Loc.IsMSR() {
				if v, ok := c.KVM.FeatureMSRs[f.Loc.MSR]; ok {
					c.KVM.FeatureMSRs[f.Loc.MSR] = v &^ (1 << f.Loc.Bit)
				}
			} else {
				clearBit(c.KVM.SupportedCPUID, f.Loc)
			}
		}
	}
	return &c
}

// clearBit clears a CPUID feature bit in every entry of its leaf and
// subleaf.
func clearBit(es []host.CPUIDEntry, loc feature.Location) {
	if loc.IsMSR() {
		return
	}
	for i := range es {
		e := &es[i]
		if e.Leaf != loc.Leaf || e.Subleaf != loc.Subleaf {
			continue
		}
		bit := ^uint32(1 << loc.Bit)
		switch loc.Reg {
		case cpuid.EAX:
			e.EAX &= bit
		case cpuid.EBX:
			e.EBX &= bit
		case cpuid.ECX:
			e.ECX &= bit
		case cpuid.EDX:
			e.EDX &= bit
		}
	}
}
