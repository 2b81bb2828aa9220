package starlib

import (
	"errors"
	"strings"
	"testing"

	"go.starlark.net/syntax"
)

// FuzzSyntaxErrorPosition: whatever the source, a parse error stays one
// line, and placeSyntaxError keeps it inside the source: a line that
// exists (or the one after the last, for the end of file) and a column
// no further than one past that line's end.
func FuzzSyntaxErrorPosition(f *testing.F) {
	for _, s := range []string{
		"def check(ctx)\n    pass\n", "f(1\ng(2)\n", "x = [1, 2)\n", "é = 1\ndef f(ü)\n", "if x  # c\n    pass\n",
		"x = (1,\ndef f(): pass\n", "\n\n\n)", "s = 'abc\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, _, err := compile("p.star", []byte(src), nil)
		var se syntax.Error
		if !errors.As(err, &se) {
			return
		}
		lines := sourceLines([]byte(src))
		if se.Pos.Line < 1 || int(se.Pos.Line) > len(lines)+1 {
			t.Fatalf("%q: line %d of %d", src, se.Pos.Line, len(lines))
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("%q: error on more than one line: %q", src, err)
		}
	})
}
