package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// badInputs is the corpus of testdata/badinput: each file (or directory)
// with the line its error must name (0: a directory, which has none;
// -1: a binary file, named with its offset) and, when it is not the
// file's own name, the name the error gives.
var badInputs = map[string]struct {
	line int
	name string
}{
	"snap-array.json":           {1, ""},
	"snap-schema-number.json":   {2, ""},
	"snap-string.json":          {1, ""},
	"snap-empty.json":           {1, ""},
	"snap-null.json":            {1, ""},
	"snap-truncated.json":       {6, ""},
	"snap-family-string.json":   {8, ""},
	"snap-cpuid-object.json":    {14, ""},
	"snap-unknown-key.json":     {6, ""},
	"snap-bad-source.json":      {3, ""},
	"snap-bad-probed-at.json":   {5, ""},
	"snap-feature-number.json":  {18, ""},
	"snap-unknown-feature.json": {18, ""},
	"snap-trailing.json":        {23, ""},
	"snap-missing-comma.json":   {4, ""},
	"snap-dir.json":             {0, ""},

	"cat-array.json":        {1, ""},
	"cat-truncated.json":    {5, ""},
	"cat-name-number.json":  {3, ""},
	"cat-other-schema.json": {2, ""},
	"cat-dir.json":          {0, ""},

	"lock-array.json":         {1, ""},
	"lock-truncated.json":     {4, ""},
	"lock-catalog-array.json": {3, ""},

	"waivers-truncated.json":       {3, ""},
	"waivers-array.json":           {1, ""},
	"waivers-features-string.json": {5, ""},
	"waivers-unknown-key.json":     {5, ""},
	"waivers-unknown-feature.json": {4, ""},
	"waivers-syntax.star":          {2, ""},
	"waivers-wrong-type.star":      {3, ""},

	"policy-missing-colon.star": {2, ""},
	"policy-undefined.star":     {4, ""},
	"policy-indent.star":        {4, ""},
	"policy-string.star":        {4, ""},

	"site-syntax.star":        {2, ""},
	"site-unknown-kwarg.star": {3, ""},
	"site-missing-host.star":  {3, ""},
	"site-bad-host.star":      {3, ""},

	"tests-syntax": {2, "bad_test.star"},

	"dump-bad-line.txt": {3, ""},
	"dump-bad-hex.txt":  {3, ""},

	"expansion-truncated.qmp": {3, ""},
	// No reply has the expansion's shape: there is no line to name.
	"expansion-array.qmp": {0, ""},

	"domain-mismatched.xml":      {5, ""},
	"domain-unknown-feature.xml": {4, ""},
	"domain-bad-policy.xml":      {5, ""},

	"cpumap-no-index":        {0, "cpumap-no-index/index.xml"},
	"cpumap-bad-index":       {4, "cpumap-bad-index/index.xml"},
	"cpumap-missing-include": {3, "cpumap-missing-include/index.xml"},

	"plugin-truncated.wasm": {-1, ""},
	"plugin-text.wasm":      {-1, ""},
}

