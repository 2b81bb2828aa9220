package tty

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestNotATerminal: a buffer and a regular file are no terminal, so
// neither is coloured.
func TestNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []any{&bytes.Buffer{}, f, nil} {
		if Is(w) {
			t.Errorf("%T is a terminal", w)
		}
	}
	if Color(f) {
		t.Error("a regular file may be coloured")
	}
}

// TestProgress: each call rewrites the line; the last ends it.
func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := Progress(&b, "importing", "machine×accel", time.Now())
	p(1, 4)
	p(4, 4)
	lines := strings.Split(b.String(), "\r")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "importing [#######.......................] 1/4 machine×accel  ") ||
		!strings.HasPrefix(lines[2], "importing [##############################] 4/4 machine×accel  ") || !strings.HasSuffix(b.String(), "s\n") {
		t.Errorf("drew %q", b.String())
	}
}
