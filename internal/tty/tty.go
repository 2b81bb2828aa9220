// Package tty answers what the CLI asks of its terminal: is this stream
// one, may its text be coloured, and a progress line drawn on it.
package tty

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// Is reports whether f is an *os.File on a terminal.
func Is(f any) bool {
	file, ok := f.(*os.File)
	return ok && isatty.IsTerminal(file.Fd())
}

// Color reports whether w is a terminal that may be coloured: a TTY,
// and NO_COLOR (https://no-color.org) unset or empty.
func Color(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && Is(w)
}

// Progress returns a function that draws "what [####....] done/total
// elapsed" on w, a terminal, rewriting the line on each call and ending
// it when done reaches total. (A progress line is not colour: NO_COLOR
// does not turn it off.)
func Progress(w io.Writer, what, unit string, start time.Time) func(done, total int) {
	return func(done, total int) {
		const width = 30
		n := width * done / max(total, 1)
		fmt.Fprintf(w, "\r%s [%s%s] %d/%d %s  %.1fs", what, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, unit, time.Since(start).Seconds())
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
