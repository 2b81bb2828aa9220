// Package core is cpupolicy's library, independent of the Starlark and
// WebAssembly front ends. It holds the two types every subpackage shares,
// [Release] and [Accel]; the rest is in its subpackages:
//
//   - core/cpuid: the CPUID instruction, the `cpuid -r` walk and dumps.
//   - core/feature: the feature registry, QEMU's feature words, and
//     FeatureSet.
//   - core/kvm: /dev/kvm ioctls.
//   - core/host: HostSnapshot and probing.
//   - core/catalog: what a QEMU release says about its CPU models and
//     machine types, and how it expands a -cpu option.
//   - core/check: availability — what a QEMU release lets a guest have on
//     a host, and which layer lacks each feature.
//   - core/fleet, core/drift, core/libvirt, core/qmp: fleets of hosts,
//     changes between catalogs, libvirt's CPU map and domains, QEMU's
//     machine protocol.
//   - core/psabi: the x86-64 psABI micro-architecture levels (x86-64-v1
//     … v4) of a feature set.
//
// # Glossary
//
// One word per concept, in code and in messages:
//
//   - release: a QEMU release, major.minor ([Release]: "10.0" covers
//     10.0.0 to 10.0.2). A release's rules (feature names, accelerator
//     rules, feature dependencies, automatic CPUID levels) and its catalog
//     go together; [ParseRelease] is the one parser, and a release whose
//     rules are not known is an error, never its nearest neighbour.
//   - accelerator: how QEMU runs a guest, kvm or tcg ([Accel]).
//   - machine type: a versioned QEMU machine, such as pc-q35-7.2; its
//     compat properties change what a model resolves to.
//   - model: a named QEMU CPU model (Skylake-Client-v4). Its definition
//     is the model's features and CPUID levels before QEMU expands them
//     (catalog.Catalog.Definitions); its expansion, or resolution, is what
//     query-cpu-model-expansion reports after the feature dependencies and
//     automatic levels.
//   - layer: where a feature can be missing — hw (the CPU), os (the host
//     kernel), kvm (KVM, as QEMU adjusts its answer) or tcg (QEMU's
//     emulator); "qemu" when the release does not know the feature.
//   - availability: what a host can give a guest under one release and
//     accelerator, with the layer that lacks each feature
//     (check.Availability). Never "offer": a host does not offer.
//   - offer: what a site offers a guest — a CPU configuration on a machine
//     type, under an accelerator, in a pool of hosts.
//   - verdict: whether an offer runs on a host, with the missing features
//     and their layers.
//
// The import policy of core is stated as data in deps_test.go: the
// standard library, golang.org/x/sys, and core itself. Everything else
// (Starlark, wazero, CLI libraries) wraps core from outside.
package core
