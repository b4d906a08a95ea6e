#!/usr/bin/env bash
# open_nsfw on one core: tract (this crate, release build) against onnxruntime
# (intra_op_num_threads=1) on the same preprocessed photos, in the same run, plus the model's load
# time and the peak RSS of one load + classify. Needs the model, the photos and the onnxruntime venv
# (`make fixtures`, scripts/onnx-venv.sh) and the environment the Makefile sets for cargo. Usage: shared/moderation-local/benches/compare-onnxruntime.sh [RUNS]
set -euo pipefail
runs=${1:-10}
root=$(cd "$(dirname "$0")/../../.." && pwd)
crate="$root/shared/moderation-local"
model=${MEDIAFLOW_MODEL_PATH:-$HOME/.cache/mediaflow/models/open-nsfw.onnx}
photos=${MEDIAFLOW_MODERATION_PHOTOS:-$HOME/.cache/mediaflow/moderation-photos}
python=${MEDIAFLOW_ONNX_VENV:-$HOME/.cache/mediaflow/onnx-venv}/bin/python
for need in "$model" "$photos/.complete" "$python"; do
  [[ -e "$need" ]] || { echo "missing $need: run \`make fixtures\` and scripts/onnx-venv.sh first (make bench does)" >&2; exit 1; }
done
(cd "$root" && cargo build -q --release -p moderation-local --example classify)
bin=${CARGO_TARGET_DIR:-$root/target}/release/examples/classify
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MEDIAFLOW_MODEL_PATH="$model"
mapfile -t pictures < <(ls "$photos"/*.png "$photos"/*.jpg)
echo "== tract, one core, ${#pictures[@]} photos x $runs runs"
taskset -c 0 "$bin" --runs "$runs" --write-tensors "$work" "${pictures[@]}" | tee "$work/tract.txt" | grep -E '_ms'
echo "== onnxruntime $("$python" -c 'import onnxruntime; print(onnxruntime.__version__)'), intra_op_num_threads=1, one core, same tensors"
taskset -c 0 "$python" "$crate/tests/onnxruntime_reference.py" bench "$model" "$work" "$runs" | tee "$work/ort.txt"
tract=$(awk '/^infer_ms/ {print $2}' "$work/tract.txt")
ort=$(awk '/^infer_ms/ {print $2}' "$work/ort.txt")
echo "== tract / onnxruntime per image: $tract ms / $ort ms = $(awk -v a="$tract" -v b="$ort" 'BEGIN {printf "%.2f", a / b}')x"
echo "== peak RSS of one load + classify (tract)"
taskset -c 0 /usr/bin/time -v "$bin" "$photos/chelsea.png" 2>&1 | grep -E 'load_ms|infer_ms|Maximum resident|Elapsed'
