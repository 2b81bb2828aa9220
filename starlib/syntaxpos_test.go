package starlib

import (
	"strings"
	"testing"
)

// TestSyntaxErrorPosition: a parse error is placed at the token it is
// about, not just past it (a missing ':' at the end of line 2 is at line
// 2, where Starlark's parser says 3:1).
func TestSyntaxErrorPosition(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"missing colon", "\"\"\"Doc.\"\"\"\ndef check(ctx)\n    pass\n", "p.star:2:15: got newline, want ':'"},
		{"missing colon, comment", "x = 1\nif x  # a comment\n    pass\n", "p.star:2:18: got newline, want ':'"},
		{"missing comma", "f(1\ng(2)\n", "p.star:2:1: got identifier, want ','"},
		{"keyword", "x = (1,\ndef f(): pass\n", "p.star:2:1: got def, want primary expression"},
		{"punctuation", "x = [1, 2)\n", "p.star:1:10: got ')', want ']'"},
		{"not a got", "s = \"abc\n", "p.star:1:5: unexpected newline in string"},
		{"CRLF line ends", "x = 1\r\ndef f()\r\n    pass\r\n", "p.star:2:8: got newline, want ':'"},
		{"unicode", "é = 1\ndef f(ü)\n    pass\n", "p.star:2:9: got newline, want ':'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := compile("p.star", []byte(c.src), nil)
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v, want %s", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
		})
	}
}
