// Package plugins loads and runs cpupolicy's WebAssembly vendor plugins.
//
// A plugin is a .wasm file built with plugins/sdk that teaches cpupolicy a
// CPU family: feature names it lacks (with their CPUID locations), a
// decoder for vendor CPUID leaves, CPU model definitions, and named
// checks. [Load] compiles and starts one and returns a [*Plugin]:
//
//	p, err := plugins.Load(ctx, "zhaoxin.wasm", plugins.Config{})
//	reg, err = reg.Extend(p.Describe().Name, p.Features()...)
//	names, err := p.Decode(ctx, leaves)    // feature names the CPUID shows
//	models, err := p.Models(ctx)           // []ModelDef, see ModelDef.Expand
//	result, err := p.Check(ctx, "padlock", input) // JSON in, JSON out
//
// [LoadAll] loads several at once, concurrently. A Plugin serves
// concurrent callers, each in an instance of its own.
//
// A plugin sealed at build time ([Seal], plugins/sdk/seal) carries its
// manifest and models in a custom section: Load reads only that, and the
// module is compiled and started on the first Decode or Check, once per
// process, and refused ([ErrDeclaration]) if its code disagrees with its
// declaration. [DecodeSnapshot] records in a snapshot which plugin module
// decoded it, so a recorded snapshot is not decoded again: models, why and
// fleet on saved snapshots start no plugin at all.
//
// The joins put loaded plugins to work in the core: [Registry] extends a
// feature registry with their features (a clash names both sides),
// [Catalog] adds their models to a catalog (resolved on every machine type
// as QEMU builds a model it defines, see catalog.Catalog.WithModels),
// [DecodeSnapshot] adds what their decoders find to a host snapshot's
// layers, and [Checks] is what Starlark's plugins.call reaches.
//
// Plugins run under wazero with nothing granted: no files, no environment,
// no arguments, a fake clock, no network, a memory cap and a deadline on
// every call ([Config]). A plugin that traps, panics, loops, exhausts its
// memory or answers nonsense fails with an [*Error] naming its file and
// what it did; its instance is thrown away and the host, and every other
// plugin, go on.
//
// The ABI between host and plugin is specified in plugins/ABI.md;
// plugins/RATIONALE.md says why it is the way it is.
package plugins
