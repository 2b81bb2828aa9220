#!/usr/bin/env bash
# Whole commands of this tree against the same commands of an earlier
# revision, timed side by side in one run, alternating.
# Usage: bash bench/vs-rev.sh [REV] [RUNS]  (default REV d9a3dd3, the last
# commit before the library-first refactor; RUNS 30). Needs go and git.
# Absolute figures include the shell's fork and date (a few ms); the
# ratio is the figure to quote.
. "$(dirname "$0")/lib.sh"
rev=${1:-d9a3dd3}
runs=${2:-30}
trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

git worktree add -q --detach "$tmp/old" "$rev"
(cd "$tmp/old" && go build -o "$tmp/old.bin" ./cmd/cpupolicy)
go build -o "$tmp/new.bin" ./cmd/cpupolicy

machine_section "old = $rev, new = $(git rev-parse --short HEAD)$(git diff --quiet || echo +dirty)"

h=testdata/hosts
declare -a cases=(
  "-h"
  "models --host $h/xeon-gold-6130.json --accel kvm"
  "models --host $h/xeon-gold-6130.json --format json --accel kvm"
  "why Skylake-Client-v4 --host $h/core-i7-8550u.json --accel kvm"
  "resolve --cpu Haswell-v4,+vmx --host $h/xeon-gold-6130.json --accel kvm"
  "baseline $h/xeon-gold-6130.json $h/core-i7-8550u.json $h/epyc-7502-32-core.json"
  "fleet --site cmd/cpupolicy/testdata/labels/site.star $h/xeon-gold-6130.json $h/core-i7-8550u.json $h/epyc-7502-32-core.json"
  "labels --host $h/xeon-gold-6130.json --site cmd/cpupolicy/testdata/labels/site.star"
  "check"
  "check --catalog qemu-7.2 --accel tcg --policy no-new-host-deps --format json"
  "catalog show --format json"
)
# Old and new run in turn, A B A B …, so a drift in the machine's speed
# (this VM's is large over a minute) falls on both alike; each figure is
# the median wall time of RUNS runs, after 3 warm-up pairs.
wall() { # prints the wall time of "$@" in ms
  local t0 t1
  t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }
printf '| command | old ms | new ms | new/old |\n| --- | ---: | ---: | ---: |\n'
for c in "${cases[@]}"; do
  read -r -a argv <<<"$c"
  for i in 1 2 3; do wall "$tmp/old.bin" "${argv[@]}" >/dev/null; wall "$tmp/new.bin" "${argv[@]}" >/dev/null; done
  : >"$tmp/old.t"; : >"$tmp/new.t"
  for ((i = 0; i < runs; i++)); do
    wall "$tmp/old.bin" "${argv[@]}" >>"$tmp/old.t"
    wall "$tmp/new.bin" "${argv[@]}" >>"$tmp/new.t"
  done
  o=$(median <"$tmp/old.t"); n=$(median <"$tmp/new.t")
  printf '| `cpupolicy %s` | %s | %s | %s |\n' "$c" "$o" "$n" "$(awk -v o="$o" -v n="$n" 'BEGIN {printf "%.2f", n/o}')"
done
