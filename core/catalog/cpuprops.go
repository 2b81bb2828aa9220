package catalog

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/internal/suggest"
)

// cpuProperty is one QOM property of QEMU's x86 CPU object in a release:
// its name and QOM type as qom-list-properties reports them, and whether
// only the max and host models have it (host-cache-info, migratable).
type cpuProperty struct {
	name, typ string
	maxOnly   bool
}

// cpuProperties is one release's property table, by name.
type cpuProperties struct {
	rel    core.Release
	byName map[string]cpuProperty
	names  []string // sorted, for suggestions
}

var cpuPropTables sync.Map // core.Release → *cpuProperties

// propertiesOf returns release rel's x86 CPU property table, parsed from
// cpuPropertyData on first use; nil for a release without one.
func propertiesOf(rel core.Release) *cpuProperties {
	if p, ok := cpuPropTables.Load(rel); ok {
		return p.(*cpuProperties)
	}
	text, ok := cpuPropertyData[rel]
	if !ok {
		return nil
	}
	p := &cpuProperties{rel: rel, byName: map[string]cpuProperty{}}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			panic(fmt.Sprintf("catalog: QEMU %s property table: bad line %q", rel, line))
		}
		prop := cpuProperty{name: f[0], typ: f[1], maxOnly: len(f) > 2 && f[2] == "max"}
		p.byName[prop.name] = prop
		p.names = append(p.names, prop.name)
	}
	slices.Sort(p.names)
	v, _ := cpuPropTables.LoadOrStore(rel, p)
	return v.(*cpuProperties)
}

// hostModels are the models QEMU's x86 target defines outside the named
// model table: "host" (the host CPU as the accelerator gives it; KVM or
// HVF only), "max" (everything the accelerator can give) and "base" (no
// features at all, a starting point for query-cpu-model-expansion).
var hostModels = []string{"base", "host", "max"}

// IsHostModel reports whether name is one of host, max and base.
func IsHostModel(name string) bool { return slices.Contains(hostModels, name) }

// HasProperty reports whether QEMU's x86 CPU object of the catalog's
// release has the named property (a feature, by QEMU's canonical
// name); true when the release's property list is not known, so that
// nothing is judged absent on no evidence.
func (c *Catalog) HasProperty(name string) bool {
	rel, err := c.release()
	if err != nil {
		return true
	}
	p := propertiesOf(rel)
	if p == nil {
		return true
	}
	_, ok := p.byName[name]
	return ok
}

// IsPerHost reports whether a guest of model name gets its features from
// the host it runs on: host, and max (under kvm the host's, under tcg
// what TCG emulates), whose expansion QEMU computes from the
// accelerator at realize time (x86_cpu_expand_features, max_features).
func IsPerHost(name string) bool { return name == "host" || name == "max" }

// PerHostModel is what QEMU's query-cpu-definitions says of host and
// max, which no catalog lists as definitions: neither static nor
// migration-safe (x86_cpu_definition_entry reads the class's
// migration_safe, which only the named models and base set), and no
// features of their own. ok is false for any other name.
func PerHostModel(name string) (m *Model, ok bool) {
	if !IsPerHost(name) {
		return nil, false
	}
	return &Model{Name: name, Base: name}, true
}

// readOnly are writable-looking properties QEMU refuses to set from -cpu
// (found by trying each with QEMU 7.2 and 10.0: "is not writable", or a
// failure to realize); the types below are never settable.
var readOnly = map[string]bool{"type": true, "hotpluggable": true, "hotplugged": true, "legacy-memory": true, "realized": true}

// settable reports whether -cpu can set p, and if not, QEMU's reason.
func (p cpuProperty) settable() error {
	switch {
	case readOnly[p.name], p.typ == "X86CPUFeatureWordInfo", p.typ == "GuestPanicInformation", p.typ == "strList":
		return fmt.Errorf("property %q is not writable", p.name)
	case strings.HasPrefix(p.typ, "link<"):
		return fmt.Errorf("property %q is a link to another object, not settable from -cpu", p.name)
	}
	return nil
}

// intRanges are the properties of QOM type "int" and their bounds
// (target/i386/cpu.c: x86_cpuid_version_set_family and friends,
// x86_cpuid_set_tsc_freq).
var intRanges = map[string]int64{"family": 0xff + 0xf, "model": 0xff, "stepping": 0xf, "tsc-frequency": math.MaxInt64}

