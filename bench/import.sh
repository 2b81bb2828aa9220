#!/usr/bin/env bash
# `cpupolicy catalog import qemu` time per QEMU release (issue 16 item 4,
# issue 13): the importer runs one QEMU process per (machine type,
# accelerator) — per distinct set of x86 CPU compat properties where the
# release lists them — up to the number of CPUs it may use at once
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
echo "QEMU runs: QEMU processes started (one per distinct set of x86 CPU"
echo "compat properties and accelerator where the release lists them, else"
echo "one per machine type and accelerator), counted in a separate untimed"
echo "run through a logging wrapper; vs embedded: the catalog compared with the embedded"
echo "one (cmp, the kvm_data marker of a derived import aside)."
echo
echo "| QEMU | machine types × accels | QEMU runs | CPUs used | wall s | user+sys s | peak RSS MiB | catalog bytes | vs embedded |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
for rel in "${releases[@]}"; do
  bin=/opt/qemu-$rel/bin/qemu-system-x86_64
  [ "$rel" = 7.2 ] && bin=/usr/bin/qemu-system-x86_64
  if [ ! -x "$bin" ]; then
    echo "| $rel | not installed (scripts/qemu-release.sh $rel) | | | | | | | |"
    continue
  fi
  version=$("$bin" --version | head -n1 | awk '{print $4}')
  # The QEMU processes, counted through a wrapper that logs each start
  # with a machine type (the survey's "-machine none" and "-cpu help" are
  # left out) in a separate untimed run.
  printf '#!/bin/sh\ncase "$*" in *"-machine pc-"*) echo run >> "%s";; esac\nexec "%s" "$@"\n' "$tmp/runs" "$bin" > "$tmp/counting-qemu"
  chmod +x "$tmp/counting-qemu"
  : > "$tmp/runs"
  "$tmp/cpupolicy" catalog import qemu --binary "$tmp/counting-qemu" -o "$tmp/c.json" 2> /dev/null
  runs=$(wc -l < "$tmp/runs")
  for cpus in 1 all; do
    pin=()
    [ "$cpus" = 1 ] && pin=(taskset -c 0)
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "${pin[@]}" "$tmp/cpupolicy" catalog import qemu --binary "$bin" -o "$tmp/c.json" 2> "$tmp/err" \
      || { echo "| $version | failed: $(tail -n1 "$tmp/err") | | | | | | | |"; continue; }
    read -r wall user sys rss < "$tmp/time"
    # "FILE: QEMU 11.1.3, 187 models, 36 machine types, accels kvm,tcg (kvm derived), N bytes"
    summary=$(grep -E ': QEMU .* bytes$' "$tmp/err")
    machines=$(sed -E 's/.*, ([0-9]+) machine types.*/\1/' <<<"$summary")
    accels=$(sed -E 's/.*accels ([a-z,]+).*/\1/' <<<"$summary")
    derived=""
    grep -q 'kvm derived' <<<"$summary" && derived=" (kvm derived)"
    embedded=core/catalog/data/qemu-$rel.json
    same="no embedded catalog"
    if [ -f "$embedded" ]; then
      same="differs"
      sed 's/,"kvm_data":"derived"//' "$tmp/c.json" | cmp -s - <(sed 's/,"kvm_data":"derived"//' "$embedded") && same="byte-identical"
    fi
    used=$cpus
    [ "$cpus" = all ] && used=$(nproc)
    printf '| %s | %d × %s%s | %d | %s | %.1f | %.1f | %.0f | %s | %s |\n' "$version" "$machines" "$accels" "$derived" "$runs" \
      "$used" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)" "$(stat -c %s "$tmp/c.json")" "$same"
  done
done
