// Command vendor-plugin is the example plugin of the guide in README.md:
// a made-up vendor, "Acme", whose CPUs report two extra features in a
// vendor leaf, one CPU model with two versions, and one check.
//
// Build, in this directory (a module of its own, see go.mod):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o acme.wasm .
//	(cd ../.. && go run ./plugins/sdk/seal examples/vendor-plugin/acme.wasm)
//
// The second step writes the plugin's declaration into it (see
// plugins/sdk/seal); a vendor outside this repository runs
// `go run github.com/cpupolicy/cpupolicy/plugins/sdk/seal@VERSION acme.wasm`.
package main

import "github.com/cpupolicy/cpupolicy/plugins/sdk"

// Step 1: the features cpupolicy does not know, each with its location.
var features = []sdk.Feature{
	{Name: "acme-turbo", Leaf: 0x40000101, Reg: sdk.EDX, Bit: 0, Linux: "acme_turbo",
		Description: "Acme Turbo: sustained all-core boost"},
	{Name: "acme-crypt", Leaf: 0x40000101, Reg: sdk.EDX, Bit: 1,
		Description: "Acme Crypt: the ACRYPT instruction"},
}

// Step 2: how to decode them. A Table decodes fixed bits without
// allocating; decode reuses its result slice (the SDK copies it out).
var (
	table = sdk.NewTable(features)
	names []string
)

func decode(c sdk.CPUID) ([]string, error) {
	if !c.VendorIs("AcmeAcmeAcme") || c.MaxLeaf(0x40000100) < 0x40000101 {
		return nil, nil
	}
	names = table.Decode(c, names[:0], nil)
	return names, nil
}

// Step 3: the models, as QEMU defines them: a base definition and
// versions that change it.
var models = []sdk.Model{{
	Name: "Acme-Roadrunner", Vendor: "AcmeAcmeAcme",
	Family: 6, Model: 0x55, Stepping: 1, Level: 0xd, XLevel: 0x80000008,
	ModelID:  "Acme Roadrunner Processor",
	Features: []string{"fpu", "sse", "sse2", "pni", "ssse3", "sse4.1", "sse4.2", "avx", "lm", "nx", "syscall", "acme-turbo"},
	Versions: []sdk.Version{
		{Version: 1},
		{Version: 2, Note: "with ACRYPT", Props: []sdk.Prop{{Name: "acme-crypt", Value: "on"}}},
	},
}}

// Step 4: a check, callable from policies as plugins.call("acme.turbo-safe", …).
func turboSafe(input []byte) ([]byte, error) {
	feats, err := sdk.ParseStrings(input)
	if err != nil {
		return nil, err
	}
	for _, f := range feats {
		if f == "acme-turbo" {
			return []byte(`{"ok":false,"why":"acme-turbo makes live migration unsafe"}`), nil
		}
	}
	return []byte(`{"ok":true}`), nil
}

// Step 5: register it all.
func init() {
	sdk.Register(&sdk.Plugin{
		Name:        "acme",
		Version:     "0.1.0",
		Description: "Acme CPUs (the example of examples/vendor-plugin)",
		Vendors:     []string{"AcmeAcmeAcme"},
		Leaves:      []sdk.LeafRange{{First: 0x40000100, Last: 0x40000101}},
		Features:    features,
		Decode:      decode,
		Models:      models,
		Checks: []sdk.Check{{
			Name:        "turbo-safe",
			Description: `Input: a JSON array of feature names. Result: {"ok": bool, "why": string}.`,
			Run:         turboSafe,
		}},
	})
}

// main is never called: the host starts the module with _initialize,
// which runs the init functions above, and then calls its exports.
func main() {}