// parseValue checks value for p the way QEMU's string input visitor
// (and the property's own setter) does, and returns it normalised: "on"
// or "off" for a bool, a decimal number for an integer.
func (p cpuProperty) parseValue(value string) (string, error) {
	switch p.typ {
	case "bool":
		switch value {
		case "on", "yes", "true", "y":
			return "on", nil
		case "off", "no", "false", "n":
			return "off", nil
		}
		return "", fmt.Errorf("parameter %q expects 'on' or 'off'", p.name)
	case "OnOffAuto":
		switch value {
		case "on", "off", "auto":
			return value, nil
		}
		return "", fmt.Errorf("parameter %q does not accept value %q (want on, off or auto)", p.name, value)
	case "uint8", "uint16", "uint32", "uint64":
		n, ok := qemuStrtou64(value)
		if !ok {
			return "", fmt.Errorf("parameter %q expects uint64", p.name)
		}
		bits, _ := strconv.Atoi(strings.TrimPrefix(p.typ, "uint"))
		if bits < 64 && n>>uint(bits) != 0 {
			return "", fmt.Errorf("parameter %q expects %s_t", p.name, p.typ)
		}
		return strconv.FormatUint(n, 10), nil
	case "int32", "int":
		n, ok := qemuStrtoi64(value)
		if !ok {
			return "", fmt.Errorf("parameter %q expects int64", p.name)
		}
		if max, ok := intRanges[p.name]; ok && p.typ == "int" {
			if n < 0 || n > max {
				return "", fmt.Errorf("parameter %q can be at most %d", p.name, max)
			}
		} else if p.typ == "int32" && (n < math.MinInt32 || n > math.MaxInt32) {
			return "", fmt.Errorf("parameter %q expects int32_t", p.name)
		}
		return strconv.FormatInt(n, 10), nil
	case "str", "string":
		if p.name == "vendor" && len(value) != 12 {
			return "", fmt.Errorf("value of property 'vendor' must consist of exactly 12 characters")
		}
		return value, nil
	}
	return "", fmt.Errorf("property %q of type %s is not settable from -cpu", p.name, p.typ)
}

// qemuStrtou64 is qemu_strtou64 with base 0 on a whole string: leading
// white space, an optional sign (a minus negates modulo 2^64, as
// strtoull does), then a decimal, 0x-hex or 0-octal number.
func qemuStrtou64(s string) (uint64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' || s[0] == '_' || strings.Contains(s, "_") {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil || strings.HasPrefix(s, "0b") || strings.HasPrefix(s, "0B") || strings.HasPrefix(s, "0o") || strings.HasPrefix(s, "0O") {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// qemuStrtoi64 is qemu_strtoi64 with base 0 on a whole string.
func qemuStrtoi64(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	n, ok := qemuStrtou64(s)
	if !ok || s == "" || s[0] == ' ' || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	switch {
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	case neg && n <= 1<<63:
		return -int64(n), true
	}
	return 0, false
}

// parseTSCFreq is the "tsc-freq" option: qemu_strtosz_metric, a number
// with an optional fraction and a K, M, G, T, P or E suffix (powers of
// 1000), at most INT64_MAX.
func parseTSCFreq(v string) (string, error) {
	bad := fmt.Errorf("bad numerical value %s", v)
	num, mul := v, 1.0
	if n := len(v); n > 0 {
		c := v[n-1]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if i := strings.IndexByte("BKMGTPE", c); i >= 0 {
			num, mul = v[:n-1], math.Pow(1000, float64(i))
		}
	}
	if num == "" || strings.ContainsAny(num, "eExXpP_+- ") {
		return "", bad
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return "", bad
	}
	f *= mul
	if f >= math.MaxInt64 {
		return "", bad
	}
	return strconv.FormatInt(int64(f), 10), nil
}

// closeName returns the known name nearest to name when it is a plausible
// typo of it, by suggest's rule, which every "did you mean" follows
// (QEMU itself suggests nothing; a far-fetched suggestion, "enforce" →
// "fsrc", is worse than none). Ties go to the longer common prefix:
// "avx513" suggests avx512f, not avx10, both two edits away.
func closeName(name string, names []string) string {
	return suggest.Nearest(name, names)
}
