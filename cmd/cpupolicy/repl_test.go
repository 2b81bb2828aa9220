package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

const replTestHost = "../../testdata/hosts/this-machine.json"

// TestReplExitCodes pins the exit status of a piped script, in process
// (standard input is not a terminal): 0 when it ran, 1 when it failed, 2
// for usage and input errors.
func TestReplExitCodes(t *testing.T) {
	for _, c := range []struct {
		name, script string
		args         []string
		code         int
		stdout       string
		stderr       string // a line stderr must hold, or "" for none at all
	}{
		{"runs", `print(catalog.name, host.vendor)`, nil, 0, "qemu-7.2 AuthenticAMD\n", ""},
		{"expression prints nothing", `1 + 1`, nil, 0, "", ""},
		{"empty", ``, nil, 0, "", ""},
		{"runtime error", "x = 1\nx.nope", nil, 1, "", "  <stdin>:2:2: in <toplevel>"},
		{"syntax error", "print(", nil, 1, "", "<stdin>:1:7: got end of file, want ')'"},
		{"undefined", "a + b", nil, 1, "", "<stdin>:1:5: undefined: b"},
		{"stray argument", ``, []string{"x.star"}, 2, "", `cpupolicy repl: unexpected argument "x.star" (a script comes on standard input); run 'cpupolicy repl -h' for usage`},
		{"bad catalog", ``, []string{"--catalog", "qemu-1.0"}, 2, "", `cpupolicy: unknown catalog "qemu-1.0": not an embedded catalog (qemu-5.2, qemu-7.2, qemu-10.0, qemu-11.1) nor a file`},
		{"missing plugin", ``, []string{"--plugin", "p.wasm"}, 2, "", `cpupolicy: p.wasm: load: open p.wasm: no such file or directory`},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"repl", "--catalog", "qemu-7.2", "--host", replTestHost}, c.args...)
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(c.script), &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr.String())
			}
			if stdout.String() != c.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), c.stdout)
			}
			if c.stderr == "" && stderr.Len() > 0 || c.stderr != "" && !slices.Contains(strings.Split(stderr.String(), "\n"), c.stderr) {
				t.Errorf("stderr %q, want a line %q", stderr.String(), c.stderr)
			}
		})
	}
}

