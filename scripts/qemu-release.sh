#!/usr/bin/env bash
# qemu-release.sh VERSION — put a QEMU release from Debian's archive beside the
# system's QEMU 7.2, without installing anything into the system.
#
#   VERSION  suite it comes from       prefix (default)
#   5.2      bullseye (+ -security)    /opt/qemu-5.2
#   10.0     bookworm-backports        /opt/qemu-10.0
#   11.1     trixie-backports          /opt/qemu-11.1
#
# (7.2 is bookworm's own: apt-get install qemu-system-x86.)
#
# What it does, idempotently:
#   1. Resolves qemu-system-x86, qemu-system-data, seabios and ipxe-qemu with
#      every dependency against an EMPTY dpkg status, through a private apt
#      configuration (APT_CONFIG: its own sources, lists, cache and status
#      file, in a scratch directory): the release's libraries, glibc
#      included, come from its own Debian release, so the result does not
#      depend on what this system has installed. "apt-get install
#      --download-only" only downloads; nothing is installed, removed or
#      upgraded, /etc/apt and /var/lib/dpkg are not read or written. (Never
#      "apt-get satisfy" these against the system: it plans to upgrade and
#      remove system packages.)
#   2. Unpacks every downloaded package with "dpkg -x" into a staging copy of
#      the prefix, records "name version" per package in PACKAGES.txt.
#   3. Writes the wrapper PREFIX/bin/qemu-system-x86_64, which starts the
#      emulator through the prefix's own dynamic loader
#      (ld-linux-x86-64.so.2 --library-path <the prefix's lib dirs>), with -L
#      for the prefix's usr/share/qemu, usr/share/seabios and usr/lib/ipxe/qemu
#      and QEMU_MODULE_DIR at its modules. Started that way, QEMU's
#      /proc/self/exe is the loader, so QEMU looks for its relocation link
#      "qemu-bundle" beside the loader: a link there (and in usr/bin) back to
#      the prefix root confines every built-in path to the prefix. (5.2
#      predates qemu-bundle; its module path is hard-coded, which is harmless
#      for QMP, and -L covers its firmware.)
#   4. Checks the staged tree — every library resolves through the prefix's
#      loader, the version is VERSION.x, every -L directory is inside the
#      prefix, QMP answers — then swaps it into place atomically.
#
# Standard output: the wrapper's path (first line), then its --version.
# Progress goes to standard error. A second run with a complete prefix only
# checks it and prints the same, unless QEMU_RELEASE_FORCE=1.
#
# Environment:
#   QEMU_RELEASE_PREFIX  where to unpack (default /opt/qemu-VERSION)
#   QEMU_RELEASE_FORCE   1 = download and unpack again
#   QEMU_RELEASE_MIRROR  Debian mirror (default http://deb.debian.org/debian;
#                        security updates from .../debian-security on the
#                        same host)
#
# Needs: apt-get, dpkg-deb (dpkg -x), a writable PREFIX's parent. Root is not
# required except to write under /opt.
set -euo pipefail

usage() { printf 'usage: %s 5.2|10.0|11.1\n' "${0##*/}" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
VERSION="$1"

MIRROR="${QEMU_RELEASE_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MIRROR%/debian}/debian-security"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Packages asked for; apt adds their dependencies.
PKGS=(qemu-system-x86 qemu-system-data seabios ipxe-qemu)

# Per release: the suites the private sources list, the target suite (-t) and
# the packages beyond PKGS. 5.2 also needs bullseye's libdebuginfod1 (its
# libdw links it; nothing in bullseye's dependency chain pulls it in when the
# status is empty, because libdw1 only Recommends it there).
case "$VERSION" in
  5.2)
    SUITES=(bullseye bullseye-updates)
    SECURITY=bullseye-security
    TARGET=bullseye
    EXTRA=(libdebuginfod1)
    ;;
  10.0)
    SUITES=(bookworm bookworm-updates bookworm-backports)
    SECURITY=bookworm-security
    TARGET=bookworm-backports
    EXTRA=()
    ;;
  11.1)
    SUITES=(trixie trixie-updates trixie-backports)
    SECURITY=trixie-security
    TARGET=trixie-backports
    EXTRA=()
    ;;
  *) printf 'qemu-release: unknown release %q (known: 5.2, 10.0, 11.1; 7.2 is Debian 12'"'"'s own qemu-system-x86)\n' "$VERSION" >&2; exit 2 ;;
esac

PREFIX="${QEMU_RELEASE_PREFIX:-/opt/qemu-$VERSION}"
while [[ "$PREFIX" == */ ]]; do PREFIX="${PREFIX%/}"; done
FORCE="${QEMU_RELEASE_FORCE:-0}"
WRAPPER="$PREFIX/bin/qemu-system-x86_64"
STAMP="$PREFIX/PACKAGES.txt"
TRIPLET=x86_64-linux-gnu

log() { printf 'qemu-%s: %s\n' "$VERSION" "$*" >&2; }
die() { printf 'qemu-%s: error: %s\n' "$VERSION" "$*" >&2; exit 1; }