// badInputCommands are, for each kind of input (the prefix of the corpus
// file names), the command lines of every command that reads that kind:
// F is the bad file, HOST a good snapshot, LOCK a good lock, TESTS a
// directory of passing policy tests, CPUMAP a good libvirt CPU map, SITE
// a site file whose pool lists F, HOSTSDIR a directory holding only F,
// and OUT a scratch output file.
var badInputCommands = map[string][]string{
	"snap": {
		"probe --host F",
		"models --host F",
		"why Skylake-Client-v4 --host F",
		"resolve --host F Skylake-Client-v4",
		"diff host:F Skylake-Client-v4",
		"baseline F",
		"fleet F",
		"labels --host F",
		"check --host F",
		"repl --host F",
		"check --site SITE",
		"fleet --site SITE",
		"labels --site SITE --host HOST",
		"test --hosts HOSTSDIR TESTS",
	},
	"cat": {
		"models --catalog F --host HOST",
		"why --catalog F --host HOST Skylake-Client-v4",
		"resolve --catalog F --accel tcg qemu64",
		"diff --catalog F --accel tcg qemu64 qemu64",
		"baseline --catalog F HOST",
		"fleet --catalog F HOST",
		"labels --catalog F --host HOST",
		"check --catalog F --host HOST",
		"catalog show --catalog F",
		"catalog diff F qemu-10.0",
		"catalog diff qemu-10.0 F",
		"catalog lock --catalog F -o OUT",
		"catalog verify --lock LOCK --catalog F",
		"catalog import libvirt CPUMAP --machines-from F -o OUT",
		"test --catalog F TESTS",
		"repl --catalog F",
	},
	"lock":    {"catalog verify --lock F"},
	"waivers": {"check --host HOST --waivers F"},
	"policy":  {"check --host HOST F"},
	"site": {
		"check --site F",
		"fleet --site F",
		"labels --site F --host HOST",
	},
	"tests":     {"test F"},
	"dump":      {"probe --from-cpuid-dump F"},
	"expansion": {"probe --from-qemu-expansion F"},
	"domain": {
		"why --cpu-xml F --host HOST",
		"resolve --cpu-xml F --host HOST",
		"check --cpu-xml F --host HOST",
	},
	"cpumap": {"catalog import libvirt F -o OUT"},
	"plugin": {
		"models --plugin F --host HOST",
		"probe --plugin F --host HOST",
		"check --plugin F --host HOST",
	},
}

