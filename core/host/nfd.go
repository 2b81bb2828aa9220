package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/jsonpos"
)

// NFD's label names (node-feature-discovery docs/usage/features.md).
const (
	nfdPrefix    = "feature.node.kubernetes.io/"
	nfdCPUID     = nfdPrefix + "cpu-cpuid."
	nfdVendor    = nfdPrefix + "cpu-model.vendor_id"
	nfdFamily    = nfdPrefix + "cpu-model.family"
	nfdModel     = nfdPrefix + "cpu-model.id"
	nfdNodeLabel = "nfd.node.kubernetes.io/node-name"
)

// nfdFlagNames maps the CPUID flag names NFD takes from
// github.com/klauspost/cpuid (its FeatureID names) to QEMU's, where
// lowercasing the flag does not give a name the registry knows.
var nfdFlagNames = map[string]string{
	"AESNI": "aes", "AMD3DNOW": "3dnow", "AMD3DNOWEXT": "3dnowext",
	"AMXBF16": "amx-bf16", "AMXFP16": "amx-fp16", "AMXINT8": "amx-int8", "AMXTILE": "amx-tile",
	"AVX512BF16": "avx512-bf16", "AVX512FP16": "avx512-fp16", "AVX512VP2INTERSECT": "avx512-vp2intersect",
	"AVX512VPOPCNTDQ": "avx512-vpopcntdq", "AVXIFMA": "avx-ifma", "AVXNECONVERT": "avx-ne-convert",
	"AVXVNNI": "avx-vnni", "AVXVNNIINT8": "avx-vnni-int8", "BHI_CTRL": "bhi-ctrl",
	"CLMUL": "pclmulqdq", "CMPXCHG8": "cx8", "FMA3": "fma", "HTT": "ht",
	"IA32_ARCH_CAP": "arch-capabilities", "IA32_CORE_CAP": "core-capability",
	"LAHF": "lahf-lm", "LZCNT": "abm", "MCAOVERFLOW": "overflow-recov", "MD_CLEAR": "md-clear",
	"SSE3": "pni", "SSE4": "sse4.1", "SSE42": "sse4.2", "SYSEE": "sep", "TOPEXT": "topoext",
	"X87": "fpu", "LBRVIRT": "lbrv", "NRIPS": "nrip-save", "SVMNP": "npt", "SVML": "svm-lock",
	"SVMPF": "pause-filter", "SVMPFT": "pfthreshold", "SVMDA": "decodeassists",
	"SVMFBASID": "flushbyasid", "TSCRATEMSR": "tsc-scale", "VMCBCLEAN": "vmcb-clean",
	"PREFETCHI": "prefetchiti", "STIBP_ALWAYSON": "stibp-always-on",
}

// nfdUnlabelled are the flags recent NFD releases do not turn into
// labels by default (nfd-worker's cpu.cpuid.attributeBlacklist; older
// releases spelled SSE4 and SSE42 "SSE4.1" and "SSE4.2", so labelled
// them): a Node's labels do not show them, a NodeFeature object does.
var nfdUnlabelled = []string{"BMI1", "BMI2", "CLMUL", "CMOV", "CX16", "ERMS", "F16C", "HTT", "LZCNT",
	"MMX", "MMXEXT", "NX", "POPCNT", "RDRAND", "RDSEED", "RDTSCP", "SGX", "SSE", "SSE2", "SSE3",
	"SSE4", "SSE42", "SSSE3", "TDX_GUEST"}

// nfdVendors maps NFD's cpu-model.vendor_id values to CPUID vendor
// strings.
var nfdVendors = map[string]string{"Intel": "GenuineIntel", "AMD": "AuthenticAMD", "Hygon": "HygonGenuine"}

// nfdObject is what FromNFD reads of a Node or NodeFeature object.
type nfdObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec *struct {
		Labels   map[string]string `json:"labels"`
		Features struct {
			Flags map[string]struct {
				Elements map[string]json.RawMessage `json:"elements"`
			} `json:"flags"`
			Attributes map[string]struct {
				Elements map[string]string `json:"elements"`
			} `json:"attributes"`
		} `json:"features"`
	} `json:"spec"`
}

