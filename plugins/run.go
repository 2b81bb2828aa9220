package plugins

import (
	"context"
	"encoding/json"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// RunModels is `plugin run FILE models`: the models p defines, built as
// QEMU builds them, as JSON values and one summary line each.
func (p *Plugin) RunModels(ctx context.Context, reg *feature.Registry) ([]DefinitionJSON, []string, error) {
	ds, err := p.ExpandModels(ctx, reg)
	if err != nil {
		return nil, nil, err
	}
	defs, text := []DefinitionJSON{}, []string{}
	for _, d := range ds {
		defs = append(defs, DefinitionJSONOf(&d, reg))
		text = append(text, DefinitionSummary(&d))
	}
	return defs, text, nil
}

// RunDecode is `plugin run FILE decode` and `check NAME` on the raw
// CPUID of snapshot s (read from file; "" for this machine): decode's
// feature names, or check's JSON reply, as a JSON value and text lines.
// A check is given input, or the host's hw feature names when input is
// nil.
func (p *Plugin) RunDecode(ctx context.Context, reg *feature.Registry, file string, s *host.HostSnapshot, check string, input []byte) (any, []string, error) {
	leaves, hw, err := p.DecodeHost(ctx, reg, file, s)
	if err != nil {
		return nil, nil, err
	}
	if check == "" {
		names, err := p.Decode(ctx, leaves)
		if names == nil {
			names = []string{} // [] in JSON, not null
		}
		return names, names, err
	}
	if input == nil {
		if hw == nil {
			hw = []string{}
		}
		input, _ = json.Marshal(hw)
	}
	res, err := p.Check(ctx, check, input)
	return json.RawMessage(res), []string{string(res)}, err
}
