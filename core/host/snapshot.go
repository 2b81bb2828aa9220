// Package host probes a machine's CPU and KVM and records the result as a
// [HostSnapshot]: raw CPUID, XCR0, /proc/cpuinfo flags and what /dev/kvm
// reports, plus the named features of each layer — hw (what the CPU
// has), os (what the kernel enabled) and kvm (what KVM can give a guest).
//
// A snapshot is versioned JSON ("schema": "cpupolicy/host-snapshot/v1"), so
// checks run anywhere on recorded hosts. [Probe] builds one from a
// [Prober]: [Live] for this machine, [Replay] for a recorded one.
// [FromCPUIDDump] and [FromQEMUExpansion] build snapshots of remote hosts
// from what users already collect (`cpuid -r`, QMP replies).
package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/kvm"
	"github.com/cpupolicy/cpupolicy/core/psabi"
	"github.com/cpupolicy/cpupolicy/core/qemurelease"
	"github.com/cpupolicy/cpupolicy/internal/jsonpos"
)

// Schema is the value of a snapshot's "schema" key.
const Schema = "cpupolicy/host-snapshot/v1"

// HostSnapshot is everything probed on one host. Its JSON form is a
// contract (see the package documentation); field order in the file is
// fixed so that load → save is byte-identical.
type HostSnapshot struct {
	Schema string `json:"schema"`
	// Source is one of Sources: how the data was collected.
	Source string `json:"source"`
	// QEMURelease is, for a snapshot made from a QEMU expansion, the QEMU
	// release its property names identify (core/qemurelease's
	// Detection.Code): "11.1" when they are exactly that release's;
	// "pre-5.2" or "post-11.1" for a release older or newer than the
	// nearest known one ("pre-10.0": older than 10.0, newer than the one
	// before); "near-10.0" for names that are no release's, nearest 10.0.
	// "" for the other sources.
	QEMURelease string `json:"qemu_release,omitempty"`
	Hostname    string `json:"hostname"`
	// ProbedAt is when the data was collected, in UTC.
	ProbedAt time.Time `json:"probed_at"`
	// Kernel is the kernel release (uname -r), "" when unknown.
	Kernel   string `json:"kernel"`
	Vendor   string `json:"vendor"`
	Family   int    `json:"family"`
	Model    int    `json:"model"`
	Stepping int    `json:"stepping"`
	Brand    string `json:"brand"`
	// XCR0 is the OS-enabled XSAVE components, nil when not read.
	XCR0 *uint64 `json:"xcr0"`
	// CPUInfoFlags are the flags of /proc/cpuinfo's first processor, nil
	// when not read.
	CPUInfoFlags []string     `json:"cpuinfo_flags"`
	CPUID        []CPUIDEntry `json:"cpuid"`
	// KVM is what /dev/kvm reported, nil with KVMError saying why when it
	// could not be read.
	KVM      *KVMInfo `json:"kvm"`
	KVMError string   `json:"kvm_error,omitempty"`
	// Plugins are the plugins whose decoders have run on the snapshot:
	// what they found is in Features. A program with the same plugin
	// (name and module hash) need not run it again.
	Plugins  []PluginRecord `json:"plugins,omitempty"`
	Features Layers         `json:"features"`
}

// PluginRecord says that a plugin decoded a snapshot.
type PluginRecord struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Module is the plugin module's hash: "sha256:" and 64 hex digits.
	Module string `json:"module"`
}

// DecodedBy reports whether the plugin name with module hash module has
// decoded s.
func (s *HostSnapshot) DecodedBy(name, module string) bool {
	for _, r := range s.Plugins {
		if r.Name == name && r.Module == module {
			return true
		}
	}
	return false
}

// RecordPlugin records that a plugin decoded s, replacing any record of
// another module of the same name; records stay sorted by name.
func (s *HostSnapshot) RecordPlugin(r PluginRecord) {
	i := sort.Search(len(s.Plugins), func(i int) bool { return s.Plugins[i].Name >= r.Name })
	if i < len(s.Plugins) && s.Plugins[i].Name == r.Name {
		s.Plugins[i] = r
		return
	}
	s.Plugins = slices.Insert(s.Plugins, i, r)
}

