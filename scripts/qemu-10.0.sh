#!/usr/bin/env bash
# qemu-10.0.sh — put QEMU 10.0 (Debian bookworm-backports) beside the system's
# QEMU 7.2, without installing it into the system.
#
# What it does, idempotently (run as root):
#   1. Adds the bookworm-backports suite as an apt source if no enabled source
#      has it yet, copying the mirror, format (deb822 ".sources" or one-line
#      ".list") and options of the existing "bookworm" entry. Backports keeps
#      apt's default priority 100: nothing is pinned, nothing is upgraded, and a
#      plain "apt-get install" keeps choosing bookworm's own versions.
#   2. Downloads the backports QEMU x86 system emulator (qemu-system-x86) with
#      the packages it is built against in lockstep (qemu-system-common,
#      qemu-system-data) and its firmware (seabios: bookworm's 1.16.2 is too
#      old, backports has the version it needs; ipxe-qemu: bookworm's is
#      fine) and unpacks them with "dpkg -x" into a prefix, /opt/qemu-10.0 by
#      default (env QEMU10_PREFIX). Shared libraries it needs come from the
#      system (bookworm satisfies all of them); any that are missing or too old
#      here are downloaded too and unpacked into the same prefix, never
#      installed.
#   3. Links $PREFIX/usr/bin/qemu-bundle -> ../.. so QEMU relocates all its
#      built-in paths (modules, firmware, helpers) into the prefix, and writes
#      the wrapper $PREFIX/bin/qemu-system-x86_64, which runs the unpacked
#      binary with "-L" pointing at the unpacked ROMs and BIOS (so it never
#      picks up 7.2's files under /usr/share/qemu), QEMU_MODULE_DIR at the
#      unpacked modules, and LD_LIBRARY_PATH only if step 2 had to unpack
#      libraries. All arguments pass through.
#   4. Prints the wrapper's path and its --version.
#
# A second run with the same prefix does nothing but step 1's check and step
# 4, unless QEMU10_FORCE=1 (re-download and re-unpack, e.g. after a new
# backports upload).
#
# Environment:
#   QEMU10_PREFIX   where to unpack (default /opt/qemu-10.0)
#   QEMU10_VERSION  exact Debian version of qemu-system-x86 to take (default:
#                   the bookworm-backports one, which must be 10.0.x)
#   QEMU10_FORCE    1 = redo the download and unpack even if the prefix is
#                   complete
#
# The system's /usr/bin/qemu-system-x86_64 (7.2) stays the default and is not
# touched; no package is installed, removed or upgraded.
set -euo pipefail

PREFIX="${QEMU10_PREFIX:-/opt/qemu-10.0}"
while [[ "$PREFIX" == */ ]]; do PREFIX="${PREFIX%/}"; done   # no trailing /
WANT_VERSION="${QEMU10_VERSION:-}"
FORCE="${QEMU10_FORCE:-0}"
SUITE=bookworm-backports
ARCH_TRIPLET=x86_64-linux-gnu
# Packages unpacked from the QEMU source in lockstep with qemu-system-x86.
QEMU_PKGS=(qemu-system-x86 qemu-system-common qemu-system-data)
# Firmware packages: taken from backports where backports has them (seabios),
# else from bookworm (ipxe-qemu).
FW_PKGS=(seabios ipxe-qemu)
WRAPPER="$PREFIX/bin/qemu-system-x86_64"
STAMP="$PREFIX/PACKAGES.txt"   # "name version" per unpacked package

log() { printf 'qemu-10.0: %s\n' "$*" >&2; }
die() { printf 'qemu-10.0: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it edits apt sources and writes $PREFIX)"
case "$PREFIX" in
  /?*) ;;
  *) die "QEMU10_PREFIX must be an absolute path other than /: '${QEMU10_PREFIX:-}'" ;;
esac
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[[ "$codename" == bookworm ]] || die "this script is for Debian 12 bookworm (found '$codename')"

# ---------------------------------------------------------------------------
# 1. bookworm-backports apt source
# ---------------------------------------------------------------------------

# True if some enabled apt source already lists the suite (comments ignored;
# a deb822 stanza with "Enabled: no" is still counted, which is harmless: we
# then leave the admin's choice alone).
backports_configured() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    if grep -qE "^[^#]*(^|[[:space:]])${SUITE}([[:space:]]|$)" "$f"; then
      return 0
    fi
  done
  return 1
}