case "$PREFIX" in
  /?*) ;;
  *) die "QEMU_RELEASE_PREFIX must be an absolute path other than /: '$PREFIX'" ;;
esac
[[ -r "$KEYRING" ]] || die "$KEYRING is missing (apt-get install debian-archive-keyring)"

# qmp_answers BIN: true if BIN starts and answers query-version over QMP with
# VERSION's major.minor.
qmp_answers() {
  local major="${VERSION%%.*}" minor="${VERSION#*.}" out
  out="$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-version"}' '{"execute":"quit"}' \
    | timeout 60 "$1" -S -nodefaults -nographic -machine none -accel tcg -qmp stdio 2>/dev/null)" || return 1
  # QEMU writes {"qemu": {"micro": M, "minor": N, "major": J}, ...}.
  grep -Eq "\"minor\": *$minor, *\"major\": *$major\b" <<<"$out"
}

# version_ok BIN: BIN --version is VERSION.x.
version_ok() {
  "$1" --version 2>/dev/null | grep -q "^QEMU emulator version ${VERSION//./\\.}\."
}

print_result() {
  echo "$WRAPPER"
  "$WRAPPER" --version
}

# ---------------------------------------------------------------------------
# Fast path: the prefix is complete (also a prefix made by the former
# scripts/qemu-10.0.sh, which used the system's libraries).
# ---------------------------------------------------------------------------
if [[ "$FORCE" != 1 && -f "$STAMP" && -x "$WRAPPER" ]] && version_ok "$WRAPPER"; then
  log "already unpacked in $PREFIX (QEMU_RELEASE_FORCE=1 to redo)"
  print_result
  exit 0
fi

# ---------------------------------------------------------------------------
# 1. private apt configuration, download only
# ---------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/qemu-$VERSION.XXXXXX")"
trap 'rm -rf "$work"' EXIT
apt="$work/apt"
mkdir -p "$apt/etc/apt.conf.d" "$apt/etc/sources.list.d" "$apt/etc/preferences.d" \
  "$apt/etc/trusted.gpg.d" "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/log"
: > "$apt/status"
{
  for s in "${SUITES[@]}"; do
    echo "deb [signed-by=$KEYRING] $MIRROR $s main"
  done
  echo "deb [signed-by=$KEYRING] $SECURITY_MIRROR $SECURITY main"
} > "$apt/etc/sources.list"
# Every Dir apt reads or writes points into $apt; Dir::Etc::main and
# Dir::Etc::parts are read after APT_CONFIG, so pointing them into $apt keeps
# the system's /etc/apt/apt.conf.d out too. Downloads run as root (the
# sandbox user _apt could not write $work). Only amd64 packages: the system's
# foreign architectures (dpkg) are not asked.
cat > "$apt/apt.conf" <<EOF
Dir::Etc "$apt/etc/";
Dir::Etc::main "apt.conf";
Dir::Etc::parts "apt.conf.d";
Dir::Etc::sourcelist "sources.list";
Dir::Etc::sourceparts "sources.list.d";
Dir::Etc::preferences "preferences";
Dir::Etc::preferencesparts "preferences.d";
Dir::Etc::trusted "trusted.gpg";
Dir::Etc::trustedparts "trusted.gpg.d";
Dir::State "$apt/state/";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache/";
Dir::Log "$apt/log/";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Debug::NoLocking "true";
EOF
export APT_CONFIG="$apt/apt.conf"

log "apt-get update (private: ${SUITES[*]} $SECURITY)"
apt-get update -qq >&2 || die "apt-get update failed"
log "download ${PKGS[*]} ${EXTRA[*]} -t $TARGET with dependencies"
apt-get install -qq --download-only -y -t "$TARGET" "${PKGS[@]}" "${EXTRA[@]}" >&2 \
  || die "apt-get install --download-only failed"

