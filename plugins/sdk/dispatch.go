package sdk

import "github.com/cpupolicy/cpupolicy/plugins/internal/wire"

// The registered plugin and the buffers the exports share. A guest
// instance is single-threaded and the host never calls into one instance
// from two goroutines, so nothing here is locked.
var (
	registered *Plugin
	// in is the request buffer alloc hands out; it stays valid (and the
	// host may reuse it) until the next alloc.
	in []byte
	// out holds the last reply, valid until the next call.
	out []byte
	// Cached replies: the manifest and the models never change.
	describeReply, modelsReply []byte
	// leaves is decode's scratch list.
	leaves []Leaf
)

// Register makes p the plugin this module exports. Call it once, from an
// init function of the main package (the ABI's describe is called right
// after the module's initialisation). Register panics on a second call or
// an obviously invalid plugin, which the host reports as a failure to
// start, with the message.
func Register(p *Plugin) {
	if registered != nil {
		panic("sdk: Register called twice")
	}
	if msg := p.validate(); msg != "" {
		panic("sdk: plugin " + p.Name + ": " + msg)
	}
	registered = p
}

// validate returns what is wrong with p, or "".
func (p *Plugin) validate() string {
	if p.Name == "" {
		return "no Name"
	}
	for i := range p.Features {
		f := &p.Features[i]
		switch {
		case f.Name == "":
			return "a feature has no name"
		case f.MSR == 0 && f.Bit > 31:
			return "feature " + f.Name + ": bit " + wire.Itoa(int(f.Bit)) + " of a 32-bit CPUID register"
		case f.MSR == 0 && f.Reg > EDX:
			return "feature " + f.Name + ": no such register"
		case f.MSR != 0 && f.Bit > 63:
			return "feature " + f.Name + ": bit " + wire.Itoa(int(f.Bit)) + " of a 64-bit MSR"
		}
	}
	for _, c := range p.Checks {
		if c.Name == "" || c.Run == nil {
			return "a check needs a Name and a Run function"
		}
	}
	return ""
}

// enc builds replies in out's storage.
var enc wire.Encoder

// begin starts a reply with status: the length (patched by end) and the
// status byte.
func begin(status uint8) *wire.Encoder {
	enc.B = append(out[:0], 0, 0, 0, 0, status)
	return &enc
}

// end frames the reply begin started, keeps it in out and returns it.
func end() []byte {
	n := uint32(len(enc.B) - 4)
	enc.B[0], enc.B[1], enc.B[2], enc.B[3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	out = enc.B
	return out
}

func replyError(status uint8, msg string) []byte {
	begin(status).Str(msg)
	return end()
}

// guard turns a panic in a handler into a StatusPanic reply.
func guard(res *[]byte) {
	if r := recover(); r != nil {
		var msg string
		switch v := r.(type) {
		case error:
			msg = v.Error()
		case string:
			msg = v
		default:
			msg = "non-string panic value"
		}
		*res = replyError(wire.StatusPanic, msg)
	}
}

func noPlugin() []byte {
	return replyError(wire.StatusError, "no plugin registered: call sdk.Register from an init function")
}

// handleDescribe is describe's body.
func handleDescribe() []byte {
	return cached(&describeReply, func(e *wire.Encoder) { wire.EncodeManifest(e, registered.manifest()) })
}

// handleModels is models' body.
func handleModels() []byte {
	return cached(&modelsReply, func(e *wire.Encoder) { wire.EncodeModels(e, registered.models()) })
}

// cached returns *reply, a reply that never changes, building it with
// encode on the first call.
func cached(reply *[]byte, encode func(*wire.Encoder)) (res []byte) {
	defer guard(&res)
	if registered == nil {
		return noPlugin()
	}
	if *reply == nil {
		encode(begin(wire.StatusOK))
		*reply = append([]byte(nil), end()...)
	}
	return *reply
}

// handleDecode is decode's body; req is the request payload.
func handleDecode(req []byte) (res []byte) {
	defer guard(&res)
	if registered == nil {
		return noPlugin()
	}
	var d wire.Decoder
	d.Reset(req)
	ws := decodeLeaves(&d)
	if err := d.End(); err != nil {
		return replyError(wire.StatusError, "decode request: "+err.Error())
	}
	names, err := registered.decode(CPUID{ws})
	if err != nil {
		return replyError(wire.StatusError, err.Error())
	}
	begin(wire.StatusOK).Strs(names)
	return end()
}

// decodeLeaves reads the leaf list into the shared scratch slice. It
// checks the length once and then reads the fixed-size records directly:
// in Go's WebAssembly code every function call costs tens of
// nanoseconds, and this is the hot path of every decode.
func decodeLeaves(d *wire.Decoder) []Leaf {
	n := d.Count(wire.LeafSize)
	b := d.Next(n * wire.LeafSize)
	leaves = leaves[:0]
	for len(b) >= wire.LeafSize {
		leaves = append(leaves, Leaf{le32(b[0:]), le32(b[4:]), le32(b[8:]), le32(b[12:]), le32(b[16:]), le32(b[20:])})
		b = b[wire.LeafSize:]
	}
	return leaves
}

func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// handleCheck is check's body; req is the request payload.
func handleCheck(req []byte) (res []byte) {
	defer guard(&res)
	if registered == nil {
		return noPlugin()
	}
	d := wire.NewDecoder(req)
	name := d.Str()
	input := d.Bytes()
	if err := d.End(); err != nil {
		return replyError(wire.StatusError, "check request: "+err.Error())
	}
	for _, c := range registered.Checks {
		if c.Name == name {
			result, err := c.Run(input)
			if err != nil {
				return replyError(wire.StatusError, err.Error())
			}
			begin(wire.StatusOK).Bytes(result)
			return end()
		}
	}
	return replyError(wire.StatusError, "no check named "+quote(name))
}

func quote(s string) string { return "\"" + s + "\"" }

// request returns the payload of the framed request in buf (the alloc
// buffer), or false if the frame does not fit in it.
func request(buf []byte) ([]byte, bool) {
	if len(buf) < 4 {
		return nil, false
	}
	n := uint64(buf[0]) | uint64(buf[1])<<8 | uint64(buf[2])<<16 | uint64(buf[3])<<24
	if n > uint64(len(buf)-4) {
		return nil, false
	}
	return buf[4 : 4+n], true
}

// allocate returns a request buffer of at least size bytes, reusing the
// last one when it is large enough.
func allocate(size uint32) []byte {
	if size == 0 {
		size = 1
	}
	if uint64(cap(in)) < uint64(size) {
		in = make([]byte, size)
	}
	in = in[:cap(in)]
	return in
}