# Prints a deb822 stanza for the suite, made from the first enabled stanza in
# /etc/apt/sources.list.d/*.sources whose Suites has "bookworm" itself: the
# same fields (URIs, Components, Signed-By, Architectures, ...) with Suites
# replaced and comment lines dropped. Prints nothing if there is none.
deb822_stanza() {
  local f out
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    out="$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        ok = 0; deb = 0; off = 0
        for (i = 1; i <= NF; i++) {
          l = $i
          if (l ~ /^[Ss]uites:/) { s = " " substr(l, 8) " "; gsub(/[ \t]+/, " ", s); if (s ~ / bookworm /) ok = 1 }
          if (l ~ /^[Tt]ypes:/ && l ~ /[ \t]deb([ \t]|$)/) deb = 1
          if (l ~ /^[Ee]nabled:[ \t]*[Nn]o/) off = 1
        }
        if (ok && deb && !off) {
          for (i = 1; i <= NF; i++) {
            l = $i
            if (l ~ /^#/) continue
            if (l ~ /^[Ss]uites:/) l = "Suites: " suite
            print l
          }
          exit
        }
      }' "$f")"
    if [[ -n "$out" ]]; then
      printf '%s\n' "$out"
      return 0
    fi
  done
}

# Prints a one-line "deb ..." entry for the suite, made from the first
# one-line entry for "bookworm" itself in sources.list or *.list.
oneline_entry() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    # deb [options] URI bookworm components...
    sed -nE "s/^[[:space:]]*(deb([[:space:]]+\[[^]]*\])?[[:space:]]+[^[:space:]]+[[:space:]]+)bookworm([[:space:]].*)$/\1${SUITE}\3/p" "$f"
  done | head -n1
}

source_added=0
if backports_configured; then
  log "apt source for $SUITE already present"
else
  stanza="$(deb822_stanza)"
  if [[ -n "$stanza" ]]; then
    dest=/etc/apt/sources.list.d/${SUITE}.sources
    { echo "# Added by cpupolicy scripts/qemu-10.0.sh (QEMU 10.0 unpacked into $PREFIX)."
      echo "# Default priority 100: nothing is taken from here unless asked with -t $SUITE."
      echo "$stanza"; } > "$dest"
  else
    line="$(oneline_entry)"
    if [[ -n "$line" ]]; then
      dest=/etc/apt/sources.list.d/${SUITE}.list
      { echo "# Added by cpupolicy scripts/qemu-10.0.sh (QEMU 10.0 unpacked into $PREFIX)."
        echo "$line"; } > "$dest"
    else
      # No bookworm entry to copy: Debian's own mirror, in deb822 form.
      dest=/etc/apt/sources.list.d/${SUITE}.sources
      cat > "$dest" <<EOF
# Added by cpupolicy scripts/qemu-10.0.sh (QEMU 10.0 unpacked into $PREFIX).
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
  fi
  chmod 644 "$dest"
  log "added apt source $dest:"
  sed 's/^/    /' "$dest" >&2
  source_added=1
fi

# ---------------------------------------------------------------------------
# Fast path: prefix already complete.
# ---------------------------------------------------------------------------
print_result() {
  echo "$WRAPPER"
  "$WRAPPER" --version
}

if [[ "$FORCE" != 1 && -f "$STAMP" && -x "$WRAPPER" && -L "$PREFIX/usr/bin/qemu-bundle" ]] \
   && { [[ -z "$WANT_VERSION" ]] || grep -qxF "qemu-system-x86 $WANT_VERSION" "$STAMP"; } \
   && "$WRAPPER" --version 2>/dev/null | grep -q '^QEMU emulator version 10\.0\.'; then
  log "already unpacked in $PREFIX (QEMU10_FORCE=1 to redo):"
  sed 's/^/    /' "$STAMP" >&2
  [[ $source_added == 0 ]] || apt-get update -qq
  print_result
  exit 0
fi

# apt's lists must know the backports suite before anything is downloaded.
log "apt-get update"
apt-get update -qq

# ---------------------------------------------------------------------------
# 2. download and unpack
# ---------------------------------------------------------------------------

