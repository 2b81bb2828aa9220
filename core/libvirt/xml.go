// Package libvirt reads the two libvirt XML formats a site already has:
// libvirt's CPU map (the cpu_map directory, [LoadMap] → [Map]), which
// defines libvirt's own x86 CPU models, and a domain's <cpu> element
// ([ParseCPU] → [CPU]), which says what CPU a VM asks for. Feature names
// are libvirt's; both map them to the registry's features by CPUID or MSR
// location (the map) or by the registry's libvirt names (a domain), and
// [Map.Catalog] turns the map into a catalog of libvirt's definitions
// beside QEMU's.
//
// Errors about the input are one line, "FILE:LINE: message" ([Error]).
package libvirt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Pos is a line of a file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Error is a problem with an input file, at a line.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func errorf(p Pos, format string, args ...any) error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// node is an element of a parsed XML document, with the line its start
// tag begins on. Namespaces are ignored: libvirt uses none.
type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  strings.Builder
	pos   Pos
}

func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// maxFile bounds what is read of one file: libvirt's largest map file is
// 30 KiB, a domain XML a few KiB.
const maxFile = 8 << 20

// maxDepth bounds element nesting: libvirt's formats nest a few levels.
const maxDepth = 64

// parseXML parses data into a tree. A syntax error is "file:LINE:
// malformed XML: …".
func parseXML(file string, data []byte) (*node, error) {
	if len(data) > maxFile {
		return nil, errorf(Pos{file, 1}, "file is larger than %d bytes", maxFile)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// Declared encodings other than UTF-8 are not libvirt's; refuse them
	// rather than guess.
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported (want UTF-8)", charset)
	}
	var root *node
	var stack []*node
	line, counted := 1, 0 // line of offset counted
	lineAt := func(off int) int {
		off = min(off, len(data))
		if off > counted {
			line += bytes.Count(data[counted:off], []byte("\n"))
			counted = off
		}
		return line
	}
	for {
		off := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, errorf(Pos{file, se.Line}, "malformed XML: %s", se.Msg)
			}
			return nil, errorf(Pos{file, lineAt(int(d.InputOffset()))}, "malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: t.Attr, pos: Pos{file, lineAt(off)}}
			switch {
			case len(stack) == 0 && root != nil:
				return nil, errorf(n.pos, "malformed XML: a second root element <%s>", n.name)
			case len(stack) == 0:
				root = n
			default:
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			if len(stack) >= maxDepth {
				return nil, errorf(n.pos, "elements nest deeper than %d levels", maxDepth)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errorf(Pos{file, lineAt(off)}, "malformed XML: text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, errorf(Pos{file, lineAt(len(data))}, "malformed XML: no root element")
	}
	return root, nil
}
