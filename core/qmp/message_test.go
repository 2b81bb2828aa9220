package qmp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecodeMessage(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		kind       kind
		id         uint64
		hasID      bool
		err        string // substring of the error; "" for none
	}{
		{"greeting", `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}`, kindGreeting, 0, false, ""},
		{"event", `{"timestamp": {"seconds": 1795672572, "microseconds": 210604}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}`, kindEvent, 0, false, ""},
		{"return", `{"return": {}, "id": 7}`, kindReply, 7, true, ""},
		{"id first", `{"id": 1, "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}`, kindReply, 1, true, ""},
		{"no id", `{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'garbage'"}}`, kindReply, 0, false, ""},
		{"return null", `{"return": null, "id": 2}`, kindReply, 2, true, ""},
		{"garbage", `Hello`, 0, 0, false, "invalid character 'H'"},
		{"array", `[1, 2]`, 0, 0, false, "not a JSON object"},
		{"null", `null`, 0, 0, false, "none of"},
		{"empty object", `{}`, 0, 0, false, "none of"},
		{"two kinds", `{"return": {}, "error": {"class": "x", "desc": "y"}}`, 0, 0, false, "more than one"},
		{"string id", `{"return": {}, "id": "x"}`, 0, 0, false, `id "\"x\"" is not one this client sent`},
		{"negative id", `{"return": {}, "id": -1}`, 0, 0, false, "is not one this client sent"},
		{"id on event", `{"event": "X", "id": 1}`, 0, 0, false, `"id" outside a reply`},
		{"error not object", `{"error": "boom", "id": 1}`, 0, 0, false, "not a JSON object"},
		{"empty error", `{"error": {}, "id": 1}`, 0, 0, false, "without class or desc"},
		{"greeting not object", `{"QMP": 1}`, 0, 0, false, "greeting"},
		{"event not string", `{"event": 1}`, 0, 0, false, "not a string"},
		{"truncated", `{"return": {"model": `, 0, 0, false, "unexpected end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeMessage([]byte(tc.line))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.kind != tc.kind || m.id != tc.id || m.hasID != tc.hasID {
				t.Errorf("got kind %d id %d/%v, want %d %d/%v", m.kind, m.id, m.hasID, tc.kind, tc.id, tc.hasID)
			}
		})
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // beyond bufio's buffer
	br := bufio.NewReaderSize(strings.NewReader("a\n\n"+long+"\nlast"), 16)
	for _, want := range []string{"a", "", long, "last"} {
		got, err := readLine(br)
		if err != nil || string(got) != want {
			t.Fatalf("readLine = %.20q, %v; want %.20q", got, err, want)
		}
	}
	if _, err := readLine(br); err != io.EOF {
		t.Fatalf("at end: %v, want EOF", err)
	}
}

// FuzzDecodeReply feeds arbitrary output through the reply-reading code:
// readLine splits it, decodeMessage classifies each line. Neither may
// panic; every error is one line; what is accepted is one coherent
// message.
func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{
		`{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"}, "capabilities": ["oob"]}}`,
		`{"return": {}, "id": 1}` + "\n" + `{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SHUTDOWN", "data": {"guest": false}}`,
		`{"id": 1, "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}`,
		`{"error": {"class": "GenericError", "desc": "JSON parse error, invalid keyword 'garbage'"}}`,
		`{"return": {"model": {"name": "qemu64", "props": {"sse4.2": false, "level": 13, "vendor": "AuthenticAMD", "lbr-fmt": 18446744073709551552}}}, "id": 18446744073709551615}`,
		`{"return": [{"name": "Skylake-Client", "typename": "Skylake-Client-x86_64-cpu", "alias-of": "Skylake-Client-v1", "static": false}], "id": 3}`,
		"Hello, I am not QMP\n",
		"{\"return\": {}, \"id\": 1}\r\n\n\n",
		`{"return": {}, "id": 1.5}`,
		`{"QMP": null}`,
		`{"return": 1, "return": 2, "id": 01}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for {
			line, err := readLine(br)
			if err != nil {
				if err != io.EOF {
					t.Fatalf("readLine: %v", err)
				}
				return
			}
			if bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("line %q contains a newline", line)
			}
			m, err := decodeMessage(line)
			if err != nil {
				if strings.ContainsAny(err.Error(), "\n") {
					t.Fatalf("error is not one line: %q", err)
				}
				// What the client reports for it must be one line too.
				g := (&Client{stderr: &tail{}}).withStderr(errors.New("bad QMP output " + quoteShort(line) + ": " + err.Error()))
				if strings.ContainsAny(g.Error(), "\n") {
					t.Fatalf("client error is not one line: %q", g)
				}
				continue
			}
			switch m.kind {
			case kindGreeting:
				if m.greeting == nil || m.hasID {
					t.Fatalf("greeting %+v", m)
				}
			case kindEvent:
				if m.hasID || m.ret != nil || m.err != nil {
					t.Fatalf("event %+v", m)
				}
			case kindReply:
				if (m.ret == nil) == (m.err == nil) {
					t.Fatalf("reply with both or neither of return and error: %+v", m)
				}
				if m.ret != nil && !json.Valid(m.ret) {
					t.Fatalf("return %q is not JSON", m.ret)
				}
				if m.err != nil && strings.ContainsAny(m.err.Error(), "\n\r") {
					t.Fatalf("QMP error is not one line: %q", m.err)
				}
			default:
				t.Fatalf("no kind: %+v", m)
			}
		}
	})
}