# Version of qemu-system-x86 in backports (the newest 10.0.x there).
if [[ -z "$WANT_VERSION" ]]; then
  WANT_VERSION="$(apt-cache madison qemu-system-x86 \
    | awk -F'|' -v s="$SUITE/" '$3 ~ s { gsub(/ /, "", $2); print $2 }' \
    | grep -E '^1:10\.0\.' | head -n1 || true)"
  [[ -n "$WANT_VERSION" ]] || die "no qemu-system-x86 10.0.x in $SUITE (apt-cache madison qemu-system-x86)"
fi
log "qemu-system-x86 $WANT_VERSION"

# Work in a scratch dir that apt's unprivileged _apt user can write to (else
# apt downloads unsandboxed and warns).
work="$(mktemp -d /tmp/qemu-10.0.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/deps/partial" "$work/root"
if id _apt >/dev/null 2>&1; then chown -R _apt "$work/debs" "$work/deps"; fi
chmod 755 "$work"

pkgspecs=()
for p in "${QEMU_PKGS[@]}"; do pkgspecs+=("$p=$WANT_VERSION"); done
pkgspecs+=("${FW_PKGS[@]}")
log "downloading ${pkgspecs[*]} (-t $SUITE)"
# -t makes backports the preferred release for this command only: seabios
# comes from backports, ipxe-qemu (not in backports) from bookworm.
(cd "$work/debs" && apt-get download -qq -t "$SUITE" "${pkgspecs[@]}")

