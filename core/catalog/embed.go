package catalog

import (
	"embed"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/qemurelease"
)

// The embedded catalogs, each imported from a real QEMU release by
// `cpupolicy catalog import qemu`. Regenerate them with `go generate
// ./core/catalog/` (see gen.sh: it needs both QEMUs installed).
//
// Each is stored twice: data/NAME.json, the source of truth, and
// data/NAME.bin, the same catalog in the binary form that loads in
// microseconds (binary.go); gen.sh writes both and a test holds them
// equal.
//
//go:generate bash gen.sh
//go:embed data/*.json data/*.bin
var embedded embed.FS

var embeddedCache sync.Map // name → func() (*Catalog, error)

// EmbeddedNames returns the names of the embedded catalogs, oldest QEMU
// first.
func EmbeddedNames() []string {
	ents, _ := embedded.ReadDir("data")
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		_, a, _ := ParseMachineName(names[i])
		_, b, _ := ParseMachineName(names[j])
		return compareVersions(a, b) < 0
	})
	return names
}

// DefaultName is the newest embedded catalog's name.
func DefaultName() string {
	n := EmbeddedNames()
	return n[len(n)-1]
}

// Embedded returns the named embedded catalog over the built-in registry,
// parsed once.
func Embedded(name string) (*Catalog, error) {
	f, _ := embeddedCache.LoadOrStore(name, sync.OnceValues(func() (*Catalog, error) {
		if bin, err := embedded.ReadFile("data/" + name + ".bin"); err == nil {
			if c, err := parseBinary(bin, feature.Builtin()); err == nil {
				return c, nil
			}
			// A stale binary (another registry) falls back to JSON;
			// TestEmbeddedBinaryUpToDate keeps that from shipping.
		}
		data, err := embedded.ReadFile("data/" + name + ".json")
		if err != nil {
			return nil, fmt.Errorf("no embedded catalog %q (have %s)", name, strings.Join(EmbeddedNames(), ", "))
		}
		return Parse(name, data, feature.Builtin())
	}))
	return f.(func() (*Catalog, error))()
}

// Load returns the embedded catalog called nameOrFile, or else reads the
// file of that name, over reg (the built-in registry, or one extended by
// plugins).
func Load(nameOrFile string, reg *feature.Registry) (*Catalog, error) {
	for _, n := range EmbeddedNames() {
		if n == nameOrFile {
			if reg == feature.Builtin() {
				return Embedded(n)
			}
			data, _ := embedded.ReadFile("data/" + n + ".json")
			return Parse(n, data, reg)
		}
	}
	data, err := os.ReadFile(nameOrFile)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("unknown catalog %q: not an embedded catalog (%s) nor a file", nameOrFile, strings.Join(EmbeddedNames(), ", "))
		}
		return nil, err
	}
	return Parse(nameOrFile, data, reg)
}

// ForRelease returns the embedded catalog for a host captured by the QEMU
// release that code names (a snapshot's qemu_release, core/qemurelease's
// Detection.Code: "11.1", "pre-5.2", …): that release's own catalog when
// one is embedded and the capture is exactly of it (exact), else the
// embedded catalog of the nearest release, the older one on a tie.
func ForRelease(code string) (name string, exact bool, err error) {
	d, err := qemurelease.ParseCode(code)
	if err != nil {
		return "", false, err
	}
	num := func(name string) int { // "qemu-10.0" → 10000
		_, v, _ := ParseMachineName(name)
		if len(v) < 2 {
			return 0
		}
		return v[0]*1000 + v[1]
	}
	want := num("qemu-" + d.Release)
	best, bestDist := "", -1
	for _, n := range EmbeddedNames() {
		dist := num(n) - want
		if dist < 0 {
			dist = -dist
		}
		if bestDist < 0 || dist < bestDist {
			best, bestDist = n, dist
		}
	}
	return best, d.Exact && bestDist == 0, nil
}

// Auto is `--catalog auto`'s choice for a snapshot (read from file)
// captured by the QEMU release code names: ForRelease's catalog, with a
// note when it is only the nearest. A snapshot that names no release is
// an error naming file.
func Auto(file, code string) (name, note string, err error) {
	if code == "" {
		return "", "", fmt.Errorf("%s: --catalog auto: the snapshot names no QEMU release (only probe --from-qemu-expansion records one); give --catalog NAME", file)
	}
	name, exact, err := ForRelease(code)
	if err != nil {
		return "", "", fmt.Errorf("%s: %v", file, err)
	}
	if !exact {
		note = fmt.Sprintf("--catalog auto: %s, the nearest embedded catalog to the capture's QEMU release (%s)", name, code)
	}
	return name, note, nil
}
