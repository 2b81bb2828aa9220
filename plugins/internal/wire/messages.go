package wire

// Leaf is one CPUID result: 24 bytes on the wire, six u32s in this order.
type Leaf struct {
	Leaf, Subleaf      uint32
	EAX, EBX, ECX, EDX uint32
}

// LeafSize is the encoded size of a Leaf.
const LeafSize = 24

// Leaf appends one leaf of a decode request, LeafSize bytes. A host that
// filters its leaves writes the count and then each leaf with this.
func (e *Encoder) Leaf(l Leaf) {
	e.U32(l.Leaf)
	e.U32(l.Subleaf)
	e.U32(l.EAX)
	e.U32(l.EBX)
	e.U32(l.ECX)
	e.U32(l.EDX)
}

// EncodeLeaves appends the decode request: a count and the leaves.
func EncodeLeaves(e *Encoder, ls []Leaf) {
	e.U32(uint32(len(ls)))
	for _, l := range ls {
		e.Leaf(l)
	}
}

// DecodeLeaves reads a decode request into dst (reusing its storage).
func DecodeLeaves(d *Decoder, dst []Leaf) []Leaf {
	n := d.Count(LeafSize)
	dst = dst[:0]
	for i := 0; i < n; i++ {
		dst = append(dst, Leaf{d.U32(), d.U32(), d.U32(), d.U32(), d.U32(), d.U32()})
	}
	return dst
}

// LeafRange is an inclusive range of CPUID leaves.
type LeafRange struct {
	First, Last uint32
}

// Feature locations.
const (
	KindCPUID = 0
	KindMSR   = 1
)

// Feature is one feature a plugin defines.
type Feature struct {
	Name string
	Kind uint8 // KindCPUID or KindMSR
	// Leaf, Subleaf and Reg (0 EAX, 1 EBX, 2 ECX, 3 EDX) for a CPUID
	// bit; MSR for an MSR bit.
	Leaf, Subleaf uint32
	Reg           uint8
	MSR           uint32
	Bit           uint8
	// Linux is the /proc/cpuinfo flag, Libvirt the cpu_map name, Aliases
	// further QEMU-style spellings.
	Linux, Libvirt string
	Aliases        []string
	Description    string
}

func (f *Feature) encode(e *Encoder) {
	e.Str(f.Name)
	e.U8(f.Kind)
	e.U32(f.Leaf)
	e.U32(f.Subleaf)
	e.U8(f.Reg)
	e.U32(f.MSR)
	e.U8(f.Bit)
	e.Str(f.Linux)
	e.Str(f.Libvirt)
	e.Strs(f.Aliases)
	e.Str(f.Description)
}

func (f *Feature) decode(d *Decoder) {
	f.Name = d.Str()
	f.Kind = d.U8()
	f.Leaf = d.U32()
	f.Subleaf = d.U32()
	f.Reg = d.U8()
	f.MSR = d.U32()
	f.Bit = d.U8()
	f.Linux = d.Str()
	f.Libvirt = d.Str()
	f.Aliases = d.Strs()
	f.Description = d.Str()
}

func (r *LeafRange) encode(e *Encoder) {
	e.U32(r.First)
	e.U32(r.Last)
}

func (r *LeafRange) decode(d *Decoder) {
	r.First = d.U32()
	r.Last = d.U32()
}

// Check names a check a plugin provides.
type Check struct {
	Name, Description string
}

func (c *Check) encode(e *Encoder) {
	e.Str(c.Name)
	e.Str(c.Description)
}

func (c *Check) decode(d *Decoder) {
	c.Name = d.Str()
	c.Description = d.Str()
}

// Manifest is describe's result.
type Manifest struct {
	// ABI comes first on the wire.
	ABI         uint32
	Name        string
	Version     string
	Description string
	Vendors     []string
	Leaves      []LeafRange
	Features    []Feature
	Checks      []Check
}

// EncodeManifest appends m.
func EncodeManifest(e *Encoder, m *Manifest) {
	e.U32(m.ABI)
	e.Str(m.Name)
	e.Str(m.Version)
	e.Str(m.Description)
	e.Strs(m.Vendors)
	encodeList(e, m.Leaves, (*LeafRange).encode)
	encodeList(e, m.Features, (*Feature).encode)
	encodeList(e, m.Checks, (*Check).encode)
}

