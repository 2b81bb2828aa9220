// Package qemucmd reads the guest CPU configuration out of a whole QEMU
// command line: the machine type (-machine / -M, with type= and accel=),
// the accelerators (-accel, -enable-kvm, -machine accel=) and the -cpu
// option. Everything else on the line is skipped the way QEMU skips it
// (an option's argument is never mistaken for an option).
//
// A command line comes as /proc/PID/cmdline (arguments ended by NUL
// bytes, [ReadPID]) or as shell-quoted text: libvirt's .args files, `ps`
// output, Proxmox's `qm showcmd`, a shell script ([Parse] tells them
// apart). [Config] is the result; [Config.Accel] applies QEMU's default
// accelerator rule.
//
// Errors about the input are one line naming the file and where:
// "FILE:LINE:COL: msg" for text, "FILE: argument N: msg" for a NUL
// separated command line ([Error]).
package qemucmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/cpupolicy/cpupolicy/core"
)

// Config is what a QEMU command line says about the guest CPU.
type Config struct {
	// Program is the command's first word (argv[0]), "" when the text
	// starts with an option.
	Program string
	// Machine is the machine type as written (-machine pc,… → "pc";
	// type=pc-q35-7.2), "" when the line names none (QEMU's default
	// machine type). MachineVariant is a Proxmox "+pveN" suffix that
	// was removed from it: Proxmox's QEMU build reads it, upstream's
	// does not.
	Machine, MachineVariant string
	// Accels are the accelerators QEMU tries, in order (-accel and
	// -enable-kvm options, or -machine accel=a:b); nil when the line
	// names none.
	Accels []string
	// CPU is the last -cpu option ("" when none: QEMU's default model).
	CPU string
	// KVMOpen is set by ReadPID: whether the running process holds
	// /dev/kvm open (it does from the moment KVM is its accelerator),
	// or nil when its open files could not be read. It tells which
	// accelerator of a list QEMU ended up with.
	KVMOpen *bool
}

// Error is a problem with a command line, at a place in it.
type Error struct {
	File string
	// Line and Col (1-based) place it in shell-quoted text; Arg (1-based)
	// in a NUL-separated command line.
	Line, Col, Arg int
	Msg            string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s: argument %d: %s", e.File, e.Arg, e.Msg)
}

// maxFile bounds what is read of one command line: Linux caps a process's
// arguments at a quarter of its stack limit (2 MiB by default), and
// libvirt's largest test .args file is a few tens of KiB.
const maxFile = 8 << 20

// word is one argument and where it starts in the input.
type word struct {
	Text string
	pos  Error // File, and Line/Col or Arg
}

// split returns data's arguments: NUL-separated when data holds a NUL
// byte (/proc/PID/cmdline), else shell-quoted text.
func split(file string, data []byte) ([]word, error) {
	if len(data) > maxFile {
		return nil, &Error{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("command line is larger than %d bytes", maxFile)}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return splitNUL(file, data), nil
	}
	return splitShell(file, data)
}

// splitNUL splits a /proc/PID/cmdline: each argument ends with a NUL (a
// process that rewrote its arguments may leave the last one
// unterminated).
func splitNUL(file string, data []byte) []word {
	data = bytes.TrimSuffix(data, []byte{0})
	var out []word
	for i, a := range bytes.Split(data, []byte{0}) {
		out = append(out, word{Text: string(a), pos: Error{File: file, Arg: i + 1}})
	}
	return out
}

// splitShell splits POSIX shell words: blanks separate words; a
// backslash-newline joins lines; '…' is literal; "…" keeps \\ \" \$ \`
// and backslash-newline as escapes; a backslash outside quotes escapes
// the next character; # at the start of a word comments out the rest of
// the line. Expansions ($VAR, `cmd`, globs) are kept as written: a
// command line to read is not run.
func splitShell(file string, data []byte) ([]word, error) {
	var out []word
	var cur strings.Builder
	in := false // inside a word
	line, col := 1, 1
	var start Error
	begin := func() {
		if !in {
			in = true
			start = Error{File: file, Line: line, Col: col}
		}
	}
	end := func() {
		if in {
			out = append(out, word{Text: cur.String(), pos: start})
			cur.Reset()
			in = false
		}
	}
	advance := func(c byte) {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\\':
			if i+1 >= len(data) {
				return nil, &Error{File: file, Line: line, Col: col, Msg: "backslash at the end of the input"}
			}
			advance(c)
			i++
			if data[i] != '\n' {
				begin()
				cur.WriteByte(data[i])
			}
			advance(data[i])
			continue
		case c == '\'':
			begin()
			l, cl := line, col
			advance(c)
			j := bytes.IndexByte(data[i+1:], '\'')
			if j < 0 {
				return nil, &Error{File: file, Line: l, Col: cl, Msg: "unterminated single quote"}
			}
			for _, b := range data[i+1 : i+1+j] {
				cur.WriteByte(b)
				advance(b)
			}
			i += j + 1
			advance('\'')
			continue
		case c == '"':
			begin()
			l, cl := line, col
			advance(c)
			closed := false
			for i++; i < len(data); i++ {
				b := data[i]
				if b == '"' {
					closed = true
					advance(b)
					break
				}
				if b == '\\' && i+1 < len(data) && strings.IndexByte("\\\"$`\n", data[i+1]) >= 0 {
					advance(b)
					i++
					if data[i] != '\n' {
						cur.WriteByte(data[i])
					}
					advance(data[i])
					continue
				}
				cur.WriteByte(b)
				advance(b)
			}
			if !closed {
				return nil, &Error{File: file, Line: l, Col: cl, Msg: "unterminated double quote"}
			}
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			end()
		case c == '#' && !in:
			for i < len(data) && data[i] != '\n' {
				advance(data[i])
				i++
			}
			if i < len(data) {
				advance(data[i])
			}
			continue
		default:
			begin()
			cur.WriteByte(c)
		}
		advance(c)
	}
	end()
	return out, nil
}

