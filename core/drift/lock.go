package drift

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/jsonpos"
)

// Schema is the value of a lock file's "schema" key.
const Schema = "cpupolicy/lock/v1"

// LockFile is what a site runs: for each locked (model, machine type,
// accel), the features a host must have, and a hash of the model's whole
// definition there. Its file form ([LockFile.Marshal]) is sorted JSON
// with one entry per line, so that two locks diff line by line, and ends
// with a digest over the rest.
type LockFile struct {
	Schema      string `json:"schema"`
	Catalog     string `json:"catalog"`
	QEMUVersion string `json:"qemu_version"`
	// Definitions says the catalog knew each model's definition, not
	// only its expansion (catalog.Catalog.Definitions), so that every
	// Requirement's Definition is set.
	Definitions bool     `json:"definitions"`
	Accels      []string `json:"accels"`
	// Machines are the locked machine types, by family, then version.
	Machines []string `json:"machines"`
	// Models are the locked models, by name.
	Models []LockedModel `json:"models"`
	// Requirements cover every model × machine type × accel exactly
	// once, grouping the machine types on which a model resolves the
	// same under one accel: by model, accel, then first machine type.
	Requirements []Requirement `json:"requirements"`
	// Digest is "sha256:" and the hex SHA-256 of the file form with
	// Digest empty: a lock edited by hand no longer loads.
	Digest string `json:"digest"`
}

// LockedModel is one locked model.
type LockedModel struct {
	Name string `json:"name"`
	// Fingerprint hashes the model's expansion and definition on every
	// locked machine type and accel (the Expansion and Definition of each
	// of its requirements): it changes exactly when some locked triple's
	// do, so a diff of two locks shows, one line per model, which models
	// moved.
	Fingerprint string `json:"fingerprint"`
}

// Requirement is a model under one accel on a set of machine types, all
// of which resolve it alike.
type Requirement struct {
	Model    string   `json:"model"`
	Accel    string   `json:"accel"`
	Machines []string `json:"machines"`
	// Requires are the features QEMU gives the guest (what a host must
	// make available), canonical names, sorted.
	Requires []string `json:"requires"`
	// Expansion hashes what the guest sees: the features and every CPUID
	// property of the expansion (vendor, family, model, stepping,
	// model-id, levels and what steers them).
	Expansion string `json:"expansion"`
	// Definition hashes what -cpu options are applied to beyond that:
	// the definition's latent features and its own levels. Empty when
	// the catalog has no definitions.
	Definition string `json:"definition"`
}

// Scope restricts a lock to what a site runs. Empty fields mean all of
// the catalog's models, machine types or accelerators.
type Scope struct {
	Models, Machines, Accels []string
}

// Lock records cat's triples within scope.
func Lock(cat *catalog.Catalog, scope Scope) (*LockFile, error) {
	lf := &LockFile{Schema: Schema, Catalog: cat.Name(), QEMUVersion: cat.QEMUVersion(), Definitions: cat.Definitions()}
	var err error
	if lf.Accels, err = scopeAccels(cat, scope.Accels); err != nil {
		return nil, err
	}
	if lf.Machines, err = scopeMachines(cat, scope.Machines); err != nil {
		return nil, err
	}
	models, err := scopeModels(cat, scope.Models)
	if err != nil {
		return nil, err
	}
	reg := cat.Registry()
	for _, model := range models {
		var lines []string // the fingerprint's input
		for _, accel := range lf.Accels {
			// Machine types with equal resolutions share an entry.
			byHash := map[[2]string]int{}
			for _, machine := range lf.Machines {
				h, err := hashTriple(cat, model, machine, accel)
				if err != nil {
					return nil, err
				}
				lines = append(lines, fingerprintLine(machine, accel, h.expansion, h.definition))
				k := [2]string{h.expansion, h.definition}
				if i, ok := byHash[k]; ok {
					lf.Requirements[i].Machines = append(lf.Requirements[i].Machines, machine)
					continue
				}
				byHash[k] = len(lf.Requirements)
				lf.Requirements = append(lf.Requirements, Requirement{Model: model, Accel: accel,
					Machines: []string{machine}, Requires: reg.Names(h.features), Expansion: h.expansion, Definition: h.definition})
			}
		}
		lf.Models = append(lf.Models, LockedModel{Name: model, Fingerprint: fingerprint(lines)})
	}
	lf.Digest = lf.digest()
	return lf, nil
}

