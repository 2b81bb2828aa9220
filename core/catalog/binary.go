package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// The binary form exists for start-up speed only: the embedded catalogs
// are also stored this way so that a command pays microseconds, not the
// milliseconds encoding/json takes, to load one (see RATIONALE.md). It
// holds feature sets as registry words, so it is valid only with the
// registry it was made with: the header records the registry's
// fingerprint and a mismatch falls back to the JSON form. The JSON file
// stays the source of truth; a test holds the two equal.

const binaryMagic = "cpupolicy-catalog-bin/3\n"

// MarshalBinary encodes c for a registry with c's fingerprint.
func (c *Catalog) MarshalBinary() ([]byte, error) {
	w := &binWriter{b: []byte(binaryMagic)}
	w.u64(c.reg.Fingerprint())
	w.str(c.name)
	w.str(c.qemuVersion)
	w.str(c.qemuPackage)
	w.bool(c.kvmVendorFromHost)
	w.str(c.importHostVendor)
	w.bool(c.definitions)
	w.str(c.kvmData)
	w.uv(uint64(len(c.accels)))
	for _, a := range c.accels {
		w.str(a)
	}
	w.uv(uint64(len(c.machines)))
	for _, m := range c.machines {
		w.str(m.Name)
		w.str(m.Alias)
		w.bool(m.Deprecated)
	}
	w.uv(uint64(len(c.models)))
	for i := range c.models {
		m := &c.models[i]
		w.str(m.Name)
		w.str(m.AliasOf)
		w.bool(m.Static)
		w.bool(m.MigrationSafe)
		w.bool(m.Deprecated)
		w.props(m.Props)
		w.set(m.Features)
		w.set(m.Latent)
		accels := make([]string, 0, len(m.accel))
		for a := range m.accel {
			accels = append(accels, a)
		}
		slices.Sort(accels)
		w.uv(uint64(len(accels)))
		for _, a := range accels {
			w.str(a)
			w.delta(m.accel[a])
		}
	}
	var defs []fileDelta
	for _, mt := range c.machines {
		for _, a := range c.accels {
			if _, ok := c.defaults[mt.Name][a]; ok {
				defs = append(defs, fileDelta{Machine: mt.Name, Accel: a})
			}
		}
	}
	w.uv(uint64(len(defs)))
	for _, d := range defs {
		w.str(d.Machine)
		w.str(d.Accel)
		w.delta(c.defaults[d.Machine][d.Accel])
	}
	var ovs []resolveKey
	for k := range c.overrides {
		ovs = append(ovs, k)
	}
	for k := range c.packed {
		if _, ok := c.overrides[k]; !ok {
			ovs = append(ovs, k)
		}
	}
	slices.SortFunc(ovs, func(a, b resolveKey) int {
		if a.model != b.model {
			return compareStrings(a.model, b.model)
		}
		if a.machine != b.machine {
			return compareStrings(a.machine, b.machine)
		}
		return compareStrings(a.accel, b.accel)
	})
	w.uv(uint64(len(ovs)))
	for _, k := range ovs {
		w.str(k.model)
		w.str(k.machine)
		w.str(k.accel)
		d, _ := c.override(k)
		w.delta(d)
	}
	return w.b, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// errStaleBinary says the binary form was made with another registry.
var errStaleBinary = errors.New("binary catalog made with another feature registry")

// parseBinary decodes MarshalBinary's output. It trusts its input (only
// embedded data is decoded this way) but never panics on a short one.
func parseBinary(data []byte, reg *feature.Registry) (c *Catalog, err error) {
	r := &binReader{b: data}
	if string(r.bytes(len(binaryMagic))) != binaryMagic {
		return nil, errors.New("not a binary catalog")
	}
	if r.u64() != reg.Fingerprint() {
		return nil, errStaleBinary
	}
	c = &Catalog{defaults: map[string]map[string]Delta{}, overrides: map[resolveKey]Delta{}, reg: reg}
	c.name, c.qemuVersion, c.qemuPackage = r.str(), r.str(), r.str()
	c.kvmVendorFromHost, c.importHostVendor = r.bool(), r.str()
	c.definitions = r.bool()
	c.kvmData = r.str()
	c.accels = make([]string, r.count())
	for i := range c.accels {
		c.accels[i] = r.name()
	}
	c.machines = make([]MachineType, r.count())
	for i := range c.machines {
		name := r.name()
		fam, ver, _ := ParseMachineName(name)
		c.machines[i] = MachineType{Name: name, Family: fam, Version: ver, Alias: r.str(), Deprecated: r.bool()}
	}
	c.models = make([]Model, r.count())
	for i := range c.models {
		m := &c.models[i]
		m.Name, m.AliasOf = r.name(), r.str()
		m.Base, m.Version = splitVersion(m.Name)
		m.Static, m.MigrationSafe, m.Deprecated = r.bool(), r.bool(), r.bool()
		m.Props = r.props()
		m.Features = r.set()
		m.Latent = r.set()
		n := r.count()
		m.accel = make(map[string]Delta, n)
		for j := 0; j < n; j++ {
			a := r.name()
			m.accel[a] = r.delta()
		}
	}
	for n := r.count(); n > 0; n-- {
		mach, acc := r.name(), r.name()
		c.setDefault(mach, acc, r.delta())
	}
	// The overrides stay encoded until looked up (Catalog.packed), in a
	// map sized up front: one grown entry by entry leaves every smaller
	// table behind as garbage, pages a short command touches for nothing.
	n := r.count()
	c.packed = make(map[resolveKey][]byte, n)
	for ; n > 0; n-- {
		k := resolveKey{r.name(), r.name(), r.name()}
		start := r.b
		r.delta() // checked now (a short input fails here), kept encoded
		c.packed[k] = start[:len(start)-len(r.b)]
	}
	if r.err != nil {
		return nil, r.err
	}
	c.index()
	return c, nil
}

// override returns the override of k's model on its machine type under
// its accelerator, decoding it when the catalog holds it packed.
func (c *Catalog) override(k resolveKey) (Delta, bool) {
	if d, ok := c.overrides[k]; ok {
		return d, true
	}
	if b, ok := c.packed[k]; ok {
		r := &binReader{b: b}
		return r.delta(), true
	}
	return Delta{}, false
}

type binWriter struct{ b []byte }

func (w *binWriter) uv(v uint64)  { w.b = binary.AppendUvarint(w.b, v) }
func (w *binWriter) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *binWriter) str(s string) { w.uv(uint64(len(s))); w.b = append(w.b, s...) }
func (w *binWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *binWriter) set(s feature.FeatureSet) {
	for _, x := range s.Words() {
		w.uv(x)
	}
}
func (w *binWriter) props(p Props) {
	w.str(p.Vendor)
	w.str(p.ModelID)
	for _, v := range []uint64{uint64(p.Family), uint64(p.Model), uint64(p.Stepping), uint64(p.Level), uint64(p.XLevel),
		uint64(p.XLevel2), uint64(p.MinLevel), uint64(p.MinXLevel), uint64(p.MinXLevel2),
		uint64(p.DefMinLevel), uint64(p.DefMinXLevel), uint64(p.DefMinXLevel2)} {
		w.uv(v)
	}
	w.bool(p.FullCPUIDAutoLevel)
	w.bool(p.IntelPTAutoLevel)
	w.bool(p.LevelExplicit)
	w.bool(p.XLevelExplicit)
	w.bool(p.XLevel2Explicit)
}

