#!/usr/bin/env bash
# `cpupolicy catalog import qemu` time per QEMU release (issue 16 item 4,
# issue 13): the importer runs one QEMU process per (machine type,
# accelerator), up to the number of CPUs it may use at once
# (qemuimport.Options.Parallel, default runtime.NumCPU()). Each release is
# imported twice in the same run: pinned to one CPU with taskset (NumCPU
# then reports 1, so one QEMU at a time) and on every CPU. Prints Markdown
# for bench/RESULTS.md.
#
# Usage: bash bench/import.sh [RELEASE...]   (default: 10.0 11.1)
# Needs: go, GNU time (/usr/bin/time), taskset; the releases' QEMUs
# (scripts/qemu-release.sh RELEASE; 7.2 is /usr/bin's). Accelerators are
# the importer's default: tcg, plus kvm where /dev/kvm opens.
. "$(dirname "$0")/lib.sh"
releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(10.0 11.1)

go build -o "$tmp/cpupolicy" ./cmd/cpupolicy

echo "### Import — /usr/bin/time cpupolicy catalog import qemu --binary B -o F"
echo
machine_header
echo
echo "| QEMU | QEMU processes | CPUs used | wall s | user+sys s | peak RSS MiB | catalog bytes |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for rel in "${releases[@]}"; do
  bin=/opt/qemu-$rel/bin/qemu-system-x86_64
  [ "$rel" = 7.2 ] && bin=/usr/bin/qemu-system-x86_64
  if [ ! -x "$bin" ]; then
    echo "| $rel | not installed (scripts/qemu-release.sh $rel) | | | | | |"
    continue
  fi
  version=$("$bin" --version | head -n1 | awk '{print $4}')
  for cpus in 1 all; do
    pin=()
    [ "$cpus" = 1 ] && pin=(taskset -c 0)
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "${pin[@]}" "$tmp/cpupolicy" catalog import qemu --binary "$bin" -o "$tmp/c.json" 2> "$tmp/err" \
      || { echo "| $version | failed: $(tail -n1 "$tmp/err") | | | | | |"; continue; }
    read -r wall user sys rss < "$tmp/time"
    # "FILE: QEMU 11.1.3, 187 models, 36 machine types, accels tcg, N bytes"
    summary=$(grep -E ': QEMU .* bytes$' "$tmp/err")
    machines=$(sed -E 's/.*, ([0-9]+) machine types.*/\1/' <<<"$summary")
    accels=$(sed -E 's/.*accels ([a-z,]+),.*/\1/' <<<"$summary")
    naccel=$(tr ',' '\n' <<<"$accels" | wc -l)
    used=$cpus
    [ "$cpus" = all ] && used=$(nproc)
    printf '| %s | %d × %s = %d | %s | %.1f | %.1f | %.0f | %s |\n' "$version" "$machines" "$accels" $((machines * naccel)) \
      "$used" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)" "$(stat -c %s "$tmp/c.json")"
  done
done