// noArg are the options that take no argument; every other option takes
// one (QEMU's qemu-options.hx: HAS_ARG or 0). The list was read from
// QEMU 7.2 and 10.0 themselves: `qemu-system-x86_64 -OPT` as the last
// argument says "requires an argument" exactly for the others. The last
// group are options older releases had (QEMU 5.2's qemu-options.hx),
// kept so that their command lines still split right.
var noArg = map[string]bool{
	"S": true, "async-teardown": true, "audio-help": true, "daemonize": true,
	"enable-kvm": true, "enable-sync-profile": true, "full-screen": true,
	"h": true, "help": true, "jitdump": true, "mem-prealloc": true,
	"no-acpi": true, "no-fd-bootchk": true, "no-hpet": true, "no-reboot": true,
	"no-shutdown": true, "no-user-config": true, "nodefaults": true,
	"nographic": true, "only-migratable": true, "perfmap": true,
	"portrait": true, "preconfig": true, "s": true, "singlestep": true,
	"snapshot": true, "usb": true, "version": true, "win2k-hack": true,
	"xen-attach": true, "xen-domid-restrict": true,
	// Older releases.
	"no-quit": true, "alt-grab": true, "ctrl-grab": true, "sdl": true,
	"curses": true, "enable-fips": true, "no-frame": true, "semihosting": true,
	"rtc-td-hack": true, "no-kvm": true,
}

// Parse reads a command line (see [Parse]) into its Config.
func Parse(file string, data []byte) (*Config, error) {
	words, err := split(file, data)
	if err != nil {
		return nil, err
	}
	return parseWords(file, words)
}

// ParseArgs reads an argument vector (argv[0] first).
func ParseArgs(file string, args []string) (*Config, error) {
	words := make([]word, len(args))
	for i, a := range args {
		words[i] = word{Text: a, pos: Error{File: file, Arg: i + 1}}
	}
	return parseWords(file, words)
}