debs=("$apt"/cache/archives/*.deb)
[[ -e "${debs[0]}" ]] || die "nothing downloaded"
log "${#debs[@]} packages, $(du -csh "${debs[@]}" | tail -n1 | cut -f1)"

# ---------------------------------------------------------------------------
# 2. unpack into a stage beside the prefix (same file system: the final mv is
# a rename)
# ---------------------------------------------------------------------------
mkdir -p "$(dirname "$PREFIX")"
stage="$(mktemp -d "${PREFIX}.new.XXXXXX")"
trap 'rm -rf "$work" "$stage"' EXIT
for deb in "${debs[@]}"; do
  dpkg -x "$deb" "$stage"
  dpkg-deb -f "$deb" Package Version | awk '/^Package:/ {p=$2} /^Version:/ {v=$2} END {print p, v}'
done | sort > "$stage/PACKAGES.txt"
grep -Eq "^qemu-system-x86 1:${VERSION//./\\.}[.+~]" "$stage/PACKAGES.txt" \
  || die "the downloaded qemu-system-x86 is not $VERSION.x: $(grep '^qemu-system-x86 ' "$stage/PACKAGES.txt")"

# The loader: usr/lib (merged /usr, bookworm and later) or lib (bullseye,
# whose lib64/ld-linux-x86-64.so.2 link is absolute and so points at the
# system's loader: never use it).
loader=""
for l in usr/lib/$TRIPLET/ld-linux-x86-64.so.2 lib/$TRIPLET/ld-linux-x86-64.so.2; do
  if [[ -e "$stage/$l" ]]; then loader="$l"; break; fi
done
[[ -n "$loader" ]] || die "no ld-linux-x86-64.so.2 among the unpacked packages"
loaderdir="$(dirname "$loader")"

# Library directories: the triplet dirs, and those the packages' own
# ld.so.conf.d files add (e.g. a library in a subdirectory).
libdirs=()
for d in lib/$TRIPLET usr/lib/$TRIPLET; do
  [[ -d "$stage/$d" ]] && libdirs+=("$d")
done
if compgen -G "$stage/etc/ld.so.conf.d/*.conf" >/dev/null; then
  while read -r d; do
    d="${d#/}"
    [[ -n "$d" && -d "$stage/$d" ]] && libdirs+=("$d")
  done < <(grep -hv '^[[:space:]]*\(#\|include\|$\)' "$stage"/etc/ld.so.conf.d/*.conf)
fi

# qemu-bundle: QEMU (7.1 and later) prefixes its built-in paths with
# <dir of /proc/self/exe>/qemu-bundle when that exists. Through the loader,
# that dir is the loader's; run directly, usr/bin.
up() { local p="$1" r=""; while [[ "$p" != . ]]; do r="../$r"; p="$(dirname "$p")"; done; echo "${r%/}"; }
ln -sfn "$(up "$loaderdir")" "$stage/$loaderdir/qemu-bundle"
ln -sfn ../.. "$stage/usr/bin/qemu-bundle"

# ---------------------------------------------------------------------------
# 3. wrapper
# ---------------------------------------------------------------------------
libpath=""
for d in "${libdirs[@]}"; do libpath="${libpath:+$libpath:}\$PREFIX/$d"; done
mkdir -p "$stage/bin"
{
  cat <<EOF
#!/bin/sh
# QEMU $VERSION from Debian $TARGET, unpacked (not installed) by cpupolicy's
# scripts/qemu-release.sh with every library it needs, glibc included, from
# the same Debian release. It runs through that release's own loader, with
# its own ROMs/BIOS (-L, searched first) and modules; all arguments pass
# through. (qemu-bundle beside the loader relocates QEMU's built-in paths
# into the prefix; -L and QEMU_MODULE_DIR make that explicit.)
EOF
  cat <<'EOF'
PREFIX="$(dirname "$(dirname "$(readlink -f "$0")")")"
export QEMU_MODULE_DIR="$PREFIX/usr/lib/x86_64-linux-gnu/qemu"
EOF
  cat <<EOF
exec "\$PREFIX/$loader" --library-path "$libpath" \\
  "\$PREFIX/usr/bin/qemu-system-x86_64" \\
  -L "\$PREFIX/usr/share/qemu" \\
  -L "\$PREFIX/usr/share/seabios" \\
  -L "\$PREFIX/usr/lib/ipxe/qemu" \\
  "\$@"
EOF
} > "$stage/bin/qemu-system-x86_64"
chmod 755 "$stage/bin/qemu-system-x86_64"
# mktemp made the stage 0700; the prefix is for every user.
chmod 755 "$stage"

# ---------------------------------------------------------------------------
# 4. check, then swap in
# ---------------------------------------------------------------------------
stagepath="${libpath//\$PREFIX/$stage}"
if "$stage/$loader" --library-path "$stagepath" --list "$stage/usr/bin/qemu-system-x86_64" | grep 'not found' >&2; then
  die "unresolved libraries (above)"
fi
if "$stage/$loader" --library-path "$stagepath" --list "$stage/usr/bin/qemu-system-x86_64" | grep -v "$stage/\|linux-vdso" >&2; then
  die "libraries above resolve outside $stage"
fi
version_ok "$stage/bin/qemu-system-x86_64" || die "staged wrapper is not QEMU $VERSION.x"
datadirs="$("$stage/bin/qemu-system-x86_64" -L help)"
if [[ "$VERSION" == 5.2 ]]; then
  # 5.2 has no qemu-bundle: after the -L directories it still lists its
  # built-in ones (/usr/share/qemu, ...), which are 7.2's here. -L comes
  # first in the search, and the prefix has every file 5.2 asks for, so
  # only the order is checked.
  datadirs="$(head -n3 <<<"$datadirs")"
fi
if grep -v "^$stage/" <<<"$datadirs" >&2; then
  die "QEMU $VERSION searches the directories above outside $stage"
fi
qmp_answers "$stage/bin/qemu-system-x86_64" || die "staged wrapper does not answer QMP query-version"

rm -rf "${PREFIX}.old"
[[ ! -e "$PREFIX" ]] || mv "$PREFIX" "${PREFIX}.old"
mv "$stage" "$PREFIX"
rm -rf "${PREFIX}.old"
log "unpacked into $PREFIX ($(wc -l < "$STAMP") packages, $(du -sh "$PREFIX" | cut -f1))"

print_result