// FromNFD builds a snapshot from a Kubernetes Node object (`kubectl get
// node NAME -o json`) or Node Feature Discovery's NodeFeature object.
// Only the hw layer is known: NFD reads the CPU's CPUID flags, not what
// the kernel or KVM give a guest. A NodeFeature lists every flag
// (spec.features.flags["cpu.cpuid"]); a Node's labels lack the flags NFD
// does not label by default (sse2, cmov, …), which the snapshot's
// kvm_error names. Flags cpupolicy cannot name are left out and named
// there too. The hostname is the node's name.
func FromNFD(name string, r io.Reader, reg *feature.Registry, now time.Time) (*HostSnapshot, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImport+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(data) > maxImport {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxImport)
	}
	var obj nfdObject
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil {
		if placed, ok := jsonpos.Error(name, data, err); ok {
			return nil, placed
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if dec.More() {
		line, col := position(data, dec.InputOffset())
		return nil, fmt.Errorf("%s:%d:%d: data after the object", name, line, col)
	}
	var flags []string
	labels := obj.Metadata.Labels
	complete := false
	host := obj.Metadata.Name
	switch obj.Kind {
	case "Node":
	case "NodeFeature":
		if obj.Spec == nil {
			return nil, fmt.Errorf("%s: NodeFeature without a spec", name)
		}
		if n := labels[nfdNodeLabel]; n != "" {
			host = n
		}
		labels = obj.Spec.Labels
		if cpuid, ok := obj.Spec.Features.Flags["cpu.cpuid"]; ok {
			for f := range cpuid.Elements {
				flags = append(flags, f)
			}
			complete = true
		}
	default:
		return nil, fmt.Errorf("%s: kind %q, want Node or NodeFeature", name, obj.Kind)
	}
	attr := func(label, key string) string {
		if obj.Spec != nil {
			if v, ok := obj.Spec.Features.Attributes["cpu.model"].Elements[key]; ok {
				return v
			}
		}
		return labels[label]
	}
	if !complete {
		for k, v := range labels {
			if f, ok := strings.CutPrefix(k, nfdCPUID); ok && v == "true" {
				flags = append(flags, f)
			}
		}
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s: no CPUID flags (no %s* labels and no cpu.cpuid features): not a node NFD labelled", name, nfdCPUID)
	}
	sort.Strings(flags)
	var hw feature.FeatureSet
	var unknown []string
	for _, f := range flags {
		qemu, ok := nfdFlagNames[f]
		if !ok {
			qemu = strings.ToLower(f)
		}
		id, err := reg.Lookup(qemu)
		if err != nil {
			unknown = append(unknown, f)
			continue
		}
		hw = hw.Add(id)
	}
	s := newSnapshot(SourceNFD, now, nil)
	s.Hostname = host
	s.Vendor = nfdVendors[attr(nfdVendor, "vendor_id")]
	for _, p := range []struct {
		label, key string
		to         *int
	}{{nfdFamily, "family", &s.Family}, {nfdModel, "id", &s.Model}} {
		if v := attr(p.label, p.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s: cpu-model %s %q is not a number", name, p.key, v)
			}
			*p.to = n
		}
	}
	note := fmt.Sprintf("not probed: snapshot built from the NFD %s object in %s: the hw layer only, KVM and the kernel not seen", obj.Kind, name)
	if !complete {
		note += fmt.Sprintf("; a Node's labels omit the flags NFD is configured not to label (by default in recent NFD: %s), which the hw layer then lacks", strings.Join(nfdUnlabelled, " "))
	}
	if len(unknown) > 0 {
		note += fmt.Sprintf("; flags left out, unknown here: %s", strings.Join(unknown, " "))
	}
	s.KVMError = note
	s.Features = Layers{HW: reg.Names(hw), OS: []string{}, KVM: []string{}}
	return s, nil
}