// parseWords reads split arguments. Leading NAME=VALUE words are the
// environment a libvirt .args file sets and are skipped; the next word
// is the program unless it is an option. Options are read as QEMU's
// lookup_opt reads them: "-opt" or "--opt", its argument the next word.
// A word that is not an option is a disk image to QEMU, and skipped.
func parseWords(file string, words []word) (*Config, error) {
	c := &Config{}
	i := 0
	for i < len(words) && isAssignment(words[i].Text) {
		i++
	}
	if i < len(words) && !strings.HasPrefix(words[i].Text, "-") {
		c.Program = words[i].Text
		if err := checkProgram(c.Program); err != nil {
			return nil, words[i].pos.at(err.Error())
		}
		i++
	}
	if c.Program == "" && i == len(words) {
		p := Error{File: file, Line: 1, Col: 1}
		if len(words) > 0 {
			p = words[len(words)-1].pos
		}
		return nil, p.at("no QEMU command: the input has no program and no options")
	}
	machine := map[string]string{}
	var machineAccel *word // -machine accel=, for QEMU's conflict check
	var accelOpt *word     // the first -accel or -enable-kvm
	for ; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w.Text, "-") || w.Text == "-" {
			continue
		}
		name := strings.TrimPrefix(w.Text[1:], "-")
		if noArg[name] {
			if name == "enable-kvm" {
				c.Accels = append(c.Accels, "kvm")
				if accelOpt == nil {
					accelOpt = &words[i]
				}
			}
			continue
		}
		if i+1 >= len(words) {
			return nil, w.pos.at(fmt.Sprintf("%s requires an argument", quote(w.Text)))
		}
		i++
		arg := words[i]
		switch name {
		case "machine", "M":
			opts, err := parseOpts(arg.Text, "type")
			if err != nil {
				return nil, arg.pos.at(fmt.Sprintf("%s: %v", w.Text, err))
			}
			// QEMU merges every -machine into one set of
			// options; a later key wins.
			for _, kv := range opts {
				machine[kv[0]] = kv[1]
				if kv[0] == "accel" {
					machineAccel = &words[i]
				}
			}
		case "accel":
			opts, err := parseOpts(arg.Text, "accel")
			if err != nil {
				return nil, arg.pos.at(fmt.Sprintf("%s: %v", w.Text, err))
			}
			a := ""
			for _, kv := range opts {
				if kv[0] == "accel" {
					a = kv[1]
				}
			}
			if a == "" {
				return nil, arg.pos.at(fmt.Sprintf("%s %q names no accelerator", w.Text, arg.Text))
			}
			if !isName(a) {
				return nil, arg.pos.at(fmt.Sprintf("%s: accelerator %q is not a name", w.Text, a))
			}
			c.Accels = append(c.Accels, a)
			if accelOpt == nil {
				accelOpt = &words[i-1]
			}
		case "cpu":
			c.CPU = arg.Text
		}
	}
	if machineAccel != nil {
		if accelOpt != nil {
			// QEMU: "The -accel and "-machine accel=" options are
			// incompatible".
			return nil, machineAccel.pos.at("-machine accel= and -accel (or -enable-kvm) exclude each other, as in QEMU")
		}
		for _, a := range strings.Split(machine["accel"], ":") {
			if !isName(a) {
				return nil, machineAccel.pos.at(fmt.Sprintf("-machine accel=%q: %q is not an accelerator name", machine["accel"], a))
			}
			c.Accels = append(c.Accels, a)
		}
	}
	c.Machine = machine["type"]
	if base, variant, ok := strings.Cut(c.Machine, "+pve"); ok && base != "" && isDigits(variant) {
		c.Machine, c.MachineVariant = base, "+pve"+variant
	}
	return c, nil
}

func (p Error) at(msg string) error {
	p.Msg = msg
	return &p
}

// quote returns s, or s quoted when it has blanks or unprintable
// characters (a message stays one readable line).
func quote(s string) string {
	for _, r := range s {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// isName reports whether s can name an accelerator (QEMU's are
// lowercase words: kvm, tcg, xen, hvf, whpx, nvmm, qtest).
func isName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// checkProgram refuses a QEMU for another target: its CPU options are
// not x86's.
func checkProgram(program string) error {
	base := path.Base(program)
	if t, ok := strings.CutPrefix(base, "qemu-system-"); ok && t != "x86_64" && t != "i386" {
		return fmt.Errorf("%s runs %s guests; cpupolicy judges x86 (qemu-system-x86_64)", program, t)
	}
	return nil
}

// isQEMU reports whether program's name is one QEMU's system emulator
// goes by: qemu-system-TARGET, qemu-kvm (RHEL), kvm (Debian, Proxmox) or
// qemu.
func isQEMU(program string) bool {
	base := path.Base(program)
	return strings.HasPrefix(base, "qemu-system-") || base == "qemu-kvm" || base == "kvm" || base == "qemu"
}

// isAssignment reports whether w is a shell NAME=VALUE assignment.
func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// parseOpts splits a QemuOpts argument "v,k=v,k" into key/value pairs:
// ",," is a comma inside a value; a first element without "=" is the
// value of implied (QEMU's implied_opt_name); a later bare "k" is k=on
// (the keys read here, type and accel, are never bare).
// A JSON argument ("{…}") is QEMU's other syntax; its keys are read as
// strings.
func parseOpts(s, implied string) ([][2]string, error) {
	if strings.HasPrefix(s, "{") {
		return parseJSONOpts(s)
	}
	var out [][2]string
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			if i+1 < len(s) && s[i+1] == ',' {
				cur.WriteByte(',')
				i++
				continue
			}
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	parts = append(parts, cur.String())
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case ok && k == "":
			return nil, fmt.Errorf("option %q has no name", p)
		case ok:
			out = append(out, [2]string{k, v})
		case i == 0 && p != "":
			out = append(out, [2]string{implied, p})
		case p == "":
			if len(parts) == 1 {
				return nil, fmt.Errorf("empty argument")
			}
			// QEMU ignores an empty element ("pc,,"-style
			// trailing commas are escapes, handled above).
		default:
			out = append(out, [2]string{p, "on"})
		}
	}
	return out, nil
}