func scopeAccels(cat *catalog.Catalog, want []string) ([]string, error) {
	if len(want) == 0 {
		return slices.Sorted(slices.Values(cat.Accels())), nil
	}
	for _, a := range want {
		if !cat.HasAccel(core.Accel(a)) {
			return nil, fmt.Errorf("catalog %s has no data for accelerator %q (it has %s)", cat.Name(), a, strings.Join(cat.Accels(), ", "))
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(want))), nil
}

func scopeMachines(cat *catalog.Catalog, want []string) ([]string, error) {
	var mts []*catalog.MachineType
	if len(want) == 0 {
		mts = cat.MachineTypes("")
	}
	for _, name := range want {
		mt, err := cat.Machine(name) // "q35" names the newest pc-q35
		if err != nil {
			return nil, err
		}
		mts = append(mts, mt)
	}
	slices.SortFunc(mts, compareMachines)
	mts = slices.Compact(mts)
	out := make([]string, len(mts))
	for i, mt := range mts {
		out[i] = mt.Name
	}
	return out, nil
}

func scopeModels(cat *catalog.Catalog, want []string) ([]string, error) {
	var out []string
	if len(want) == 0 {
		catModels := cat.Models()
		for i := range catModels {
			out = append(out, catModels[i].Name)
		}
	}
	for _, name := range want {
		m, err := cat.Model(name)
		if err != nil {
			return nil, err
		}
		out = append(out, m.Name)
	}
	return slices.Compact(slices.Sorted(slices.Values(out))), nil
}

// triple is one resolution, hashed.
type triple struct {
	features              feature.FeatureSet
	expansion, definition string // definition is "" without definitions
}

// hashTriple resolves model on machine under accel, with the model's own
// vendor, and hashes it.
func hashTriple(cat *catalog.Catalog, model, machine, accel string) (triple, error) {
	r, err := cat.Resolve(model, machine, core.Accel(accel), "")
	if err != nil {
		return triple{}, err
	}
	t := triple{features: r.Features, expansion: expansionHash(cat.Registry(), r)}
	if cat.Definitions() {
		lat, err := cat.Latent(model, machine, core.Accel(accel))
		if err != nil {
			return triple{}, err
		}
		t.definition = definitionHash(cat.Registry(), &r.Props, lat)
	}
	return t, nil
}

// The hashes spell their input out rather than hashing the Props
// struct, so that a field added to Props later does not change every
// lock's hashes; a new field that matters gets a new schema. Feature
// names go in canonical order, as Registry.Names gives them.

// expansionHash hashes what QEMU's expansion gives the guest.
func expansionHash(reg *feature.Registry, r *catalog.Resolution) string {
	var arr [4096]byte
	b := appendNames(arr[:0], reg, "features", r.Features)
	p := &r.Props
	b = fmt.Appendf(b, "vendor %q family %d model %d stepping %d model-id %q\n", p.Vendor, p.Family, p.Model, p.Stepping, p.ModelID)
	b = fmt.Appendf(b, "level %#x xlevel %#x xlevel2 %#x min %#x %#x %#x\n",
		p.Level, p.XLevel, p.XLevel2, p.MinLevel, p.MinXLevel, p.MinXLevel2)
	b = fmt.Appendf(b, "full-cpuid-auto-level %t intel-pt-auto-level %t\n", p.FullCPUIDAutoLevel, p.IntelPTAutoLevel)
	return shortHash(b)
}

