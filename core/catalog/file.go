package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/internal/jsonpos"
)

// Schema is the value of a catalog file's "schema" key.
const Schema = "cpupolicy/catalog/v1"

// The file form. Feature sets are sorted canonical names; deltas appear
// only where they change something.
type fileCatalog struct {
	fileHead
	Machines  []fileMachine `json:"machines"`
	Models    []fileModel   `json:"models"`
	Defaults  []fileDelta   `json:"defaults"`
	Overrides []fileDelta   `json:"overrides"`
}

// fileHead is the catalog file's scalar keys, which Marshal writes on
// the first line (encoding/json flattens the embedded struct, so it is
// the same document either way).
type fileHead struct {
	Schema            string   `json:"schema"`
	Name              string   `json:"name"`
	QEMUVersion       string   `json:"qemu_version"`
	QEMUPackage       string   `json:"qemu_package"`
	KVMVendorFromHost bool     `json:"kvm_vendor_from_host"`
	ImportHostVendor  string   `json:"import_host_vendor"`
	Definitions       bool     `json:"definitions,omitempty"`
	Accels            []string `json:"accels"`
	// KVMData is "derived" when the kvm answers were derived from the
	// tcg ones (DeriveKVM); absent when captured.
	KVMData string `json:"kvm_data,omitempty"`
}

type fileMachine struct {
	Name       string `json:"name"`
	Alias      string `json:"alias,omitempty"`
	Deprecated bool   `json:"deprecated,omitempty"`
}

type fileModel struct {
	Name          string      `json:"name"`
	AliasOf       string      `json:"alias_of,omitempty"`
	Static        bool        `json:"static,omitempty"`
	MigrationSafe bool        `json:"migration_safe,omitempty"`
	Deprecated    bool        `json:"deprecated,omitempty"`
	Props         Props       `json:"props"`
	Features      []string    `json:"features"`
	Latent        []string    `json:"latent,omitempty"`
	Accel         []fileDelta `json:"accel,omitempty"`
}

type fileDelta struct {
	Model   string      `json:"model,omitempty"`
	Machine string      `json:"machine,omitempty"`
	Accel   string      `json:"accel"`
	On      []string    `json:"on,omitempty"`
	Off     []string    `json:"off,omitempty"`
	Props   *PropsPatch `json:"props,omitempty"`
	// The latent features switched on and off.
	LatentOn  []string `json:"latent_on,omitempty"`
	LatentOff []string `json:"latent_off,omitempty"`
}

func (c *Catalog) fileDelta(model, machine, accel string, d Delta) fileDelta {
	fd := fileDelta{Model: model, Machine: machine, Accel: accel}
	if !d.On.IsEmpty() {
		fd.On = c.reg.Names(d.On)
	}
	if !d.Off.IsEmpty() {
		fd.Off = c.reg.Names(d.Off)
	}
	if d.Props != (PropsPatch{}) {
		p := d.Props
		fd.Props = &p
	}
	if !d.LatentOn.IsEmpty() {
		fd.LatentOn = c.reg.Names(d.LatentOn)
	}
	if !d.LatentOff.IsEmpty() {
		fd.LatentOff = c.reg.Names(d.LatentOff)
	}
	return fd
}

// Marshal returns the catalog's file form: stable (same catalog, same
// bytes), one model or delta per line.
func (c *Catalog) Marshal() ([]byte, error) {
	fc := fileCatalog{
		fileHead: fileHead{
			Schema: Schema, Name: c.name, QEMUVersion: c.qemuVersion, QEMUPackage: c.qemuPackage,
			KVMVendorFromHost: c.kvmVendorFromHost, ImportHostVendor: c.importHostVendor, Definitions: c.definitions,
			Accels: c.accels, KVMData: c.kvmData,
		},
		Defaults: []fileDelta{}, Overrides: []fileDelta{},
	}
	for _, m := range c.machines {
		fc.Machines = append(fc.Machines, fileMachine{m.Name, m.Alias, m.Deprecated})
	}
	for i := range c.models {
		m := &c.models[i]
		fm := fileModel{Name: m.Name, AliasOf: m.AliasOf, Static: m.Static, MigrationSafe: m.MigrationSafe,
			Deprecated: m.Deprecated, Props: m.Props, Features: c.reg.Names(m.Features)}
		if !m.Latent.IsEmpty() {
			fm.Latent = c.reg.Names(m.Latent)
		}
		for _, a := range c.accels {
			if d, ok := m.accel[a]; ok {
				fm.Accel = append(fm.Accel, c.fileDelta("", "", a, d))
			}
		}
		fc.Models = append(fc.Models, fm)
	}
	for _, mt := range c.machines {
		for _, a := range c.accels {
			if d, ok := c.defaults[mt.Name][a]; ok {
				fc.Defaults = append(fc.Defaults, c.fileDelta("", mt.Name, a, d))
			}
		}
	}
	for i := range c.models {
		for _, mt := range c.machines {
			for _, a := range c.accels {
				if d, ok := c.override(resolveKey{c.models[i].Name, mt.Name, a}); ok {
					fc.Overrides = append(fc.Overrides, c.fileDelta(c.models[i].Name, mt.Name, a, d))
				}
			}
		}
	}
	// One array element per line: readable diffs between catalogs.
	var b bytes.Buffer
	head, err := json.Marshal(fc.fileHead)
	if err != nil {
		return nil, err
	}
	b.Write(head[:len(head)-1])
	writeArray := func(key string, n int, elem func(i int) any) error {
		fmt.Fprintf(&b, ",\n%q: [", key)
		for i := 0; i < n; i++ {
			j, err := json.Marshal(elem(i))
			if err != nil {
				return err
			}
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n")
			b.Write(j)
		}
		b.WriteString("\n]")
		return nil
	}
	if err := writeArray("machines", len(fc.Machines), func(i int) any { return fc.Machines[i] }); err != nil {
		return nil, err
	}
	if err := writeArray("models", len(fc.Models), func(i int) any { return fc.Models[i] }); err != nil {
		return nil, err
	}
	if err := writeArray("defaults", len(fc.Defaults), func(i int) any { return fc.Defaults[i] }); err != nil {
		return nil, err
	}
	if err := writeArray("overrides", len(fc.Overrides), func(i int) any { return fc.Overrides[i] }); err != nil {
		return nil, err
	}
	b.WriteString("\n}\n")
	return b.Bytes(), nil
}