// parseJSONOpts reads the top-level string, number and boolean members
// of a JSON object, as QEMU's -machine and -accel accept
// ({"type":"q35","accel":"kvm"}).
func parseJSONOpts(s string) ([][2]string, error) {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("JSON argument: %v", err)
	}
	if d.More() {
		return nil, fmt.Errorf("JSON argument: text after the object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out [][2]string
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			out = append(out, [2]string{k, v})
		case json.Number:
			out = append(out, [2]string{k, v.String()})
		case bool:
			out = append(out, [2]string{k, map[bool]string{true: "on", false: "off"}[v]})
		}
	}
	return out, nil
}

// Accel returns the accelerator QEMU runs the guest with on a host where
// the first one it tries works, and whether that choice is QEMU's
// default (no accelerator named on the line). QEMU's default
// (configure_accelerators) is "tcg:kvm", or "kvm:tcg" when the program's
// name ends in "kvm" (Debian's and Proxmox's /usr/bin/kvm, RHEL's
// qemu-kvm). An accelerator cpupolicy does not model (xen, hvf, whpx,
// nvmm, qtest) is an error.
func (c *Config) Accel() (core.Accel, bool, error) {
	accels := c.Accels
	def := len(accels) == 0
	if def {
		accels = []string{"tcg", "kvm"}
		if strings.HasSuffix(path.Base(c.Program), "kvm") {
			accels = []string{"kvm", "tcg"}
		}
	}
	first := accels[0]
	if c.KVMOpen != nil && len(accels) > 1 {
		// A running QEMU: the accelerator it uses is kvm exactly
		// when it holds /dev/kvm; else the first other one listed.
		for _, a := range accels {
			if (a == "kvm") == *c.KVMOpen {
				first = a
				break
			}
		}
	}
	a, err := core.ParseAccel(first)
	if err != nil {
		return "", def, fmt.Errorf("accelerator %q: cpupolicy models kvm and tcg", first)
	}
	return a, def, nil
}

// ReadPID reads /proc/PID/cmdline of a running process.
func ReadPID(pid int) (*Config, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("pid %d: not a process id", pid)
	}
	file := "/proc/" + strconv.Itoa(pid) + "/cmdline"
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		// A kernel thread or a zombie has no command line.
		return nil, fmt.Errorf("%s is empty: process %d is not a running program", file, pid)
	}
	// Any process has a command line; only QEMU's says what CPU a
	// guest gets.
	if argv0, _, _ := strings.Cut(string(data), "\x00"); !isQEMU(argv0) {
		return nil, fmt.Errorf("process %d runs %q, not QEMU", pid, argv0)
	}
	c, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	if fds, err := os.ReadDir(dir); err == nil {
		open := false
		for _, fd := range fds {
			if target, err := os.Readlink(dir + "/" + fd.Name()); err == nil && target == "/dev/kvm" {
				open = true
			}
		}
		c.KVMOpen = &open
	}
	return c, nil
}

// Target is what a command line asks QEMU for, with QEMU's defaults
// filled in: the -cpu option ("qemu64", x86-64's default model, when the
// line has none), the machine type ("pc", x86's default, when it names
// none; a Proxmox "+pveN" suffix removed) and the accelerator QEMU tries
// first. Notes say which defaults were taken and what was left out.
type Target struct {
	CPU, Machine string
	Accel        core.Accel
	Notes        []string
}

// Target returns what c asks for.
func (c *Config) Target() (*Target, error) {
	t := &Target{CPU: c.CPU, Machine: c.Machine}
	if t.CPU == "" {
		t.CPU = "qemu64"
		t.Notes = append(t.Notes, "no -cpu: QEMU's default model, qemu64")
	}
	if t.Machine == "" {
		t.Machine = "pc"
		t.Notes = append(t.Notes, "no machine type: QEMU's default, pc")
	}
	if c.MachineVariant != "" {
		t.Notes = append(t.Notes, fmt.Sprintf("machine type %s%s: Proxmox's %s variant judged as upstream's %s", c.Machine, c.MachineVariant, c.MachineVariant, c.Machine))
	}
	a, def, err := c.Accel()
	if err != nil {
		return nil, err
	}
	t.Accel = a
	switch {
	case c.KVMOpen != nil && (def || len(c.Accels) > 1):
		t.Notes = append(t.Notes, fmt.Sprintf("the running QEMU uses %s (it holds /dev/kvm open: %v)", a, *c.KVMOpen))
	case def:
		other := core.TCG
		if a == core.TCG {
			other = core.KVM
		}
		t.Notes = append(t.Notes, fmt.Sprintf("no accelerator: QEMU tries %s, then %s", a, other))
	case len(c.Accels) > 1:
		t.Notes = append(t.Notes, fmt.Sprintf("accelerators %s: judged under the first, which QEMU uses where it works", strings.Join(c.Accels, ", ")))
	}
	return t, nil
}