// TestReplTerminal drives the REPL on a real terminal, a tmux pane:
// repr output, history (recall and file), completion, Ctrl-C stopping a
// loop that would run for hours, multi-line blocks and Ctrl-D.
func TestReplTerminal(t *testing.T) {
	tmuxBin := testenv.Need(t, testenv.Tmux, "drive the REPL in a tmux pane")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cpupolicy")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	hostFile, err := filepath.Abs(replTestHost)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	tmuxEnv := append(os.Environ(), "HOME="+filepath.Join(dir, "home"), "XDG_STATE_HOME="+state, "TERM=xterm-256color", "NO_COLOR=1")
	tmuxEnv = slices.DeleteFunc(tmuxEnv, func(s string) bool { return strings.HasPrefix(s, "TMUX=") })
	// tmux runs one tmux command on the server at socket sock. Each
	// session has a server of its own: a server exits with its last
	// session, and a new session must not race that exit.
	tmux := func(sock string, args ...string) string {
		t.Helper()
		cmd := exec.Command(tmuxBin, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
		cmd.Env = tmuxEnv
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// start runs the REPL in a new 200×50 pane; its exit status lands in
	// the file it returns.
	start := func(name string) (*tmuxPane, string) {
		status := filepath.Join(dir, name+".status")
		sock := filepath.Join(dir, name+".sock")
		sh := shellQuote(bin) + " repl --catalog qemu-7.2 --host " + shellQuote(hostFile) +
			"; echo $? >" + shellQuote(status)
		tmux(sock, "new-session", "-d", "-x", "200", "-y", "50", "-s", name, sh)
		t.Cleanup(func() {
			cmd := exec.Command(tmuxBin, "-S", sock, "kill-server")
			cmd.Env = tmuxEnv
			cmd.Run() // the server is gone already when the session ended
		})
		p := &tmuxPane{t: t, tmux: func(args ...string) string { return tmux(sock, args...) }, target: name}
		p.waitFor("the prompt", func(s string) bool { return lastLine(s) == ">>>" })
		return p, status
	}
	exited := func(p *tmuxPane, status string) {
		t.Helper()
		p.send("C-d")
		// The pane closes with the REPL: wait for the file, not the pane.
		for range 1200 {
			if data, err := os.ReadFile(status); err == nil && len(data) > 0 {
				if string(data) != "0\n" {
					t.Errorf("exit status %s, want 0", strings.TrimSpace(string(data)))
				}
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatalf("the REPL did not exit on Ctrl-D")
	}

	p, status := start("repl1")

	// (1) An expression prints its repr.
	p.typeLine(`"ab" * 2`)
	p.waitFor(`"abab"`, func(s string) bool { return countLines(s, `"abab"`) == 1 })
	p.typeLine(`catalog.model("Haswell-v4")`)
	p.waitFor("a model", func(s string) bool { return countLines(s, `<model "Haswell-v4">`) == 1 })

	// (2) Up recalls the previous line; the history file has it.
	p.send("Up")
	p.waitFor("the recalled line", func(s string) bool { return lastLine(s) == `>>> catalog.model("Haswell-v4")` })
	p.send("Up")
	p.waitFor("the line before", func(s string) bool { return lastLine(s) == `>>> "ab" * 2` })
	p.send("Enter")
	p.waitFor(`"abab" again`, func(s string) bool { return countLines(s, `"abab"`) == 2 })
	history := filepath.Join(state, "cpupolicy", "repl_history")
	p.waitFor("the history file", func(string) bool {
		data, _ := os.ReadFile(history)
		return strings.Contains(string(data), "\ncatalog.model(\"Haswell-v4\")\n")
	})
	if fi, err := os.Stat(history); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file: %v, %v; want mode 0600", fi.Mode(), err)
	}

	// (3) Completion: attributes of host, a feature name, a model name.
	p.typeText("host.")
	p.send("Tab")
	p.waitFor("the attribute list", func(s string) bool {
		return strings.Contains(s, "kvm_caps") && strings.Contains(s, "stepping") && strings.Contains(s, "available(")
	})
	p.typeText("ven")
	p.send("Tab")
	p.waitFor("host.vendor", func(s string) bool { return countLines(s, ">>> host.vendor") == 1 })
	p.send("Enter")
	p.waitFor("the vendor", func(s string) bool { return countLines(s, `"AuthenticAMD"`) == 1 })

	p.typeText(`features("avx51`)
	p.send("Tab")
	p.waitFor("avx512", func(s string) bool { return lastLine(s) == `>>> features("avx512` })
	p.typeText("bita")
	p.send("Tab")
	p.waitFor("avx512bitalg", func(s string) bool { return lastLine(s) == `>>> features("avx512bitalg` })
	p.typeLine(`")`)
	p.waitFor("the feature set", func(s string) bool { return countLines(s, `features("avx512bitalg")`) == 1 })

	p.typeText(`catalog.model("Skylake-Cl`)
	p.send("Tab")
	p.waitFor("Skylake-Client", func(s string) bool { return lastLine(s) == `>>> catalog.model("Skylake-Client` })
	p.typeLine(`-v4")`)
	p.waitFor("the model", func(s string) bool { return countLines(s, `<model "Skylake-Client-v4">`) == 1 })

	// Multi-line: a def continues at "... " until a blank line.
	p.typeLine("def sq(x):")
	p.waitFor("the continuation prompt", func(s string) bool { return lastLine(s) == "..." })
	p.typeLine("    return x * x")
	p.send("Enter")
	p.waitFor("the prompt after the def", func(s string) bool { return lastLine(s) == ">>>" })
	p.typeLine("sq(12)")
	p.waitFor("144", func(s string) bool { return countLines(s, "144") == 1 })

	// (4) Ctrl-C stops a loop of 10^10 iterations. A Ctrl-C that reaches
	// the terminal while readline still has it in raw mode is read as a
	// key, not a signal: then the next one stops the loop.
	p.typeLine("for i in range(10000000000): pass")
	p.waitFor("the continuation prompt", func(s string) bool { return lastLine(s) == "..." })
	p.send("Enter")
	stopped := func(s string) bool {
		return strings.Contains(s, "\nError: Starlark computation cancelled: interrupted\n")
	}
	for i := 0; ; i++ {
		p.send("C-c")
		if p.poll(stopped, 40) {
			break
		}
		if i == 5 {
			t.Fatalf("Ctrl-C did not stop the loop; pane:\n%s", p.capture())
		}
	}
	p.waitFor("the prompt after Ctrl-C", func(s string) bool { return lastLine(s) == ">>>" })
	p.typeLine(`"after" + "-stop"`)
	p.waitFor("an evaluation after Ctrl-C", func(s string) bool { return countLines(s, `"after-stop"`) == 1 })

	// Ctrl-C at the prompt drops the line.
	p.typeText("1 + ")
	p.send("C-c")
	p.waitFor("a fresh prompt", func(s string) bool { return lastLine(s) == ">>>" && countLines(s, ">>> 1 + ^C") == 1 })

	// (5) Ctrl-D exits with status 0.
	exited(p, status)

	// The history survives the session.
	p, status = start("repl2")
	p.send("Up")
	p.waitFor("the last line of the previous session", func(s string) bool { return lastLine(s) == `>>> "after" + "-stop"` })
	p.send("C-c")
	p.waitFor("a fresh prompt", func(s string) bool { return lastLine(s) == ">>>" })

	// (6) help() lists the globals with their summaries, help(x) prints
	// x's entry of the reference (docs/starlark.md's text), dir() lists
	// the globals, and Tab on an empty prompt lists every name.
	p.typeLine("help()")
	p.waitFor("the index", func(s string) bool {
		return strings.Contains(s, "Names (help(x)") && regexp.MustCompile(`(?m)^  runnable +Returns \(ok, missing\): whether the config`).MatchString(s) &&
			strings.Contains(s, "\nTypes: feature_set, host, catalog,") && lastLine(s) == ">>>"
	})
	p.typeLine("help(host.available)")
	p.waitFor("a method's entry", func(s string) bool {
		return countLines(s, `host.available(accel="kvm", catalog=None)`) == 1 && strings.Contains(s, "    print(len(host.available()), len(host.available(\"tcg\")))") && lastLine(s) == ">>>"
	})
	p.typeLine("help(catalog)")
	p.waitFor("a type's entry with its attributes", func(s string) bool {
		return countLines(s, "type catalog") == 1 && strings.Contains(s, "    catalog.resolve ") && lastLine(s) == ">>>"
	})
	p.typeLine("dir()")
	p.waitFor("the globals", func(s string) bool {
		return countLines(s, `["abi_level", "abi_level_features", "catalog", "config", "dir", "export", "features", "help", "host", "plugins", "runnable", "struct", "verdict", "why"]`) == 1
	})
	p.send("Tab")
	p.waitFor("every name", func(s string) bool {
		return strings.Contains(s, "features(") && strings.Contains(s, "sorted(") && strings.Contains(s, "return") && strings.Contains(s, "help(")
	})
	p.send("C-c")
	p.waitFor("a fresh prompt", func(s string) bool { return lastLine(s) == ">>>" })
	exited(p, status)
}

// tmuxPane is a pane the test types into and reads.
type tmuxPane struct {
	t      *testing.T
	tmux   func(args ...string) string
	target string
}

// send sends tmux key names ("Enter", "Tab", "C-c").
func (p *tmuxPane) send(keys ...string) {
	p.t.Helper()
	p.tmux(append([]string{"send-keys", "-t", p.target}, keys...)...)
}

// typeText types s literally.
func (p *tmuxPane) typeText(s string) {
	p.t.Helper()
	p.tmux("send-keys", "-t", p.target, "-l", "--", s)
}

// typeLine types s and Enter.
func (p *tmuxPane) typeLine(s string) {
	p.t.Helper()
	p.typeText(s)
	p.send("Enter")
}

// capture returns the pane's text, scrollback included, wrapped lines
// joined.
func (p *tmuxPane) capture() string {
	p.t.Helper()
	return p.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", p.target)
}

// poll reports whether ok(pane) holds within n tries, 25 ms apart.
func (p *tmuxPane) poll(ok func(string) bool, n int) bool {
	p.t.Helper()
	for range n {
		if ok(p.capture()) {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}

// waitFor waits (up to some 30 s, for a loaded CI machine) until ok holds.
func (p *tmuxPane) waitFor(what string, ok func(string) bool) {
	p.t.Helper()
	if !p.poll(ok, 1200) {
		p.t.Fatalf("waiting for %s; pane:\n%s", what, p.capture())
	}
}

// lastLine is the last non-blank line of a pane, trailing spaces trimmed.
func lastLine(pane string) string {
	lines := strings.Split(strings.TrimRight(pane, " \n"), "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

// countLines counts the lines of pane equal to line (trailing spaces
// aside).
func countLines(pane, line string) int {
	n := 0
	for _, l := range strings.Split(pane, "\n") {
		if strings.TrimRight(l, " ") == line {
			n++
		}
	}
	return n
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// TestReplHostDesc: the banner names the host once; the file only when
// the name does not come from it (the REPL printed the path twice).
func TestReplHostDesc(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"xeon-gold-6130", "testdata/hosts/xeon-gold-6130.json", `"xeon-gold-6130"`},
		{"vm", "testdata/hosts/this-machine.json", `"vm" (testdata/hosts/this-machine.json)`},
		{"node-1", "", `"node-1" (this machine)`},
	} {
		if got := replHostDesc(c.name, c.file); got != c.want {
			t.Errorf("replHostDesc(%q, %q) = %s, want %s", c.name, c.file, got, c.want)
		}
	}
}
