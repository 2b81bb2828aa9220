package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/cpupolicy/cpupolicy/core/cpuid"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/qemurelease"
	"github.com/cpupolicy/cpupolicy/internal/jsonpos"
)

// FromCPUIDDump builds a snapshot from `cpuid -r` or `cpuid -1 -r` output
// (CPU 0's section). Only the hw layer is known: the dump says nothing of
// the kernel or KVM. name is used in error messages and in kvm_error.
func FromCPUIDDump(name string, r io.Reader, reg *feature.Registry, now time.Time) (*HostSnapshot, error) {
	leaves, err := cpuid.ParseDump(name, r)
	if err != nil {
		return nil, err
	}
	s := newSnapshot(SourceCPUIDDump, now, leaves)
	s.KVMError = fmt.Sprintf("not probed: snapshot built from the cpuid dump %s", name)
	s.setIdentity(leaves)
	s.Features = Layers{HW: reg.Names(reg.Decode(leaves)), OS: []string{}, KVM: []string{}}
	return s, nil
}

// FromQEMUExpansion builds a snapshot whose kvm layer is QEMU's expansion
// of the "host" CPU model (a query-cpu-model-expansion reply): each
// boolean property that names a feature and is true is a bit KVM and QEMU
// can give a guest on that host. The input may hold several QMP replies
// one after another, as libvirt's test data does; the expansion is taken
// from among them. Non-feature properties (hv-*, x-*, phys-bits, …) are
// ignored; vendor, family, model, stepping and model-id fill the host
// facts.
func FromQEMUExpansion(name string, r io.Reader, reg *feature.Registry, now time.Time) (*HostSnapshot, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	props, err := findExpansion(name, data)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kv feature.FeatureSet
	seen := map[feature.ID]string{}
	// An expansion has no raw CPUID: the snapshot's list is empty.
	s := newSnapshot(SourceQEMUExpansion, now, nil)
	s.KVMError = fmt.Sprintf("not probed: snapshot built from QEMU's host CPU expansion in %s", name)
	// Which release made it: judged with another release's catalog, its
	// verdicts may differ (check.ReleaseWarning).
	s.QEMURelease = qemurelease.Detect(keys).Code()
	for _, k := range keys {
		raw := props[k]
		switch k {
		case "vendor", "model-id":
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("%s: property %q: want a string", name, k)
			}
			if k == "vendor" {
				s.Vendor = v
			} else {
				s.Brand = trimBrand(v)
			}
			continue
		case "family", "model", "stepping":
			var v int
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("%s: property %q: want an integer", name, k)
			}
			switch k {
			case "family":
				s.Family = v
			case "model":
				s.Model = v
			default:
				s.Stepping = v
			}
			continue
		}
		var on bool
		if json.Unmarshal(raw, &on) != nil {
			continue // not a boolean: not a feature
		}
		id, err := reg.Lookup(k)
		if err != nil {
			continue // a boolean property that is not a CPUID feature (hv-*, x-*, …)
		}
		if other, ok := seen[id]; ok && kv.Has(id) != on {
			return nil, fmt.Errorf("%s: properties %q and %q both name feature %q but disagree", name, other, k, reg.Name(id))
		}
		seen[id] = k
		if on {
			kv = kv.Add(id)
		}
	}
	s.Features = Layers{HW: []string{}, OS: []string{}, KVM: reg.Names(kv)}
	return s, nil
}

// findExpansion returns the "props" of the first query-cpu-model-expansion
// reply among the concatenated JSON documents in data.
func findExpansion(name string, data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var qmpErr string
	for n := 1; ; n++ {
		start := dec.InputOffset()
		var doc struct {
			Return *struct {
				Model *struct {
					Name  string                     `json:"name"`
					Props map[string]json.RawMessage `json:"props"`
				} `json:"model"`
			} `json:"return"`
			Error *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
		}
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *json.SyntaxError
			off := start
			switch {
			case errors.As(err, &se):
				off = se.Offset - 1 // Offset is just past the bad byte
			case errors.Is(err, io.ErrUnexpectedEOF):
				off = jsonpos.End(data) // the reply is cut off at the end
				err = errors.New("malformed JSON: unexpected end of JSON input")
			default:
				off = dec.InputOffset()
			}
			line, col := position(data, off)
			// A reply of another shape (query-cpu-definitions returns an
			// array) is a type error, not bad input: skip it.
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				continue
			}
			return nil, fmt.Errorf("%s:%d:%d: QMP reply %d: %v", name, line, col, n, err)
		}
		if doc.Error != nil && qmpErr == "" {
			qmpErr = fmt.Sprintf("%s: %s", doc.Error.Class, doc.Error.Desc)
		}
		if doc.Return != nil && doc.Return.Model != nil && doc.Return.Model.Props != nil {
			return doc.Return.Model.Props, nil
		}
	}
	if qmpErr != "" {
		return nil, fmt.Errorf("%s: no query-cpu-model-expansion reply; QEMU answered an error: %s", name, qmpErr)
	}
	return nil, fmt.Errorf("%s: no query-cpu-model-expansion reply (a \"return\" with \"model\" and \"props\")", name)
}

// ImportFile runs an importer (FromCPUIDDump, FromQEMUExpansion) on the
// file at path, which names the snapshot's source.
func ImportFile(path string, from func(string, io.Reader, *feature.Registry, time.Time) (*HostSnapshot, error), reg *feature.Registry, now time.Time) (*HostSnapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return from(path, f, reg, now)
}

// ReadFile reads and parses the snapshot file at path (Parse).
func ReadFile(path string, reg *feature.Registry) (*HostSnapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, reg)
}
