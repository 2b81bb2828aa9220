#!/usr/bin/env bash
# Why a catalog import costs what it does: QEMU's QMP monitor reads one
# byte per main-loop iteration (monitor_can_read answers 1), so a request
# costs by its length, not by its work. One QEMU 10.0 process (-machine
# pc-q35-10.0 -accel tcg, as the importer starts it) is timed from start
# to quit with four inputs on standard input:
#   1. nothing but qmp_capabilities and quit;
#   2. query-cpu-model-expansion (full) of every model, as the importer
#      sends them;
#   3. query-version as many times, each padded with spaces to the length
#      of the expansion it stands for (the same bytes, almost no work);
#   4. the same query-versions unpadded.
# (2 − 3) is the expansions' own work; (3 − 4) / the bytes saved is the
# cost of a byte. Prints Markdown for bench/RESULTS.md.
#
# Usage: bash bench/qmp-bytes.sh [RUNS]   (default 20)
# Needs: farm-bench, python3; QEMU 10.0 at $QEMU10 (default
# /opt/qemu-10.0/bin/qemu-system-x86_64, scripts/qemu-release.sh 10.0).
. "$(dirname "$0")/lib.sh"
runs=${1:-20}
qemu=${QEMU10:-/opt/qemu-10.0/bin/qemu-system-x86_64}
args=(-machine pc-q35-10.0 -accel tcg -nodefaults -S -display none -qmp stdio)

printf '{"execute":"qmp_capabilities"}\n{"execute":"query-cpu-definitions"}\n{"execute":"quit"}\n' |
  "$qemu" -machine none -accel tcg -nodefaults -S -display none -qmp stdio > "$tmp/defs.json"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
names = []
for line in open(tmp + "/defs.json"):
    r = json.loads(line).get("return")
    if isinstance(r, list):
        names = [m["name"] for m in r]
head, tail = '{"execute":"qmp_capabilities"}\n', '{"execute":"quit"}\n'
exp = ['{"execute":"query-cpu-model-expansion","arguments":{"model":{"name":"%s"},"type":"full"}}\n' % n for n in names]
ver = '{"execute":"query-version"}'
inputs = {
    "quit": head + tail,
    "expansions": head + "".join(exp) + tail,
    "padded": head + "".join(ver + " " * (len(e) - len(ver) - 1) + "\n" for e in exp) + tail,
    "short": head + "".join(ver + "\n" for e in exp) + tail,
}
for k, v in inputs.items():
    open("%s/%s.in" % (tmp, k), "w").write(v)
print(len(names), file=open(tmp + "/n", "w"))
PY

machine_header "QEMU $("$qemu" --version | head -1 | awk '{print $4}')"
echo
echo "| standard input | requests | bytes | median wall ms | median cpu ms |"
echo "| --- | ---: | ---: | ---: | ---: |"
n=$(cat "$tmp/n")
for k in quit expansions padded short; do
  farm-bench -n "$runs" -- sh -c "exec \"$qemu\" ${args[*]} < $tmp/$k.in > /dev/null 2>&1" > "$tmp/$k.out" 2>&1
  wall=$(awk '$1 == "A" && $2 == "wall" {print $5 * 1000}' "$tmp/$k.out")
  cpu=$(awk '$1 == "A" && $2 == "cpu" {print $5 * 1000}' "$tmp/$k.out")
  reqs=$n
  [ "$k" = quit ] && reqs=0
  printf '| %s | %d | %d | %.0f | %.0f |\n' "$k" "$reqs" "$(stat -c %s "$tmp/$k.in")" "$wall" "$cpu"
done
