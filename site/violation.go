package site

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Violation is one problem a policy reported about a site: what waivers
// match and reports list.
type Violation struct {
	Policy  string
	Message string
	Model   string // a model name or -cpu spec, or ""
	Machine string // a machine type name, or ""
	// Features are canonical names in canonical order.
	Features []string
	// Extra holds the other keyword arguments of ctx.violation, as Go
	// values: nil, bool, int64, float64, string, []any, map[string]any
	// (a big int becomes its decimal string; a feature_set, []string of
	// names; a model, machine type, host or config, its name).
	Extra map[string]any
}

// MarshalJSON writes a violation as one JSON object: "policy", "message",
// "model" and "machine" (when set), "features" (always a list), then the
// extra keys in sorted order.
func (v Violation) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	field := func(k string, x any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		xj, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("violation %s: %v", k, err)
		}
		b.Write(kj)
		b.WriteByte(':')
		b.Write(xj)
		return nil
	}
	b.WriteByte('{')
	_ = field("policy", v.Policy)
	_ = field("message", v.Message)
	if v.Model != "" {
		_ = field("model", v.Model)
	}
	if v.Machine != "" {
		_ = field("machine", v.Machine)
	}
	feats := v.Features
	if feats == nil {
		feats = []string{}
	}
	_ = field("features", feats)
	keys := make([]string, 0, len(v.Extra))
	for k := range v.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := field(k, v.Extra[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
