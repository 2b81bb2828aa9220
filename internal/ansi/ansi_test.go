package ansi

import "testing"

func TestPaint(t *testing.T) {
	for _, c := range []struct {
		name  string
		on    bool
		color Color
		want  string
	}{
		{"off", false, Red, "FAIL"},
		{"red", true, Red, "\x1b[31mFAIL\x1b[0m"},
		{"green", true, Green, "\x1b[32mFAIL\x1b[0m"},
		{"yellow", true, Yellow, "\x1b[33mFAIL\x1b[0m"},
		{"bold", true, Bold, "\x1b[1mFAIL\x1b[0m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Paint(c.on, c.color, "FAIL"); got != c.want {
				t.Errorf("Paint(%v, %q, FAIL) = %q, want %q", c.on, c.color, got, c.want)
			}
		})
	}
}
