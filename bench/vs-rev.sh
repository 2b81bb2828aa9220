#!/usr/bin/env bash
# Whole commands of this tree against the same commands of an earlier
# revision, timed side by side in one hyperfine run (so the ratio holds
# when the machine's speed drifts). Usage: bash bench/vs-rev.sh [REV] [RUNS]
# (default REV d9a3dd3, the last commit before the library-first refactor;
# RUNS 30). Needs go, git and hyperfine (apt-get install hyperfine).
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
  "models --host $h/xeon-gold-6130.json"
  "models --host $h/xeon-gold-6130.json --format json"
  "why Skylake-Client-v4 --host $h/core-i7-8550u.json"
  "resolve --cpu Haswell-v4,+vmx --host $h/xeon-gold-6130.json"
  "baseline $h/xeon-gold-6130.json $h/core-i7-8550u.json $h/epyc-7502-32-core.json"
  "fleet --site cmd/cpupolicy/testdata/labels/site.star $h/xeon-gold-6130.json $h/core-i7-8550u.json $h/epyc-7502-32-core.json"
  "labels --host $h/xeon-gold-6130.json --site cmd/cpupolicy/testdata/labels/site.star"
  "check"
  "check --catalog qemu-7.2 --accel tcg --policy no-new-host-deps --format json"
  "catalog show --format json"
)
for c in "${cases[@]}"; do
  echo "### cpupolicy $c"
  # Exit codes 1 (violations) are answers, not failures: -i.
  hyperfine -N -i -w 3 -r "$runs" --export-markdown "$tmp/t.md" \
    -n old "$tmp/old.bin $c" -n new "$tmp/new.bin $c" >/dev/null 2>&1
  tail -n +3 "$tmp/t.md" | awk -F'|' '{printf "%s |%s |%s\n", $2, $3, $6}'
  echo
done
