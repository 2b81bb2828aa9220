package starlib

import "strings"

// Doc documents one name a script can use: a builtin, a module, a global,
// a value type or one of its attributes. Reference lists them all; it is
// the text of docs/starlark.md (internal/starlarkdoc renders it, running
// each example) and of the REPL's help(), so it is written once, here.
type Doc struct {
	// Kind is "function", "module", "value" (a global that is not
	// callable), "type" (a value type, by its Starlark type name or, for
	// a struct, the name it is made with) or "attribute" (of a type:
	// Name is "type.attr").
	Kind string
	// Name is what scripts write: "features", "plugins.call", "host",
	// "host.vendor"; for a type, its name.
	Name string
	// Where is the kind of file that has the name: "" for every script
	// (policies, site files, waiver files, test files, the REPL), else
	// "repl", "policy", "site file", "waiver file", "test file" or a
	// comma-separated list of those. Attributes and types say nothing:
	// they go where their values go.
	Where string
	// Sig is the call signature of a function or method, else "".
	Sig string
	// Text says what it is, in sentences.
	Text string
	// Example is Starlark that uses it: a few statements, whose print()
	// output the reference shows after them. Examples run in the REPL's
	// setting (with a recorded host and a context; see internal/starlarkdoc)
	// unless Where is a site or waiver file.
	Example string
}

// Reference returns the documentation of every name, in the order the
// reference lists them: builtins, the globals of each kind of file, then
// the value types, each followed by its attributes.
func Reference() []Doc { return reference }

// LookupDoc returns the entry of the given kind and name.
func LookupDoc(kind, name string) (Doc, bool) {
	for _, d := range reference {
		if d.Kind == kind && d.Name == name {
			return d, true
		}
	}
	return Doc{}, false
}

