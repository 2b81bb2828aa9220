package check

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestWriteModelsJSONIsEncodingJSON: the hand-written writer is
// byte-for-byte what encoding/json writes, for every field's edge cases
// (empty and nil lists, omitted alias-of and source, escapes, invalid
// UTF-8 and the separators JavaScript cannot hold).
func TestWriteModelsJSONIsEncodingJSON(t *testing.T) {
	for name, vs := range map[string][]ModelVerdict{
		"nil":   nil,
		"empty": {},
		"runs":  {{Name: "486", UnavailableFeatures: []string{}, AliasOf: "486-v1", MigrationSafe: true, Why: FeatureLayers{}}},
		"missing": {
			{Name: "Skylake-Client-v4", UnavailableFeatures: []string{"avx512f", "hle"}, Static: true, Deprecated: true,
				Why: FeatureLayers{{"avx512f", "kvm"}, {"hle", "hw"}}},
			{Name: "EPYC-Turin", UnavailableFeatures: []string{"x"}, Why: FeatureLayers{{"x", "tcg"}}, Source: "plugin amd"},
		},
		"nil lists": {{Name: "m"}},
		"escapes": {{Name: "a\"b\\c<d>&e\n\t\x01\u2028\u2029é\xff", UnavailableFeatures: []string{"<f>"},
			AliasOf: "&", Why: FeatureLayers{{"<f>", "o\"s"}}, Source: "plugin \xfe"}},
	} {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(vs); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			WriteModelsJSON(&got, vs)
			if got.String() != want.String() {
				t.Errorf("WriteModelsJSON:\n%s\nencoding/json:\n%s", got.String(), want.String())
			}
		})
	}
}