// definitionHash hashes the rest of the definition: the features QEMU's
// dependencies hide in the expansion and the definition's own levels.
func definitionHash(reg *feature.Registry, p *catalog.Props, latent feature.FeatureSet) string {
	var arr [2048]byte
	b := appendNames(arr[:0], reg, "latent", latent)
	b = fmt.Appendf(b, "def-min %#x %#x %#x explicit %t %t %t\n",
		p.DefMinLevel, p.DefMinXLevel, p.DefMinXLevel2, p.LevelExplicit, p.XLevelExplicit, p.XLevel2Explicit)
	return shortHash(b)
}

func appendNames(b []byte, reg *feature.Registry, label string, s feature.FeatureSet) []byte {
	b = append(b, label...)
	for id := range s.All() {
		b = append(b, ' ')
		b = append(b, reg.Name(id)...)
	}
	return append(b, '\n')
}

// shortHash is 64 bits of SHA-256, in hex: enough to tell a change (the
// digest guards against edits).
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func fingerprintLine(machine, accel, expansion, definition string) string {
	return machine + " " + accel + " " + expansion + " " + definition
}

// fingerprint hashes a model's fingerprint lines.
func fingerprint(lines []string) string {
	return shortHash([]byte(strings.Join(lines, "\n")))
}

// Marshal returns the lock's file form: the same lock, the same bytes.
func (lf *LockFile) Marshal() []byte {
	var b bytes.Buffer
	str := func(s string) string { data, _ := json.Marshal(s); return string(data) }
	line := func(v any) { data, _ := json.Marshal(v); b.Write(data) }
	fmt.Fprintf(&b, `{"schema":%s,"catalog":%s,"qemu_version":%s,"definitions":%t,"accels":`, str(lf.Schema), str(lf.Catalog), str(lf.QEMUVersion), lf.Definitions)
	line(nonNil(lf.Accels))
	b.WriteString(",\n\"machines\":[")
	for i, m := range lf.Machines {
		b.WriteString(sep(i) + str(m))
	}
	b.WriteString("\n],\n\"models\":[")
	for i, m := range lf.Models {
		b.WriteString(sep(i))
		line(m)
	}
	b.WriteString("\n],\n\"requirements\":[")
	for i, r := range lf.Requirements {
		b.WriteString(sep(i))
		r.Machines, r.Requires = nonNil(r.Machines), nonNil(r.Requires)
		line(r)
	}
	fmt.Fprintf(&b, "\n],\n\"digest\":%s}\n", str(lf.Digest))
	return b.Bytes()
}

