package qemuimport

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// scanAll collects scanExpansion's calls, later duplicates winning as in
// encoding/json.
func scanAll(data []byte) (map[string]string, error) {
	got := map[string]string{}
	err := scanExpansion(data, func(name, value []byte) error {
		got[string(name)] = string(value)
		return nil
	})
	return got, err
}

// reference decodes the props the slow way.
func reference(data []byte) (map[string]string, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil || !isObject(top["model"]) {
		return nil, false
	}
	var model map[string]json.RawMessage
	if json.Unmarshal(top["model"], &model) != nil || !isObject(model["props"]) {
		return nil, false
	}
	var props map[string]json.RawMessage
	if json.Unmarshal(model["props"], &props) != nil {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range props {
		out[k] = string(v)
	}
	return out, true
}

// duplicates reports whether the reply repeats "model" or, in the last
// "model", "props" (exact keys, after unescaping).
func duplicates(data []byte) bool {
	var top, model []string
	keys := func(v []byte) []string {
		dec := json.NewDecoder(bytes.NewReader(v))
		var ks []string
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			return nil
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return ks
			}
			ks = append(ks, tok.(string))
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return ks
			}
		}
		return ks
	}
	count := func(ks []string, k string) int {
		n := 0
		for _, x := range ks {
			if x == k {
				n++
			}
		}
		return n
	}
	top = keys(data)
	var m map[string]json.RawMessage
	json.Unmarshal(data, &m)
	model = keys(m["model"])
	return count(top, "model") > 1 || count(model, "props") > 1
}

func isObject(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{'
}

func TestScanExpansion(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{"qemu shape", `{"model": {"name": "qemu64", "props": {"sse4.2": false, "level": 13, "vendor": "AuthenticAMD", "lbr-fmt": 18446744073709551552, "phys-bits": -1}}}`,
			map[string]string{"sse4.2": "false", "level": "13", "vendor": `"AuthenticAMD"`, "lbr-fmt": "18446744073709551552", "phys-bits": "-1"}, ""},
		{"whitespace and order", " {\n\"other\": [1, {\"a\": [\"]\"]}], \"model\" : { \"props\" : { \"a\\u0062\" : true , \"c\":{\"d\":null} } , \"name\":\"x\" } }\n",
			map[string]string{"ab": "true", "c": `{"d":null}`}, ""},
		{"empty props", `{"model": {"props": {}}}`, map[string]string{}, ""},
		{"escaped quote in string", `{"model": {"props": {"model-id": "a \"b\" \\"}}}`, map[string]string{"model-id": `"a \"b\" \\"`}, ""},
		{"no model", `{"return": {}}`, nil, `no "model"`},
		{"no props", `{"model": {"name": "x"}}`, nil, `no "props"`},
		{"props not object", `{"model": {"props": []}}`, nil, "want an object"},
		{"duplicate model", `{"model": {"props": {}}, "model": {"props": {}}}`, nil, `duplicate "model"`},
		{"duplicate props", `{"model": {"props": {}, "props": {}}}`, nil, `duplicate "props"`},
		{"truncated", `{"model": {"props": {"a": tr`, nil, "unterminated object"},
		{"unterminated string", `{"model": {"props": {"a`, nil, "unterminated string"},
		{"trailing", `{"model": {"props": {}}} x`, nil, "data after the reply"},
		{"missing value", `{"model": {"props": {"a": }}}`, nil, "want a value"},
		{"not an object", `[]`, nil, "want an object"},
		{"empty", ``, nil, "want an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanAll([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if ref, ok := reference([]byte(tc.in)); !ok || !maps.Equal(got, ref) {
				t.Errorf("encoding/json reads %q", ref)
			}
		})
	}
}

// FuzzScanExpansion holds the fast props scanner to encoding/json: on
// any input it does not panic, and whatever it accepts, encoding/json
// reads the same way; what encoding/json reads as an expansion, it
// accepts unless a member is duplicated.
func FuzzScanExpansion(f *testing.F) {
	for _, s := range []string{
		`{"model": {"name": "qemu64", "props": {"sse4.2": false, "level": 13, "vendor": "AuthenticAMD", "lbr-fmt": 18446744073709551552}}}`,
		`{"model": {"props": {"a\u0062": [1, {"x": "}"}], "c": null}, "name": "x"}, "extra": "\\\""}`,
		`{"model": {"props": {"a": 1, "a": 2}}}`,
		`{"model": {"props": {}}, "model": {"props": {}}}`,
		`{"model": {"props": {"a": -1.5e+3}}}`,
		`{"Model": {"props": {}}}`,
		`{"model": {"props": {"a": tru}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := scanAll(data)
		if !json.Valid(data) {
			return // the client never passes it invalid JSON; not panicking is enough
		}
		ref, ok := reference(data)
		if err == nil {
			if !ok {
				t.Fatalf("scanner accepts %q; encoding/json does not read an expansion", data)
			}
			if !maps.Equal(got, ref) {
				t.Fatalf("scanner reads %q\nencoding/json %q", got, ref)
			}
			return
		}
		if ok && !duplicates(data) {
			t.Fatalf("scanner rejects %q (%v); encoding/json reads %q", data, err, ref)
		}
	})
}
