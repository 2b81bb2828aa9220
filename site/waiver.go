package site

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/jsonpos"
)

// A Waiver accepts violations that a site has decided to live with, as
// conftest exceptions do: each violation it matches is reported as waived
// and does not fail a run. A waiver past its expiry date waives nothing
// and fails the run itself, so that accepted risks are reviewed.
//
// A waiver matches a violation when the policies are equal, the model and
// the machine type are equal (or the waiver's is "*"), and every feature
// of the violation is among the waiver's.
type Waiver struct {
	Policy  string
	Model   string // a model name or -cpu spec, or "*"
	Machine string // a machine type name, or "*"
	// Features are canonical names in canonical order.
	Features []string
	// Reason says why the violation is accepted; it is required.
	Reason string
	// Expires is the last day the waiver holds (YYYY-MM-DD), or "".
	Expires string
	// Source is where the waiver was declared: "file:line" (JSON) or
	// "file:line:col" (Starlark).
	Source string
}

// WaiveAny is the model or machine of a waiver that matches every one.
const WaiveAny = "*"

// Matches reports whether w waives v (expiry aside).
func (w *Waiver) Matches(v Violation) bool {
	if w.Policy != v.Policy {
		return false
	}
	if w.Model != WaiveAny && w.Model != v.Model {
		return false
	}
	if w.Machine != WaiveAny && w.Machine != v.Machine {
		return false
	}
	for _, f := range v.Features {
		if !slices.Contains(w.Features, f) {
			return false
		}
	}
	return true
}

// Expired reports whether w no longer holds on the day of now (in now's
// location): it holds through its Expires day.
func (w *Waiver) Expired(now time.Time) bool {
	return w.Expires != "" && now.Format(time.DateOnly) > w.Expires
}

// Waived is a violation and the waiver that accepted it.
type Waived struct {
	Violation Violation
	Waiver    *Waiver
}

// Waivers is the outcome of applying waivers to violations.
type Waivers struct {
	// Violations are those no valid waiver matches, in their order.
	Violations []Violation
	// Waived are those a valid waiver matches (the first that does).
	Waived []Waived
	// Expired are the waivers past their date, in declaration order,
	// whether or not they match anything: each fails a run.
	Expired []*Waiver
	// Unused are the valid waivers that matched nothing.
	Unused []*Waiver
}

// ApplyWaivers sorts vs into violations and waived ones by ws on the day
// of now.
func ApplyWaivers(vs []Violation, ws []Waiver, now time.Time) Waivers {
	var out Waivers
	valid := make([]*Waiver, 0, len(ws))
	for i := range ws {
		if ws[i].Expired(now) {
			out.Expired = append(out.Expired, &ws[i])
		} else {
			valid = append(valid, &ws[i])
		}
	}
	used := make(map[*Waiver]bool, len(valid))
	for _, v := range vs {
		i := slices.IndexFunc(valid, func(w *Waiver) bool { return w.Matches(v) })
		if i < 0 {
			out.Violations = append(out.Violations, v)
			continue
		}
		used[valid[i]] = true
		out.Waived = append(out.Waived, Waived{Violation: v, Waiver: valid[i]})
	}
	for _, w := range valid {
		if !used[w] {
			out.Unused = append(out.Unused, w)
		}
	}
	return out
}

// maxWaiverFile bounds a waivers file: real ones are kilobytes.
const maxWaiverFile = 16 << 20

// ReadWaiversFile reads the JSON waivers file path (see ParseWaivers).
func ReadWaiversFile(path string, reg *feature.Registry) ([]Waiver, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWaiverFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(data) > maxWaiverFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxWaiverFile)
	}
	return ParseWaivers(path, data, reg)
}

// waiverJSON is one waiver of a JSON waivers file. Every key but expires
// is required ("*" for any model or machine, [] for no features), so that
// a missing key is a mistake, not a wildcard.
type waiverJSON struct {
	Policy   *string   `json:"policy"`
	Model    *string   `json:"model"`
	Machine  *string   `json:"machine"`
	Features *[]string `json:"features"`
	Reason   *string   `json:"reason"`
	Expires  string    `json:"expires"`
}

