package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cpupolicy/cpupolicy/plugins/internal/wasmfile"
	"github.com/cpupolicy/cpupolicy/plugins/internal/wire"
)

// This file is the plugin's declaration: what describe and models answer,
// written once into a custom section of the .wasm by Seal (the post-link
// step of a plugin's build), so that the host learns a plugin's names and
// models by reading a few kilobytes instead of compiling and starting a
// 2 MB module (plugins/RATIONALE.md, "Why is a plugin's declaration
// written after linking?").

// DeclarationSection is the name of the custom section that holds a
// plugin's declaration. Seal writes it as the module's first section, so
// that Load reads it from the head of the file.
const DeclarationSection = "cpupolicy.declaration"

// ErrDeclaration: the module's declaration section is malformed, or
// disagrees with what its code answers (describe or models), or with its
// code (the module was changed after it was sealed).
var ErrDeclaration = errors.New("declaration disagrees with the module")

// declarationVersion is the layout of the section's content:
//
//	u32 version (1), u32 size, bytes sha256 (the size and SHA-256 of the
//	module without its declaration section), bytes manifest (describe's
//	OK payload), bytes models (models' OK payload)
//
// The size lets Load tell a truncated module without reading it.
const declarationVersion = 1

// declaration is a decoded declaration section.
type declaration struct {
	size             uint32
	hash             [sha256.Size]byte
	manifest, models []byte
}

func (d *declaration) encode() []byte {
	var e wire.Encoder
	e.U32(declarationVersion)
	e.U32(d.size)
	e.Bytes(d.hash[:])
	e.Bytes(d.manifest)
	e.Bytes(d.models)
	return e.B
}

func decodeDeclaration(b []byte) (*declaration, error) {
	d := wire.NewDecoder(b)
	if v := d.U32(); d.Err() == nil && v != declarationVersion {
		return nil, fmt.Errorf("declaration version %d, want %d", v, declarationVersion)
	}
	var decl declaration
	decl.size = d.U32()
	hash := d.Bytes()
	decl.manifest = d.Bytes()
	decl.models = d.Bytes()
	if err := d.End(); err != nil {
		return nil, err
	}
	if len(hash) != sha256.Size {
		return nil, fmt.Errorf("module hash of %d bytes, want %d", len(hash), sha256.Size)
	}
	copy(decl.hash[:], hash)
	return &decl, nil
}

// moduleHash is the hash a declaration records and a snapshot names a
// plugin by: SHA-256 of the module without its declaration section, i.e.
// of exactly what the compiler wrote.
func moduleHash(code []byte) [sha256.Size]byte { return sha256.Sum256(code) }

// hashString is how snapshots write a module hash.
func hashString(h [sha256.Size]byte) string { return "sha256:" + hex.EncodeToString(h[:]) }

// withoutDeclaration returns bin without its declaration sections (bin
// itself when it has none).
func withoutDeclaration(bin []byte, wi *wasmfile.Info) []byte {
	out := bin
	cut := 0
	for _, c := range wi.Customs {
		if c.Name != DeclarationSection {
			continue
		}
		if cut == 0 {
			out = append([]byte(nil), bin[:c.Start]...)
		} else {
			out = append(out, bin[cut:c.Start]...)
		}
		cut = c.End
	}
	if cut == 0 {
		return bin
	}
	return append(out, bin[cut:]...)
}

// headSize is how much of a plugin file Load reads first: the header and
// the declaration of a real plugin (2–4 KB) with room to spare.
const headSize = 64 << 10

