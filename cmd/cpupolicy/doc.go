/*
Cpupolicy checks x86 CPU models against real hosts, with the same verdicts
as QEMU, and runs site rules about them.

Usage:

	cpupolicy COMMAND [flags] [args]

Commands:

	probe    probe this host (CPUID, XCR0, /proc/cpuinfo, /dev/kvm) or
	         load a recorded one, and print or save its snapshot

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
*/
package main