// ParseWaivers parses a JSON waivers file:
//
//	{"waivers": [{"policy": "no-new-host-deps", "model": "Haswell",
//	              "machine": "pc-i440fx-2.3", "features": ["f16c", "rdrand"],
//	              "reason": "QEMU 2.3 fixed the model", "expires": "2027-01-31"}]}
//
// name is the file as messages name it. Every problem is reported, one a
// line, as "name:LINE: waiver N: …".
func ParseWaivers(name string, data []byte, reg *feature.Registry) ([]Waiver, error) {
	if reg == nil {
		reg = feature.Builtin()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	// Syntax first: Unmarshal's error offsets are absolute (a streaming
	// Decoder's are not), so the position reported is right.
	var whole any
	if err := json.Unmarshal(data, &whole); err != nil {
		if placed, ok := jsonpos.Error(name, data, err); ok {
			return nil, placed
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	syntax := func(err error) error { return fmt.Errorf("%s: %v", name, err) } // cannot happen after Unmarshal
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		if tok != want {
			// At the token's first byte: InputOffset is just past it.
			start := jsonpos.ValueStart(data, dec.InputOffset())
			if _, ok := tok.(json.Delim); ok {
				start = dec.InputOffset() - 1
			}
			line, col := jsonpos.LineCol(data, start)
			got := fmt.Sprint(tok)
			switch tok.(type) {
			case nil:
				got = "null"
			case string:
				got = fmt.Sprintf("%q", tok)
			}
			return fmt.Errorf("%s:%d:%d: got %s, want %q (a waivers file is {\"waivers\": [...]})", name, line, col, got, want)
		}
		return nil
	}
	if err := expect('{'); err != nil {
		return nil, err
	}
	var ws []Waiver
	var errs []error
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		if tok != "waivers" || seen {
			line, _ := jsonpos.LineCol(data, dec.InputOffset())
			return nil, fmt.Errorf("%s:%d: unexpected key %v: a waivers file is {\"waivers\": [...]}", name, line, tok)
		}
		seen = true
		if err := expect('['); err != nil {
			return nil, err
		}
		for n := 1; dec.More(); n++ {
			// The waiver starts at the first byte past the separator; its
			// own decoder's offsets are relative to that byte.
			at := jsonSkipSpace(data, dec.InputOffset())
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, syntax(err)
			}
			line, _ := jsonpos.LineCol(data, at)
			wdec := json.NewDecoder(bytes.NewReader(raw))
			wdec.DisallowUnknownFields()
			var wj waiverJSON
			if err := wdec.Decode(&wj); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					line, _ := jsonpos.LineCol(data, at+te.Offset)
					if te.Field == "" { // the waiver itself is not an object
						return nil, fmt.Errorf("%s:%d: waiver %d: got JSON %s, want an object", name, line, n, te.Value)
					}
					return nil, fmt.Errorf("%s:%d: waiver %d: %s: got JSON %s, want %s", name, line, n, te.Field, te.Value, jsonpos.Kind(te.Type))
				}
				if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
					line := keyLine(data, at, raw, field, line)
					return nil, fmt.Errorf("%s:%d: waiver %d: unknown field %s", name, line, n, field)
				}
				return nil, syntax(err)
			}
			w, err := newWaiver(reg, wj)
			if err != nil {
				// A problem with one key ("features: unknown feature …") is
				// placed on that key's line.
				eline := line
				if key, _, ok := strings.Cut(err.Error(), ":"); ok && !strings.Contains(key, " ") {
					eline = keyLine(data, at, raw, strconv.Quote(key), line)
				}
				errs = append(errs, fmt.Errorf("%s:%d: waiver %d: %v", name, eline, n, err))
				continue
			}
			w.Source = fmt.Sprintf("%s:%d", name, line)
			ws = append(ws, w)
		}
		if err := expect(']'); err != nil {
			return nil, err
		}
	}
	if err := expect('}'); err != nil {
		return nil, err
	}
	if !seen {
		return nil, fmt.Errorf("%s: no \"waivers\" key", name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ws, nil
}

// keyLine is the line in data of the key quoted of the waiver raw, which
// starts at offset at; def when raw has no such key.
func keyLine(data []byte, at int64, raw []byte, quoted string, def int) int {
	off, ok := jsonpos.KeyOffset(raw, quoted)
	if !ok {
		return def
	}
	line, _ := jsonpos.LineCol(data, at+off)
	return line
}

// newWaiver checks a JSON waiver and canonicalizes its features.
func newWaiver(reg *feature.Registry, wj waiverJSON) (Waiver, error) {
	var missing []string
	for _, f := range []struct {
		key string
		ok  bool
	}{{"policy", wj.Policy != nil}, {"model", wj.Model != nil}, {"machine", wj.Machine != nil},
		{"features", wj.Features != nil}, {"reason", wj.Reason != nil}} {
		if !f.ok {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		return Waiver{}, fmt.Errorf("no %s (every key but expires is required; \"*\" is any model or machine)", strings.Join(missing, ", "))
	}
	return MakeWaiver(reg, *wj.Policy, *wj.Model, *wj.Machine, *wj.Features, *wj.Reason, wj.Expires)
}

// MakeWaiver checks the fields of a waiver and canonicalizes its features
// (in reg): what every waivers file, JSON or Starlark, declares goes
// through it.
func MakeWaiver(reg *feature.Registry, policy, model, machine string, features []string, reason, expires string) (Waiver, error) {
	switch {
	case policy == "":
		return Waiver{}, errors.New("policy is empty")
	case model == "":
		return Waiver{}, errors.New(`model is empty (use "*" for any)`)
	case machine == "":
		return Waiver{}, errors.New(`machine is empty (use "*" for any)`)
	case strings.TrimSpace(reason) == "":
		return Waiver{}, errors.New("reason is empty: say why the violation is accepted")
	}
	if expires != "" {
		if _, err := time.Parse(time.DateOnly, expires); err != nil {
			return Waiver{}, fmt.Errorf("expires: got %q, want a date YYYY-MM-DD", expires)
		}
	}
	set, err := reg.Set(features...)
	if err != nil {
		return Waiver{}, fmt.Errorf("features: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return Waiver{Policy: policy, Model: model, Machine: machine, Features: reg.Names(set), Reason: reason, Expires: expires}, nil
}

// jsonSkipSpace returns the offset of the first non-space byte at or after
// off (a decoder's InputOffset points before the separator and blanks).
func jsonSkipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\n', '\r', ',':
			off++
			continue
		}
		break
	}
	return off
}
