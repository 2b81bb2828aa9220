package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// testdata/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 schema (errata
// 01), Schemata/sarif-schema-2.1.0.json of github.com/oasis-tcs/sarif-spec,
// byte for byte. It is JSON Schema draft 04; jsonSchema below implements
// every keyword it uses and refuses any other, so that a constraint can
// never be skipped silently.

// jsonSchema validates JSON values against a draft-04 schema document.
type jsonSchema struct {
	root map[string]any
}

func loadJSONSchema(t testing.TB, file string) *jsonSchema {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &jsonSchema{root: root}
}

// validate returns every way doc breaks the schema, as "path: problem".
func (s *jsonSchema) validate(doc []byte) ([]string, error) {
	var x any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	var errs []string
	if err := s.check(s.root, x, "$", &errs); err != nil {
		return nil, err
	}
	return errs, nil
}

// schemaKeywords are the keywords check implements; annotations are
// accepted and have no effect.
var schemaKeywords = map[string]bool{
	"$ref": true, "type": true, "properties": true, "additionalProperties": true, "required": true,
	"items": true, "minItems": true, "uniqueItems": true, "enum": true, "minimum": true, "maximum": true,
	"pattern": true, "format": true, "anyOf": true, "oneOf": true,
	// annotations
	"$schema": true, "id": true, "title": true, "description": true, "default": true, "definitions": true,
}

func (s *jsonSchema) check(sch map[string]any, x any, at string, errs *[]string) error {
	for k := range sch {
		if !schemaKeywords[k] {
			return fmt.Errorf("schema keyword %q at %s is not implemented", k, at)
		}
	}
	if ref, ok := sch["$ref"].(string); ok { // draft 04: $ref replaces its siblings
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		def, found := s.root["definitions"].(map[string]any)[name].(map[string]any)
		if !ok || !found {
			return fmt.Errorf("unresolvable $ref %q", ref)
		}
		return s.check(def, x, at, errs)
	}
	fail := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	if t, ok := sch["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, e := range t {
				types = append(types, e.(string))
			}
		}
		match := false
		for _, typ := range types {
			match = match || hasJSONType(x, typ)
		}
		if !match {
			fail("got %s, want type %s", jsonTypeOf(x), strings.Join(types, " or "))
			return nil
		}
	}
	if e, ok := sch["enum"].([]any); ok {
		found := false
		for _, v := range e {
			found = found || canonicalJSON(v) == canonicalJSON(x)
		}
		if !found {
			fail("got %s, want one of %s", canonicalJSON(x), canonicalJSON(e))
		}
	}
	switch x := x.(type) {
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		for _, r := range asStrings(sch["required"]) {
			if _, ok := x[r]; !ok {
				fail("missing required property %q", r)
			}
		}
		for _, k := range sortedKeys(x) {
			if p, ok := props[k].(map[string]any); ok {
				if err := s.check(p, x[k], at+"."+k, errs); err != nil {
					return err
				}
				continue
			}
			switch ap := sch["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not allowed", k)
				}
			case map[string]any:
				if err := s.check(ap, x[k], at+"."+k, errs); err != nil {
					return err
				}
			}
		}
	case []any:
		if n, ok := number(sch["minItems"]); ok && float64(len(x)) < n {
			fail("%d items, want at least %v", len(x), n)
		}
		if u, _ := sch["uniqueItems"].(bool); u {
			seen := map[string]bool{}
			for _, e := range x {
				c := canonicalJSON(e)
				if seen[c] {
					fail("duplicate item %s", c)
				}
				seen[c] = true
			}
		}
		if items, ok := sch["items"].(map[string]any); ok {
			for i, e := range x {
				if err := s.check(items, e, fmt.Sprintf("%s[%d]", at, i), errs); err != nil {
					return err
				}
			}
		}
	case json.Number:
		f, _ := x.Float64()
		if m, ok := number(sch["minimum"]); ok && f < m {
			fail("%v is less than the minimum %v", x, m)
		}
		if m, ok := number(sch["maximum"]); ok && f > m {
			fail("%v is more than the maximum %v", x, m)
		}
	case string:
		if p, ok := sch["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("pattern %q at %s: %v", p, at, err)
			}
			if !re.MatchString(x) {
				fail("%q does not match %q", x, p)
			}
		}
		if f, ok := sch["format"].(string); ok {
			if err := checkFormat(f, x); err != nil {
				fail("%q is not a %s: %v", x, f, err)
			}
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		subs, ok := sch[key].([]any)
		if !ok {
			continue
		}
		n := 0
		for _, sub := range subs {
			var subErrs []string
			if err := s.check(sub.(map[string]any), x, at, &subErrs); err != nil {
				return err
			}
			if len(subErrs) == 0 {
				n++
			}
		}
		if key == "anyOf" && n == 0 || key == "oneOf" && n != 1 {
			fail("%s: %d of %d alternatives hold", key, n, len(subs))
		}
	}
	return nil
}

