#!/usr/bin/env bash
# The figures of the start-up, plugins and fleet-ingestion issue, each pair
# measured side by side in one run (A B A B …, medians of wall time, so a
# drift in this VM's speed falls on both alike):
#
#   1. `models --host F` without and with the amd plugin (warm cache), on
#      an Intel host amd does not decode and on an AMD snapshot amd decoded
#      and recorded; a cold first run (empty cache) gives the same output;
#   2. `cpupolicy -h` against a hello-world Go binary built here, both
#      default and CGO_ENABLED=0 builds of cpupolicy;
#   3. `models --host F` and live `models --accel tcg` against QEMU 10.0's
#      start → query-cpu-definitions → quit (tcg: the kvm comparison needs
#      /dev/kvm, which this VM lacks);
#   4. `fleet DIR --format json` on a generated 100,000-host fleet, this
#      tree against REV (before the issue: it reads a copy written with
#      writefleet -legacy, without the snapshot keys it does not know),
#      and on 1,000,000 hosts (wall, CPU, peak RSS);
#   5. plugin decode in process (go test -bench Decode ./plugins/).
#
# Usage: bash bench/speed.sh [RUNS] [REV] [MAX_HOSTS]
#   RUNS (default 30) pairs per command; REV (default 107bed2, the commit
#   before this work) for the 100,000-host comparison; MAX_HOSTS (default
#   1000000; 0 skips the fleet runs; 100000 skips the million-host run, which writes 8 GB of
#   snapshot files to $TMPDIR, in about 10 minutes; FLEET_1M=DIR reuses a
#   fleet writefleet -n 1000000 wrote before).
# Needs: go, git, GNU time (/usr/bin/time); QEMU 10.0 at $QEMU10 (default
# /opt/qemu-10.0/bin/qemu-system-x86_64, scripts/qemu-10.0.sh installs it).
. "$(dirname "$0")/lib.sh"
runs=${1:-30}
rev=${2:-107bed2}
maxn=${3:-1000000}
qemu10=${QEMU10:-/opt/qemu-10.0/bin/qemu-system-x86_64}
trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

machine_header "QEMU $("$qemu10" --version | head -1 | awk '{print $4}')"
echo

# --- builds -------------------------------------------------------------
go build -o "$tmp/cpupolicy" ./cmd/cpupolicy
CGO_ENABLED=0 go build -o "$tmp/cpupolicy-static" ./cmd/cpupolicy
mkdir -p "$tmp/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello, world") }\n' >"$tmp/hello/main.go"
printf 'module hello\n\ngo 1.26\n' >"$tmp/hello/go.mod"
(cd "$tmp/hello" && go build -o "$tmp/hello.bin" .)
# deps.bin links what cpupolicy imports from outside the module (blank
# imports: every package's init runs, none of cpupolicy's code) and exits:
# the floor no change to cpupolicy's own code can go below.
mkdir -p cmd/_depsfloor
trap 'rm -rf cmd/_depsfloor; git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
{
  printf 'package main\n\nimport (\n'
  go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./cmd/cpupolicy | grep -v '^github.com/cpupolicy/' | grep -v /internal/ | sed 's/.*/\t_ "&"/'
  go list -f '{{join .Imports "\n"}}' $(go list -deps ./cmd/cpupolicy | grep '^github.com/cpupolicy/') | sort -u |
    grep -Fx -f <(go list -f '{{if .Standard}}{{.ImportPath}}{{end}}' -deps ./cmd/cpupolicy) | grep -v internal | sed 's/.*/\t_ "&"/'
  printf ')\n\nfunc main() {}\n'
} >cmd/_depsfloor/main.go
go build -o "$tmp/deps.bin" ./cmd/_depsfloor
rm -rf cmd/_depsfloor
for v in amd intel zhaoxin; do
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$tmp/$v.wasm" ./plugins/vendors/$v
done
go run ./plugins/sdk/seal "$tmp/amd.wasm" "$tmp/intel.wasm" "$tmp/zhaoxin.wasm"
export XDG_CACHE_HOME="$tmp/cache" # the plugins' compilation cache
h=testdata/hosts

