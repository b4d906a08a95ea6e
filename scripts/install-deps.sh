#!/usr/bin/env bash
# Installs the Debian packages mediaflow builds and tests with, when missing. Idempotent; run as root
# (or with sudo available) on Debian/Ubuntu. Usage: scripts/install-deps.sh [extra packages...]
set -euo pipefail

packages=(
  # libjpeg-turbo (bundled by the turbojpeg crate) is built with cmake, its SIMD code with nasm.
  cmake nasm pkg-config clang libclang-dev
  # FFmpeg 5.1 for ffmpeg-next (media-video), and the CLIs the video tests check outputs with.
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev ffmpeg
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