func checkFormat(format, s string) error {
	switch format {
	case "uri":
		u, err := url.Parse(s)
		if err == nil && !u.IsAbs() {
			err = fmt.Errorf("not absolute")
		}
		return err
	case "uri-reference":
		_, err := url.Parse(s)
		return err
	case "date-time":
		_, err := time.Parse(time.RFC3339Nano, s)
		return err
	}
	return fmt.Errorf("format %q is not implemented", format)
}

func hasJSONType(x any, typ string) bool {
	switch typ {
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "string":
		_, ok := x.(string)
		return ok
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "null":
		return x == nil
	case "number":
		_, ok := x.(json.Number)
		return ok
	case "integer":
		n, ok := x.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f)
	}
	return false
}

func jsonTypeOf(x any) string {
	for _, t := range []string{"object", "array", "string", "boolean", "null", "integer", "number"} {
		if hasJSONType(x, t) {
			return t
		}
	}
	return fmt.Sprintf("%T", x)
}

func canonicalJSON(x any) string {
	data, _ := json.Marshal(x) // maps marshal with sorted keys
	return string(data)
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func asStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		out = append(out, e.(string))
	}
	return out
}

// sarifSchemaForTest loads the committed schema.
func sarifSchemaForTest(t testing.TB) *jsonSchema {
	return loadJSONSchema(t, filepath.Join("testdata", "sarif-schema-2.1.0.json"))
}

