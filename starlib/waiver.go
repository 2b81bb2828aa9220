package starlib

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/site"
)

// LoadWaiversFile reads the waivers of path: JSON when it ends in
// ".json", else Starlark (see WaiverBuiltin), run in the sandbox of opts.
func LoadWaiversFile(path string, opts Options) ([]site.Waiver, error) {
	if strings.HasSuffix(path, ".json") {
		return site.ReadWaiversFile(path, opts.registry())
	}
	var ws []site.Waiver
	opts.Predeclared = addGlobal(opts.Predeclared, "waiver", WaiverBuiltin(&ws, opts.registry()))
	if _, err := LoadScriptFile(path, opts); err != nil {
		return nil, err
	}
	return ws, nil
}

// addGlobal returns d plus name = v, without changing d.
func addGlobal(d starlark.StringDict, name string, v starlark.Value) starlark.StringDict {
	out := make(starlark.StringDict, len(d)+1)
	for k, x := range d {
		out[k] = x
	}
	out[name] = v
	return out
}

// WaiverBuiltin returns the builtin a Starlark waivers file calls, once
// per waiver; each call appends to *ws:
//
//	waiver(policy, model, machine, features, reason, expires=None)
//
// model and machine are names or "*", features a list of names or a
// feature_set, expires a "YYYY-MM-DD" string.
func WaiverBuiltin(ws *[]site.Waiver, reg *feature.Registry) *starlark.Builtin {
	return starlark.NewBuiltin("waiver", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		r, err := state(thread, b.Name())
		if err != nil {
			return nil, err
		}
		var policy, model, machine, reason string
		var feats starlark.Value
		var expires starlark.Value = starlark.None
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "policy", &policy, "model", &model, "machine", &machine,
			"features", &feats, "reason", &reason, "expires?", &expires); err != nil {
			return nil, err
		}
		set, err := unpackFeatures(r, b.Name(), "features", reg, feats)
		if err != nil {
			return nil, err
		}
		exp := ""
		switch e := expires.(type) {
		case starlark.NoneType:
		case starlark.String:
			exp = string(e)
		default:
			return nil, fmt.Errorf("%s: expires: got %s, want string or None", b.Name(), expires.Type())
		}
		w, err := site.MakeWaiver(reg, policy, model, machine, reg.Names(set), reason, exp)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		if len(*ws) >= r.maxViolations {
			return nil, fmt.Errorf("%s: more than %d waivers: %w", b.Name(), r.maxViolations, ErrLimit)
		}
		w.Source = builtinCallerPos(thread)
		*ws = append(*ws, w)
		return starlark.None, nil
	})
}