// ErrNotCatalog is wrapped by Parse's error for a document that is not a
// cpupolicy catalog.
var ErrNotCatalog = errors.New("not a cpupolicy catalog")

// Parse reads a catalog file. name is used in errors ("name:LINE:COL: …",
// or "name: …" when no position applies) and, when the file names none,
// as the catalog's name.
func Parse(name string, data []byte, reg *feature.Registry) (*Catalog, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	// failAt places the error at element i of the array under key (at
	// the array itself when i < 0). Finding it means decoding again, so
	// only a file already known to be bad pays for it.
	failAt := func(key string, i int, format string, args ...any) error {
		if line, col, ok := elementPosition(data, key, i); ok {
			return fmt.Errorf("%s:%d:%d: %s", name, line, col, fmt.Sprintf(format, args...))
		}
		return fail(format, args...)
	}
	var head struct {
		Schema json.RawMessage `json:"schema"`
	}
	// Catalogs written by Marshal open with the schema: read just that
	// much instead of decoding the whole document twice.
	if prefix := []byte(`{"schema":"` + Schema + `",`); bytes.HasPrefix(data, prefix) {
		head.Schema = json.RawMessage(`"` + Schema + `"`)
	} else if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if off, msg, ok := jsonpos.Explain(data, err); ok {
			line, col := position(data, off)
			return nil, fmt.Errorf("%s:%d:%d: %w: %s", name, line, col, ErrNotCatalog, msg)
		}
		return nil, fmt.Errorf("%s: %w: %v", name, ErrNotCatalog, err)
	}
	var schema string
	if json.Unmarshal(head.Schema, &schema) != nil || schema != Schema {
		got := "none"
		if head.Schema != nil {
			got = string(head.Schema)
		}
		off := int64(len(data) - len(bytes.TrimLeft(data, " \t\r\n"))) // no key: the document
		if head.Schema != nil {
			off, _ = jsonpos.KeyOffset(data, `"schema"`)
		}
		line, col := position(data, off)
		return nil, fmt.Errorf("%s:%d:%d: %w: schema %s, want %q", name, line, col, ErrNotCatalog, got, Schema)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fc fileCatalog
	if err := dec.Decode(&fc); err != nil {
		if placed, ok := jsonpos.Error(name, data, err); ok {
			return nil, placed
		}
		return nil, fail("%v", err)
	}
	if dec.More() {
		line, col := position(data, dec.InputOffset())
		return nil, fmt.Errorf("%s:%d:%d: data after the catalog", name, line, col)
	}
	c := &Catalog{
		name: fc.Name, qemuVersion: fc.QEMUVersion, qemuPackage: fc.QEMUPackage,
		kvmVendorFromHost: fc.KVMVendorFromHost, importHostVendor: fc.ImportHostVendor, accels: fc.Accels,
		definitions: fc.Definitions, kvmData: fc.KVMData, defaults: map[string]map[string]Delta{}, overrides: map[resolveKey]Delta{}, reg: reg,
	}
	if c.name == "" {
		c.name = name
	}
	for i, a := range c.accels {
		if a != kvm && a != tcg {
			return nil, failAt("accels", i, "accels: unknown accelerator %q (want kvm or tcg)", a)
		}
	}
	if len(c.accels) == 0 {
		return nil, failAt("accels", -1, "accels: empty")
	}
	if c.kvmData != "" && c.kvmData != KVMDerived {
		return nil, failAt("kvm_data", -1, "kvm_data: %q, want %q or none (captured)", c.kvmData, KVMDerived)
	}
	machines := map[string]bool{}
	for i, fm := range fc.Machines {
		fam, ver, ok := ParseMachineName(fm.Name)
		if !ok {
			return nil, failAt("machines", i, "machines: %q is not FAMILY-VERSION", fm.Name)
		}
		if machines[fm.Name] {
			return nil, failAt("machines", i, "machines: %q is repeated", fm.Name)
		}
		machines[fm.Name] = true
		c.machines = append(c.machines, MachineType{Name: fm.Name, Family: fam, Version: ver, Alias: fm.Alias, Deprecated: fm.Deprecated})
	}
	seen := map[string]bool{}
	for i, fm := range fc.Models {
		if fm.Name == "" || seen[fm.Name] {
			return nil, failAt("models", i, "models: empty or repeated name %q", fm.Name)
		}
		seen[fm.Name] = true
		fs, err := reg.Set(fm.Features...)
		if err != nil {
			return nil, failAt("models", i, "model %s: %s", fm.Name, oneLine(err))
		}
		lat, err := reg.Set(fm.Latent...)
		if err != nil {
			return nil, failAt("models", i, "model %s: latent: %s", fm.Name, oneLine(err))
		}
		base, v := splitVersion(fm.Name)
		m := Model{Name: fm.Name, Base: base, Version: v, AliasOf: fm.AliasOf, Static: fm.Static,
			MigrationSafe: fm.MigrationSafe, Deprecated: fm.Deprecated, Props: fm.Props, Features: fs, Latent: lat,
			accel: map[string]Delta{}}
		for _, fd := range fm.Accel {
			d, err := c.delta(fd)
			if err != nil {
				return nil, failAt("models", i, "model %s: %v", fm.Name, err)
			}
			m.accel[fd.Accel] = d
		}
		c.models = append(c.models, m)
	}
	for i, fm := range fc.Models {
		if fm.AliasOf != "" && !seen[fm.AliasOf] {
			return nil, failAt("models", i, "model %s: alias_of names unknown model %q", fm.Name, fm.AliasOf)
		}
	}
	c.index()
	for i, fd := range fc.Defaults {
		if _, err := c.machine(fd.Machine); err != nil || fd.Model != "" {
			return nil, failAt("defaults", i, "defaults: bad entry for machine %q model %q", fd.Machine, fd.Model)
		}
		d, err := c.delta(fd)
		if err != nil {
			return nil, failAt("defaults", i, "defaults for %s: %v", fd.Machine, err)
		}
		c.setDefault(fd.Machine, fd.Accel, d)
	}
	for i, fd := range fc.Overrides {
		if _, err := c.machine(fd.Machine); err != nil {
			return nil, failAt("overrides", i, "overrides: %v", err)
		}
		if _, err := c.model(fd.Model); err != nil {
			return nil, failAt("overrides", i, "overrides: %v", err)
		}
		d, err := c.delta(fd)
		if err != nil {
			return nil, failAt("overrides", i, "override of %s on %s: %v", fd.Model, fd.Machine, err)
		}
		c.overrides[resolveKey{fd.Model, fd.Machine, fd.Accel}] = d
	}
	return c, nil
}

