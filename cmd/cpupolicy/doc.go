/*
Cpupolicy checks x86 CPU models against real hosts, with the same verdicts
as QEMU, and runs site rules about them.

Usage:

	cpupolicy COMMAND [flags] [args]

Commands:

	probe    probe this host (CPUID, XCR0, /proc/cpuinfo, /dev/kvm) or
	         load a recorded one, and print or save its snapshot
	models   which CPU models QEMU could run on this host (or --host FILE),
	         with the layer that lacks each missing bit
	why      explain one model's (or -cpu spec's) runnability
	diff     feature difference between two models, specs or hosts
	baseline what several hosts can all run, and what blocks the next model
	fleet    judge every model and offer on every host of a fleet, by pool;
	         text, JSON or a self-contained HTML report
	labels   Kubernetes node labels (an NFD features.d file) naming the
	         models and offers this host (or --host FILE) runs
	resolve  what a CPU model (or a -cpu spec) gives a guest on a machine
	         type under kvm or tcg, exactly as QEMU expands it
	catalog  import a catalog from a QEMU binary or libvirt's CPU map, show
	         one, diff two, or lock what a site runs and verify a new
	         release against it
	check    run the built-in and site policies over a site's offers and
	         hosts; report violations as text, JSON, SARIF or JUnit XML
	test     run the test_* functions of *_test.star policy tests
	repl     an interactive Starlark prompt with host and catalog bound
	plugin   inspect a WebAssembly vendor plugin, or call one of its exports

Run "cpupolicy COMMAND -h" for a command's flags. Every flag may be
written with one dash or two.

Vendor plugins (every command):

	--plugin FILE.wasm        load a vendor plugin (repeatable)
	--plugin-memory SIZE      memory cap of each plugin instance (default 64MiB)
	--plugin-timeout DURATION deadline of every plugin call (default 2s)

and every *.wasm of the directory $CPUPOLICY_PLUGINS. A plugin (see
plugins/ABI.md) adds feature names with their CPUID locations to the
registry (a clash with a built-in or another plugin's name is an error
naming both), CPU models to the catalog (marked "source": "plugin NAME";
they resolve on every machine type under kvm and tcg the way QEMU builds a
model it defines: the accelerator's default properties, the machine
type's compat properties, then QEMU's dependencies and automatic levels),
a decoder whose features join each snapshot's hw, os and kvm layers, and
checks that Starlark calls as plugins.call("PLUGIN.CHECK", input). A model
the catalog already has is skipped with a note when the plugin defines it
identically, and is an error naming both otherwise. A plugin feature is
judged by the host's layers like any other: the plugin stands for the QEMU
release that defines its models. A plugin that fails (a trap, a deadline,
a bad reply) fails the command with one line naming its file, exit 2.

-o FILE (probe, fleet, labels) picks the format from FILE's extension:
.json, .html, .sarif, .xml (JUnit) or .txt (text), unless --format names
another, which is refused, as is an extension of a format the command
does not write; other names keep --format or its default.

A host snapshot file names its host, in every command (labels, fleet,
check, baseline, why, the REPL): by the hostname the snapshot records,
else by the file's name without ".json".

Exit status: 0 success, 1 violations or not runnable, 2 usage or input
error.

# probe

	cpupolicy probe [--format text|json] [-o FILE]
	                [--host FILE | --from-cpuid-dump FILE | --from-qemu-expansion FILE |
	                 --from-domcapabilities FILE [--cpu-map DIR] | --from-nfd FILE]

Without a source flag, probe reads this machine: every CPUID leaf and
subleaf of the first CPU (the way `cpuid -1 -r` walks them), XCR0, the
flags of /proc/cpuinfo, and /dev/kvm (API version, capabilities, the CPUID
KVM supports and emulates, feature MSRs). It derives the named features of
three layers: hw (the CPU has them), os (the kernel left them enabled) and
kvm (KVM can give them to a guest).

--host FILE loads and validates a recorded snapshot instead.
--from-cpuid-dump FILE builds a snapshot from `cpuid -r` or `cpuid -1 -r`
output (CPU 0; hw layer only). --from-qemu-expansion FILE builds the kvm
layer from a QMP query-cpu-model-expansion reply for model "host" (or a
file of concatenated QMP replies holding one). --from-domcapabilities FILE
builds the kvm layer from `virsh domcapabilities` output: its host-model
CPU, expanded with libvirt's CPU map (--cpu-map, default
/usr/share/libvirt/cpu_map) as `virsh hypervisor-cpu-baseline --features`
expands it. --from-nfd FILE builds the hw layer from a Kubernetes Node
object (`kubectl get node NAME -o json`, its
feature.node.kubernetes.io/cpu-cpuid.* and cpu-model.* labels) or an NFD
NodeFeature object. Each import records its source and names, in
kvm_error, what it could not see; `why` says which layers a verdict did
not see.

Text output is a summary: the CPU, feature counts by layer, the x86-64
psABI level each layer reaches (x86-64-v1 … v4; RHEL 9 needs v2, RHEL 10
v3), and each bit the hardware has but the kernel or KVM will not give a
guest. JSON output is the snapshot itself ("schema":
"cpupolicy/host-snapshot/v1"), whose "abi_levels" {"hw", "os", "kvm"}
are the layers' levels (0 for a layer not seen). -o FILE
writes the output to FILE atomically (a temporary file, then a rename);
the format defaults to json with -o and to text otherwise.

# models

	cpupolicy models [--catalog NAME|FILE] [--machine M] [--accel kvm|tcg]
	                 [--host FILE] [--format text|json]

Like QMP's query-cpu-definitions: for every model of the catalog, the
features the host cannot give it ("unavailable-features"), judged the way
the catalog's QEMU release judges them (KVM_GET_SUPPORTED_CPUID and the
feature MSRs as QEMU adjusts them, or QEMU's TCG masks), plus "why": the
layer that lacks each one — hw (the CPU lacks it), os (the kernel
disabled it), kvm (KVM will not pass it), tcg (not emulated). JSON keys:
"name", "unavailable-features", "alias-of", "static", "migration-safe",
"deprecated", "why", "abi-level" (the x86-64 psABI level, 0 … 4, the
model's features reach). Exit 0 whenever it could answer.

A snapshot made by probe --from-qemu-expansion names the QEMU release
that made the capture ("qemu_release"); judged with a catalog of another
release, models and why warn on stderr (after answering) which
verdicts may differ and why. --catalog auto (with --host) picks the
embedded catalog of that release, or the nearest with a note.

# why

	cpupolicy why MODEL|--cpu SPEC|--cpu-xml FILE|--qemu-cmdline FILE|--pid PID
	              [--catalog NAME|FILE] [--machine M] [--accel kvm|tcg]
	              [--host FILE] [--cpu-map DIR] [--format text|json]

Explains whether MODEL (or the -cpu SPEC) runs on the host: each missing
bit with its layer and CPUID/MSR location, and the runnable versions of
the same model. Exit 1 when it is not runnable.

A CPU configuration is named in the form a site already has it in; each
of these replaces --cpu, and the machine type and accelerator it names
are the defaults of --machine and --accel (a flag given wins):

--cpu-xml FILE reads a libvirt domain XML (or just its <cpu> element) in
any CPU mode and gives the -cpu option libvirt gives QEMU, as libvirt
writes it: custom is the model with feat=on for each feature of policy
require or force, feat=off for disable or forbid, and for optional on
where the host has it (libvirt's names become QEMU's; no policy means
require); host-passthrough is "host,migratable=on|off"; maximum
"max,migratable=on|off"; host-model is the model of libvirt's CPU map
(--cpu-map DIR, default /usr/share/libvirt/cpu_map) that names the host
as libvirt's x86Decode does (the host's signature first, then the fewest
features added or removed; migratable features only), with feat=on and
feat=off for the difference; match='minimum' is host-model with the
model's features required. host-model, minimum and optional are computed
for the --host snapshot (or this host under kvm). A domain that names no
model (no <cpu>, or one with only a topology) gets QEMU's default,
qemu64. The domain's <features> that libvirt writes into -cpu follow:
<apic eoi> (kvm-pv-eoi), <pvspinlock> (kvm-pv-unhalt), the <hyperv>
enlightenments (hv-*, hv-passthrough) and <kvm> (hidden: kvm=off,
hint-dedicated, poll-control), <pmu>, then <cache> (l3-cache, host-cache-info)
and <maxphysaddr> (phys-bits, host-phys-bits, host-phys-bits-limit). <domain type='kvm'> means kvm, 'qemu'
tcg; <os><type machine=...> is the machine type.
forbid also says the host must not have the feature: one the host
offers makes the domain not runnable ("forbidden_present" in JSON), as
libvirt refuses to start it.

--qemu-cmdline FILE (- for standard input) reads a whole QEMU command
line: /proc/PID/cmdline (NUL-separated), or shell-quoted text such as
libvirt's .args files, ps output or Proxmox's qm showcmd. -cpu,
-machine/-M (type=, accel=), -accel and -enable-kvm are read; every
other option is skipped with its argument. Without -cpu the model is
QEMU's default, qemu64; without a machine type, pc; without an
accelerator, QEMU's default: tcg, or kvm when the program's name ends in
"kvm" (/usr/bin/kvm, qemu-kvm). A Proxmox "+pveN" machine type is judged
as upstream's. Notes on stderr say which defaults were taken.

--pid PID reads /proc/PID/cmdline of a running QEMU, as --qemu-cmdline.

resolve and check take --cpu-xml and --qemu-cmdline too (check notes
forbid but its policies do not judge it; a host-dependent <cpu> needs
exactly one --host there).

A snapshot imported from a source that saw only part of the host says so:
from QEMU's host expansion or libvirt's domcapabilities (the kvm layer
only) a missing bit's layer is kvm, and why adds that the hw and os
layers were not seen ("source" and "unseen_layers" in JSON); one from a
cpuid dump or NFD labels (the hw layer only) cannot be judged under kvm,
and the error names what the source could not see.

# diff

	cpupolicy diff A B [--catalog NAME|FILE] [--machine M] [--accel kvm|tcg]
	                   [--format text|json]

The feature difference between two things, each a model ("Haswell-v4",
"Haswell-v4@pc-i440fx-2.3"), a -cpu spec ("Haswell-v4,-hle"), or a host's
KVM offer ("host:FILE", or "host:" for this machine).

A model or spec may come from another catalog, named before a colon:
"qemu-7.2:Haswell-v4", "libvirt.json:Haswell-noTSX-IBRS@pc-q35-7.2". Without
@MACHINE it resolves on --machine where that catalog has it, else on that
catalog's newest pc-q35. So libvirt's definition of a model shows beside
QEMU's:

	cpupolicy catalog import libvirt -o libvirt.json
	cpupolicy diff libvirt.json:Haswell-noTSX-IBRS Haswell-noTSX-IBRS

# baseline

	cpupolicy baseline HOST... [--catalog NAME|FILE] [--machine M] [--all]
	                           [--format text|json]

For host snapshot files (or "host:" for this machine): the features every
host's KVM makes available and their x86-64 level, the catalog models runnable on
all of them and the best of those, and for the next better model, which
host blocks it on which bits — what libvirt's hypervisor-cpu-baseline and
VMware EVC do, with reasons. The best model: no runnable model's features
contain its own; then the later generation (QEMU's definition order),
the higher version; never a deprecated one while another qualifies
(RATIONALE.md). --all lists every runnable model in that order; the JSON
always has it ("ranking").

# fleet

	cpupolicy fleet [--site FILE] [--catalog NAME|FILE] [--machine M]...
	                [--format text|json|html] [-o FILE] [--migration]
	                [--what-if-remove HOST]... [--what-if-add FILE]...
	                [HOSTS...]

Judges every catalog model and every offer of the site on every host, under
kvm, and reports by pool: the features every host of the pool offers a
guest; per machine type (--machine, repeatable; default the newest
pc-q35) the models that run on all of them and the newest of those; the
hosts that block the next better model, and on which bits; and the offers
that are not migration-safe.

HOSTS are host snapshot files (cpupolicy probe --format json),
directories (every *.json in them) and globs. A host is named as every
command names it: by the hostname its snapshot records, else by its
file name without ".json" (no two hosts may share a name). A file named outright
must have KVM data; one found in a directory or by a glob that has none
(a snapshot of a cpuid dump) is skipped and listed as skipped. --site
FILE declares offers and pools as for check; the hosts on the command
line that no pool lists form the pool "default".

The newest model is the one `baseline` picks, by the best-model rule
among the models every host of the pool runs. The next better model needs
all of its features and more, and of those the hosts miss the fewest
bits. Aliases are judged under their versioned names. Each pool also gets
the x86-64 level of its common features ("abi_level"), and each newest
model its own ("newest_model_abi_level").

--migration adds the hosts' migratability classes ("migration_classes"):
hosts that show a guest the same vendor and offer the same features take
each other's host-model (or host-passthrough) guests; a class's guests
also go to the classes that make all they have available ("migrates_to"), and not
to the others ("blocked": the bits each lacks, or its other vendor).
--what-if-remove HOST and --what-if-add FILE (repeatable) report instead,
per pool and machine type, the best model and levels before and after the
fleet loses or gains those hosts (an added file joins the pool
"default"); its JSON is {"catalog", "removed", "added", "pools":
[{"pool", "machine", "before", "after", "changed"}]}, before and after
each {"hosts", "best_model", "best_model_abi_level", "abi_level"} or null
for a pool that exists on one side only.

An offer is runnable when every host of its pool gives the guest all the
features its -cpu spec resolves to (the runnable policy), and
migration-safe when, further, every host shows the guest the same vendor
(under kvm QEMU gives a named model the host's vendor) and QEMU marks
the model migration-safe: the migration-safe policy's meaning. Offers
without a pool are judged on every host and do not decide the exit
status.

--format text prints a section per pool; json is {"catalog", "qemu",
"accel", "machines", "hosts", "pools": [{"name", "hosts", "vendors",
"common_features", "machines": [{"machine", "runnable_models",
"newest_model", "next_model": {"model", "blocked_by": {HOST:
[features]}}, "models"}], "offers": [...], "unsafe_offers"}],
"unpooled_offers", "skipped": [{"file", "reason"}], "status"}, each offer
{"name", "cpu", "machine", "accel", "pool", "runnable", "migration_safe",
"blocked_by", "guest_vendors": {VENDOR: [hosts]}, "problems"}; html is
one self-contained page (no external fetches): per machine type a hosts
× models matrix, green where the model runs and red where it does not
(hovering a cell names the missing bits), and a summary per pool. -o
FILE writes the report atomically.

Exit 0 when every offer runs and is migration-safe on its pool, 1 when
one is not, 2 on a usage or input error (one line naming the file).

# resolve

	cpupolicy resolve [--catalog NAME|FILE] [--machine M] [--accel kvm|tcg]
	                  [--cpu SPEC|--cpu-xml FILE|--qemu-cmdline FILE] [--host FILE]
	                  [--cpu-map DIR] [--format text|json] [MODEL...]

Resolves each MODEL (every model of the catalog when none is named), or
the -cpu SPEC ("Model,+feat,-feat,feat=on|off,level=N,…", QEMU's syntax),
on a machine type under an accelerator, the way QEMU's
query-cpu-model-expansion does: the features that are on, level, xlevel,
family, model, stepping, model-id and vendor. Under kvm QEMU gives guests
the host's vendor: that of --host FILE, else this machine's.

The default catalog is the newest embedded one (qemu-5.2, qemu-7.2,
qemu-10.0 and qemu-11.1 are embedded); the default machine type is its newest pc-q35; the default
accelerator is kvm, in every command, whatever this machine has. JSON output is an array
of objects with "name", "machine", "accel", "features", "level", "xlevel",
"family", "model", "stepping", "model-id" and "vendor".

# catalog

	cpupolicy catalog import qemu [--binary PATH] [--machines all|LIST]
	                              [--accels kvm,tcg] [--kvm capture|derive]
	                              [--every-machine] [--name NAME] [-o FILE]
	cpupolicy catalog import libvirt [DIR] [--name NAME]
	                              [--machines-from NAME|FILE] [-o FILE]
	cpupolicy catalog show [--catalog NAME|FILE] [--format text|json]
	cpupolicy catalog diff A B [--format text|json]
	cpupolicy catalog lock [--catalog NAME|FILE] [-o FILE|-] [--models LIST]
	                       [--machines LIST] [--accels kvm,tcg]
	cpupolicy catalog verify --lock FILE [--catalog NAME|FILE]
	                         [--format text|json]

import starts the QEMU binary once per pc-i440fx and pc-q35 machine type
and accelerator (tcg, and kvm where /dev/kvm works; no guest runs), asks
it query-version, query-machines, query-cpu-definitions and
query-cpu-model-expansion (type full) for every model, derives the compact
catalog (model bases, per-accelerator and per-machine deltas) and checks
that it re-expands to exactly what QEMU said before writing it atomically.
A progress bar shows on a terminal. What the release has is learnt from
the binary (qom-list-properties, -cpu help), not assumed from its version,
so a release newer than cpupolicy imports; its CPUID flags cpupolicy does
not know are named in a warning and left out of the catalog. A release
that lists its machine types' compatibility properties (QEMU 9.1 and
newer) runs once for all the machine types that set the same on x86 CPUs
(14 runs for QEMU 10.0's 61 machine types); --every-machine runs every
one.

Without a usable /dev/kvm (or with --kvm derive) QEMU runs under tcg only
and the kvm answers are derived from the tcg ones: QEMU builds a named
model under kvm from the same definition and machine compat properties,
with kvm's default properties (kvmclock and the other paravirt bits,
x2apic on; svm, monitor, acpi off) instead of tcg's (vme off), and the
host's vendor; no host feature enters the expansion. The catalog then
says "kvm_data": "derived". It needs a release cpupolicy knows (its
definitions are recorded); for another one the catalog has tcg only.
--kvm capture asks QEMU under kvm, as happens by default where /dev/kvm
works.

import libvirt reads libvirt's CPU map (DIR, default
/usr/share/libvirt/cpu_map from Debian's libvirt0): index.xml and the
files it includes, the x86 vendors, features and models, with model
inheritance (<model name='Y'/> inside a model: based on Y). libvirt's
feature names map to cpupolicy's by CPUID or MSR bit; features marked
removed='yes' are not part of a model. The catalog holds libvirt's
definitions, which depend on no machine type or accelerator: every model
is the same on each machine type of --machines-from (default the newest
embedded catalog) under kvm and tcg, its vendor and first signature as
properties; it names no QEMU release, and commands judge it with QEMU
7.2's availability rules (Debian 12 pairs libvirt 9.0 with QEMU 7.2).
Malformed XML or an unknown feature name is one line FILE:LINE and exit 2.

show prints what a catalog holds: its QEMU version, machine types and
models.

diff compares catalog A (what a site runs) with B (what it moves to);
each is an embedded name (qemu-7.2, qemu-10.0) or a catalog file. It
lists the models and machine types B adds and removes, and, for every
(model, machine type, accel) both have, the features B adds or removes.
A feature added there is a new host requirement for VMs that already
run that exact model and machine type. Models resolve with their own
vendor, never a host's (features do not depend on it). The JSON form is
a contract, every list sorted and never null:

	{"models_added": [], "models_removed": [], "machines_added": [],
	 "machines_removed": [], "changed": [{"model": "", "machine": "",
	 "accel": "", "added": [], "removed": []}]}

diff is a report and exits 0 whatever it finds; verify is the gate.

lock records, for the catalog a site runs (--catalog, default the newest
embedded), every (model, machine type, accel) with the features it
requires, a hash of what the guest sees (features, every CPUID
property) and one of the rest of its definition (the features QEMU's
dependencies hide, its own levels: what -cpu options apply to), each
model's fingerprint over those, the catalog's name and QEMU version, and a SHA-256 digest of the
rest (schema cpupolicy/lock/v1). --models, --machines and --accels lock
only what the site uses. The file is sorted JSON, one entry per line
(machine types that resolve a model alike share one), the same bytes for
the same input, written atomically to cpupolicy.lock in the current
directory unless -o names another file (- for standard output).

verify checks a catalog (--catalog, default the newest embedded) against
a lock and exits 1, naming each triple and bit, when a locked triple
requires more features, when a locked model, machine type or accelerator
is gone (a VM on pc-i440fx-2.3 cannot start on a QEMU that dropped it),
or when a triple's definition changed without a new version name (lost
features, other CPUID properties, hidden features; the last only when
both the lock and the catalog know definitions, as imported catalogs of
releases cpupolicy does not know do not): QEMU's rule since 2015, that a
released model never changes, applied across releases. It exits 0 when
every locked triple is as locked. A lock of another schema, a digest
that does not match, or malformed JSON is one line naming the file and
exits 2.

# labels

	cpupolicy labels [--host FILE] [--catalog NAME|FILE] [--machine M]
	                 [--accel kvm|tcg] [--site FILE] [--expiry DURATION]
	                 [--style nfd|kubevirt [--cpu-map DIR] [--host-model-from FILE]
	                  [--obsolete-models M,M...]] [--format text|json] [-o FILE]

Writes Kubernetes node labels in the format of Node Feature Discovery's
local feature files (/etc/kubernetes/node-feature-discovery/features.d/):
one "name=value" line per label, sorted, under the cpupolicy.io/ prefix:

	cpupolicy.io/catalog=qemu-10.0          the catalog judged with
	cpupolicy.io/machine=pc-q35-10.0        the machine type judged on
	cpupolicy.io/model.Haswell-v4=true      each runnable catalog model
	cpupolicy.io/offer.web=true             each runnable offer of --site
	cpupolicy.io/baseline=Skylake-Server-v5 the best runnable model (baseline's rule)
	cpupolicy.io/x86-64-level=4             the psABI level a guest gets

A model is judged as `models` judges it (this host, or --host FILE; kvm
unless --accel says otherwise); an offer on its own machine type and
accelerator. A name or value that is not a valid label (longer than 63
characters, or characters other than letters, digits, '-', '_', '.') is
cut, its other characters made '_', and ended by '-' and 8 hex digits of
its SHA-256; a comment line says what it stands for. --expiry adds NFD's
"# +expiry-time=" directive, so that labels a stopped refresh left behind
vanish. -o writes atomically (a dot-named temporary file, which NFD
ignores, then a rename). JSON output is {"host", "catalog", "machine",
"accel", "expiry_time", "labels": {...}, "shortened": {...}}.

--style kubevirt writes the labels KubeVirt's node-labeller would (its
keys and rules, pkg/virt-handler/node-labeller), from cpupolicy's verdicts
on the machine type under kvm:

	cpu-feature.node.kubevirt.io/F=true                 each libvirt feature of the host-model CPU
	cpu-model.node.kubevirt.io/M=true                   each runnable model M (below)
	cpu-model-migration.node.kubevirt.io/M=true         the same, and the host-model
	host-model-cpu.node.kubevirt.io/H=true              libvirt's host-model CPU H
	host-model-required-features.node.kubevirt.io/F=true
	cpu-vendor.node.kubevirt.io/V=true

A runnable model is labelled unless obsolete (KubeVirt's default list, or
--obsolete-models, as a KubeVirt CR's obsoleteCPUModels), and only when it
is the host-model or every feature its file in libvirt's CPU map
(--cpu-map, default /usr/share/libvirt/cpu_map) lists is a cpu-feature
label, as node-labeller decides. The host-model is computed the way
libvirt's x86Decode picks it, or read from the host's `virsh
domcapabilities` with --host-model-from. NFD writes labels of other
namespaces from a features.d file only when nfd-master allows them
(-extra-label-ns).

# export

	cpupolicy export nova|proxmox|libvirt|kubevirt --pool POOL (--site FILE | HOSTFILE...)
	                 [--catalog NAME|FILE] [--machine M] [--cpu-map DIR]
	                 [--obsolete-models M,M...] [--format text|json] [-o FILE]

Writes the configuration a platform reads for a pool: the pool of the
--site file named by --pool, or the hosts of the snapshot files. The pool
is judged under kvm on the machine type; its best model is the one
`fleet` and `baseline` name (fleet.Baseline), and every output says why in
comments (JSON: "reasons").

	nova      nova.conf's [libvirt] section: cpu_mode = custom, cpu_models
	          (libvirt's models of the pool's vendor every host runs by both
	          QEMU's and libvirt's definitions, least advanced first) and
	          cpu_model_extra_flags (what the best model has beyond the last)
	proxmox   a cpu-models.conf section (cpu-model: cpupolicy-POOL) whose
	          reported-model and flags give the best model; phys-bits the
	          fewest of the hosts, when their snapshots have raw CPUID
	libvirt   a domain's <cpu mode='custom' match='exact' check='partial'>
	          that resolves to the best model (--cpu-xml accepts it)
	kubevirt  the KubeVirt CR's cpuModel (the best model node-labeller labels
	          on every host) and obsoleteCPUModels, and, per model the pool
	          runs whose libvirt definition asks for features QEMU's does not
	          and a host lacks, the features to disable

nova, libvirt and kubevirt read libvirt's CPU map (--cpu-map, default
/usr/share/libvirt/cpu_map) for its model and feature names.

# check

	cpupolicy check [--policy NAME]... [FILE.star...] [--site FILE]
	                [--host FILE]... [--cpu SPEC|--cpu-xml FILE|--qemu-cmdline FILE [--machine M]]
	                [--catalog NAME|FILE] [--accel kvm|tcg] [--waivers FILE]
	                [--param KEY=VALUE]... [--max-steps N] [--timeout D] [--max-memory SIZE]
	                [--format text|json|sarif|junit]

Runs policies and reports their violations. Built-in policies are named
with --policy (no-new-host-deps, explicit-kvm-bits, runnable,
migration-safe, abi-level: with --param min=N every offer's guest, and the
host, reach x86-64 level N); site policies are given as FILE.star arguments; with
neither, every built-in runs. Each policy's check(ctx) sees the catalog,
the site's offers and pools (ctx.site), the host under check (ctx.host)
and the --param values (ctx.params).

--site FILE is a Starlark file that declares the site:

	offer("web", cpu = "Skylake-Server-v4,-hle", machine = "pc-q35-7.2", pool = "intel")
	pool("intel", hosts = ["hosts/xeon-1.json", "hosts/xeon-2.json"])

offer(name, cpu, machine=None, pool=None, accel=None) and pool(name,
hosts) with host snapshot files (cpupolicy probe --format json) relative
to the site file, each host named by its snapshot's hostname, else by
its file name without ".json". The file runs in the
policy sandbox (it names files; cpupolicy reads them). With --site, one
--host FILE may name the host under check. Without --site, --cpu SPEC
(with --machine M, default the newest pc-q35) is one offer on the pool
"hosts" of the --host files, or of this machine probed live when none is
given (under kvm; under tcg no host is needed); with one host, it is also
ctx.host. The accelerator of offers that name none is --accel, default
kvm, so that a gate run where /dev/kvm is missing does not pass for want
of KVM.

--waivers FILE (JSON, or Starlark calling waiver(...)) lists accepted
violations:

	{"waivers": [{"policy": "no-new-host-deps", "model": "Haswell",
	              "machine": "pc-i440fx-2.3", "features": ["f16c", "rdrand"],
	              "reason": "QEMU 2.3 added them on purpose", "expires": "2027-06-30"}]}

A waiver matches a violation of its policy whose model and machine equal
its own ("*" for any) and whose features are all among its features.
Every key but expires is required. Waived violations are reported as
waived and do not fail the run. A waiver past its expires date (it holds
through that day) waives nothing and fails the run, reported.

Each policy runs with a step budget (--max-steps, default 100000000), a
wall-clock limit (--timeout, default 10s) and a cap on how much the heap
may grow while it runs (--max-memory, default 256MiB: Starlark's own
operators, such as s + s, allocate without a size check); 0 means none
for each. A
policy that fails, or is stopped by a limit, is reported on standard
error with its file and the Starlark backtrace of where it stopped.

--format text groups the violations by policy (coloured on a terminal
unless NO_COLOR is set); json is {"violations": [...], "waived":
[{"violation", "waiver"}], "expired_waivers": [...], "errors": [...],
"summary": {...}}, each violation with "policy", "message", "model",
"machine", "features" and the policy's own keys; sarif is a SARIF 2.1.0
log (a rule per policy, a result per violation, waived ones suppressed;
a violation about an offer of --site, by its "offer" key or as the only
offer of its model, is located at the line of that offer() call);
junit is JUnit XML (a test case per policy).

Exit 0 when nothing is violated, 1 on violations or an expired waiver, 2
when a policy failed to load or run, or on a usage or input error.

# test

	cpupolicy test [DIR|FILE_test.star...] [--run REGEX] [-v]
	               [--catalog NAME|FILE] [--hosts DIR]
	               [--max-steps N] [--timeout D] [--max-memory SIZE] [--format text|json]

Runs policy tests as `opa test` does: every test_* function of every
*_test.star file under the directories (default "."; hidden and testdata
directories are skipped unless named). todo_test_* functions are
skipped. Each test runs on a thread of its own with the limits of a
policy run. A test file loads the policy it tests
(load("runnable.star", "check")) and sees, besides the policy builtins:

	assert        assert.eq(got, want), ne, true(cond, msg), lt, contains,
	              fails(f, regex), fail(msg); a failed assertion is
	              reported and the test goes on
	catalog       the catalog (--catalog, default qemu-7.2: pinned, so a
	              test keeps its meaning when a newer one is embedded)
	catalogs      dict name → catalog: every embedded one
	hosts         dict name → host: the snapshots of --hosts DIR, else of
	              the nearest testdata/hosts at or above the test file
	offer(name, cpu, machine=None, pool=None, accel=None)
	pool(name, hosts)
	run_check(check, offers=[], pools=[], host=None, params={}, catalog=None)
	              runs a check over that site and returns its violations,
	              each a dict shaped as in check --format json

-v lists every test, not only those that failed. --format json is
{"tests": [{"file", "name", "status", "failures", "error",
"duration_ms"}], "load_errors": [...], "summary": {...}}.

Exit 0 when every test passes, 1 when one fails, 2 when a test file fails
to load, or on a usage or input error.

# repl

	cpupolicy repl [--host FILE] [--catalog NAME|FILE]

A Starlark prompt with what a policy sees: the builtins of the policy
library (features, config, runnable, why, verdict, struct), host (the --host
snapshot, else this machine probed live: None, with a note, when probing
fails; a host without KVM data has an empty host.kvm) and catalog
(--catalog, default the newest embedded). The sandbox is a policy's: no
load(), files, clock or environment. With --plugin, plugins.call reaches
the plugins' checks. help() lists the names with a line each, help(x)
prints the entry of x (a builtin, a method, a value's type, or a name in
quotes) from the Starlark reference, docs/starlark.md, and dir() lists
the session's globals.

On a terminal (standard input and output both), lines are edited with
readline. Tab completes names and attributes (`host.k`) and, inside a
string, feature names (`features("avx5`), model names
(`catalog.model("Sky`), the -cpu spec of config(), resolve(), runnable()
and why() (a model, then features after each comma) and machine types
(`machine="pc-q`); Tab on an empty line lists every name; completion
looks names up and never runs code.
def/for/if blocks continue at a "... " prompt until a blank line. The
value of an expression is printed (its repr) unless None, and kept in _;
an error prints as a Starlark backtrace and the session goes on. Ctrl-C
stops a running evaluation (which has no step budget and no time limit:
Ctrl-C is the limit; the 256 MiB heap cap still holds) or drops the line being typed; Ctrl-D at an empty
prompt exits with status 0. History is kept in
$XDG_STATE_HOME/cpupolicy/repl_history (by default
~/.local/state/cpupolicy/repl_history).

Otherwise standard input is read whole and run as one script, with no
prompts and only print() writing output, so that
`echo 'print(len(catalog.models()))' | cpupolicy repl` works. A piped
script has a policy's limits (100 M steps, 10 s, 256 MiB). Exit 0 when it ran, 1
when it failed to parse or run (the backtrace, with file:line:col, goes
to standard error), 2 on a usage or input error.

# plugin

	cpupolicy plugin inspect FILE.wasm... [--format text|json]
	cpupolicy plugin run FILE.wasm decode|models|check NAME
	                     [--host FILE] [--input JSON|@FILE] [--format text|json]

inspect loads each plugin and shows its manifest (name, version, ABI
version, vendors, CPUID leaf ranges, the features it defines with their
locations, its checks), the CPU models it adds (its models call: each
model's vendor, family, model and stepping, feature count and versioned
names), the file's size, the module's imports and
exports, its initial memory, and how long compiling (or loading from the
compilation cache, under the user cache directory, cpupolicy/wazero),
instantiating and the describe call took. --format json gives the same
as a list of objects.

run calls one export, for debugging a plugin: decode with the raw CPUID
of --host FILE (a snapshot with raw CPUID) or of this machine, printing
the feature names it reports; models, printing each definition (every
name: unversioned, -vN, aliases) with its feature count (json: the full
definitions); check NAME with --input (a JSON document, or @FILE), by
default the JSON list of the host's hw features with the plugin's own.
*/
package main
