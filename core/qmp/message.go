package qmp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// kind says what a QMP message is.
type kind int

const (
	kindGreeting kind = iota + 1 // {"QMP": {…}}
	kindEvent                    // {"event": …}
	kindReply                    // {"return": …} or {"error": …}
)

// message is one decoded line of QMP output.
type message struct {
	kind     kind
	greeting *Greeting
	event    string
	hasID    bool
	id       uint64 // the id we sent; this client sends only integers
	ret      json.RawMessage
	err      *Error
}

// decodeMessage decodes one line of QMP output. It accepts exactly the
// shapes QEMU writes: an object with one of "QMP", "event", "return" or
// "error" (replies may carry an "id"); anything else is an error, since a
// client that guesses at malformed replies would attribute them to the
// wrong command.
func decodeMessage(line []byte) (message, error) {
	// A struct, not a map: replies run to megabytes per import and the
	// map's allocations showed in profiles. A missing member stays nil;
	// null is kept as "null" (RawMessage is an Unmarshaler, which sees
	// nulls).
	var raw struct {
		QMP    json.RawMessage `json:"QMP"`
		Event  json.RawMessage `json:"event"`
		Return json.RawMessage `json:"return"`
		Error  json.RawMessage `json:"error"`
		ID     json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return message{}, errors.New("not a JSON object")
		}
		return message{}, err
	}
	var m message
	n := 0
	if raw.QMP != nil {
		n++
		m.kind = kindGreeting
		m.greeting = new(Greeting)
		if err := strictObject(raw.QMP, m.greeting); err != nil {
			return message{}, fmt.Errorf("greeting: %v", err)
		}
	}
	if raw.Event != nil {
		n++
		m.kind = kindEvent
		if err := json.Unmarshal(raw.Event, &m.event); err != nil || string(raw.Event) == "null" {
			return message{}, errors.New(`"event" is not a string`)
		}
	}
	if raw.Return != nil {
		n++
		m.kind = kindReply
		m.ret = raw.Return
	}
	if raw.Error != nil {
		n++
		m.kind = kindReply
		var qe Error
		if err := strictObject(raw.Error, &qe); err != nil {
			return message{}, fmt.Errorf(`"error": %v`, err)
		}
		if qe.Class == "" && qe.Desc == "" {
			return message{}, errors.New(`"error" without class or desc`)
		}
		m.err = &qe
	}
	switch n {
	case 0:
		return message{}, errors.New(`none of "QMP", "event", "return" or "error"`)
	case 1:
	default:
		return message{}, errors.New(`more than one of "QMP", "event", "return" and "error"`)
	}
	if raw.ID != nil {
		id := raw.ID
		if m.kind != kindReply {
			return message{}, errors.New(`"id" outside a reply`)
		}
		v, err := strconv.ParseUint(string(bytes.TrimSpace(id)), 10, 64)
		if err != nil {
			return message{}, fmt.Errorf("id %s is not one this client sent", quoteShort(id))
		}
		m.hasID, m.id = true, v
	}
	return m, nil
}

// strictObject decodes a JSON object into v, which must be a pointer to a
// struct; null and other JSON types are errors (json.Unmarshal would
// leave v untouched for null).
func strictObject(data json.RawMessage, v any) error {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(d, v); err != nil {
		return errors.New(oneLine(err.Error()))
	}
	return nil
}