// TestBadInputCorpus: every bad input, given to every command that reads
// its kind, fails with exit 2 and exactly one line on standard error
// naming the file and its line (for a binary file, its offset), writes
// nothing on standard output (the test command prints its report there)
// and leaves no output file.
func TestBadInputCorpus(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	t.Setenv("CPUPOLICY_PLUGINS", "")
	corpus, err := filepath.Abs("testdata/badinput")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	// Every file of the corpus is in the table, and every kind has its
	// commands: a file added without its expected line fails here.
	for _, e := range entries {
		if _, ok := badInputs[e.Name()]; !ok {
			t.Errorf("testdata/badinput/%s is not in badInputs", e.Name())
		}
		kind, _, _ := strings.Cut(e.Name(), "-")
		if _, ok := badInputCommands[kind]; !ok {
			t.Errorf("testdata/badinput/%s: no commands read kind %q", e.Name(), kind)
		}
	}
	if len(badInputs) < 30 {
		t.Errorf("%d bad inputs, want at least 30", len(badInputs))
	}
	hostFile, err := filepath.Abs("../../testdata/hosts/xeon-gold-6130.json")
	if err != nil {
		t.Fatal(err)
	}
	cpumap, err := filepath.Abs("../../core/libvirt/testdata/cpu_map")
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	tests := filepath.Join(scratch, "tests")
	if err := os.MkdirAll(tests, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tests, "ok_test.star"), []byte("def test_ok():\n    assert.eq(1, 1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(scratch, "good.lock")
	var stdout, stderr bytes.Buffer
	if code := run(strings.Fields("catalog lock --catalog qemu-10.0 --models qemu64 --machines pc-q35-10.0 -o "+lock), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("catalog lock: exit %d: %s", code, stderr.String())
	}

	names := make([]string, 0, len(badInputs))
	for n := range badInputs {
		names = append(names, n)
	}
	sort.Strings(names)
	runs := 0
	for _, name := range names {
		want := badInputs[name]
		kind, _, _ := strings.Cut(name, "-")
		file := filepath.Join(corpus, name)
		shown := want.name
		if shown == "" {
			shown = name
		}
		// Where the error must point: "NAME:LINE:" for text, "NAME:
		// offset 0x" for a binary file, the name alone for a directory.
		var at *regexp.Regexp
		switch {
		case want.line > 0:
			at = regexp.MustCompile(regexp.QuoteMeta(shown) + fmt.Sprintf(`:%d:`, want.line))
		case want.line < 0:
			at = regexp.MustCompile(regexp.QuoteMeta(shown) + `: offset 0x[0-9a-f]+: `)
		default:
			at = regexp.MustCompile(regexp.QuoteMeta(shown) + `\b`)
		}
		for i, cmdline := range badInputCommands[kind] {
			dir := filepath.Join(scratch, fmt.Sprintf("%s.%d", name, i))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.json")
			args := strings.Fields(cmdline)
			for j, a := range args {
				switch a {
				case "F":
					args[j] = file
				case "HOST":
					args[j] = hostFile
				case "LOCK":
					args[j] = lock
				case "TESTS":
					args[j] = tests
				case "CPUMAP":
					args[j] = cpumap
				case "OUT":
					args[j] = out
				case "SITE":
					site := filepath.Join(dir, "site.star")
					src := fmt.Sprintf("offer(\"web\", cpu = \"qemu64\", pool = \"p\")\npool(\"p\", hosts = [%q])\n", file)
					if err := os.WriteFile(site, []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
					args[j] = site
				case "HOSTSDIR":
					hosts := filepath.Join(dir, "hosts")
					if err := os.MkdirAll(hosts, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.Symlink(file, filepath.Join(hosts, name)); err != nil {
						t.Fatal(err)
					}
					args[j] = hosts
				case "host:F":
					args[j] = "host:" + file
				}
			}
			t.Run(name+"/"+cmdline, func(t *testing.T) {
				runs++
				var stdout, stderr bytes.Buffer
				code := run(args, strings.NewReader(""), &stdout, &stderr)
				msg := stderr.String()
				if code != exitUsage {
					t.Errorf("exit %d, want 2; stderr:\n%s", code, msg)
				}
				if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
					t.Errorf("stderr is not one line:\n%s", msg)
				}
				if !at.MatchString(msg) {
					t.Errorf("stderr %q does not match %s", msg, at)
				}
				if args[0] != "test" && stdout.Len() > 0 {
					t.Errorf("stdout:\n%s", stdout.String())
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("%s was written", out)
				}
			})
		}
	}
	t.Logf("%d bad inputs, %d command runs", len(badInputs), runs)
}

// TestUnwritableOutputs: each command that writes -o FILE refuses an
// output it cannot write (a directory, a missing directory, a file as a
// directory) with exit 2 and one line naming the path, and leaves nothing
// behind.
func TestUnwritableOutputs(t *testing.T) {
	hostFile, err := filepath.Abs("../../testdata/hosts/xeon-gold-6130.json")
	if err != nil {
		t.Fatal(err)
	}
	cpumap, err := filepath.Abs("../../core/libvirt/testdata/cpu_map")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{
		filepath.Join(dir, "adir"):              "is a directory",
		filepath.Join(dir, "nodir", "out.json"): "no directory " + filepath.Join(dir, "nodir"),
		filepath.Join(file, "out.json"):         file + " is not a directory",
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, cmdline := range []string{
		"probe --host HOST -o OUT",
		"fleet HOST -o OUT",
		"labels --host HOST -o OUT",
		"catalog lock --catalog qemu-10.0 --models qemu64 -o OUT",
		"catalog import libvirt CPUMAP -o OUT",
	} {
		for out, why := range outs {
			args := strings.Fields(strings.NewReplacer("HOST", hostFile, "CPUMAP", cpumap, "OUT", out).Replace(cmdline))
			t.Run(cmdline+"/"+why, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(args, strings.NewReader(""), &stdout, &stderr)
				msg := stderr.String()
				if code != exitUsage {
					t.Errorf("exit %d, want 2", code)
				}
				if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "writing "+out+": "+why+"\n") {
					t.Errorf("stderr %q, want one line with %q", msg, "writing "+out+": "+why)
				}
				if left, _ := filepath.Glob(filepath.Join(dir, "*", ".cpupolicy-*")); len(left) > 0 {
					t.Errorf("left behind: %v", left)
				}
			})
		}
	}
}