func (c *Catalog) delta(fd fileDelta) (Delta, error) {
	if !c.HasAccel(core.Accel(fd.Accel)) {
		return Delta{}, fmt.Errorf("accelerator %q is not in accels %v", fd.Accel, c.accels)
	}
	on, err := c.reg.Set(fd.On...)
	if err != nil {
		return Delta{}, errors.New(oneLine(err))
	}
	off, err := c.reg.Set(fd.Off...)
	if err != nil {
		return Delta{}, errors.New(oneLine(err))
	}
	lon, err := c.reg.Set(fd.LatentOn...)
	if err != nil {
		return Delta{}, errors.New(oneLine(err))
	}
	loff, err := c.reg.Set(fd.LatentOff...)
	if err != nil {
		return Delta{}, errors.New(oneLine(err))
	}
	d := Delta{On: on, Off: off, LatentOn: lon, LatentOff: loff}
	if fd.Props != nil {
		d.Props = *fd.Props
	}
	return d, nil
}

// elementPosition returns the line and column of element i of the array
// that is the value of data's top-level key (of the array itself when
// i < 0), or ok false when there is none.
func elementPosition(data []byte, key string, i int) (line, col int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	at := func() (int, int, bool) {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
			off++
		}
		line, col := position(data, int64(off))
		return line, col, true
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		if k != key {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return 0, 0, false
			}
			continue
		}
		if i < 0 {
			return at()
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return 0, 0, false
		}
		for j := 0; dec.More(); j++ {
			if j == i {
				return at()
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return 0, 0, false
			}
		}
		return 0, 0, false
	}
	return 0, 0, false
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func position(data []byte, off int64) (line, col int) { return jsonpos.LineCol(data, off) }
