package starlib

import (
	"context"
	"fmt"
	"strings"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Plugins are the checks of vendor plugins that scripts call through
// plugins.call. starlib does not run WebAssembly itself (it does not
// import wazero): the cpupolicy command passes an adapter over the
// plugins it loaded, and tests can pass a Go fake.
type Plugins interface {
	// Checks returns the names Call accepts, "<plugin>.<check>", sorted.
	Checks() []string
	// Call runs check name on input, a JSON document, and returns its
	// result, a JSON document. ctx ends with the script's deadline.
	Call(ctx context.Context, name string, input []byte) ([]byte, error)
}

var pluginsModule = &starlarkstruct.Module{
	Name: "plugins",
	Members: starlark.StringDict{
		"call":   starlark.NewBuiltin("plugins.call", pluginsCall),
		"checks": starlark.NewBuiltin("plugins.checks", pluginsChecks),
	},
}

func pluginsChecks(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var out []starlark.Value
	if r.plugins != nil {
		for _, n := range r.plugins.Checks() {
			out = append(out, starlark.String(n))
		}
	}
	return starlark.NewList(out), nil
}

func pluginsCall(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var input starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &name, &input); err != nil {
		return nil, err
	}
	r, err := state(thread, b.Name())
	if err != nil {
		return nil, err
	}
	if r.plugins == nil {
		return nil, fmt.Errorf("%s: no plugin is loaded (load one with --plugin FILE.wasm)", b.Name())
	}
	if !hasCheck(r.plugins.Checks(), name) {
		msg := "none is loaded"
		if cs := r.plugins.Checks(); len(cs) > 0 {
			msg = "have " + strings.Join(cs, ", ")
		}
		return nil, fmt.Errorf("%s: no check %q (%s)", b.Name(), name, msg)
	}
	if fs, ok := input.(FeatureSet); ok {
		names := make([]starlark.Value, 0, fs.Len())
		for _, n := range fs.Names() {
			names = append(names, starlark.String(n))
		}
		input = starlark.NewList(names)
	}
	enc, err := starlark.Call(thread, starjson.Module.Members["encode"], starlark.Tuple{input}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: input: %v", b.Name(), err)
	}
	in := string(enc.(starlark.String))
	if err := r.checkLen(b.Name(), "input of length", len(in)); err != nil {
		return nil, err
	}
	out, err := r.plugins.Call(r.ctx, name, []byte(in))
	if err != nil {
		if ierr := r.interrupted(); ierr != nil {
			return nil, ierr
		}
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	if err := r.checkLen(b.Name(), "result of length", len(out)); err != nil {
		return nil, err
	}
	v, err := starlark.Call(thread, starjson.Module.Members["decode"], starlark.Tuple{starlark.String(out)}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: result of %s is not JSON: %v", b.Name(), name, err)
	}
	return v, nil
}

func hasCheck(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