func sep(i int) string {
	if i == 0 {
		return "\n"
	}
	return ",\n"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// digest is Digest's value for the lock as it stands.
func (lf *LockFile) digest() string {
	c := *lf
	c.Digest = ""
	sum := sha256.Sum256(c.Marshal())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ErrNotLock says a file is not a lock file of this schema.
var ErrNotLock = errors.New("not a cpupolicy lock file")

// Parse reads a lock file written by Marshal, over reg (which must know
// every feature it names). name is used in errors: "name:LINE:COL: …",
// the position of the bad JSON, key or entry ("name: …" for a file that
// is no lock, a digest that does not match, and an escaped key not in the
// schema); every error is one line.
func Parse(name string, data []byte, reg *feature.Registry) (*LockFile, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	jsonError := func(err error) error {
		if placed, ok := jsonpos.Error(name, data, err); ok {
			return placed
		}
		return fail("%s", oneLine(err))
	}
	// at places an error of check or the digest at the entry it is about.
	at := func(err error) error {
		var fe *fieldError
		if errors.As(err, &fe) {
			if off, ok := valueOffset(data, fe.key, fe.index); ok {
				line, col := position(data, off)
				return fmt.Errorf("%s:%d:%d: %s", name, line, col, oneLine(err))
			}
		}
		return fail("%s", oneLine(err))
	}
	var head struct {
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		return nil, jsonError(err)
	}
	var schema string
	if json.Unmarshal(head.Schema, &schema) != nil || schema != Schema {
		got := "none"
		if head.Schema != nil {
			got = oneLine(errors.New(string(head.Schema)))
		}
		return nil, fmt.Errorf("%s: %w: schema %s, want %q", name, ErrNotLock, got, Schema)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var lf LockFile
	if err := dec.Decode(&lf); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(data, dec.InputOffset())
		return nil, fmt.Errorf("%s:%d:%d: data after the lock", name, line, col)
	}
	if err := lf.check(reg); err != nil {
		return nil, at(err)
	}
	if want := lf.digest(); lf.Digest != want {
		// The digest covers the whole file: no position to give.
		return nil, fail("digest %q does not match the content (%s): the lock was edited or damaged; write a new one with 'cpupolicy catalog lock'", lf.Digest, want)
	}
	return &lf, nil
}

// check validates what Marshal guarantees: every list sorted and
// without repeats, every triple covered exactly once, every name known,
// every fingerprint matching its definitions.
func (lf *LockFile) check(reg *feature.Registry) error {
	if lf.Catalog == "" {
		return errAt("catalog", -1, `"catalog" is empty`)
	}
	for _, l := range []struct {
		key string
		n   int
	}{{"accels", len(lf.Accels)}, {"machines", len(lf.Machines)}, {"models", len(lf.Models)}} {
		if l.n == 0 {
			return errAt(l.key, -1, "accels, machines and models must not be empty")
		}
	}
	for i, a := range lf.Accels {
		if _, err := core.ParseAccel(a); err != nil {
			return errAt("accels", i, "accels: unknown accelerator %q (want kvm or tcg)", a)
		}
		if i > 0 && lf.Accels[i-1] >= a {
			return errAt("accels", i, "accels: not sorted or repeated at %q", a)
		}
	}
	machine := map[string]int{}
	var prev *catalog.MachineType
	for i, m := range lf.Machines {
		fam, ver, ok := catalog.ParseMachineName(m)
		if !ok {
			return errAt("machines", i, "machines: %q is not FAMILY-VERSION", m)
		}
		mt := &catalog.MachineType{Name: m, Family: fam, Version: ver}
		if prev != nil && compareMachines(prev, mt) >= 0 {
			return errAt("machines", i, "machines: not in family, version order or repeated at %q", m)
		}
		prev, machine[m] = mt, i
	}
	model := map[string]int{}
	for i, m := range lf.Models {
		if m.Name == "" || i > 0 && lf.Models[i-1].Name >= m.Name {
			return errAt("models", i, "models: empty, unsorted or repeated name %q", m.Name)
		}
		model[m.Name] = i
	}
	accel := map[string]int{}
	for i, a := range lf.Accels {
		accel[a] = i
	}
	// covered[model][accel] marks the machine types seen; lines[model]
	// rebuilds each fingerprint's input in Lock's order.
	covered := make([][][]bool, len(lf.Models))
	lines := make([][][]string, len(lf.Models))
	for i := range covered {
		covered[i] = make([][]bool, len(lf.Accels))
		lines[i] = make([][]string, len(lf.Accels))
		for j := range covered[i] {
			covered[i][j] = make([]bool, len(lf.Machines))
			lines[i][j] = make([]string, len(lf.Machines))
		}
	}
	for i, r := range lf.Requirements {
		where := fmt.Sprintf("requirements[%d] (%s, %s)", i, r.Model, r.Accel)
		mi, ok := model[r.Model]
		if !ok {
			return errAt("requirements", i, "%s: model %q is not in models", where, r.Model)
		}
		ai, ok := accel[r.Accel]
		if !ok {
			return errAt("requirements", i, "%s: accel %q is not in accels", where, r.Accel)
		}
		if len(r.Machines) == 0 {
			return errAt("requirements", i, "%s: no machines", where)
		}
		if i > 0 {
			p := lf.Requirements[i-1]
			c := cmp.Or(strings.Compare(p.Model, r.Model), cmp.Compare(accel[p.Accel], ai),
				cmp.Compare(machine[p.Machines[0]], machine[r.Machines[0]]))
			if c >= 0 {
				return errAt("requirements", i, "%s: not sorted by model, accel, then first machine type", where)
			}
		}
		last := -1
		for _, m := range r.Machines {
			k, ok := machine[m]
			if !ok {
				return errAt("requirements", i, "%s: machine type %q is not in machines", where, m)
			}
			if k <= last {
				return errAt("requirements", i, "%s: machines not in order or repeated at %q", where, m)
			}
			if covered[mi][ai][k] {
				return errAt("requirements", i, "%s: %s on %s under %s is locked twice", where, r.Model, m, r.Accel)
			}
			covered[mi][ai][k], last = true, k
			lines[mi][ai][k] = fingerprintLine(m, r.Accel, r.Expansion, r.Definition)
		}
		if _, err := reg.Set(r.Requires...); err != nil {
			return errAt("requirements", i, "%s: %v", where, oneLine(err))
		}
		if !slices.IsSorted(r.Requires) || len(slices.Compact(slices.Clone(r.Requires))) != len(r.Requires) {
			return errAt("requirements", i, "%s: requires is not sorted or has repeats", where)
		}
		if !isHex(r.Expansion, 16) {
			return errAt("requirements", i, "%s: expansion %q is not 16 hex digits", where, r.Expansion)
		}
		if lf.Definitions && !isHex(r.Definition, 16) || !lf.Definitions && r.Definition != "" {
			return errAt("requirements", i, "%s: definition %q is not 16 hex digits (or empty, without definitions)", where, r.Definition)
		}
	}
	for mi, m := range lf.Models {
		var input []string
		for ai, a := range lf.Accels {
			for k, mt := range lf.Machines {
				if !covered[mi][ai][k] {
					return errAt("models", mi, "model %s on %s under %s is not locked (every model × machine type × accel must be)", m.Name, mt, a)
				}
				input = append(input, lines[mi][ai][k])
			}
		}
		if want := fingerprint(input); m.Fingerprint != want {
			return errAt("models", mi, "model %s: fingerprint %q does not match its definitions (%s)", m.Name, m.Fingerprint, want)
		}
	}
	return nil
}

// fieldError is an error about the value of a top-level key of the lock
// or, with index ≥ 0, about an element of that array: Parse turns it into
// a line and column.
type fieldError struct {
	key   string
	index int
	msg   string
}

func (e *fieldError) Error() string { return e.msg }

func errAt(key string, index int, format string, args ...any) error {
	return &fieldError{key, index, fmt.Sprintf(format, args...)}
}

// valueOffset returns where the value of key starts in data, a JSON
// object already decoded without error, or with index ≥ 0 where that
// array's element index starts.
func valueOffset(data []byte, key string, index int) (int64, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, false
	}
	var skip json.RawMessage
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return 0, false
		}
		if k != key {
			if dec.Decode(&skip) != nil {
				return 0, false
			}
			continue
		}
		if index < 0 {
			return skipSpace(data, dec.InputOffset()), true
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return 0, false
		}
		for i := 0; dec.More(); i++ {
			if i == index {
				return skipSpace(data, dec.InputOffset()), true
			}
			if dec.Decode(&skip) != nil {
				return 0, false
			}
		}
		return 0, false
	}
	return 0, false
}

// skipSpace returns the offset of the first byte at or after off that
// is not white space or the separator before a value.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n:,", data[off]) >= 0 {
		off++
	}
	return off
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// position returns the 1-based line and column of byte offset off.
func position(data []byte, off int64) (line, col int) { return jsonpos.LineCol(data, off) }