// readDeclaration reads the declaration section at the head of f (size
// bytes long), if the module's first section is one. It reads only the
// header and that section.
func readDeclaration(f io.ReaderAt, size int64) (*declaration, error) {
	head := make([]byte, min(size, headSize))
	if _, err := f.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if len(head) < 9 || string(head[:8]) != "\x00asm\x01\x00\x00\x00" || head[8] != 0 {
		return nil, nil
	}
	// The first section is a custom one: its size and name.
	off := 9
	secSize, n := uleb32(head[off:])
	if n == 0 {
		return nil, nil
	}
	off += n
	end := int64(off) + int64(secSize)
	if end > size {
		return nil, &moduleError{&wasmfile.Error{Offset: 9, Msg: fmt.Sprintf("section 0 of %d bytes runs past the end of the module: truncated?", secSize)}}
	}
	nameLen, n := uleb32(head[off:])
	if n == 0 || off+n+int(nameLen) > len(head) || string(head[off+n:off+n+int(nameLen)]) != DeclarationSection {
		return nil, nil
	}
	contentStart := off + n + int(nameLen)
	sec := head
	if end > int64(len(head)) {
		sec = make([]byte, end)
		if _, err := f.ReadAt(sec, 0); err != nil {
			return nil, err
		}
	}
	decl, err := decodeDeclaration(sec[contentStart:end])
	if err != nil {
		return nil, fmt.Errorf("section %s: %v", DeclarationSection, err)
	}
	// The code follows the section: the module's header is not repeated.
	if rest, want := size-end, int64(decl.size)-8; rest != want {
		if rest < want {
			return nil, &moduleError{&wasmfile.Error{Offset: int(end), Msg: fmt.Sprintf("the declared module of %d bytes runs past the end of the module (%d bytes left after the declaration): truncated?", want, rest)}}
		}
		return nil, &moduleError{&wasmfile.Error{Offset: int(end), Msg: fmt.Sprintf("%d bytes after the declared module: changed after it was sealed?", rest-want)}}
	}
	return decl, nil
}

// moduleError is a readDeclaration error that is the file's, not the
// declaration's: Load reports it as ErrModule.
type moduleError struct{ err error }

func (e *moduleError) Error() string { return e.err.Error() }

// uleb32 reads an unsigned LEB128 of at most 32 bits from b, returning it
// and its length (0 if b does not start with one).
func uleb32(b []byte) (uint32, int) {
	var v uint32
	for i := 0; i < 5 && i < len(b); i++ {
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

func appendUleb(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// Seal returns the module bin with its declaration written as its first
// section (replacing any it had): the post-link step of a plugin's build
// (`go run github.com/cpupolicy/cpupolicy/plugins/sdk/seal X.wasm`). It
// runs the module once, with cfg, to ask it describe and models, and
// checks both answers as Load would; name names the module in errors.
func Seal(ctx context.Context, name string, bin []byte, cfg Config) ([]byte, error) {
	wi, err := wasmfile.Parse(bin)
	if err != nil {
		return nil, &Error{File: name, Kind: ErrModule, Detail: err.Error()}
	}
	code := withoutDeclaration(bin, wi)
	p, err := load(ctx, name, code, cfg)
	if err != nil {
		return nil, err
	}
	defer p.Close(ctx)
	models, err := p.rawModels(ctx)
	if err != nil {
		return nil, err
	}
	decl := declaration{size: uint32(len(code)), hash: moduleHash(code), manifest: p.rawManifest, models: models}
	content := decl.encode()
	var sec []byte
	sec = appendUleb(sec, uint32(len(DeclarationSection)))
	sec = append(sec, DeclarationSection...)
	sec = append(sec, content...)
	out := make([]byte, 0, len(code)+len(sec)+16)
	out = append(out, code[:8]...)
	out = append(out, 0)
	out = appendUleb(out, uint32(len(sec)))
	out = append(out, sec...)
	return append(out, code[8:]...), nil
}

// SealFile seals the module in the file at path in place (atomically:
// a temporary file renamed over it).
func SealFile(ctx context.Context, path string, cfg Config) error {
	bin, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := Seal(ctx, path, bin, cfg)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".seal-*.wasm")
	if err != nil {
		return err
	}
	_, err = f.Write(out)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// checkAgainstCode compares what the started module answers with its
// declaration: the first time a declared plugin runs, before its answer
// is used.
func (p *Plugin) checkAgainstCode(ctx context.Context) error {
	if !bytes.Equal(p.rawManifest, p.decl.manifest) {
		return &Error{File: p.file, Op: "describe", Kind: ErrDeclaration,
			Detail: "the module's declaration section disagrees with what its describe answers (seal the module again after building it)"}
	}
	models, err := p.rawModels(ctx)
	if err != nil {
		return err
	}
	if !bytes.Equal(models, p.decl.models) {
		return &Error{File: p.file, Op: "models", Kind: ErrDeclaration,
			Detail: "the module's declaration section disagrees with what its models answers (seal the module again after building it)"}
	}
	return nil
}
