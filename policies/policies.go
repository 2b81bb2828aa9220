// Package policies embeds the built-in policies.
//
// Each policy is a Starlark file NAME.star in FS, with a module docstring
// saying what it checks and a check(ctx) function (see package starlib),
// and beside it NAME_test.star, its tests: test_* functions in the style
// of `opa test`. Names lists the policies; the check command runs one
// with starlib.LoadPolicy(FS, name+".star", opts). The names are a
// contract:
//
//   - no-new-host-deps: a newer machine type of a family adds no host
//     requirement to any CPU model under kvm.
//   - explicit-kvm-bits: an offer under kvm gets no KVM bit (KVM's
//     paravirtual leaf, x2apic where the model lacks it) that its -cpu spec
//     does not name.
//   - runnable: every offer runs on every host of its pool.
//   - migration-safe: an offer can live-migrate between every two hosts of
//     its pool, and its model is not one its catalog marks not
//     migration-safe.
//   - abi-level: with --param min=N, every offer's guest reaches x86-64
//     psABI level N, on every host of its pool (core/psabi).
//
// runnable and migration-safe decide with the verdict builtin
// (site.Judge), which `fleet` and `labels` call too, so every command
// gives an offer the same verdict.
//
// # Tests
//
// The tests of a policy load it (load("runnable.star", "check")) and run
// its check over fixtures. They run as `cpupolicy test` runs any policy's
// tests (starlib.TestGlobals and Script.RunTests), and see, besides
// starlib's builtins:
//
//	assert                    starlib.AssertModule (starlarktest's names)
//	catalog                   the embedded qemu-7.2 catalog (also the default
//	                          catalog of config() and resolve())
//	catalogs                  dict name → every embedded catalog
//	hosts                     dict name → host, the recorded snapshots of
//	                          testdata/hosts (file name without .json)
//	offer(name, cpu, machine=None, pool=None, accel=None)
//	pool(name, hosts)         a site's offers and pools, as site.star
//	                          declares them
//	run_check(check, offers=[], pools=[], host=None, params={}, catalog=None)
//	                          runs a policy's check over that site and
//	                          returns its violations, each a dict shaped as
//	                          in `cpupolicy check --format json`
//
// policies_test.go runs them under go test, one subtest each.
package policies

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

// FS holds the built-in policies and their tests.
//
//go:embed *.star
var FS embed.FS

// Names returns the names of the built-in policies, sorted: the files of
// FS without ".star", tests (*_test.star) excluded.
func Names() []string {
	files, _ := fs.Glob(FS, "*.star") // the pattern is valid
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.star") {
			continue
		}
		names = append(names, strings.TrimSuffix(f, ".star"))
	}
	sort.Strings(names)
	return names
}
