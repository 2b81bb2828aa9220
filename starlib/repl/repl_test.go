package repl

import (
	"os"
	"testing"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/starlib"
)

func TestHistoryPath(t *testing.T) {
	for _, c := range []struct {
		name, xdg, home, want string
	}{
		{"xdg", "/x/state", "/home/u", "/x/state/cpupolicy/repl_history"},
		{"home", "", "/home/u", "/home/u/.local/state/cpupolicy/repl_history"},
		{"relative xdg is ignored", "state", "/home/u", "/home/u/.local/state/cpupolicy/repl_history"},
		{"nothing", "", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := HistoryPath(func(k string) string {
				return map[string]string{"XDG_STATE_HOME": c.xdg, "HOME": c.home}[k]
			})
			if got != c.want || (err != nil) != (c.want == "") {
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestCompleterDo: readline gets the rest of each candidate and the
// length of the word, over a session of the embedded qemu-7.2 catalog and
// a recorded host.
func TestCompleterDo(t *testing.T) {
	cat, err := catalog.Embedded("qemu-7.2")
	if err != nil {
		t.Fatal(err)
	}
	const file = "../../testdata/hosts/this-machine.json"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := host.Parse(file, data, cat.Registry())
	if err != nil {
		t.Fatal(err)
	}
	h, err := starlib.NewHost("", snap, cat.Registry())
	if err != nil {
		t.Fatal(err)
	}
	scat := starlib.NewCatalog(cat)
	s := starlib.NewSession(scat, starlib.Options{Predeclared: starlark.StringDict{"host": h, "catalog": scat}})
	line := []rune(`features("avx512bita") # …`)
	got, n := completer{s}.Do(line, len(`features("avx512bita`))
	if n != len("avx512bita") || len(got) != 1 || string(got[0]) != "lg" {
		t.Errorf("Do = %q, %d; want [\"lg\"], %d", got, n, len("avx512bita"))
	}
}
