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

func (f *Feature) code(c coder) {
	c.str(&f.Name)
	c.u8(&f.Kind)
	c.u32(&f.Leaf)
	c.u32(&f.Subleaf)
	c.u8(&f.Reg)
	c.u32(&f.MSR)
	c.u8(&f.Bit)
	c.str(&f.Linux)
	c.str(&f.Libvirt)
	c.strs(&f.Aliases)
	c.str(&f.Description)
}

func (r *LeafRange) code(c coder) {
	c.u32(&r.First)
	c.u32(&r.Last)
}

// Check names a check a plugin provides.
type Check struct {
	Name, Description string
}

func (k *Check) code(c coder) {
	c.str(&k.Name)
	c.str(&k.Description)
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

// code runs what follows the ABI version.
func (m *Manifest) code(c coder) {
	c.str(&m.Name)
	c.str(&m.Version)
	c.str(&m.Description)
	c.strs(&m.Vendors)
	list(c, &m.Leaves, 8, (*LeafRange).code)
	list(c, &m.Features, 40, (*Feature).code)
	list(c, &m.Checks, 8, (*Check).code)
}

// EncodeManifest appends m.
func EncodeManifest(e *Encoder, m *Manifest) {
	e.U32(m.ABI)
	m.code(e)
}

// DecodeManifest reads a manifest. It stops after the ABI version if that
// is not ABI, so that a newer plugin's manifest is reported as the wrong
// version rather than as garbage.
func DecodeManifest(d *Decoder) *Manifest {
	m := &Manifest{ABI: d.U32()}
	if d.Err() != nil || m.ABI != ABI {
		return m
	}
	m.code(d)
	return m
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

func (p *Prop) code(c coder) {
	c.str(&p.Name)
	c.str(&p.Value)
}

func (v *Version) code(c coder) {
	c.int(&v.Version)
	c.str(&v.Alias)
	c.str(&v.Note)
	list(c, &v.Props, 8, (*Prop).code)
}

func (m *Model) code(c coder) {
	c.str(&m.Name)
	c.str(&m.Vendor)
	c.int(&m.Family)
	c.int(&m.Model)
	c.int(&m.Stepping)
	c.u32(&m.Level)
	c.u32(&m.XLevel)
	c.u32(&m.XLevel2)
	c.str(&m.ModelID)
	c.str(&m.Note)
	c.strs(&m.Features)
	list(c, &m.Versions, 16, (*Version).code)
}

// EncodeModels appends a model list, models' result.
func EncodeModels(e *Encoder, ms []Model) { list(e, &ms, 48, (*Model).code) }

// DecodeModels reads a model list; nil if it is malformed.
func DecodeModels(d *Decoder) []Model {
	var ms []Model
	list(d, &ms, 48, (*Model).code)
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

// coder is an Encoder or a Decoder. Each struct of a message states its
// layout once, in its code method, which runs the fields in wire order
// through a coder: an Encoder appends each field, a Decoder sets it. So
// the encoding and the decoding of a message cannot disagree.
type coder interface {
	u8(*uint8)
	u32(*uint32)
	int(*int) // as a u32
	str(*string)
	strs(*[]string)
}

func (e *Encoder) u8(v *uint8)      { e.U8(*v) }
func (e *Encoder) u32(v *uint32)    { e.U32(*v) }
func (e *Encoder) int(v *int)       { e.U32(uint32(*v)) }
func (e *Encoder) str(v *string)    { e.Str(*v) }
func (e *Encoder) strs(v *[]string) { e.Strs(*v) }

func (d *Decoder) u8(v *uint8)      { *v = d.U8() }
func (d *Decoder) u32(v *uint32)    { *v = d.U32() }
func (d *Decoder) int(v *int)       { *v = int(d.U32()) }
func (d *Decoder) str(v *string)    { *v = d.Str() }
func (d *Decoder) strs(v *[]string) { *v = d.Strs() }

// list runs a list: a u32 count, then each item's layout. Decoding, min
// is the least size of an item on the wire (see Count), and an empty list
// is nil.
func list[T any](c coder, xs *[]T, min int, code func(*T, coder)) {
	switch c := c.(type) {
	case *Encoder:
		c.U32(uint32(len(*xs)))
	case *Decoder:
		*xs = nil
		if n := c.Count(min); n > 0 {
			*xs = make([]T, n)
		}
	}
	for i := range *xs {
		code(&(*xs)[i], c)
	}
}
