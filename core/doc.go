// Package core holds nothing itself: its subpackages are cpupolicy's
// library, independent of the Starlark and WebAssembly front ends.
//
//   - core/cpuid: the CPUID instruction, the `cpuid -r` walk and dumps.
//   - core/feature: the feature registry and FeatureSet.
//   - core/kvm: /dev/kvm ioctls.
//   - core/host: HostSnapshot and probing.
//
// The import policy of core is stated as data in deps_test.go: the
// standard library, golang.org/x/sys, and core itself. Everything else
// (Starlark, wazero, CLI libraries) wraps core from outside.
package core
