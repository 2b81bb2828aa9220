package starlib

import (
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Module cpupolicy is the Starlark library of CPU feature policies. Its
// members are also predeclared globals of every script.
//
//	features(*names) - Returns the feature_set of the named features
//	                   (canonical names or any alias: "sse4_1", "pni").
//	                   An unknown name is an error that suggests the nearest.
//
//	config(cpu, machine=None, accel="kvm", catalog=None) - Returns the config
//	                   of a -cpu spec ("Haswell-v4,+pcid,-hle", or a model)
//	                   on a machine type (default: the newest pc-q35) under
//	                   an accelerator, resolved with the catalog being
//	                   checked (or the one given).
//
//	runnable(config, host, machine=None, accel=None) - Returns (ok, missing):
//	                   whether the config (or model, or -cpu spec string)
//	                   runs on host, and the feature_set host lacks, judged
//	                   with the rules of the catalog's QEMU release.
//	                   machine and accel apply to a model or string (default
//	                   the newest pc-q35, kvm); a config has its own.
//
//	why(config, host, machine=None, accel=None) - Returns a dict from each
//	                   missing feature (canonical order) to the layer that
//	                   lacks it: "hw" (the CPU), "os" (the host kernel),
//	                   "kvm", "tcg", or "qemu" (the release does not know it).
//
//	verdict(config, hosts) - Returns the verdict on a config over a list of
//	                   hosts (a pool), the one every command gives
//	                   (site.Judge): a struct with runnable (on every
//	                   host), migration_safe (the guest can live-migrate
//	                   between every two of them: its model can migrate at
//	                   all, and every host gives it the same features and
//	                   vendor), model_migration_safe (the catalog does not
//	                   mark the model not migration-safe) and hosts, one
//	                   struct per host: host, runnable, missing
//	                   (feature_set), layers (as why) and vendor (the CPUID
//	                   vendor the guest sees there).
//
//	export(platform, hosts, pool="pool", machine=None, catalog=None) -
//	                   Returns the configuration platform ("nova",
//	                   "proxmox", "libvirt" or "kubevirt") reads for a pool
//	                   of hosts on a machine type (default: the newest
//	                   pc-q35) under kvm, as `cpupolicy export` writes it:
//	                   a struct with platform, pool, text (the file),
//	                   best_model, reasons (tuple of strings) and data
//	                   (the export's JSON form, decoded). nova, libvirt and
//	                   kubevirt need libvirt's CPU map, which the caller
//	                   grants (Options.LibvirtMap).
//
//	abi_level(features) - Returns the x86-64 psABI micro-architecture
//	                   level (0 … 4: x86-64-v1 … v4, 0 for not even v1) the
//	                   feature_set reaches (core/psabi). host.abi_level()
//	                   and model.abi_level() give a host's and a model's.
//
//	abi_level_features(level) - Returns the feature_set level (0 … 4)
//	                   needs: its features and those of the levels below.
//
//	struct(**fields) - Returns an immutable struct (starlarkstruct.Make).
//
//	plugins.call(name, input) - Runs the check name ("<plugin>.<check>",
//	                   e.g. "zhaoxin.padlock") of a vendor plugin loaded
//	                   with --plugin, on input (any value json.encode
//	                   takes; a feature_set is its list of names), and
//	                   returns its result decoded from JSON. A failing
//	                   plugin is an error naming its file; the check runs
//	                   under the plugin's own deadline and the script's.
//	plugins.checks() - Returns the sorted names plugins.call accepts.
//
// The values are documented on their Go types: FeatureSet
// ("feature_set"), Host ("host"), Catalog ("catalog"), Model ("model"),
// MachineType ("machine_type"), Resolution ("resolution"), Config
// ("config") and Context ("context", a policy's ctx).
var Module = &starlarkstruct.Module{
	Name: "cpupolicy",
	Members: starlark.StringDict{
		"features":           starlark.NewBuiltin("features", makeFeatures),
		"config":             starlark.NewBuiltin("config", makeConfig),
		"runnable":           starlark.NewBuiltin("runnable", runnable),
		"why":                starlark.NewBuiltin("why", why),
		"verdict":            starlark.NewBuiltin("verdict", verdictBuiltin),
		"export":             starlark.NewBuiltin("export", exportBuiltin),
		"abi_level":          starlark.NewBuiltin("abi_level", abiLevel),
		"abi_level_features": starlark.NewBuiltin("abi_level_features", abiLevelFeatures),
		"struct":             starlark.NewBuiltin("struct", starlarkstruct.Make),
		"plugins":            pluginsModule,
	},
}