// latentBit is the bit of a delta's mask that says latent sets follow.
const latentBit = 1 << 19

// delta writes the sets, then the patch as a presence mask and values,
// then the latent sets if the mask says so.
func (w *binWriter) delta(d Delta) {
	w.set(d.On)
	w.set(d.Off)
	pp := d.Props
	var mask uint64
	ptrs := []bool{pp.Vendor != nil, pp.Family != nil, pp.Model != nil, pp.Stepping != nil, pp.ModelID != nil,
		pp.Level != nil, pp.XLevel != nil, pp.XLevel2 != nil, pp.MinLevel != nil, pp.MinXLevel != nil,
		pp.MinXLevel2 != nil, pp.FullCPUIDAutoLevel != nil, pp.IntelPTAutoLevel != nil,
		pp.DefMinLevel != nil, pp.DefMinXLevel != nil, pp.DefMinXLevel2 != nil,
		pp.LevelExplicit != nil, pp.XLevelExplicit != nil, pp.XLevel2Explicit != nil}
	for i, set := range ptrs {
		if set {
			mask |= 1 << i
		}
	}
	latent := !d.LatentOn.IsEmpty() || !d.LatentOff.IsEmpty()
	if latent {
		mask |= latentBit
	}
	w.uv(mask)
	if pp.Vendor != nil {
		w.str(*pp.Vendor)
	}
	for _, p := range []*int{pp.Family, pp.Model, pp.Stepping} {
		if p != nil {
			w.uv(uint64(*p))
		}
	}
	if pp.ModelID != nil {
		w.str(*pp.ModelID)
	}
	for _, p := range []*uint32{pp.Level, pp.XLevel, pp.XLevel2, pp.MinLevel, pp.MinXLevel, pp.MinXLevel2} {
		if p != nil {
			w.uv(uint64(*p))
		}
	}
	for _, p := range []*bool{pp.FullCPUIDAutoLevel, pp.IntelPTAutoLevel} {
		if p != nil {
			w.bool(*p)
		}
	}
	for _, p := range []*uint32{pp.DefMinLevel, pp.DefMinXLevel, pp.DefMinXLevel2} {
		if p != nil {
			w.uv(uint64(*p))
		}
	}
	for _, p := range []*bool{pp.LevelExplicit, pp.XLevelExplicit, pp.XLevel2Explicit} {
		if p != nil {
			w.bool(*p)
		}
	}
	if latent {
		w.set(d.LatentOn)
		w.set(d.LatentOff)
	}
}