// DecodeManifest reads a manifest. It stops after the ABI version if that
// is not ABI, so that a newer plugin's manifest is reported as the wrong
// version rather than as garbage.
func DecodeManifest(d *Decoder) *Manifest {
	m := &Manifest{ABI: d.U32()}
	if d.Err() != nil || m.ABI != ABI {
		return m
	}
	m.Name = d.Str()
	m.Version = d.Str()
	m.Description = d.Str()
	m.Vendors = d.Strs()
	m.Leaves = decodeList(d, 8, (*LeafRange).decode)
	m.Features = decodeList(d, 40, (*Feature).decode)
	m.Checks = decodeList(d, 8, (*Check).decode)
	return m
}

// encodeList appends a list: the count of xs, then each item as encode
// writes it. Every list of structs in a message goes through it, so that
// each struct's encoding is written once, in its encode method.
func encodeList[T any](e *Encoder, xs []T, encode func(*T, *Encoder)) {
	e.U32(uint32(len(xs)))
	for i := range xs {
		encode(&xs[i], e)
	}
}

// decodeList reads a list that encodeList wrote, each item at least min
// bytes on the wire (see Count); nil for an empty list or an error.
func decodeList[T any](d *Decoder, min int, decode func(*T, *Decoder)) []T {
	n := d.Count(min)
	if n == 0 {
		return nil
	}
	xs := make([]T, n)
	for i := range xs {
		decode(&xs[i], d)
	}
	return xs
}

// Model, Version and Prop mirror sdk.Model, sdk.Version and sdk.Prop
// field for field (names and types), which the SDK documents:
// the SDK imports this package, so this package cannot use its types,
// and TestModelSchemaInStep holds the two in step. The ints travel as
// u32s.

// Prop is one property a model version sets, as QEMU's PropValue:
// a feature name with "on" or "off", or a property such as "model-id".
type Prop struct {
	Name, Value string
}

// Version is one version of a model, as QEMU's X86CPUVersionDefinition.
type Version struct {
	Version int
	Alias   string
	Note    string
	Props   []Prop
}

// Model is one model definition, as QEMU's X86CPUDefinition.
type Model struct {
	Name                    string
	Vendor                  string
	Family, Model, Stepping int
	Level, XLevel, XLevel2  uint32
	ModelID                 string
	Note                    string
	Features                []string
	Versions                []Version
}

func (p *Prop) encode(e *Encoder) {
	e.Str(p.Name)
	e.Str(p.Value)
}

func (p *Prop) decode(d *Decoder) {
	p.Name = d.Str()
	p.Value = d.Str()
}

func (v *Version) encode(e *Encoder) {
	e.U32(uint32(v.Version))
	e.Str(v.Alias)
	e.Str(v.Note)
	encodeList(e, v.Props, (*Prop).encode)
}

func (v *Version) decode(d *Decoder) {
	v.Version = int(d.U32())
	v.Alias = d.Str()
	v.Note = d.Str()
	v.Props = decodeList(d, 8, (*Prop).decode)
}

func (m *Model) encode(e *Encoder) {
	e.Str(m.Name)
	e.Str(m.Vendor)
	e.U32(uint32(m.Family))
	e.U32(uint32(m.Model))
	e.U32(uint32(m.Stepping))
	e.U32(m.Level)
	e.U32(m.XLevel)
	e.U32(m.XLevel2)
	e.Str(m.ModelID)
	e.Str(m.Note)
	e.Strs(m.Features)
	encodeList(e, m.Versions, (*Version).encode)
}

func (m *Model) decode(d *Decoder) {
	m.Name = d.Str()
	m.Vendor = d.Str()
	m.Family = int(d.U32())
	m.Model = int(d.U32())
	m.Stepping = int(d.U32())
	m.Level = d.U32()
	m.XLevel = d.U32()
	m.XLevel2 = d.U32()
	m.ModelID = d.Str()
	m.Note = d.Str()
	m.Features = d.Strs()
	m.Versions = decodeList(d, 16, (*Version).decode)
}

// EncodeModels appends a model list, models' result.
func EncodeModels(e *Encoder, ms []Model) { encodeList(e, ms, (*Model).encode) }

// DecodeModels reads a model list; nil if it is malformed.
func DecodeModels(d *Decoder) []Model {
	ms := decodeList(d, 48, (*Model).decode)
	if d.Err() != nil {
		return nil
	}
	return ms
}

// EncodeCheckRequest appends check's request: the check's name and its
// input (a JSON document).
func EncodeCheckRequest(e *Encoder, name string, input []byte) {
	e.Str(name)
	e.Bytes(input)
}