# wall prints the wall time of "$@" in µs (bash's clock: no fork of its
# own); median reads them, prints ms.
wall() {
  local t0 t1
  t0=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1 || true; t1=${EPOCHREALTIME/./}
  echo $(( t1 - t0 ))
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }
# pair NAME_A NAME_B -- A... -- B...: alternate, print a table row.
pair() {
  local na=$1 nb=$2; shift 3
  local -a a=() b=()
  while [ "$1" != -- ]; do a+=("$1"); shift; done; shift
  b=("$@")
  for i in 1 2 3; do wall "${a[@]}" >/dev/null; wall "${b[@]}" >/dev/null; done
  : >"$tmp/a.t"; : >"$tmp/b.t"
  for ((i = 0; i < runs; i++)); do
    wall "${a[@]}" >>"$tmp/a.t"
    wall "${b[@]}" >>"$tmp/b.t"
  done
  local ma mb
  ma=$(median <"$tmp/a.t"); mb=$(median <"$tmp/b.t")
  printf '| %s | %s | %s | %s | %s |\n' "$na" "$ma" "$nb" "$mb" "$(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.2f", a/b}')"
}
# sh_in runs a command with standard input from a file (for QEMU's QMP).
sh_in() { local in=$1; shift; "$@" <"$in"; }

echo "### Whole commands, side by side ($runs pairs each, medians of wall time in ms)"
echo
echo '| A | A ms | B | B ms | A/B |'
echo '| --- | ---: | --- | ---: | ---: |'
cp=$tmp/cpupolicy
"$cp" probe --host $h/this-machine.json --plugin "$tmp/amd.wasm" -o "$tmp/amd-recorded.json"
pair '`models --host xeon-gold-6130.json --plugin amd.wasm`' '`models --host xeon-gold-6130.json`' -- \
  "$cp" models --host $h/xeon-gold-6130.json --plugin "$tmp/amd.wasm" -- "$cp" models --host $h/xeon-gold-6130.json
pair '`models --host F --plugin amd.wasm` (F: this AMD host, decoded and recorded by amd)' '`models --host this-machine.json`' -- \
  "$cp" models --host "$tmp/amd-recorded.json" --plugin "$tmp/amd.wasm" -- "$cp" models --host $h/this-machine.json
pair '`models --host xeon-gold-6130.json`, three plugins' '`models --host xeon-gold-6130.json`' -- \
  "$cp" models --host $h/xeon-gold-6130.json --plugin "$tmp/amd.wasm" --plugin "$tmp/intel.wasm" --plugin "$tmp/zhaoxin.wasm" -- "$cp" models --host $h/xeon-gold-6130.json
pair '`cpupolicy -h`' 'hello world' -- "$cp" -h -- "$tmp/hello.bin"
pair '`cpupolicy -h`' 'cpupolicy'"'"'s dependencies only (deps.bin)' -- "$cp" -h -- "$tmp/deps.bin"
pair 'cpupolicy'"'"'s dependencies only (deps.bin)' 'hello world' -- "$tmp/deps.bin" -- "$tmp/hello.bin"
pair '`cpupolicy -h` (CGO_ENABLED=0)' 'hello world' -- "$tmp/cpupolicy-static" -h -- "$tmp/hello.bin"
printf '{"execute":"qmp_capabilities"}\n{"execute":"query-cpu-definitions"}\n{"execute":"quit"}\n' >"$tmp/defs.in"
q10=(sh_in "$tmp/defs.in" "$qemu10" -machine pc-q35-10.0 -accel tcg -nodefaults -S -display none -qmp stdio)
pair 'QEMU 10.0 tcg: start → query-cpu-definitions → quit' '`models --host xeon-gold-6130.json`' -- "${q10[@]}" -- "$cp" models --host $h/xeon-gold-6130.json
pair 'QEMU 10.0 tcg: start → query-cpu-definitions → quit' '`models --host xeon-gold-6130.json` (CGO_ENABLED=0)' -- "${q10[@]}" -- "$tmp/cpupolicy-static" models --host $h/xeon-gold-6130.json
pair 'QEMU 10.0 tcg: start → query-cpu-definitions → quit' '`models --accel tcg` (live probe)' -- "${q10[@]}" -- "$cp" models --accel tcg
echo

