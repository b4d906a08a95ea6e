#!/usr/bin/env bash
# Creates, idempotently, the Python venv at DIR (the project default is ~/.cache/mediaflow/onnx-venv)
# with onnxruntime, numpy and Pillow pinned by shared/moderation-local/tests/onnx-requirements.txt:
# the independent runtime and reference preprocessing that moderation-local's tests and its
# benchmark compare tract against. Prints the interpreter's path.
# Usage: scripts/onnx-venv.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
requirements="$(cd "$(dirname "$0")/.." && pwd)/shared/moderation-local/tests/onnx-requirements.txt"
stamp="$dir/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$dir/bin/python"
  exit 0
fi
rm -rf "$dir"
python3 -m venv "$dir"
"$dir/bin/pip" install -q --disable-pip-version-check --no-deps --only-binary :all: -r "$requirements" ||
  { echo "pip install -r $requirements failed: is PyPI reachable?" >&2; exit 1; }
"$dir/bin/python" -c 'import numpy, onnxruntime, PIL' ||
  { echo "the venv at $dir cannot import numpy, onnxruntime and PIL" >&2; exit 1; }
echo "$want" > "$stamp"
echo "$dir/bin/python"
