#!/usr/bin/env bash
# Fetches two real iPhone HEIC photos (12 MP, too large to commit) from pillow-heif's source
# distribution on PyPI, idempotently, into DIR:
#   iphone13-grid-gps.heic  iPhone 13 Pro, 4032x3024 in 512 px grid tiles, EXIF with GPS
#   iphone8-rotated.heic    iPhone 8 Plus, stored 4032x3024 with `irot` 270° and EXIF Orientation 6
#                            (upright it is 3024x4032; applying both rotations is the classic bug)
# Licence: pillow-heif's BSD-3-Clause (Copyright (c) 2021-2023, Pillow-Heif contributors); see
# samples/README.md. Used by the demo, the HEIF tests and `make bench`. Usage: scripts/fetch-sample-photos.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
if [[ -f "$dir/.complete" ]]; then
  ls "$dir"/*.heic
  exit 0
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A throwaway venv has pip even where the system Python lacks it (python3-venv: scripts/install-deps.sh).
python3 -m venv "$work/venv"
"$work/venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: pillow_heif==1.8.1 -d "$work" ||
  { echo "pip download pillow_heif==1.8.1 failed: is PyPI reachable?" >&2; exit 1; }
images=pillow_heif-1.8.1/tests/images/heif_other
tar -xzf "$work/pillow_heif-1.8.1.tar.gz" -C "$work" "$images/pug.heic" "$images/arrow.heic"
cp "$work/$images/pug.heic" "$dir/iphone13-grid-gps.heic"
cp "$work/$images/arrow.heic" "$dir/iphone8-rotated.heic"
(cd "$dir" && sha256sum -c --quiet - <<'SUMS'
1ddce96766efbfa0f6bdf634bdab26bdeff831393df8d67f4cdc7b7a7afebc67  iphone13-grid-gps.heic
73f604d7353df4848505a1f45a5517f736857fe047372f95c2f3d671df92c22c  iphone8-rotated.heic
SUMS
)
touch "$dir/.complete"
ls "$dir"/*.heic
