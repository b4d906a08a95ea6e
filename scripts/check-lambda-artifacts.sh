#!/usr/bin/env bash
# Checks packaged Lambda functions the way provided.al2023 will load them, and fails on the first
# problem with what to do about it. Usage:
#   scripts/check-lambda-artifacts.sh [--with-ffmpeg "NAME..."] [--with-heif "NAME..."] DIR...
# (DIR: <lambda dir>/<name>)
# For each DIR/bootstrap (and DIR/bootstrap.zip):
#   - NEEDED names only glibc's own libraries (provided.al2023 has no others we may rely on);
#   - no symbol version above GLIBC_2.34 (Amazon Linux 2023's glibc);
#   - the zip is under Lambda's 50 MB direct-upload limit;
#   - FFmpeg is inside exactly the functions named by --with-ffmpeg, and nowhere else, and libheif
#     inside exactly those named by --with-heif;
#   - it starts: `bootstrap --help` with LD_BIND_NOW=1 (every symbol resolved at load) inside a
#     Debian bullseye root (glibc 2.31), made once with debootstrap into the cache outside the clone.
set -euo pipefail

with_ffmpeg=" "
with_heif=" "
while [[ "${1:-}" == --with-* ]]; do
  case "$1" in
    --with-ffmpeg) with_ffmpeg=" $2 " ;;
    --with-heif) with_heif=" $2 " ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
ALLOWED='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux-x86-64\.so\.2)$'
MAX_GLIBC=2.34
MAX_ZIP_BYTES=$((50 * 1000 * 1000))
ROOT="${MEDIAFLOW_BULLSEYE_ROOT:-$HOME/.cache/mediaflow/bullseye-root}"

fail() { echo "check-lambda-artifacts: $*" >&2; exit 1; }

# The old-glibc root, once per machine (about 30 s; Debian's archive is the only thing fetched).
if [[ ! -f "$ROOT/.complete" ]]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  mirror="$(grep -hoE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1 || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  echo "[check] making a Debian bullseye root (glibc 2.31) in $ROOT from $mirror" >&2
  rm -rf "$ROOT"
  debootstrap --variant=minbase bullseye "$ROOT" "$mirror" >/dev/null || fail "debootstrap bullseye failed"
  touch "$ROOT/.complete"
fi
root_glibc="$(chroot "$ROOT" ldd --version | awk 'NR == 1 { print $NF }')"

for dir in "$@"; do
  name="$(basename "$dir")"
  bootstrap="$dir/bootstrap"
  [[ -f "$bootstrap" ]] || fail "$bootstrap not found: run 'make package' first"

  extra="$(readelf -d "$bootstrap" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | grep -Ev "$ALLOWED" | tr '\n' ' ' || true)"
  [[ -z "$extra" ]] || fail "$name needs shared libraries that provided.al2023 lacks: $extra(link them statically)"

  glibc="$(objdump -T "$bootstrap" | grep -oE 'GLIBC_[0-9.]+' | sed 's/GLIBC_//' | sort -V | tail -n 1)"
  if [[ "$(printf '%s\n%s\n' "$glibc" "$MAX_GLIBC" | sort -V | tail -n 1)" != "$MAX_GLIBC" ]]; then
    fail "$name needs GLIBC_$glibc, provided.al2023 has $MAX_GLIBC: build it with 'make package' (cargo-lambda's zig linker)"
  fi

  zip_bytes=0
  if [[ -f "$dir/bootstrap.zip" ]]; then
    zip_bytes="$(stat -c %s "$dir/bootstrap.zip")"
    ((zip_bytes < MAX_ZIP_BYTES)) || fail "$name's zip is $zip_bytes bytes, over Lambda's 50 MB limit"
  fi

  # FFmpeg's libraries embed their identity strings (Lavf59…, Lavc59…).
  if grep -aqE 'Lav[fc][0-9]{2}\.[0-9]+\.[0-9]+' "$bootstrap"; then has_ffmpeg=yes; else has_ffmpeg=no; fi
  if [[ "$with_ffmpeg" == *" $name "* ]]; then
    [[ $has_ffmpeg == yes ]] || fail "$name should link FFmpeg statically but contains none"
  else
    [[ $has_ffmpeg == no ]] || fail "$name contains FFmpeg but never handles video: check its dependencies (cargo tree -p $name -i ffmpeg-sys-next)"
  fi
  # libheif's error messages are in every build that can decode a HEIF file.
  if grep -aqF "No 'ftyp' box" "$bootstrap"; then has_heif=yes; else has_heif=no; fi
  if [[ "$with_heif" == *" $name "* ]]; then
    [[ $has_heif == yes ]] || fail "$name should link libheif statically but contains none"
  else
    [[ $has_heif == no ]] || fail "$name contains libheif but never decodes images: check its dependencies (cargo tree -p $name -i libheif-sys)"
  fi

  mkdir -p "$ROOT/opt/check"
  cp "$bootstrap" "$ROOT/opt/check/$name"
  if ! help="$(LD_BIND_NOW=1 chroot "$ROOT" "/opt/check/$name" --help 2>&1)"; then
    fail "$name does not start on glibc $root_glibc: $help"
  fi
  rm -f "$ROOT/opt/check/$name"
  awk -v n="$name" -v b="$(stat -c %s "$bootstrap")" -v z="$zip_bytes" -v g="$glibc" -v f="$has_ffmpeg" -v h="$has_heif" -v r="$root_glibc" \
    'BEGIN { printf "[check] %-10s ok: %5.1f MB, zip %5.1f MB, GLIBC <= %s, FFmpeg %-3s, libheif %-3s, starts on glibc %s\n", n, b / 1e6, z / 1e6, g, f, h, r }'
done
