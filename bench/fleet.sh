#!/usr/bin/env bash
# Fleet benchmarks (issue 7, "The fleet"): (host, model) verdicts per
# second on one core over 10,000 generated hosts × every model of
# qemu-10.0 × 2 machine types; memory per loaded host; load time at
# N = 1,000, 10,000 and 100,000 hosts (linear in N?); and `cpupolicy
# fleet` end to end on generated fleets written to disk. Prints Markdown
# for bench/RESULTS.md.
#
# Usage: bash bench/fleet.sh [max-N]   (default 100000; 10000 skips the
#        100,000-host load, which holds ~650 MB of snapshot JSON)
# Needs: go; /usr/bin/time (GNU time) for the end-to-end peak RSS.
. "$(dirname "$0")/lib.sh"
maxn=${1:-100000}

echo "## Fleet (issue 7: the fleet)"
echo
machine_header
echo

echo "### Verdicts — go test -run '^\$' -bench Verdicts -cpu 1 -count 5 ./core/fleet/"
echo
echo '```'
go test -run '^$' -bench 'Verdicts' -cpu 1 -count 5 ./core/fleet/ | grep -E '^Benchmark'
echo '```'
echo

short=""
if [ "$maxn" -lt 100000 ]; then short="-short"; fi
echo "### Load — go test -run '^\$' -bench Load -cpu 1 -benchtime 1x -count 3 $short ./core/fleet/"
echo
echo '```'
go test -run '^$' -bench 'Load' -cpu 1 -benchtime 1x -count 3 $short -timeout 60m ./core/fleet/ | grep -E '^Benchmark'
echo '```'
echo

go build -o "$tmp/cpupolicy" ./cmd/cpupolicy
echo "### End to end — cpupolicy fleet --site DIR/site.star --format json (writefleet fleets)"
echo
echo "| hosts | wall s | user+sys s | peak RSS MiB | exit |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for n in 1000 10000; do
  go run ./internal/fleetgen/internal/writefleet -n "$n" -o "$tmp/f$n"
  rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$tmp/cpupolicy" fleet --site "$tmp/f$n/site.star" --format json >/dev/null || rc=$?
  read -r wall user sys rss < <(tail -n 1 "$tmp/time")  # GNU time first reports a non-zero exit
  echo "| $n | $wall | $(echo "$user + $sys" | bc) | $((rss / 1024)) | $rc |"
  rm -rf "$tmp/f$n"
done