// CPUIDEntry is one CPUID result in a snapshot. Flags is only used in KVM
// lists (KVM_CPUID_FLAG_*).
type CPUIDEntry struct {
	Leaf    uint32  `json:"leaf"`
	Subleaf uint32  `json:"subleaf"`
	EAX     uint32  `json:"eax"`
	EBX     uint32  `json:"ebx"`
	ECX     uint32  `json:"ecx"`
	EDX     uint32  `json:"edx"`
	Flags   *uint32 `json:"flags,omitempty"`
}

// KVMInfo is what the KVM system fd reported.
type KVMInfo struct {
	APIVersion     int          `json:"api_version"`
	SupportedCPUID []CPUIDEntry `json:"supported_cpuid"`
	EmulatedCPUID  []CPUIDEntry `json:"emulated_cpuid"`
	// Capabilities maps a KVM_CAP_* number to KVM_CHECK_EXTENSION's
	// non-zero result.
	Capabilities map[int]int64 `json:"capabilities"`
	// FeatureMSRs maps a feature MSR index to its value.
	FeatureMSRs map[uint32]uint64 `json:"feature_msrs"`
	// HyperVCPUID is KVM_GET_SUPPORTED_HV_CPUID on the system fd: the
	// Hyper-V leaves (0x40000000…) KVM can give a guest, which QEMU
	// checks each hv-* enlightenment against. Empty when the kernel
	// lacks KVM_CAP_SYS_HYPERV_CPUID (before Linux 5.11) or the snapshot
	// predates it.
	HyperVCPUID []CPUIDEntry `json:"hyperv_cpuid,omitempty"`
}

// Layers holds the canonical feature names of each layer, in canonical
// order.
type Layers struct {
	HW  []string `json:"hw"`
	OS  []string `json:"os"`
	KVM []string `json:"kvm"`
}

// newSnapshot starts a snapshot from source with raw CPUID leaves, made
// at now (recorded in UTC, to the second).
func newSnapshot(source string, now time.Time, leaves cpuid.Leaves) *HostSnapshot {
	return &HostSnapshot{
		Schema:   Schema,
		Source:   source,
		ProbedAt: now.UTC().Truncate(time.Second),
		CPUID:    fromLeaves(leaves),
	}
}

// Leaves returns the snapshot's raw CPUID as sorted leaves.
func (s *HostSnapshot) Leaves() cpuid.Leaves { return toLeaves(s.CPUID) }

func toLeaves(es []CPUIDEntry) cpuid.Leaves {
	ls := make(cpuid.Leaves, len(es))
	for i, e := range es {
		ls[i] = cpuid.Leaf{Leaf: e.Leaf, Subleaf: e.Subleaf, EAX: e.EAX, EBX: e.EBX, ECX: e.ECX, EDX: e.EDX}
	}
	ls.Sort()
	return ls
}

func fromLeaves(ls cpuid.Leaves) []CPUIDEntry {
	es := make([]CPUIDEntry, len(ls))
	for i, l := range ls {
		es[i] = CPUIDEntry{Leaf: l.Leaf, Subleaf: l.Subleaf, EAX: l.EAX, EBX: l.EBX, ECX: l.ECX, EDX: l.EDX}
	}
	return es
}

func fromKVMEntries(es []kvm.Entry) []CPUIDEntry {
	out := make([]CPUIDEntry, len(es))
	for i, e := range es {
		f := e.Flags
		out[i] = CPUIDEntry{Leaf: e.Leaf.Leaf, Subleaf: e.Leaf.Subleaf, EAX: e.EAX, EBX: e.EBX, ECX: e.ECX, EDX: e.EDX, Flags: &f}
	}
	return out
}

// SupportedLeaves returns KVM_GET_SUPPORTED_CPUID as sorted leaves (nil
// without KVM).
func (s *HostSnapshot) SupportedLeaves() cpuid.Leaves {
	if s.KVM == nil {
		return nil
	}
	return toLeaves(s.KVM.SupportedCPUID)
}

// Sets returns the three layers as feature sets of reg.
func (s *HostSnapshot) Sets(reg *feature.Registry) (hw, os, kvm feature.FeatureSet, err error) {
	if hw, err = reg.Set(s.Features.HW...); err != nil {
		return
	}
	if os, err = reg.Set(s.Features.OS...); err != nil {
		return
	}
	kvm, err = reg.Set(s.Features.KVM...)
	return
}