echo "### A cold first run (empty compilation cache) gives the warm run's output"
echo
for f in $h/this-machine.json "$tmp/amd-recorded.json"; do
  rm -rf "$tmp/cold"
  XDG_CACHE_HOME="$tmp/cold" /usr/bin/time -f '%e s wall, %U s user' -o "$tmp/cold.t" "$cp" models --host "$f" --plugin "$tmp/amd.wasm" --format json >"$tmp/cold.out"
  "$cp" models --host "$f" --plugin "$tmp/amd.wasm" --format json >"$tmp/warm.out"
  if cmp -s "$tmp/cold.out" "$tmp/warm.out"; then same=same; else same=DIFFERENT; fi
  echo "- \`models --host $(basename "$f") --plugin amd.wasm\`, cold: $(cat "$tmp/cold.t"); output $same as warm"
done
echo

echo "### Where cpupolicy -h's start goes: GODEBUG=inittrace=1 (sum of package init clocks, ms) and perf stat (page faults)"
echo
for b in "$tmp/hello.bin" "$tmp/deps.bin" "$cp -h" "$tmp/cpupolicy-static -h" "$cp models --host $h/xeon-gold-6130.json"; do
  # shellcheck disable=SC2086
  init=$(for i in 1 2 3 4 5; do GODEBUG=inittrace=1 $b 2>&1 >/dev/null | awk '/^init/{s+=$5} END{print s+0}'; done | sort -n | sed -n 3p)
  pf=""
  if command -v perf >/dev/null; then
    # shellcheck disable=SC2086
    pf=$(perf stat -r 20 -e page-faults,task-clock $b 2>&1 >/dev/null | awk '/page-faults/{p=$1} /task-clock/{t=$1} END{printf "%s page faults, %s ms task clock", p, t}')
  fi
  args=""
  if [[ $b == *" "* ]]; then args=" ${b#* }"; fi
  echo "- \`$(basename "${b%% *}")$args\`: init $init ms (median of 5); $pf"
done
echo

if [ "$maxn" -gt 0 ]; then
  echo "### Fleet ingestion: fleet DIR --format json (writefleet fleets, fleetgen.Realistic)"
  echo
  git worktree add -q --detach "$tmp/old" "$rev"
  (cd "$tmp/old" && go build -o "$tmp/old.bin" ./cmd/cpupolicy)
  go run ./internal/fleetgen/internal/writefleet -n 100000 -o "$tmp/f100k"
  # The same fleet for REV, which refuses the keys added since (qemu_release,
  # abi_levels: both derived, so the hosts are the same).
  go run ./internal/fleetgen/internal/writefleet -n 100000 -legacy -o "$tmp/f100k-old"
  echo "| binary | hosts | wall s | user+sys s | peak RSS MiB | exit |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  timed() { # NAME N BIN DIR
    local rc=0
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$3" fleet "$4" --format json >/dev/null || rc=$?
    read -r w u s m < <(tail -n 1 "$tmp/time")
    echo "| $1 | $2 | $w | $(echo "$u + $s" | bc) | $((m / 1024)) | $rc |"
  }
  for i in 1 2 3; do
    timed "$rev" 100000 "$tmp/old.bin" "$tmp/f100k-old"
    timed "this tree" 100000 "$cp" "$tmp/f100k"
  done
  rm -rf "$tmp/f100k" "$tmp/f100k-old"
  if [ "$maxn" -ge 1000000 ]; then
    f1m=${FLEET_1M:-}
    if [ -z "$f1m" ]; then
      f1m=$tmp/f1m
      go run ./internal/fleetgen/internal/writefleet -n 1000000 -o "$f1m"
      sync
    fi
    timed "this tree" 1000000 "$cp" "$f1m"
    timed "this tree" 1000000 "$cp" "$f1m"
    rm -rf "$tmp/f1m"
  fi
  echo
fi

echo "### Plugin decode in process: go test -run '^\$' -bench Decode/compiler ./plugins/"
echo
echo '```'
go test -run '^$' -bench 'Decode/compiler' ./plugins/ | grep -E '^Benchmark'
echo '```'
