#!/usr/bin/env bash
# Benchmarks of the foundation, with the reference tools measured in the
# same run. Usage: bash bench/run.sh [benchtime]   (default 1s)
# Needs: go; for the command timings hyperfine, cpuid, qemu-system-x86_64
# and a working /dev/kvm (each comparison is skipped when its tool is
# missing).
. "$(dirname "$0")/lib.sh"
benchtime=${1:-1s}

machine_section

echo "## go test -bench (FeatureSet operations, decode, CPUID walk)"
go test -run '^$' -bench . -benchmem -benchtime "$benchtime" ./core/feature/ ./core/cpuid/ ./core/host/ | grep -E '^(Benchmark|ok)'
echo

go build -o "$tmp/cpupolicy" ./cmd/cpupolicy
"$tmp/cpupolicy" probe --format json -o "$tmp/snap.json" 2>/dev/null || cp testdata/hosts/this-machine.json "$tmp/snap.json"

if ! command -v hyperfine >/dev/null; then
  echo "hyperfine not installed: command timings skipped (apt-get install hyperfine)"
  exit 0
fi
printf '{"execute":"qmp_capabilities"}\n{"execute":"query-cpu-model-expansion","arguments":{"type":"full","model":{"name":"host"}}}\n{"execute":"quit"}\n' > "$tmp/qmp.in"
cmds=(-n "cpupolicy probe (live: CPUID walk + /dev/kvm + cpuinfo)" "$tmp/cpupolicy probe --format json")
cmds+=(-n "cpupolicy probe --host (load, validate, save)" "$tmp/cpupolicy probe --host $tmp/snap.json --format json")
if command -v cpuid >/dev/null; then
  cmds+=(-n "cpuid -1 -r (reference CPUID walk)" "cpuid -1 -r")
fi
if command -v qemu-system-x86_64 >/dev/null && [ -w /dev/kvm ]; then
  cmds+=(-n "QEMU query-cpu-model-expansion host (reference kvm layer)" "qemu-system-x86_64 -machine none -accel kvm -nodefaults -nographic -S -qmp stdio < $tmp/qmp.in")
fi
echo "## command timings (hyperfine)"
# Shell mode (the QEMU run needs a redirect); hyperfine subtracts the
# shell's own start-up.
hyperfine --warmup 3 --runs 30 --export-markdown "$tmp/h.md" "${cmds[@]}" >/dev/null 2>&1
cat "$tmp/h.md"