debs=("$work"/debs/*.deb)
declare -A have_ver=()   # package -> version, for what we unpack
for d in "${debs[@]}"; do
  have_ver["$(dpkg-deb -f "$d" Package)"]="$(dpkg-deb -f "$d" Version)"
done

# The Depends of the two binary packages (the emulator; the modules and helpers
# in qemu-system-common), one relation per line.
depends_of() {
  local d
  for d in "$work"/debs/qemu-system-x86_*.deb "$work"/debs/qemu-system-common_*.deb; do
    dpkg-deb -f "$d" Depends | tr '\n' ' ' | tr ',' '\n'
    echo
  done | sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' | awk 'NF && !seen[$0]++'
}

# Relations on packages we unpack ourselves must hold among what we got (e.g.
# "seabios (>> 1.16.3-1~)"); all others go to apt below.
sys_deps=()
relre='\(([<>=]+)[[:space:]]*([^)]+)\)'   # "(op version)"
while IFS= read -r rel; do
  name="${rel%% *}"; name="${name%%:*}"
  if [[ -n "${have_ver[$name]:-}" ]]; then
    if [[ "$rel" =~ $relre ]]; then
      op="${BASH_REMATCH[1]}"; ver="${BASH_REMATCH[2]// /}"
      case "$op" in '<') op='<=' ;; '>') op='>=' ;; esac   # old-style aliases
      dpkg --compare-versions "${have_ver[$name]}" "$op" "$ver" \
        || die "downloaded $name ${have_ver[$name]} does not satisfy '$rel'"
    fi
  else
    sys_deps+=("$rel")
  fi
done < <(depends_of)

# Shared libraries: normally all satisfied by what bookworm already has
# installed. "apt-get satisfy --download-only" fetches only what is missing or
# too old (plus its own missing dependencies) — from bookworm first, from
# backports if bookworm's version is too old — without installing anything.
deprel="$(IFS=,; echo "${sys_deps[*]}")"
sat_opts=(-qq -y --download-only --no-install-recommends -o "Dir::Cache::archives=$work/deps")
if ! apt-get satisfy "${sat_opts[@]}" "$deprel" >/dev/null; then
  log "bookworm cannot satisfy all library dependencies, trying with -t $SUITE"
  apt-get satisfy "${sat_opts[@]}" -t "$SUITE" "$deprel" >/dev/null \
    || die "cannot satisfy: $deprel"
fi
libdebs=()
for d in "$work"/deps/*.deb; do
  if [[ -f "$d" ]]; then libdebs+=("$d"); fi
done

# Unpack everything into a staging tree beside the prefix, then swap it in,
# so a failed run never leaves a half-written prefix behind.
stage="${PREFIX}.new.$$"
rm -rf "$stage"
mkdir -p "$stage/bin"
: > "$stage/PACKAGES.txt"
for d in "${debs[@]}" ${libdebs[@]+"${libdebs[@]}"}; do
  pkg="$(dpkg-deb -f "$d" Package)"; ver="$(dpkg-deb -f "$d" Version)"
  log "unpacking $pkg $ver"
  dpkg -x "$d" "$stage"
  echo "$pkg $ver" >> "$stage/PACKAGES.txt"
done

# Make the unpacked QEMU relocatable. Its built-in paths (module dir
# /usr/lib/x86_64-linux-gnu/qemu, firmware path /usr/share/qemu,
# /usr/share/seabios, /usr/lib/ipxe/qemu, helper and config dirs) are the same
# as the system 7.2's, and QEMU falls back from QEMU_MODULE_DIR to them: e.g.
# "-device help" or QMP "qom-list-types" would dlopen 7.2's ui-opengl.so and
# abort ("Only modules from the same build can be loaded", then an assertion).
# When <dir of the binary>/qemu-bundle exists, QEMU prefixes every built-in
# path with it, so a link back to the prefix root confines it to the prefix.
ln -s ../.. "$stage/usr/bin/qemu-bundle"

# LD_LIBRARY_PATH only if libraries were unpacked (paths as they will be
# after the swap).
ldpath=""
if (( ${#libdebs[@]} > 0 )); then
  for dir in lib/$ARCH_TRIPLET usr/lib/$ARCH_TRIPLET; do
    if [[ -d "$stage/$dir" ]]; then ldpath="${ldpath:+$ldpath:}\$PREFIX/$dir"; fi
  done
fi

# ---------------------------------------------------------------------------
# 3. wrapper
# ---------------------------------------------------------------------------
{
  cat <<'EOF'
#!/bin/sh
# QEMU 10.0 from Debian bookworm-backports, unpacked (not installed) by
# cpupolicy's scripts/qemu-10.0.sh. Runs the unpacked emulator with its own
# ROMs/BIOS (-L, searched first) and its own modules; all arguments pass
# through. (usr/bin/qemu-bundle -> ../.. already relocates QEMU's built-in
# paths into the prefix; -L and QEMU_MODULE_DIR make that explicit and keep
# 7.2's files under /usr out of reach even if that link is lost.)
PREFIX="$(dirname "$(dirname "$(readlink -f "$0")")")"
export QEMU_MODULE_DIR="$PREFIX/usr/lib/x86_64-linux-gnu/qemu"
EOF
  if [[ -n "$ldpath" ]]; then
    echo "# Libraries this system lacks (or has too old), unpacked beside QEMU."
    echo "export LD_LIBRARY_PATH=\"$ldpath\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
  fi
  cat <<'EOF'
exec "$PREFIX/usr/bin/qemu-system-x86_64" \
  -L "$PREFIX/usr/share/qemu" \
  -L "$PREFIX/usr/share/seabios" \
  -L "$PREFIX/usr/lib/ipxe/qemu" \
  "$@"
EOF
} > "$stage/bin/qemu-system-x86_64"
chmod 755 "$stage/bin/qemu-system-x86_64"

# Check the staged tree runs before swapping it in: every library resolves and
# it is a 10.0.x.
(
  [[ -z "$ldpath" ]] || export LD_LIBRARY_PATH="${ldpath//\$PREFIX/$stage}"
  if ldd "$stage/usr/bin/qemu-system-x86_64" | grep -E 'not found'; then
    die "unresolved libraries (see above)"
  fi
)
"$stage/bin/qemu-system-x86_64" --version | grep -q '^QEMU emulator version 10\.0\.' \
  || die "staged $stage/bin/qemu-system-x86_64 is not QEMU 10.0.x"
# Every firmware/data dir it searches must be inside the staged prefix.
if "$stage/bin/qemu-system-x86_64" -L help | grep -v "^$stage/"; then
  die "QEMU 10.0 still searches the directories above outside $stage"
fi

rm -rf "${PREFIX}.old"
[[ ! -e "$PREFIX" ]] || mv "$PREFIX" "${PREFIX}.old"
mv "$stage" "$PREFIX"
rm -rf "${PREFIX}.old"
log "unpacked into $PREFIX:"
sed 's/^/    /' "$STAMP" >&2

# ---------------------------------------------------------------------------
# 4. result
# ---------------------------------------------------------------------------
print_result
