#!/usr/bin/env bash
# Regenerates the embedded catalogs from real QEMU releases (go generate
# ./core/catalog/). Each is what `cpupolicy catalog import qemu` makes of
# that QEMU: every pc-i440fx/pc-q35 machine type under tcg and, where
# /dev/kvm works, kvm; the importer checks the compact catalog re-expands
# to exactly QEMU's answers before writing.
#
#   qemu-7.2:  Debian 12's qemu-system-x86 (apt-get install qemu-system-x86)
#   qemu-10.0: Debian 12 backports' qemu-system-x86, unpacked beside 7.2 by
#              scripts/qemu-release.sh 10.0 (or QEMU10=/path/to/qemu-system-x86_64)
#
# Import both on a host with a working /dev/kvm, or the catalogs lack kvm
# data.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
qemu72=${QEMU72:-/usr/bin/qemu-system-x86_64}
qemu10=${QEMU10:-/opt/qemu-10.0/bin/qemu-system-x86_64}
if [ ! -x "$qemu10" ]; then
  bash "$root/scripts/qemu-release.sh" 10.0
fi
( cd "$root" && go run ./cmd/cpupolicy catalog import qemu --binary "$qemu72" --name qemu-7.2 -o core/catalog/data/qemu-7.2.json )
( cd "$root" && go run ./cmd/cpupolicy catalog import qemu --binary "$qemu10" --name qemu-10.0 -o core/catalog/data/qemu-10.0.json )
( cd "$root" && go run ./core/catalog/internal/mkbin core/catalog/data/qemu-7.2.json core/catalog/data/qemu-10.0.json )
