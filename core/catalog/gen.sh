#!/usr/bin/env bash
# Regenerates the embedded catalogs from real QEMU releases (go generate
# ./core/catalog/). Each is what `cpupolicy catalog import qemu` makes of
# that QEMU: every pc-i440fx/pc-q35 machine type under tcg and kvm; the
# importer checks the compact catalog re-expands to exactly QEMU's
# answers before writing.
#
#   qemu-5.2:  Debian 11's qemu-system-x86, unpacked by
#              scripts/qemu-release.sh 5.2 (or QEMU52=/path/to/qemu-system-x86_64)
#   qemu-7.2:  Debian 12's qemu-system-x86 (apt-get install qemu-system-x86)
#   qemu-10.0: Debian 12 backports' qemu-system-x86, unpacked beside 7.2 by
#              scripts/qemu-release.sh 10.0 (or QEMU10=/path/to/qemu-system-x86_64)
#   qemu-11.1: Debian 13 backports' qemu-system-x86, unpacked by
#              scripts/qemu-release.sh 11.1 (or QEMU111=/path/to/qemu-system-x86_64)
#
# kvm answers: qemu-7.2 and qemu-10.0 were imported on an AMD host with a
# working /dev/kvm, which captures them ("--kvm capture"); qemu-5.2 and
# qemu-11.1 on an AMD host without one, where the importer derives them from the tcg
# answers ("--kvm derive", "kvm_data": "derived" in the file; RATIONALE:
# "Why may a catalog's kvm answers be derived?"). Either way gives the
# same bytes but for that marker, for a host of the same vendor.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
qemu52=${QEMU52:-/opt/qemu-5.2/bin/qemu-system-x86_64}
qemu72=${QEMU72:-/usr/bin/qemu-system-x86_64}
qemu10=${QEMU10:-/opt/qemu-10.0/bin/qemu-system-x86_64}
qemu111=${QEMU111:-/opt/qemu-11.1/bin/qemu-system-x86_64}
if [ ! -x "$qemu52" ]; then
  bash "$root/scripts/qemu-release.sh" 5.2
fi
if [ ! -x "$qemu10" ]; then
  bash "$root/scripts/qemu-release.sh" 10.0
fi
if [ ! -x "$qemu111" ]; then
  bash "$root/scripts/qemu-release.sh" 11.1
fi
( cd "$root" && go run ./cmd/cpupolicy catalog import qemu --binary "$qemu52" --kvm derive --name qemu-5.2 -o core/catalog/data/qemu-5.2.json )
( cd "$root" && go run ./cmd/cpupolicy catalog import qemu --binary "$qemu72" --name qemu-7.2 -o core/catalog/data/qemu-7.2.json )
( cd "$root" && go run ./cmd/cpupolicy catalog import qemu --binary "$qemu10" --name qemu-10.0 -o core/catalog/data/qemu-10.0.json )
( cd "$root" && go run ./cmd/cpupolicy catalog import qemu --binary "$qemu111" --kvm derive --name qemu-11.1 -o core/catalog/data/qemu-11.1.json )
( cd "$root" && go run ./core/catalog/internal/mkbin core/catalog/data/qemu-5.2.json core/catalog/data/qemu-7.2.json core/catalog/data/qemu-10.0.json core/catalog/data/qemu-11.1.json )
