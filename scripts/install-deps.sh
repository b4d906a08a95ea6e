#!/usr/bin/env bash
# Installs the Debian packages mediaflow builds and tests with, when missing. Idempotent; run as root
# (or with sudo available) on Debian/Ubuntu. Usage: scripts/install-deps.sh [extra packages...]
set -euo pipefail

packages=(
  # libjpeg-turbo (bundled by the turbojpeg crate) is built with cmake, its SIMD code with nasm.
  cmake nasm pkg-config clang libclang-dev
  # ffmpeg-next's bindings are generated with libclang; FFmpeg itself is built statically by
  # scripts/build-static-libs.sh. Debian's ffmpeg CLI is only the independent oracle of the video
  # tests and the reference of the video benchmark.
  ffmpeg
  # make package: cargo-lambda's venv, unzip, readelf/objdump, and the bullseye root for the load test.
  python3-venv unzip binutils debootstrap
  # Reference tools: vipsthumbnail for the image benchmark, exiftool for privacy checks, GNU time for peak RSS.
  libvips-tools libimage-exiftool-perl time
  "$@"
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
