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
	resolve  what a CPU model (or a -cpu spec) gives a guest on a machine
	         type under kvm or tcg, exactly as QEMU expands it
	catalog  import a catalog from a QEMU binary, or show one

Run "cpupolicy COMMAND -h" for a command's flags. Every flag may be
written with one dash or two.

Exit status: 0 success, 1 violations or not runnable, 2 usage or input
error.

# probe

	cpupolicy probe [--format text|json] [-o FILE]
	                [--host FILE | --from-cpuid-dump FILE | --from-qemu-expansion FILE]

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
file of concatenated QMP replies holding one).

Text output is a summary: the CPU, feature counts by layer, and each bit
the hardware has but the kernel or KVM will not give a guest. JSON output
is the snapshot itself ("schema": "cpupolicy/host-snapshot/v1"). -o FILE
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
"deprecated", "why". Exit 0 whenever it could answer.

# why

	cpupolicy why MODEL|--cpu SPEC [--catalog NAME|FILE] [--machine M]
	              [--accel kvm|tcg] [--host FILE] [--format text|json]

Explains whether MODEL (or the -cpu SPEC) runs on the host: each missing
bit with its layer and CPUID/MSR location, and the runnable versions of
the same model. Exit 1 when it is not runnable.

# diff

	cpupolicy diff A B [--catalog NAME|FILE] [--machine M] [--accel kvm|tcg]
	                   [--format text|json]

The feature difference between two things, each a model ("Haswell-v4",
"Haswell-v4@pc-i440fx-2.3"), a -cpu spec ("Haswell-v4,-hle"), or a host's
KVM offer ("host:FILE", or "host:" for this machine).

# baseline

	cpupolicy baseline HOST... [--catalog NAME|FILE] [--machine M]
	                           [--format text|json]

For host snapshot files (or "host:" for this machine): the features every
host's KVM offers, the catalog models runnable on all of them and the
richest of those, and for the next better model, which host blocks it on
which bits — what libvirt's hypervisor-cpu-baseline and VMware EVC do,
with reasons.

# resolve

	cpupolicy resolve [--catalog NAME|FILE] [--machine M] [--accel kvm|tcg]
	                  [--cpu SPEC] [--host FILE] [--format text|json] [MODEL...]

Resolves each MODEL (every model of the catalog when none is named), or
the -cpu SPEC ("Model,+feat,-feat,feat=on|off,level=N,…", QEMU's syntax),
on a machine type under an accelerator, the way QEMU's
query-cpu-model-expansion does: the features that are on, level, xlevel,
family, model, stepping, model-id and vendor. Under kvm QEMU gives guests
the host's vendor: that of --host FILE, else this machine's.

The default catalog is the newest embedded one (qemu-7.2 and qemu-10.0 are
embedded); the default machine type is its newest pc-q35; the default
accelerator is kvm when /dev/kvm works, else tcg. JSON output is an array
of objects with "name", "machine", "accel", "features", "level", "xlevel",
"family", "model", "stepping", "model-id" and "vendor".

# catalog

	cpupolicy catalog import qemu [--binary PATH] [--machines all|LIST]
	                              [--accels kvm,tcg] [--name NAME] [-o FILE]
	cpupolicy catalog show [--catalog NAME|FILE] [--format text|json]

import starts the QEMU binary once per pc-i440fx and pc-q35 machine type
and accelerator (tcg, and kvm where /dev/kvm works; no guest runs), asks
it query-version, query-machines, query-cpu-definitions and
query-cpu-model-expansion (type full) for every model, derives the compact
catalog (model bases, per-accelerator and per-machine deltas) and checks
that it re-expands to exactly what QEMU said before writing it atomically.
A progress bar shows on a terminal.

show prints what a catalog holds: its QEMU version, machine types and
models.
*/
package main