// Marshal returns the snapshot's JSON form: fixed key order, one CPUID
// entry per line, maps in numeric key order, and a final newline.
func (s *HostSnapshot) Marshal() ([]byte, error) {
	var b bytes.Buffer
	w := &jsonWriter{b: &b}
	b.WriteString("{\n")
	w.field(1, "schema", s.Schema)
	w.field(1, "source", s.Source)
	if s.QEMURelease != "" {
		w.field(1, "qemu_release", s.QEMURelease)
	}
	w.field(1, "hostname", s.Hostname)
	w.field(1, "probed_at", s.ProbedAt.UTC().Format(time.RFC3339))
	w.field(1, "kernel", s.Kernel)
	w.field(1, "vendor", s.Vendor)
	w.field(1, "family", s.Family)
	w.field(1, "model", s.Model)
	w.field(1, "stepping", s.Stepping)
	w.field(1, "brand", s.Brand)
	w.field(1, "xcr0", s.XCR0)
	w.field(1, "cpuinfo_flags", s.CPUInfoFlags)
	w.entries(1, "cpuid", s.CPUID)
	if s.KVM == nil {
		w.key(1, "kvm")
		b.WriteString("null,\n")
		w.field(1, "kvm_error", s.KVMError)
	} else {
		k := s.KVM
		w.key(1, "kvm")
		b.WriteString("{\n")
		w.field(2, "api_version", k.APIVersion)
		w.entries(2, "supported_cpuid", k.SupportedCPUID)
		w.entries(2, "emulated_cpuid", k.EmulatedCPUID)
		if len(k.HyperVCPUID) > 0 {
			w.entries(2, "hyperv_cpuid", k.HyperVCPUID)
		}
		caps := make([]int, 0, len(k.Capabilities))
		for c := range k.Capabilities {
			caps = append(caps, c)
		}
		sort.Ints(caps)
		w.key(2, "capabilities")
		b.WriteString("{")
		for i, c := range caps {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q: %d", strconv.Itoa(c), k.Capabilities[c])
		}
		b.WriteString("},\n")
		msrs := make([]uint32, 0, len(k.FeatureMSRs))
		for m := range k.FeatureMSRs {
			msrs = append(msrs, m)
		}
		sort.Slice(msrs, func(i, j int) bool { return msrs[i] < msrs[j] })
		w.key(2, "feature_msrs")
		b.WriteString("{")
		for i, m := range msrs {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n      %q: %d", fmt.Sprintf("%#x", m), k.FeatureMSRs[m])
		}
		if len(msrs) > 0 {
			b.WriteString("\n    ")
		}
		b.WriteString("}\n  },\n")
	}
	if len(s.Plugins) > 0 {
		w.key(1, "plugins")
		b.WriteString("[")
		for i, r := range s.Plugins {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n    {\"name\": ")
			w.value(r.Name)
			b.WriteString(", \"version\": ")
			w.value(r.Version)
			b.WriteString(", \"module\": ")
			w.value(r.Module)
			b.WriteString("}")
		}
		b.WriteString("\n  ],\n")
	}
	w.key(1, "features")
	b.WriteString("{\n")
	w.field(2, "hw", nonNil(s.Features.HW))
	w.field(2, "os", nonNil(s.Features.OS))
	w.key(2, "kvm")
	w.value(nonNil(s.Features.KVM))
	b.WriteString("\n  },\n")
	lv := s.Features.ABILevels()
	fmt.Fprintf(&b, "  \"abi_levels\": {\"hw\": %d, \"os\": %d, \"kvm\": %d}\n}\n", lv.HW, lv.OS, lv.KVM)
	return b.Bytes(), w.err
}

// ABILevels are the x86-64 psABI levels (psabi.Level, 0 … 4) that a
// snapshot's layers reach: what the CPU has, what the kernel enabled,
// and what KVM itself gives a guest (before QEMU's adjustments, like the
// layer). A layer the snapshot did not see (an empty list) is 0. A snapshot's JSON carries them for people and tools to read;
// they are derived from the layers, and Parse rejects a file whose
// levels contradict its layers.
type ABILevels struct {
	HW  int `json:"hw"`
	OS  int `json:"os"`
	KVM int `json:"kvm"`
}

// String is "hw 4, os 4, kvm 3".
func (l ABILevels) String() string { return fmt.Sprintf("hw %d, os %d, kvm %d", l.HW, l.OS, l.KVM) }

