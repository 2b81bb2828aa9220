#!/usr/bin/env bash
# Times `cpupolicy models` against QEMU answering the same question
# (start → query-cpu-definitions → quit), in one hyperfine run.
# Usage: bash bench/models-vs-qemu.sh [runs]   (default 30)
# Needs hyperfine and qemu-system-x86_64 (7.2); kvm rows need /dev/kvm.
. "$(dirname "$0")/lib.sh"
runs=${1:-30}
command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)"; exit 1; }
go build -o "$tmp/cpupolicy" ./cmd/cpupolicy
printf '{"execute":"qmp_capabilities"}\n{"execute":"query-cpu-definitions"}\n{"execute":"quit"}\n' > "$tmp/defs.in"
snap=testdata/hosts/this-machine.json
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores; $(cpu_name); load: $(cut -d' ' -f1-3 /proc/loadavg)"
cmds=(
  -n "cpupolicy models --accel tcg" "$tmp/cpupolicy models --catalog qemu-7.2 --machine pc-q35-7.2 --accel tcg --format json"
  -n "QEMU 7.2 tcg query-cpu-definitions" "qemu-system-x86_64 -machine pc-q35-7.2 -accel tcg -nodefaults -S -display none -qmp stdio < $tmp/defs.in"
  -n "cpupolicy models --host snapshot (kvm)" "$tmp/cpupolicy models --catalog qemu-7.2 --machine pc-q35-7.2 --host $snap --format json"
)
if [ -w /dev/kvm ]; then
  cmds+=(
    -n "cpupolicy models (live host, kvm)" "$tmp/cpupolicy models --catalog qemu-7.2 --machine pc-q35-7.2 --accel kvm --format json"
    -n "QEMU 7.2 kvm query-cpu-definitions" "qemu-system-x86_64 -machine pc-q35-7.2 -accel kvm -nodefaults -S -display none -qmp stdio < $tmp/defs.in"
  )
fi
hyperfine --warmup 3 --runs "$runs" --export-markdown "$tmp/h.md" "${cmds[@]}" >/dev/null 2>&1
cat "$tmp/h.md"