// Summary returns the first sentence of d's text.
func (d Doc) Summary() string {
	s := strings.Join(strings.Fields(d.Text), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

var reference = []Doc{
	// Module: every script.
	{Kind: "function", Name: "features", Sig: "features(*names)",
		Text:    `Returns the feature_set of the named features: canonical names or any alias (the Linux /proc/cpuinfo name, QEMU's legacy spelling, libvirt's). An unknown name is an error that suggests the nearest.`,
		Example: `print(features("sse4_1", "pni", "avx2"))`},
	{Kind: "function", Name: "config", Sig: `config(cpu, machine=None, accel="kvm", catalog=None)`,
		Text: `Returns the config of a -cpu spec ("Haswell-v4,+pcid,-hle", or a model) on a machine type (default: the newest pc-q35) under an accelerator, resolved with the catalog being checked (or the one given).`,
		Example: `cfg = config("Skylake-Client-v4,-hle", machine = "pc-q35-7.2")
print(cfg, len(cfg.resolved))`},
	{Kind: "function", Name: "runnable", Sig: "runnable(config, host, machine=None, accel=None)",
		Text: `Returns (ok, missing): whether the config (or model, or -cpu spec string) runs on host, and the feature_set the host lacks, judged with the rules of the catalog's QEMU release. machine and accel apply to a model or string (default the newest pc-q35, kvm); a config has its own.`,
		Example: `ok, missing = runnable("Icelake-Server", host)
print(ok, missing)`},
	{Kind: "function", Name: "abi_level", Sig: "abi_level(features)",
		Text:    `Returns the x86-64 psABI micro-architecture level (0 … 4: x86-64-v1 … v4, 0 when not even v1) the feature_set reaches.`,
		Example: `print(abi_level(features("lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2")))`},
	{Kind: "function", Name: "abi_level_features", Sig: "abi_level_features(level)",
		Text:    `Returns the feature_set the psABI level (1 … 4) requires, as QEMU names the bits (LZCNT is abm).`,
		Example: `print(abi_level_features(3) - abi_level_features(2))`},
	{Kind: "function", Name: "why", Sig: "why(config, host, machine=None, accel=None)",
		Text:    `Returns a dict from each missing feature (canonical order) to the layer that lacks it: "hw" (the CPU), "os" (the host kernel), "kvm", "tcg", or "qemu" (the release does not know it).`,
		Example: `print(why("Cooperlake", host))`},
	{Kind: "function", Name: "verdict", Sig: "verdict(config, hosts)",
		Text: `Returns the verdict (a struct) on a config over a list of hosts (a pool): the one every command gives. See the verdict type.`,
		Example: `v = verdict(config("Skylake-Client-v4"), [hosts["xeon-gold-6130"], hosts["core-i7-8550u"]])
print(v.runnable, v.migration_safe)`},
	{Kind: "function", Name: "export", Sig: `export(platform, hosts, pool="pool", machine=None, catalog=None)`,
		Text: `Returns the configuration platform ("nova", "proxmox", "libvirt" or "kubevirt") reads for a pool of hosts under kvm, as cpupolicy export writes it: a struct with platform, pool, text (the file), best_model, reasons (tuple of strings) and data (the export's JSON form). nova, libvirt and kubevirt need libvirt's CPU map, which the caller grants.`,
		Example: `e = export("proxmox", [host])
print(e.best_model)`},
	{Kind: "function", Name: "struct", Sig: "struct(**fields)",
		Text: `Returns an immutable struct with the given fields (go.starlark.net's starlarkstruct).`,
		Example: `s = struct(model = "Haswell", count = 3)
print(s.model, s.count)`},
	{Kind: "module", Name: "plugins",
		Text:    `The checks of the vendor plugins loaded with --plugin.`,
		Example: `print(type(plugins.checks))`},
	{Kind: "function", Name: "plugins.call", Sig: "plugins.call(name, input)",
		Text: `Runs the check name ("<plugin>.<check>", e.g. "zhaoxin.padlock") of a loaded vendor plugin on input (any value json.encode takes; a feature_set is its list of names) and returns its result decoded from JSON. A failing plugin is an error naming its file; the check runs under the plugin's own deadline and the script's.`,
		Example: `# Without --plugin there is no check to call:
print(plugins.checks())`},
	{Kind: "function", Name: "plugins.checks", Sig: "plugins.checks()",
		Text:    `Returns the sorted names plugins.call accepts.`,
		Example: `print(plugins.checks())`},

	// The REPL.
	{Kind: "value", Name: "host", Where: "repl",
		Text:    `The host being judged: this machine probed live, or the snapshot of repl --host FILE (None when the live probe fails).`,
		Example: `print(host.name, host.vendor)`},
	{Kind: "value", Name: "catalog", Where: "repl, test file",
		Text:    `The catalog scripts judge with (repl --catalog; in a test file the one tests run with). It is also the default of config() and resolve().`,
		Example: `print(catalog.name)`},
	{Kind: "function", Name: "help", Where: "repl", Sig: "help(x=None)",
		Text:    `Prints the names a script can use, each with its summary; help(x) prints the entry of x (a builtin, a value or its type, or a name as a string: help("host.kvm")) with its attributes, and for a function defined in the session its parameters and docstring.`,
		Example: `help(features)`},
	{Kind: "function", Name: "dir", Where: "repl", Sig: "dir(x=None)",
		Text: `Returns the sorted names of the session's globals; dir(x) returns x's attributes, as Starlark's dir does.`,
		Example: `print(dir()[:4])
print(dir(catalog)[:3])`},

	// Site files.
	{Kind: "function", Name: "offer", Where: "site file, test file", Sig: "offer(name, cpu, machine=None, pool=None, accel=None)",
		Text:    `Declares an offer: a -cpu spec on a machine type (None: the newest pc-q35) under an accelerator (None: kvm), offered on a pool (None: judged on every host). Called once per offer; a wrong model, spec or machine type is reported at the call's line.`,
		Example: `offer("web", cpu = "Skylake-Client-v4,-hle,-rtm", machine = "pc-q35-7.2", pool = "intel")`},
	{Kind: "function", Name: "pool", Where: "site file, test file", Sig: "pool(name, hosts)",
		Text:    `Declares a pool of hosts. In a site file hosts are snapshot files (cpupolicy probe --format json) relative to the site file, each host named by its file name without ".json"; in a test file they are host values.`,
		Example: `pool("intel", ["xeon-gold-6130.json", "core-i7-8550u.json"])`},

	// Waiver files.
	{Kind: "function", Name: "waiver", Where: "waiver file", Sig: "waiver(policy, model, machine, features, reason, expires=None)",
		Text:    `Declares a waiver: the policy's violations on model and machine (names, or "*") for these features (a list of names or a feature_set) are accepted, for the reason given, until expires ("YYYY-MM-DD"; None: never).`,
		Example: `waiver("runnable", "Skylake-Client-v4", "*", ["hle", "rtm"], "TSX is off on every host since 2021", expires = "2030-01-01")`},

	// Test files.
	{Kind: "module", Name: "assert", Where: "test file",
		Text:    `The assertions of test files (*_test.star): a failed assertion fails the test_* function that made it, and the test goes on.`,
		Example: `assert.eq(len(features("sse", "sse2")), 2)`},
	{Kind: "function", Name: "assert.eq", Where: "test file", Sig: "assert.eq(got, want)",
		Text:    `Fails unless got == want ("got X, want Y").`,
		Example: `assert.eq(catalog.name, "qemu-7.2")`},
	{Kind: "function", Name: "assert.ne", Where: "test file", Sig: "assert.ne(got, other)",
		Text:    `Fails when got == other.`,
		Example: `assert.ne(host.vendor, "AuthenticAMD")`},
	{Kind: "function", Name: "assert.true", Where: "test file", Sig: `assert.true(cond, msg="assertion failed")`,
		Text:    `Fails with msg unless cond is true.`,
		Example: `assert.true("avx512f" in host.kvm, "the Xeon's guests get AVX-512")`},
	{Kind: "function", Name: "assert.lt", Where: "test file", Sig: "assert.lt(a, b)",
		Text:    `Fails unless a < b.`,
		Example: `assert.lt(catalog.machine("pc-q35-6.2"), catalog.machine("pc-q35-7.2"))`},
	{Kind: "function", Name: "assert.contains", Where: "test file", Sig: "assert.contains(container, x)",
		Text:    `Fails unless x in container.`,
		Example: `assert.contains(host.kvm, "avx512f")`},
	{Kind: "function", Name: "assert.fails", Where: "test file", Sig: "assert.fails(f, pattern)",
		Text:    `Calls f() and fails unless it fails with an error matching the regular expression pattern.`,
		Example: `assert.fails(lambda: features("avx512"), "did you mean")`},
	{Kind: "function", Name: "assert.fail", Where: "test file", Sig: "assert.fail(msg)",
		Text: `Fails with msg.`,
		Example: `if "pni" not in host.kvm:
    assert.fail("no SSE3 for guests")`},
	{Kind: "value", Name: "catalogs", Where: "test file",
		Text:    `Dict from name to catalog: every catalog at hand (the embedded ones and --catalog).`,
		Example: `print(sorted(catalogs.keys()))`},
	{Kind: "value", Name: "hosts", Where: "test file",
		Text:    `Dict from name to host: the recorded snapshots at hand (the testdata/hosts directory beside the tests, or --hosts), each named by its file name without ".json".`,
		Example: `print(sorted(hosts.keys()))`},
	{Kind: "function", Name: "run_check", Where: "test file", Sig: "run_check(check, offers=[], pools=[], host=None, params={}, catalog=None)",
		Text: `Runs a policy's check function over a site made of offers and pools (from offer() and pool()), on the calling thread (its step budget and deadline), and returns the violations, each a dict shaped as in cpupolicy check --format json.`,
		Example: `def check(ctx):
    for o in ctx.site.offers:
        ctx.violation("%s is offered" % o.name)

vs = run_check(check, offers = [offer("web", "Haswell")])
print([v["message"] for v in vs])`},

	// Value types.
	{Kind: "type", Name: "feature_set",
		Text: `An immutable set of named CPU features. s | t, s & t, s - t, s ^ t: union, intersection, difference, symmetric difference; s <= t, s >= t: subset, superset (s < t, s > t: proper); s == t; "avx2" in s (by canonical name or any alias); len(s), bool(s); for name in s: canonical names in canonical order. Sets over different registries (one extended by a plugin) do not mix.`,
		Example: `s = features("avx2", "sse4.2")
print(s | features("fma"), "sse4_2" in s, s <= host.hw)`},
	{Kind: "type", Name: "host",
		Text:    `A host snapshot, by layer: what the CPU has (hw), what the kernel enabled (os), what KVM reports (kvm). Immutable; what available() computes is cached.`,
		Example: `print(host, len(host.hw), len(host.kvm))`},
	{Kind: "attribute", Name: "host.name", Text: `The name the host is reported under.`, Example: `print(host.name)`},
	{Kind: "attribute", Name: "host.hw", Text: `feature_set: what the CPU has (raw CPUID).`, Example: `print("avx512f" in host.hw, len(hosts["this-machine"].hw))`},
	{Kind: "attribute", Name: "host.os", Text: `feature_set: what the host kernel enabled (XCR0, /proc/cpuinfo).`, Example: `h = hosts["this-machine"]  # a live probe: hw and os are known
print(len(h.hw), len(h.os), h.hw - h.os)`},
	{Kind: "attribute", Name: "host.kvm", Text: `feature_set: what KVM reports it can give a guest (KVM_GET_SUPPORTED_CPUID and the feature MSRs), before QEMU's adjustments.`, Example: `print("kvmclock" in host.kvm)`},
	{Kind: "attribute", Name: "host.abi_level", Sig: `host.abi_level(accel="kvm", catalog=None)`, Text: `Returns the x86-64 psABI level of what the host makes available to a guest under the accelerator (host.available's set).`, Example: `print(hosts["xeon-gold-6130"].abi_level())`},
	{Kind: "attribute", Name: "host.vendor", Text: `The CPUID vendor string.`, Example: `print(host.vendor)`},
	{Kind: "attribute", Name: "host.brand", Text: `The CPUID brand string ("" when the source has none).`, Example: `print(repr(host.brand))`},
	{Kind: "attribute", Name: "host.family", Text: `The CPU family, as CPUID leaf 1 encodes it (extended family added).`, Example: `print(host.family)`},
	{Kind: "attribute", Name: "host.model", Text: `The CPU model number (extended model included).`, Example: `print(host.model)`},
	{Kind: "attribute", Name: "host.stepping", Text: `The CPU stepping.`, Example: `print(host.stepping)`},
	{Kind: "attribute", Name: "host.kernel", Text: `The kernel release ("" when unknown).`, Example: `print(repr(host.kernel))`},
	{Kind: "attribute", Name: "host.source", Text: `Where the snapshot came from: "live", "cpuid-dump" or "qemu-expansion".`, Example: `print(host.source)`},
	{Kind: "attribute", Name: "host.kvm_caps", Text: `Dict from KVM_CAP_* number to the value KVM_CHECK_EXTENSION gave; None without KVM data.`, Example: `print(type(host.kvm_caps))`},
	{Kind: "attribute", Name: "host.kvm_error", Text: `Why the snapshot has no KVM data, or "".`, Example: `print(repr(host.kvm_error))`},
	{Kind: "attribute", Name: "host.available", Sig: `host.available(accel="kvm", catalog=None)`, Text: `Returns the feature_set a guest can get on this host under accel, as the catalog's QEMU release decides (the catalog being checked, or the one given).`, Example: `print(len(host.available()), len(host.available("tcg")))`},

	{Kind: "type", Name: "catalog",
		Text:    `What a QEMU release says about its CPU models and machine types. A model or machine argument is a value of this catalog or a name; an unknown name is an error that suggests the nearest. machine=None means the newest pc-q35 machine type, as in the CLI.`,
		Example: `print(catalog, len(catalog.models()))`},
	{Kind: "attribute", Name: "catalog.name", Text: `The catalog's name ("qemu-7.2", or a file's).`, Example: `print(catalog.name)`},
	{Kind: "attribute", Name: "catalog.qemu_version", Text: `The version of the QEMU it was imported from.`, Example: `print(catalog.qemu_version)`},
	{Kind: "attribute", Name: "catalog.accels", Text: `Tuple of the accelerators it has data for.`, Example: `print(catalog.accels)`},
	{Kind: "attribute", Name: "catalog.models", Sig: "catalog.models()", Text: `Returns the list of its models, by name.`, Example: `print([m.name for m in catalog.models()][:3])`},
	{Kind: "attribute", Name: "catalog.model", Sig: "catalog.model(name)", Text: `Returns the model of that name (an alias too).`, Example: `print(catalog.model("Haswell").alias_of)`},
	{Kind: "attribute", Name: "catalog.machine_types", Sig: "catalog.machine_types(family=None)", Text: `Returns the list of its machine types (of one family), by family then version.`, Example: `print([m.name for m in catalog.machine_types("pc-q35")][-2:])`},
	{Kind: "attribute", Name: "catalog.best_model", Sig: `catalog.best_model(hosts, machine=None, accel="kvm")`, Text: `Returns the name of the best model for a pool of hosts (the one baseline, fleet and labels name: RATIONALE's best-model rule), or None when no model runs on every host.`, Example: `print(catalog.best_model([hosts["xeon-gold-6130"]]))`},
	{Kind: "attribute", Name: "catalog.machine", Sig: "catalog.machine(name)", Text: `Returns the machine type of that name (QEMU's aliases "pc", "q35" too).`, Example: `print(catalog.machine("q35"))`},
	{Kind: "attribute", Name: "catalog.resolve", Sig: `catalog.resolve(cpu, machine=None, accel="kvm", host=None)`, Text: `Returns the resolution of a model, or of a -cpu spec when cpu has a comma, on a machine type under an accelerator; host stands for the host whose vendor a guest sees under kvm.`, Example: `r = catalog.resolve("Haswell-noTSX", "pc-i440fx-2.0")
print(r.level, "x2apic" in r.features)`},
	{Kind: "attribute", Name: "catalog.implicit", Sig: `catalog.implicit(model, machine=None, accel="kvm")`, Text: `Returns (added, removed): the feature_sets the accelerator and machine type turn on and off on their own, relative to the model's definition.`, Example: `added, removed = catalog.implicit("Haswell", "pc-i440fx-2.0")
print(added, removed)`},

	{Kind: "type", Name: "model",
		Text: `A CPU model of a catalog. Models compare equal when they are the same model of the same catalog, and order by name.`,
		Example: `m = catalog.model("Skylake-Client-v4")
print(m, m < catalog.model("Snowridge"))`},
	{Kind: "attribute", Name: "model.name", Text: `The model's name.`, Example: `print(catalog.model("Skylake-Client-v4").name)`},
	{Kind: "attribute", Name: "model.base", Text: `The name without its version ("Skylake-Client").`, Example: `print(catalog.model("Skylake-Client-v4").base)`},
	{Kind: "attribute", Name: "model.version", Text: `Its version number; 0 for an unversioned name.`, Example: `print(catalog.model("Skylake-Client-v4").version)`},
	{Kind: "attribute", Name: "model.alias_of", Text: `The versioned model an alias stands for, or None.`, Example: `print(catalog.model("Skylake-Client").alias_of)`},
	{Kind: "attribute", Name: "model.deprecated", Text: `Whether QEMU marks it deprecated.`, Example: `print([m.name for m in catalog.models() if m.deprecated])`},
	{Kind: "attribute", Name: "model.static", Text: `Whether QEMU marks it static (its expansion never changes).`, Example: `print(catalog.model("qemu64").static)`},
	{Kind: "attribute", Name: "model.migration_safe", Text: `Whether QEMU marks it migration-safe.`, Example: `print([m.name for m in catalog.models() if not m.migration_safe][:3])`},
	{Kind: "attribute", Name: "model.abi_level", Sig: `model.abi_level(machine=None, accel="kvm")`, Text: `Returns the x86-64 psABI level the model's features reach on a machine type (default the newest pc-q35) under the accelerator.`, Example: `print(catalog.model("Haswell-v4").abi_level())`},
	{Kind: "attribute", Name: "model.vendor", Text: `The CPUID vendor string it defines.`, Example: `print(catalog.model("EPYC").vendor)`},
	{Kind: "attribute", Name: "model.definition", Text: `feature_set as QEMU defines the model: its expansion on the newest machine type under tcg, what implicit() is relative to.`, Example: `print(len(catalog.model("qemu64").definition))`},
	{Kind: "attribute", Name: "model.features", Sig: `model.features(machine=None, accel="kvm")`, Text: `Returns the feature_set the model resolves to.`, Example: `m = catalog.model("qemu64")
print(m.features() - m.definition)`},

	{Kind: "type", Name: "machine_type",
		Text:    `A machine type of a catalog. Machine types compare equal by name and order (< <= > >=) by version within a family; ordering two families is an error.`,
		Example: `print(catalog.machine("pc-q35-7.2") > catalog.machine("pc-q35-2.4"))`},
	{Kind: "attribute", Name: "machine_type.name", Text: `Its name.`, Example: `print(catalog.machine("q35").name)`},
	{Kind: "attribute", Name: "machine_type.family", Text: `Its family ("pc-q35", "pc-i440fx").`, Example: `print(catalog.machine("pc").family)`},
	{Kind: "attribute", Name: "machine_type.version", Text: `Its version ("7.2").`, Example: `print(catalog.machine("pc-i440fx-2.0").version)`},
	{Kind: "attribute", Name: "machine_type.alias", Text: `QEMU's short name for it ("q35"), or None.`, Example: `print(catalog.machine("pc-q35-7.2").alias)`},
	{Kind: "attribute", Name: "machine_type.deprecated", Text: `Whether QEMU marks it deprecated.`, Example: `print(catalog.machine("pc-i440fx-1.4").deprecated)`},

	{Kind: "type", Name: "resolution",
		Text:    `A model or -cpu spec resolved on a machine type under an accelerator, as QEMU's query-cpu-model-expansion (type "full") reports it.`,
		Example: `print(catalog.resolve("Haswell-v4", "pc-q35-7.2"))`},
	{Kind: "attribute", Name: "resolution.cpu", Text: `The model or spec resolved.`, Example: `print(catalog.resolve("Haswell-v4").cpu)`},
	{Kind: "attribute", Name: "resolution.machine", Text: `The machine type's name.`, Example: `print(catalog.resolve("Haswell-v4").machine)`},
	{Kind: "attribute", Name: "resolution.accel", Text: `The accelerator.`, Example: `print(catalog.resolve("Haswell-v4", accel = "tcg").accel)`},
	{Kind: "attribute", Name: "resolution.features", Text: `feature_set the guest gets.`, Example: `print(len(catalog.resolve("Haswell-v4").features))`},
	{Kind: "attribute", Name: "resolution.vendor", Text: `The CPUID vendor the guest sees.`, Example: `print(catalog.resolve("EPYC").vendor)`},
	{Kind: "attribute", Name: "resolution.family", Text: `The CPUID family (QEMU's property).`, Example: `print(catalog.resolve("Haswell-v4").family)`},
	{Kind: "attribute", Name: "resolution.model", Text: `The CPUID model number.`, Example: `print(catalog.resolve("Haswell-v4").model)`},
	{Kind: "attribute", Name: "resolution.stepping", Text: `The CPUID stepping.`, Example: `print(catalog.resolve("Haswell-v4").stepping)`},
	{Kind: "attribute", Name: "resolution.model_id", Text: `The brand string the guest sees.`, Example: `print(catalog.resolve("Haswell-v4").model_id)`},
	{Kind: "attribute", Name: "resolution.level", Text: `The highest basic CPUID leaf.`, Example: `print("0x%x" % catalog.resolve("Haswell-v4").level)`},
	{Kind: "attribute", Name: "resolution.xlevel", Text: `The highest extended CPUID leaf.`, Example: `print("0x%x" % catalog.resolve("Haswell-v4").xlevel)`},
	{Kind: "attribute", Name: "resolution.xlevel2", Text: `The highest Centaur CPUID leaf (0 when none).`, Example: `print(catalog.resolve("Haswell-v4").xlevel2)`},

	{Kind: "type", Name: "config",
		Text:    `A site configuration: a CPU in QEMU's -cpu syntax on a machine type under an accelerator, resolved. Configs are equal when they have the same spec text, machine type, accelerator and catalog.`,
		Example: `print(config("Haswell-v4,+pcid") == config("Haswell-v4,+pcid"))`},
	{Kind: "attribute", Name: "config.cpu", Text: `The -cpu spec as written.`, Example: `print(config("Haswell-v4,-hle").cpu)`},
	{Kind: "attribute", Name: "config.model", Text: `The model of the spec.`, Example: `print(config("Haswell-v4,-hle").model)`},
	{Kind: "attribute", Name: "config.machine", Text: `The machine_type.`, Example: `print(config("Haswell-v4").machine)`},
	{Kind: "attribute", Name: "config.accel", Text: `"kvm" or "tcg".`, Example: `print(config("Haswell-v4", accel = "tcg").accel)`},
	{Kind: "attribute", Name: "config.explicit", Text: `feature_set the spec turns on by name (+feat, feat=on).`, Example: `print(config("Haswell-v4,+pcid,vmx=on").explicit)`},
	{Kind: "attribute", Name: "config.explicit_off", Text: `feature_set the spec turns off by name.`, Example: `print(config("Haswell-v4,-hle,rtm=off").explicit_off)`},
	{Kind: "attribute", Name: "config.resolved", Text: `feature_set the guest gets. For host and max (per_host), only what the spec switches on by name: the rest is each host's own, which verdict() and runnable() resolve on each host.`, Example: `print(len(config("Haswell-v4").resolved))`},
	{Kind: "attribute", Name: "config.per_host", Text: `True for QEMU's host and max models, whose features are whatever the accelerator gives on the host the guest runs on (QEMU marks both not migration-safe).`, Example: `print(config("host,migratable=on").per_host, config("Haswell-v4").per_host)`},
	{Kind: "attribute", Name: "config.implicit", Text: `feature_set the accelerator and machine type add on their own, unasked: in resolved, not in the model's definition, not explicit. Under kvm this holds KVM's paravirtual bits, and vme, which TCG cannot emulate.`, Example: `print(config("Haswell-v4", machine = "pc-i440fx-2.0").implicit)`},
	{Kind: "attribute", Name: "config.implicit_off", Text: `feature_set they take away unasked.`, Example: `print(config("Haswell-v4", machine = "pc-i440fx-2.0").implicit_off)`},
	{Kind: "attribute", Name: "config.resolution", Text: `The resolution (the CPUID properties too).`, Example: `print(config("Haswell-v4").resolution.model_id)`},

	{Kind: "type", Name: "context",
		Text:    `The ctx a policy's check(ctx) receives. Violations it reports accumulate, in order. (The examples run with a context over a site of one pool, "intel", of two recorded hosts, and one offer, "web".)`,
		Example: `print(ctx)`},
	{Kind: "attribute", Name: "context.policy", Text: `The policy's name.`, Example: `print(ctx.policy)`},
	{Kind: "attribute", Name: "context.host", Text: `The host being checked (check --host), or None.`, Example: `print(ctx.host)`},
	{Kind: "attribute", Name: "context.catalog", Text: `The catalog checked against.`, Example: `print(ctx.catalog.name)`},
	{Kind: "attribute", Name: "context.site", Text: `The site: a struct with offers (a list of offer) and pools (a dict from name to pool).`, Example: `print([o.name for o in ctx.site.offers], list(ctx.site.pools))`},
	{Kind: "attribute", Name: "context.params", Text: `Dict of the --param key=value strings.`, Example: `print(ctx.params.get("max_level", "none"))`},
	{Kind: "attribute", Name: "context.violation", Sig: "ctx.violation(message, model=None, machine=None, features=None, **extra)",
		Text:    `Reports a violation. model and machine are names or values, features a feature_set or a list of names, extra values strings, numbers, bools, None, lists, dicts with string keys, or cpupolicy values.`,
		Example: `ctx.violation("hle is offered", model = "Haswell", features = ["hle"], ticket = "OPS-12")`},

	{Kind: "type", Name: "verdict",
		Text:    `What verdict() returns: the verdict on a config over a pool of hosts.`,
		Example: `print(verdict(config("qemu64"), [host]).runnable)`},
	{Kind: "attribute", Name: "verdict.runnable", Text: `Whether the config runs on every host.`, Example: `print(verdict(config("Cooperlake"), [host]).runnable)`},
	{Kind: "attribute", Name: "verdict.migration_safe", Text: `Whether a guest can live-migrate between every two of the hosts: its model can migrate at all, and every host gives it the same features and vendor.`, Example: `print(verdict(config("Skylake-Client-v4"), list(ctx.site.pools["intel"].hosts)).migration_safe)`},
	{Kind: "attribute", Name: "verdict.model_migration_safe", Text: `Whether the catalog does not mark the model unsafe to migrate.`, Example: `print(verdict(config("qemu64"), [host]).model_migration_safe)`},
	{Kind: "attribute", Name: "verdict.hosts", Text: `Tuple of host_verdict, one per host, in order.`, Example: `print(len(verdict(config("qemu64"), [host, host]).hosts))`},

	{Kind: "type", Name: "host_verdict",
		Text: `One host's part of a verdict.`,
		Example: `hv = verdict(config("Cooperlake"), [host]).hosts[0]
print(hv.runnable, hv.missing)`},
	{Kind: "attribute", Name: "host_verdict.host", Text: `The host.`, Example: `print(verdict(config("qemu64"), [host]).hosts[0].host)`},
	{Kind: "attribute", Name: "host_verdict.runnable", Text: `Whether the config runs on it.`, Example: `print(verdict(config("qemu64"), [host]).hosts[0].runnable)`},
	{Kind: "attribute", Name: "host_verdict.missing", Text: `feature_set the host cannot give the guest.`, Example: `print(verdict(config("Cooperlake"), [host]).hosts[0].missing)`},
	{Kind: "attribute", Name: "host_verdict.layers", Text: `Dict from each missing feature to the layer that lacks it, as why() gives.`, Example: `print(verdict(config("Cooperlake"), [host]).hosts[0].layers)`},
	{Kind: "attribute", Name: "host_verdict.guest", Text: `feature_set the guest sees there: what the config resolves to on the host (for host and max, the host's own), less missing.`, Example: `print(len(verdict(config("host"), [host]).hosts[0].guest))`},
	{Kind: "attribute", Name: "host_verdict.vendor", Text: `The CPUID vendor the guest sees there (under kvm QEMU gives a named model the host's).`, Example: `print(verdict(config("EPYC"), [host]).hosts[0].vendor)`},

	{Kind: "type", Name: "site",
		Text:    `ctx.site: the offers and pools of the site file being checked.`,
		Example: `print(len(ctx.site.offers))`},
	{Kind: "attribute", Name: "site.offers", Text: `List of offer, in the order the site file declares them.`, Example: `print(ctx.site.offers[0].name)`},
	{Kind: "attribute", Name: "site.pools", Text: `Dict from pool name to pool.`, Example: `print(ctx.site.pools.keys())`},

	{Kind: "type", Name: "offer",
		Text: `An offer of ctx.site: what offer() declared, resolved.`,
		Example: `o = ctx.site.offers[0]
print(o.name, o.cpu, o.pool)`},
	{Kind: "attribute", Name: "offer.name", Text: `Its name.`, Example: `print(ctx.site.offers[0].name)`},
	{Kind: "attribute", Name: "offer.cpu", Text: `The -cpu spec as written.`, Example: `print(ctx.site.offers[0].cpu)`},
	{Kind: "attribute", Name: "offer.machine", Text: `The machine_type (the newest pc-q35 when the offer names none).`, Example: `print(ctx.site.offers[0].machine)`},
	{Kind: "attribute", Name: "offer.pool", Text: `The pool's name, or None.`, Example: `print(ctx.site.offers[0].pool)`},
	{Kind: "attribute", Name: "offer.accel", Text: `"kvm" or "tcg".`, Example: `print(ctx.site.offers[0].accel)`},
	{Kind: "attribute", Name: "offer.config", Text: `The config: the spec resolved on the machine type under the accelerator.`, Example: `print(runnable(ctx.site.offers[0].config, host))`},

	{Kind: "type", Name: "pool",
		Text:    `A pool of ctx.site.pools.`,
		Example: `print(ctx.site.pools["intel"].name)`},
	{Kind: "attribute", Name: "pool.name", Text: `Its name.`, Example: `print(ctx.site.pools["intel"].name)`},
	{Kind: "attribute", Name: "pool.hosts", Text: `Tuple of its hosts.`, Example: `print([h.name for h in ctx.site.pools["intel"].hosts])`},
}
