// Package ansi paints terminal text: the one place the escape codes of
// cpupolicy's text outputs (check, test, probe, models, fleet, catalog
// verify) are written. Whether to paint (a TTY, NO_COLOR unset) is the
// caller's decision.
package ansi

// Color is an ANSI colour (or weight) of terminal text.
type Color string

// The colours the text outputs use.
const (
	Red    Color = "\x1b[31m"
	Green  Color = "\x1b[32m"
	Yellow Color = "\x1b[33m"
	Bold   Color = "\x1b[1m"
)

// reset ends a painted span.
const reset = "\x1b[0m"

// Paint returns s in colour c when on (the output is a terminal), and s
// unchanged otherwise.
func Paint(on bool, c Color, s string) string {
	if !on {
		return s
	}
	return string(c) + s + reset
}
