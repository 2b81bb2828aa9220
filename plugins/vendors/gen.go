// Package vendors holds cpupolicy's real vendor plugins, one Go main
// package each, built from public facts (QEMU's and Linux's sources; each
// package's doc names its sources):
//
//   - amd: the EPYC-Turin model (Zen 5) as QEMU defines it after 10.0, and
//     the CPUID 0x8000_0021 bits QEMU 10.0 does not name;
//   - intel: the DiamondRapids model as published for QEMU after 10.0, and
//     the AMX, APX, AVX10, CET and MOVRS names it needs;
//   - zhaoxin: the Centaur/Zhaoxin leaves 0xC000_0000–0xC000_0001, the
//     bits QEMU does not name among them, and the YongFeng model.
//
// `go generate ./plugins/vendors/` builds each to X/X.wasm with exactly
// the commands a vendor uses: go build, then the post-link step
// plugins/sdk/seal, which writes the plugin's declaration into the module
// (the .wasm files are build outputs, not kept in the repository); the
// tests build them the same way, once per test binary
// (internal/plugintest).
//
// They are not a Go API: nothing imports them. They stay outside
// internal/ because they are what a vendor reads to write a plugin of
// its own, each a complete example of plugins/sdk in use (the smallest
// is examples/vendor-plugin).
package vendors

//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o amd/amd.wasm ./amd
//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o intel/intel.wasm ./intel
//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o zhaoxin/zhaoxin.wasm ./zhaoxin
//go:generate go run ../sdk/seal amd/amd.wasm intel/intel.wasm zhaoxin/zhaoxin.wasm
