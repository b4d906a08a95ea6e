#!/usr/bin/env bash
# Fetches the real 12+ MP JPEGs the benchmarks use (too large to commit) from Debian's wallpaper
# packages, idempotently: DIR/*.jpg are baseline, DIR/progressive/*.jpg the same images progressive.
# Both are lossless jpegtran transcodes of the originals (same DCT coefficients, only the scan
# layout differs). Licence: KDE Plasma wallpapers and MATE backgrounds, GPL-2+ (see each package's
# /usr/share/doc/*/copyright). Usage: scripts/fetch-bench-images.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
mkdir -p "$dir/progressive"
if [ -f "$dir/.complete" ]; then
  ls "$dir"/*.jpg
  exit 0
fi
command -v jpegtran >/dev/null || "$(dirname "$0")/install-deps.sh" libjpeg-turbo-progs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download plasma-workspace-wallpapers mate-backgrounds >/dev/null 2>&1)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/x"; done

# name=path inside the packages.
sources=(
  safe-landing=usr/share/wallpapers/SafeLanding/contents/images/5120x2880.jpg
  volna=usr/share/wallpapers/Volna/contents/images/5120x2880.jpg
  shell=usr/share/wallpapers/Shell/contents/images/5120x2880.jpg
  honeywave=usr/share/wallpapers/Honeywave/contents/images/5120x2880.jpg
  flow=usr/share/wallpapers/Flow/contents/images/5120x2880.jpg
  flow-dark=usr/share/wallpapers/Flow/contents/images_dark/5120x2880.jpg
  elephants=usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg
)
for source in "${sources[@]}"; do
  name=${source%%=*} path=${source#*=}
  jpegtran -copy none -outfile "$dir/$name.jpg" "$work/x/$path"
  jpegtran -copy none -progressive -outfile "$dir/progressive/$name.jpg" "$work/x/$path"
done
touch "$dir/.complete"
ls "$dir"/*.jpg