// ABILevels returns the levels the layers reach.
func (l Layers) ABILevels() ABILevels {
	return ABILevels{HW: int(psabi.OfNames(l.HW)), OS: int(psabi.OfNames(l.OS)), KVM: int(psabi.OfNames(l.KVM))}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type jsonWriter struct {
	b   *bytes.Buffer
	err error
}

func (w *jsonWriter) key(depth int, k string) {
	w.b.WriteString(strings.Repeat("  ", depth))
	fmt.Fprintf(w.b, "%q: ", k)
}

func (w *jsonWriter) value(v any) {
	j, err := json.Marshal(v)
	if err != nil && w.err == nil {
		w.err = err
	}
	if sl, ok := v.([]string); ok && len(sl) > 0 {
		// One line, with a space after each comma, to stay readable.
		j = bytes.ReplaceAll(j, []byte(`","`), []byte(`", "`))
	}
	w.b.Write(j)
}

func (w *jsonWriter) field(depth int, k string, v any) {
	w.key(depth, k)
	w.value(v)
	w.b.WriteString(",\n")
}

func (w *jsonWriter) entries(depth int, k string, es []CPUIDEntry) {
	w.key(depth, k)
	if len(es) == 0 {
		w.b.WriteString("[],\n")
		return
	}
	w.b.WriteString("[\n")
	for i, e := range es {
		w.b.WriteString(strings.Repeat("  ", depth+1))
		fmt.Fprintf(w.b, `{"leaf": %d, "subleaf": %d, "eax": %d, "ebx": %d, "ecx": %d, "edx": %d`,
			e.Leaf, e.Subleaf, e.EAX, e.EBX, e.ECX, e.EDX)
		if e.Flags != nil {
			fmt.Fprintf(w.b, `, "flags": %d`, *e.Flags)
		}
		w.b.WriteString("}")
		if i < len(es)-1 {
			w.b.WriteString(",")
		}
		w.b.WriteString("\n")
	}
	w.b.WriteString(strings.Repeat("  ", depth) + "],\n")
}

// rawSnapshot mirrors the file for strict decoding: maps are keyed by
// strings so their keys can be checked.
type rawSnapshot struct {
	Schema       string       `json:"schema"`
	Source       string       `json:"source"`
	Hostname     string       `json:"hostname"`
	ProbedAt     string       `json:"probed_at"`
	Kernel       string       `json:"kernel"`
	Vendor       string       `json:"vendor"`
	Family       int          `json:"family"`
	Model        int          `json:"model"`
	Stepping     int          `json:"stepping"`
	Brand        string       `json:"brand"`
	XCR0         *uint64      `json:"xcr0"`
	CPUInfoFlags []string     `json:"cpuinfo_flags"`
	CPUID        []CPUIDEntry `json:"cpuid"`
	KVM          *struct {
		APIVersion     int               `json:"api_version"`
		SupportedCPUID []CPUIDEntry      `json:"supported_cpuid"`
		EmulatedCPUID  []CPUIDEntry      `json:"emulated_cpuid"`
		Capabilities   map[string]int64  `json:"capabilities"`
		FeatureMSRs    map[string]uint64 `json:"feature_msrs"`
		HyperVCPUID    []CPUIDEntry      `json:"hyperv_cpuid"`
	} `json:"kvm"`
	KVMError    string         `json:"kvm_error"`
	Plugins     []PluginRecord `json:"plugins"`
	Features    *Layers        `json:"features"`
	QEMURelease string         `json:"qemu_release"`
	// ABILevels is optional (older snapshots lack it), derived from
	// Features.
	ABILevels *ABILevels `json:"abi_levels"`
}

// ErrNotSnapshot is wrapped by Load's error for a document that is not a
// cpupolicy host snapshot at all (another JSON file, binary noise).
var ErrNotSnapshot = errors.New("not a cpupolicy host snapshot")

// Load reads and validates a snapshot; name is used in error messages,
// which are one line: "name: …" or "name:LINE:COL: …" for JSON syntax.
// Feature names must be known to reg (which may include plugin
// features).
func Load(name string, r io.Reader, reg *feature.Registry) (*HostSnapshot, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return Parse(name, data, reg)
}

// Parse is Load on bytes.
func Parse(name string, data []byte, reg *feature.Registry) (*HostSnapshot, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	// failAt places a problem at key (the first of that name: the keys
	// this is used for appear once), or at the file when it is missing.
	failAt := func(key, format string, args ...any) error {
		if off, ok := jsonpos.KeyOffset(data, strconv.Quote(key)); ok {
			line, col := position(data, off)
			return fmt.Errorf("%s:%d:%d: %s", name, line, col, fmt.Sprintf(format, args...))
		}
		return fail(format, args...)
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	// Only the first JSON value decides what the document is; data after
	// it is reported by the strict pass below.
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		off, msg, ok := jsonpos.Explain(data, err)
		if !ok {
			return nil, fmt.Errorf("%s: %w: %v", name, ErrNotSnapshot, err)
		}
		line, col := position(data, off)
		if len(bytes.TrimSpace(data)) > 0 && data[0] == '{' {
			return nil, fmt.Errorf("%s:%d:%d: %s", name, line, col, msg)
		}
		return nil, fmt.Errorf("%s:%d:%d: %w: %s", name, line, col, ErrNotSnapshot, msg)
	}
	if head.Schema == nil {
		// At the document's first byte: the key is missing from it.
		line, col := position(data, int64(len(data)-len(bytes.TrimLeft(data, " \t\r\n"))))
		return nil, fmt.Errorf("%s:%d:%d: %w: no \"schema\" key", name, line, col, ErrNotSnapshot)
	}
	if *head.Schema != Schema {
		off, _ := jsonpos.KeyOffset(data, `"schema"`)
		line, col := position(data, off)
		return nil, fmt.Errorf("%s:%d:%d: %w: schema %q, want %q", name, line, col, ErrNotSnapshot, *head.Schema, Schema)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw rawSnapshot
	if err := dec.Decode(&raw); err != nil {
		if placed, ok := jsonpos.Error(name, data, err); ok {
			return nil, placed
		}
		return nil, fail("%v", err)
	}
	if dec.More() {
		line, col := position(data, dec.InputOffset())
		return nil, fmt.Errorf("%s:%d:%d: data after the snapshot", name, line, col)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(data, dec.InputOffset())
		return nil, fmt.Errorf("%s:%d:%d: data after the snapshot", name, line, col)
	}
	s := &HostSnapshot{
		Schema: raw.Schema, Source: raw.Source, Hostname: raw.Hostname, Kernel: raw.Kernel,
		Vendor: raw.Vendor, Family: raw.Family, Model: raw.Model, Stepping: raw.Stepping,
		Brand: raw.Brand, XCR0: raw.XCR0, CPUInfoFlags: raw.CPUInfoFlags, CPUID: raw.CPUID,
		KVMError: raw.KVMError, QEMURelease: raw.QEMURelease,
	}
	if raw.QEMURelease != "" {
		if raw.Source != SourceQEMUExpansion {
			return nil, fail("qemu_release %q in a snapshot from %q: only a QEMU expansion has one", raw.QEMURelease, raw.Source)
		}
		if _, err := qemurelease.ParseCode(raw.QEMURelease); err != nil {
			return nil, fail("qemu_release: %v", err)
		}
	}
	if sourceInfo[raw.Source].seen == nil {
		return nil, failAt("source", "unknown source %q (want one of %s)", raw.Source, strings.Join(Sources, ", "))
	}
	t, err := time.Parse(time.RFC3339, raw.ProbedAt)
	if err != nil {
		return nil, failAt("probed_at", "probed_at %q is not an RFC 3339 time", raw.ProbedAt)
	}
	s.ProbedAt = t.UTC()
	if raw.CPUID == nil {
		return nil, fail("no \"cpuid\" array")
	}
	if err := checkEntries("cpuid", raw.CPUID, false); err != nil {
		return nil, failAt("cpuid", "%v", err)
	}
	if raw.KVM == nil {
		if raw.KVMError == "" {
			return nil, failAt("kvm", "\"kvm\" is null but \"kvm_error\" does not say why")
		}
	} else {
		if raw.KVMError != "" {
			return nil, failAt("kvm_error", "both \"kvm\" and \"kvm_error\" are set")
		}
		k := &KVMInfo{
			APIVersion:     raw.KVM.APIVersion,
			SupportedCPUID: raw.KVM.SupportedCPUID,
			EmulatedCPUID:  raw.KVM.EmulatedCPUID,
			HyperVCPUID:    raw.KVM.HyperVCPUID,
			Capabilities:   make(map[int]int64, len(raw.KVM.Capabilities)),
			FeatureMSRs:    make(map[uint32]uint64, len(raw.KVM.FeatureMSRs)),
		}
		if k.SupportedCPUID == nil || k.EmulatedCPUID == nil || raw.KVM.Capabilities == nil || raw.KVM.FeatureMSRs == nil {
			return nil, failAt("kvm", "\"kvm\" needs supported_cpuid, emulated_cpuid, capabilities and feature_msrs")
		}
		if err := checkEntries("kvm.supported_cpuid", k.SupportedCPUID, true); err != nil {
			return nil, failAt("supported_cpuid", "%v", err)
		}
		if err := checkEntries("kvm.emulated_cpuid", k.EmulatedCPUID, true); err != nil {
			return nil, failAt("emulated_cpuid", "%v", err)
		}
		if err := checkEntries("kvm.hyperv_cpuid", k.HyperVCPUID, true); err != nil {
			return nil, failAt("hyperv_cpuid", "%v", err)
		}
		for key, v := range raw.KVM.Capabilities {
			n, err := strconv.Atoi(key)
			if err != nil || n < 0 || strconv.Itoa(n) != key {
				return nil, failAt("capabilities", "kvm.capabilities: key %q is not a decimal capability number", key)
			}
			k.Capabilities[n] = v
		}
		for key, v := range raw.KVM.FeatureMSRs {
			m, err := strconv.ParseUint(strings.TrimPrefix(key, "0x"), 16, 32)
			if err != nil || fmt.Sprintf("%#x", m) != key {
				return nil, failAt("feature_msrs", "kvm.feature_msrs: key %q is not a lowercase \"0x…\" MSR index", key)
			}
			k.FeatureMSRs[uint32(m)] = v
		}
		s.KVM = k
	}
	if raw.Features == nil || raw.Features.HW == nil || raw.Features.OS == nil || raw.Features.KVM == nil {
		return nil, failAt("features", "\"features\" needs \"hw\", \"os\" and \"kvm\" arrays")
	}
	s.Features = *raw.Features
	if lv := s.Features.ABILevels(); raw.ABILevels != nil && *raw.ABILevels != lv {
		return nil, fail("abi_levels (%s) contradict the layers, which reach %s", *raw.ABILevels, lv)
	}
	for i, r := range raw.Plugins {
		switch {
		case r.Name == "":
			return nil, failAt("plugins", "plugins[%d]: no name", i)
		case !validModuleHash(r.Module):
			return nil, failAt("plugins", "plugins[%d]: module %q is not \"sha256:\" and 64 lowercase hex digits", i, r.Module)
		case i > 0 && raw.Plugins[i-1].Name >= r.Name:
			return nil, failAt("plugins", "plugins[%d]: %s is not after %s (one record per plugin, sorted by name)", i, r.Name, raw.Plugins[i-1].Name)
		}
	}
	s.Plugins = raw.Plugins
	for _, l := range []struct {
		name  string
		names []string
	}{{"hw", s.Features.HW}, {"os", s.Features.OS}, {"kvm", s.Features.KVM}} {
		if _, err := reg.Set(l.names...); err != nil {
			return nil, failAt(l.name, "features.%s: %s", l.name, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	return s, nil
}

// validModuleHash reports whether s is "sha256:" and 64 lowercase hex
// digits.
func validModuleHash(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkEntries rejects flags where they do not belong or are missing, and
// duplicate (leaf, subleaf) keys in raw CPUID. KVM lists are kept as the
// kernel gave them: old kernels repeat leaf 2 for stateful CPUs.
func checkEntries(what string, es []CPUIDEntry, kvmList bool) error {
	seen := make(map[[2]uint32]bool, len(es))
	for i, e := range es {
		if kvmList != (e.Flags != nil) {
			if kvmList {
				return fmt.Errorf("%s[%d]: no \"flags\"", what, i)
			}
			return fmt.Errorf("%s[%d]: unexpected \"flags\"", what, i)
		}
		k := [2]uint32{e.Leaf, e.Subleaf}
		if !kvmList && seen[k] {
			return fmt.Errorf("%s[%d]: leaf %#x subleaf %#x appears twice", what, i, e.Leaf, e.Subleaf)
		}
		seen[k] = true
	}
	return nil
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) { return jsonpos.LineCol(data, off) }
