package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/plugins"
)

func runPlugin(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("plugin", "want a subcommand: inspect or run")
	}
	switch args[0] {
	case "inspect":
		return runPluginInspect(e, args[1:])
	case "run":
		return runPluginRun(e, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, helpText("plugin"))
		return nil
	}
	return usagef("plugin", "unknown subcommand %q (want inspect or run)", args[0])
}

func runPluginInspect(e *env, args []string) error {
	fs := newFlags("plugin")
	format := addFormatFlag(fs, "text", "json")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	var files []string
	if e.plugins != nil {
		files = append(files, e.plugins.Paths...)
	}
	files = append(files, fs.Args()...)
	if len(files) == 0 {
		return usagef("plugin", "inspect: want one or more plugin FILEs")
	}
	ps, loadErr := plugins.LoadAll(context.Background(), files, e.pluginConfig())
	var out []plugins.Inspection
	for _, p := range ps {
		if p != nil {
			defer p.Close(context.Background())
			// Inspecting vouches for the module: a sealed one is started
			// and compared with its declaration.
			if err := p.Start(context.Background()); err != nil {
				loadErr = errors.Join(loadErr, err)
				continue
			}
			out = append(out, p.Inspect())
		}
	}
	// The plugins that loaded are shown before the error of one that
	// did not.
	err := writeFormat(e, "plugin", "", format.Value, out, func(b *bytes.Buffer) {
		for i, in := range out {
			if i > 0 {
				b.WriteByte('\n')
			}
			in.WriteText(b)
		}
	})
	if err != nil {
		return err
	}
	return loadErr
}

func runPluginRun(e *env, args []string) error {
	fs := newFlags("plugin")
	format := addFormatFlag(fs, "text", "json")
	hostFile := fs.String("host", "", "decode the CPUID of the recorded snapshot `FILE` instead of this host's")
	input := fs.String("input", "", "the check's JSON `input` (@FILE reads a file; default: the host's hw feature names)")
	if err := parseArgs(e, fs, args); err != nil {
		return err
	}
	a := fs.Args()
	switch {
	case len(a) < 2:
		return usagef("plugin", "run: want FILE decode|models|check NAME")
	case a[1] == "check" && len(a) != 3:
		return usagef("plugin", "run: check wants the check's NAME")
	case a[1] != "check" && len(a) != 2:
		return usagef("plugin", "run: unexpected argument %q", a[2])
	case a[1] != "check" && a[1] != "decode" && a[1] != "models":
		return usagef("plugin", "run: unknown export %q (want decode, models or check)", a[1])
	}
	ctx := context.Background()
	p, err := plugins.Load(ctx, a[0], e.pluginConfig())
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	reg, err := plugins.Registry(feature.Builtin(), []*plugins.Plugin{p})
	if err != nil {
		return err
	}
	var out any
	var text []string
	if a[1] == "models" {
		out, text, err = p.RunModels(ctx, reg)
	} else {
		out, text, err = pluginDecode(ctx, e, p, reg, *hostFile, a[1:], *input)
	}
	if err != nil {
		return err
	}
	return writeFormat(e, "plugin", "", format.Value, out, func(b *bytes.Buffer) {
		for _, l := range text {
			fmt.Fprintln(b, l)
		}
	})
}

// pluginDecode reads what `plugin run FILE decode|check NAME` decodes:
// the raw CPUID of --host FILE or this machine, and the check's --input.
func pluginDecode(ctx context.Context, e *env, p *plugins.Plugin, reg *feature.Registry, file string, op []string, input string) (any, []string, error) {
	var s *host.HostSnapshot
	var err error
	if file != "" {
		s, err = host.ReadFile(file, reg)
	} else {
		s, err = host.Probe(host.Live(host.LiveConfig{}), reg, e.now())
	}
	if err != nil {
		return nil, nil, err
	}
	var check string
	var in []byte
	if op[0] == "check" {
		check = op[1]
		if in = []byte(input); strings.HasPrefix(input, "@") {
			if in, err = os.ReadFile(input[1:]); err != nil {
				return nil, nil, err
			}
		} else if input == "" {
			in = nil
		}
	}
	return p.RunDecode(ctx, reg, file, s, check, in)
}
