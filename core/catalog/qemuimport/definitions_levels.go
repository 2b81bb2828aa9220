package qemuimport

import (
	"context"
)

// The Z probe: a definition's own levels where full-cpuid-auto-level
// cannot be turned off.
//
// QEMU 11.1 dropped full-cpuid-auto-level with the machine types that
// turned it off: every feature word raises the level of its leaf, always.
// So Q (definitions.go), which turns the property off to read a
// definition's min-level, min-xlevel and min-xlevel2, cannot be sent.
// Z is the model with every feature Q shows turned off: then no feature
// raises a level, and the min levels Z reports are the definition's own
// (and whatever a non-feature property of the model raises them to, such
// as 11.1's x-force-cpuid-0x1f, which the definition keeps). Q still
// gives the definition's features. A level that does not follow its
// min-level in the expansion or in Z was set explicitly, as with Q.
//
// Z costs one more probe per model than Q alone (Q7 is never needed) and
// is larger (a prop per feature), so it is used only for a binary without
// the property; 7.2's and 10.0's imports are unchanged.

// zLevels sends Z for every model: every feature of its expansion
// (exps) and of its Q answer (q) off. Both, because what Q turns on can
// clear a feature the model has (in 11.1 mpx and apxf clear each other).
func (d *definer) zLevels(ctx context.Context, r *runner, exps, q []answer) ([]answer, error) {
	reqs := make([]request, len(q))
	for i, a := range q {
		reqs[i] = request{i, d.props(nil, a.set.Union(exps[i].set), false)}
	}
	return r.run(ctx, reqs)
}

// hasNo reports whether the binary lacks the property name that
// convertFields reads (survey recorded a value for it instead).
func (n *featureNames) hasNo(name string) bool {
	for i, f := range convertFields {
		if f.name == name {
			return n.fixed[i] != nil
		}
	}
	return false
}
