#!/usr/bin/env bash
# Fetches a real, long (52 s) video clip with sound for media-video's and the pipeline's long-input
# tests and benches, idempotently, into DIR (the project default is ~/.cache/mediaflow/sample-videos).
# Too large to commit (7.6 MB); pinned by sha256 below.
#   long-clip.mp4  The Sintel trailer (Blender Foundation's open movie, animated, not camera footage):
#                  52.2 s, H.264 High@3.1 1280x720 (letterboxed: black bars above and below) 24 fps
#                  yuv420p, 9 keyframes; AAC-LC stereo 48 kHz; ~1.17 Mb/s; index (moov) at the end.
#                  From Debian bookworm's libopenshot 0.2.7+dfsg1-4 source
#                  (examples/sintel_trailer-720p.mp4), unchanged. Sintel © Blender Foundation,
#                  durian.blender.org, CC BY 3.0; debian/copyright puts the examples under "Files: *",
#                  LGPL-3+.
# Usage: scripts/fetch-sample-videos.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
if [[ -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# `apt-get source` needs deb-src entries (scripts/build-static-libs.sh adds them, as `make deps`
# runs it) and package lists; on a fresh machine the lists may not be there yet. Only the upstream
# tarball (22 MB) is used.
(cd "$work" && { apt-get source -qq --download-only libopenshot=0.2.7+dfsg1-4 >/dev/null 2>&1 ||
  { apt-get update -qq && apt-get source -qq --download-only libopenshot=0.2.7+dfsg1-4 >/dev/null; }; }) ||
  { echo "apt-get source libopenshot=0.2.7+dfsg1-4 failed: is the Debian mirror reachable, with deb-src" \
      "entries (scripts/build-static-libs.sh adds them)? If bookworm no longer has that version," \
      "take examples/sintel_trailer-720p.mp4 from the libopenshot source it has and update the sha256" \
      "below only if the file differs." >&2; exit 1; }
tar -xJf "$work/libopenshot_0.2.7+dfsg1.orig.tar.xz" -C "$work" libopenshot-0.2.7/examples/sintel_trailer-720p.mp4 ||
  { echo "libopenshot_0.2.7+dfsg1.orig.tar.xz has no examples/sintel_trailer-720p.mp4" >&2; exit 1; }
cp "$work/libopenshot-0.2.7/examples/sintel_trailer-720p.mp4" "$dir/long-clip.mp4"

(cd "$dir" && sha256sum -c --quiet - <<'SUMS'
cb0fe73fc0a7d543459996c0cdab730997e6eac1013d3ede18796f777cb7f273  long-clip.mp4
SUMS
) || { echo "$dir/long-clip.mp4 does not match its pinned sha256: delete $dir and run again;" \
         "if it still differs, the Debian source changed" >&2; exit 1; }
touch "$dir/.complete"
echo "$dir"
