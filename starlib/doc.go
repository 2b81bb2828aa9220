// Package starlib runs site policies written in Starlark over cpupolicy's
// core: feature sets, host snapshots, catalogs of CPU models, and
// runnability verdicts exact to a QEMU release.
//
// # Values
//
// Module (documented there) holds the builtins features, config,
// runnable, why and verdict. The values are thin immutable wrappers of core types,
// each documented on its Go type: FeatureSet over feature.FeatureSet,
// Host over host.HostSnapshot, Catalog, Model, MachineType and Resolution
// over the catalog package, Config over a parsed -cpu spec, and Context,
// the ctx of a policy.
//
// Reference lists every name a script can use, with its text and an
// example: docs/starlark.md is generated from it (internal/starlarkdoc,
// which runs the examples and fails its test when a builtin or attribute
// has no entry) and the REPL's help() prints it.
//
// # Policies
//
// A policy is a .star file whose module docstring says what it checks and
// whose check(ctx) function reports violations:
//
//	"""Every offered config runs on every host of its pool."""
//
//	def check(ctx):
//	    for offer in ctx.site.offers:
//	        if offer.pool == None:
//	            continue
//	        for h in ctx.site.pools[offer.pool].hosts:
//	            ok, missing = runnable(offer.config, h)
//	            if not ok:
//	                ctx.violation("%s does not run on %s" % (offer.name, h.name),
//	                              model = offer.config, machine = offer.config,
//	                              features = missing, host = h, why = why(offer.config, h))
//
// LoadPolicy (or LoadPolicyFile) loads one; Policy.Check runs it over an
// Input (catalog, host, site, params) and returns its []Violation in the
// order reported. A load or run failure is an *Error that names the file
// and carries the Starlark backtrace.
//
// # Sandbox
//
// A script starts with nothing but this package's values and Starlark's
// own builtins, none of which reads files, the network, the clock, the
// environment or a random source: no such builtin exists, so a policy is
// a pure function of its Input. Further:
//
//   - load() reads only the policy's directory tree (paths relative to the
//     loading file, ".star" files, no absolute paths, no ".." out of the
//     tree; LoadPolicyFile opens the tree as an os.Root, which also
//     refuses symbolic links out of it) and the built-in library under
//     LibraryPrefix (Options.Library).
//   - The dialect has no while loops and no recursion (Starlark's
//     defaults), so every loop iterates a finite value and the Go stack
//     cannot be exhausted by script recursion.
//   - Each run (a load, a check) has a step budget (Options.MaxSteps,
//     DefaultMaxSteps) and a wall-clock limit (Options.Timeout,
//     DefaultTimeout). The limit cancels the thread from a timer
//     (thread.Cancel), and builtins that loop poll Interrupted, so it
//     holds inside long builtin calls too.
//   - Strings and lists that builtins accept from a script or build for
//     it are capped (Options.MaxLen), as is the number of violations
//     (Options.MaxViolations). Starlark's own operators cap a single
//     string or list at 1 GiB ("x" * 10000000000 fails at once).
//
// The defaults are written, with their reasons, beside their constants.
package starlib