// TestJSONSchemaValidator: the validator catches what the schema forbids,
// so that a passing SARIF test means something.
func TestJSONSchemaValidator(t *testing.T) {
	s := sarifSchemaForTest(t)
	valid := `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "rules": [{"id": "r"}]}},
		"results": [{"ruleId": "r", "level": "error", "message": {"text": "m"},
		"locations": [{"physicalLocation": {"artifactLocation": {"uri": "site.star"}, "region": {"startLine": 3}}}]}],
		"invocations": [{"executionSuccessful": true, "startTimeUtc": "2026-01-02T03:04:05.000Z"}]}]}`
	if errs, err := s.validate([]byte(valid)); err != nil || len(errs) > 0 {
		t.Fatalf("a valid log: %v %q", err, errs)
	}
	tests := []struct {
		name, from, to, want string
	}{
		{"no version", `"version": "2.1.0", `, ``, `missing required property "version"`},
		{"wrong version", `"2.1.0"`, `"2.0.0"`, `want one of ["2.1.0"]`},
		{"unknown level", `"level": "error"`, `"level": "fatal"`, `$.runs[0].results[0].level: got "fatal"`},
		{"unknown property", `"ruleId": "r",`, `"ruleId": "r", "severity": 1,`, `property "severity" is not allowed`},
		{"message without text or id", `"message": {"text": "m"}`, `"message": {"markdown": "m"}`, `anyOf: 0 of 2 alternatives hold`},
		{"line 0", `"startLine": 3`, `"startLine": 0`, `less than the minimum 1`},
		{"region without a start", `"region": {"startLine": 3}`, `"region": {"endLine": 3}`, `anyOf: 0 of 3`},
		{"no executionSuccessful", `"executionSuccessful": true, `, ``, `missing required property "executionSuccessful"`},
		{"bad time", `2026-01-02T03:04:05.000Z`, `2026-01-02 03:04`, `is not a date-time`},
		{"string for integer", `"startLine": 3`, `"startLine": "3"`, `got string, want type integer`},
		{"fraction for integer", `"startLine": 3`, `"startLine": 3.5`, `got number, want type integer`},
		{"duplicate rules", `"rules": [{"id": "r"}]`, `"rules": [{"id": "r"}, {"id": "r"}]`, `duplicate item`},
		{"driver without name", `"driver": {"name": "x", `, `"driver": {`, `missing required property "name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(valid, tt.from) {
				t.Fatalf("the valid log has no %q", tt.from)
			}
			errs, err := s.validate([]byte(strings.Replace(valid, tt.from, tt.to, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(errs, "\n"), tt.want) {
				t.Errorf("errors %q, want one containing %q", errs, tt.want)
			}
		})
	}
}

// TestSARIFValid runs check in the situations SARIF output has to
// express and validates each log against the schema.
//
// A result about an offer of the site file is located at the line of its
// offer() call, found here by reading the file.
func TestSARIFValid(t *testing.T) {
	s := sarifSchemaForTest(t)
	located := 0
	defer func() {
		if located == 0 && !t.Failed() {
			t.Errorf("no scenario had a result about an offer")
		}
	}()
	for _, c := range checkScenarios(t) {
		t.Run(c.name, func(t *testing.T) {
			out, code := runCheckForTest(t, append(c.args, "--format", "sarif"))
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			errs, err := s.validate(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, e := range errs {
				t.Error(e)
			}
			var log struct {
				Runs []struct {
					Tool struct {
						Driver struct{ Rules []struct{ ID string } }
					}
					Invocations []struct{ ExecutionSuccessful bool }
					Results     []struct {
						RuleID       string
						RuleIndex    int
						Suppressions []any
						Locations    []struct {
							PhysicalLocation *struct {
								Region *struct{ StartLine, StartColumn int }
							}
						}
						Properties struct {
							Extra struct{ Offer string }
						}
					}
				}
			}
			if err := json.Unmarshal(out, &log); err != nil {
				t.Fatal(err)
			}
			run := log.Runs[0]
			if got := run.Invocations[0].ExecutionSuccessful; got != (c.code != exitUsage) {
				t.Errorf("executionSuccessful %v with exit %d", got, c.code)
			}
			offerLines := map[string]int{} // offer name → line of its offer() call
			if i := slices.Index(c.args, "--site"); i >= 0 {
				data, err := os.ReadFile(c.args[i+1])
				if err != nil {
					t.Fatal(err)
				}
				for n, line := range strings.Split(string(data), "\n") {
					if name, ok := strings.CutPrefix(line, `offer("`); ok {
						name, _, _ = strings.Cut(name, `"`)
						offerLines[name] = n + 1
					}
				}
			}
			suppressed := 0
			for _, r := range run.Results {
				if o := r.Properties.Extra.Offer; o != "" && !slices.Contains(c.args, "--site") {
					// --cpu: an offer of no file has no region.
					if len(r.Locations) > 0 && r.Locations[0].PhysicalLocation != nil && r.Locations[0].PhysicalLocation.Region != nil {
						t.Errorf("result about offer %s of no site file has a region", o)
					}
				} else if o != "" {
					want, ok := offerLines[o]
					if !ok {
						t.Fatalf("result about offer %q, which the site file does not declare", o)
					}
					if len(r.Locations) == 0 || r.Locations[0].PhysicalLocation == nil || r.Locations[0].PhysicalLocation.Region == nil {
						t.Errorf("result about offer %s has no region", o)
					} else if reg := r.Locations[0].PhysicalLocation.Region; reg.StartLine != want || reg.StartColumn != 0 {
						t.Errorf("result about offer %s: region %+v, want line %d", o, *reg, want)
					}
					located++
				}
				if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
					t.Errorf("result %q: ruleIndex %d is rule %q", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
				}
				if len(r.Suppressions) > 0 {
					suppressed++
				}
			}
			if suppressed != c.waived {
				t.Errorf("%d suppressed results, want %d", suppressed, c.waived)
			}
		})
	}
}
