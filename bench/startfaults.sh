#!/usr/bin/env bash
# Where a command's page faults come from: each fault is recorded with its
# call stack (perf record -e page-faults -c 1 -g) and put in one phase —
# the kernel's exec and the dynamic loader, the Go runtime's own start,
# cgo's (libc's threads and malloc, in the default dynamically linked build),
# the package initialisers (by package), the command itself (main.main, by
# the first cpupolicy function on the stack), or goroutine stack growth.
# On this VM a page fault costs about 20 µs (bench/RESULTS.md, issue 16),
# so the faults are most of the gap between a Go program and hello world.
#
# Usage: bash bench/startfaults.sh [BINARY] [ARGS...]
#   BINARY defaults to cpupolicy built from this tree, ARGS to -h. Runs
#   the command RUNS (default 5) times and prints the median of each line.
# Needs: perf (kernel.perf_event_paranoid ≤ 2 lets a user count their own
# processes' page faults).
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
if [ $# -eq 0 ]; then
  go build -o "$tmp/cpupolicy" ./cmd/cpupolicy
  set -- "$tmp/cpupolicy" -h
fi

attribute() { # perf script output → "COUNT PHASE" lines
  awk 'BEGIN { RS = "" }
  {
    n = split($0, line, "\n"); stack = ""
    for (i = 1; i <= n; i++) { fr[i] = line[i]; sub(/^[ \t]*[0-9a-f]+ /, "", fr[i]); stack = stack " " fr[i] " " }
    phase = "other"
    if (stack ~ / runtime\.doInit1 /) {
      for (i = 1; i <= n; i++) if (fr[i] == "runtime.doInit1") break
      pkg = fr[i - 1]; sub(/\.(map\.)?init(\.[0-9a-z.]+)?$/, "", pkg)
      phase = "init " pkg
    } else if (stack ~ / main\.main /) {
      phase = "main.main"
      for (i = 1; i <= n; i++) if (fr[i] ~ /^github\.com\/cpupolicy\/cpupolicy\//) { # the innermost: whose code touched the page
        pkg = substr(fr[i], 32); split(pkg, parts, "."); phase = "main.main, in " parts[1]; break
      }
    } else if (stack ~ /morestack|copystack/) phase = "stack growth"
    else if (stack ~ / (runtime\.(rt0_go|schedinit|mstart|newproc|gcenable|bgscavenge|bgsweep|main|check)|runtime\.rt0_go\.abi0|runtime\.mstart\.abi0|_rt0_amd64(_linux)?) /) phase = "runtime start"
    else if (stack ~ /_dl_|elf_load|load_elf_binary| _start |__libc_start|tunables/) phase = "exec and dynamic loader"
    else if (stack ~ /pthread_|clone3|malloc|alloc_new_heap|GLIBC|__vfscanf|__getline|__fstat|__str|runtime\/cgo|sigframe/) phase = "cgo: libc threads and malloc"
    count[phase]++
  }
  END { for (p in count) print count[p], p }'
}

# What one page fault costs here: a program touching 4,000 fresh
# anonymous pages, timed in-process (median of 5 runs).
mkdir -p "$tmp/pfcost"
cat >"$tmp/pfcost/main.go" <<'GO'
package main

import (
	"fmt"
	"syscall"
	"time"
)

func main() {
	const n = 4000
	b, err := syscall.Mmap(-1, 0, n*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	t := time.Now()
	for i := 0; i < n; i++ {
		b[i*4096] = 1
	}
	fmt.Printf("%.1f\n", float64(time.Since(t).Nanoseconds())/n/1000)
}
GO
printf 'module pfcost\n\ngo 1.26\n' >"$tmp/pfcost/go.mod"
(cd "$tmp/pfcost" && go build -o "$tmp/pfcost.bin" .)
cost=$(for i in 1 2 3 4 5; do "$tmp/pfcost.bin"; done | sort -n | sed -n 3p)
echo "One anonymous page fault costs $cost µs here (4,000 pages touched, median of 5 runs)."
echo

for ((i = 0; i < runs; i++)); do
  perf record -q -e page-faults -c 1 -g -o "$tmp/pf.data" "$@" >/dev/null 2>&1 || true
  perf script -i "$tmp/pf.data" -F ip,sym 2>/dev/null | attribute >"$tmp/run.$i"
done
# The median of each phase over the runs (a phase missing from a run
# counts 0 there), then the total; phases by their median, largest first.
cat "$tmp"/run.* | awk -v runs="$runs" '
  { c = $1; $1 = ""; p = substr($0, 2); v[p] = v[p] " " c; seen[p]++ }
  END {
    for (p in v) {
      m = split(substr(v[p], 2), a, " ")
      for (k = m + 1; k <= runs; k++) a[k] = 0
      for (x = 1; x <= runs; x++) for (y = x + 1; y <= runs; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
      med = a[int((runs + 1) / 2)]
      if (med > 0) printf "%d\t%s\n", med, p
    }
  }' | sort -k1,1nr >"$tmp/med"
echo "Page faults of \`$(basename "$1") ${*:2}\` by phase (median of $runs runs; the medians sum to $(awk '{s += $1} END {print s}' "$tmp/med")):"
echo
echo '| faults | phase |'
echo '| ---: | --- |'
awk -F'\t' '{printf "| %d | %s |\n", $1, $2}' "$tmp/med"
awk -F'\t' '$2 ~ /^init / {a += $1; if ($2 ~ /cpupolicy\/cpupolicy/) o += $1; else if ($2 ~ /^init [a-z0-9]+\.[a-z]+\//) t += $1; else s += $1}
  END {printf "\nPackage init, all packages: %d (the standard library %d, other modules %d, cpupolicy'"'"'s own %d).\n", a, s, t, o}' "$tmp/med"