type binReader struct {
	b   []byte
	err error
	// names holds each model, machine type and accelerator name read so
	// far: the overrides repeat them (656 of each in qemu-10.0), and one
	// string per name instead of one per mention is 2,000 allocations
	// fewer at every start.
	names map[string]string
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("binary catalog truncated")
	}
	r.b = nil
}

func (r *binReader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *binReader) uv() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *binReader) count() int {
	v := r.uv()
	if v > uint64(len(r.b)) { // every element takes at least a byte
		r.fail()
		return 0
	}
	return int(v)
}

func (r *binReader) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *binReader) str() string { return string(r.bytes(r.count())) }

// name is str for the names the catalog repeats, each allocated once.
func (r *binReader) name() string {
	b := r.bytes(r.count())
	if s, ok := r.names[string(b)]; ok { // no allocation: the compiler's map[string(b)] form
		return s
	}
	if r.names == nil {
		r.names = make(map[string]string, 256)
	}
	s := string(b)
	r.names[s] = s
	return s
}
func (r *binReader) bool() bool  { b := r.bytes(1); return b != nil && b[0] == 1 }
func (r *binReader) u32() uint32 { return uint32(r.uv()) }
func (r *binReader) i() int      { return int(r.uv()) }
func (r *binReader) set() feature.FeatureSet {
	var w [feature.Capacity / 64]uint64
	for i := range w {
		w[i] = r.uv()
	}
	return feature.SetFromWords(w[:])
}

func (r *binReader) props() Props {
	p := Props{Vendor: r.str(), ModelID: r.str()}
	p.Family, p.Model, p.Stepping = r.i(), r.i(), r.i()
	p.Level, p.XLevel, p.XLevel2 = r.u32(), r.u32(), r.u32()
	p.MinLevel, p.MinXLevel, p.MinXLevel2 = r.u32(), r.u32(), r.u32()
	p.DefMinLevel, p.DefMinXLevel, p.DefMinXLevel2 = r.u32(), r.u32(), r.u32()
	p.FullCPUIDAutoLevel, p.IntelPTAutoLevel = r.bool(), r.bool()
	p.LevelExplicit, p.XLevelExplicit, p.XLevel2Explicit = r.bool(), r.bool(), r.bool()
	return p
}

func (r *binReader) delta() Delta {
	d := Delta{On: r.set(), Off: r.set()}
	mask := r.uv()
	has := func(i int) bool { return mask&(1<<i) != 0 }
	pp := &d.Props
	if has(0) {
		v := r.str()
		pp.Vendor = &v
	}
	for i, p := range []**int{&pp.Family, &pp.Model, &pp.Stepping} {
		if has(1 + i) {
			v := r.i()
			*p = &v
		}
	}
	if has(4) {
		v := r.str()
		pp.ModelID = &v
	}
	for i, p := range []**uint32{&pp.Level, &pp.XLevel, &pp.XLevel2, &pp.MinLevel, &pp.MinXLevel, &pp.MinXLevel2} {
		if has(5 + i) {
			v := r.u32()
			*p = &v
		}
	}
	for i, p := range []**bool{&pp.FullCPUIDAutoLevel, &pp.IntelPTAutoLevel} {
		if has(11 + i) {
			v := r.bool()
			*p = &v
		}
	}
	for i, p := range []**uint32{&pp.DefMinLevel, &pp.DefMinXLevel, &pp.DefMinXLevel2} {
		if has(13 + i) {
			v := r.u32()
			*p = &v
		}
	}
	for i, p := range []**bool{&pp.LevelExplicit, &pp.XLevelExplicit, &pp.XLevel2Explicit} {
		if has(16 + i) {
			v := r.bool()
			*p = &v
		}
	}
	if mask&latentBit != 0 {
		d.LatentOn, d.LatentOff = r.set(), r.set()
	}
	return d
}
