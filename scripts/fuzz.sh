#!/usr/bin/env bash
# Runs each fuzz target in fuzz/ for SECONDS (default 60) with cargo-fuzz on the nightly toolchain,
# seeded with the committed test data; the corpus grows in a cache outside the clone, so repeated
# runs go deeper. A crash leaves its input in fuzz/artifacts/<target>/ and fails the run.
# Usage: scripts/fuzz.sh [SECONDS]      (make fuzz)
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${MEDIAFLOW_FUZZ_CORPUS:-$HOME/.cache/mediaflow/fuzz-corpus}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
find "$root/shared/media-core/tests/data/inputs" "$root/shared/media-core/tests/data/bad" -type f \
  ! -path '*/video/*' ! -path '*/audio/*' -exec cp {} "$seeds/" \;
# The instrumented nightly build stays apart from the project's own.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mediaflow/target}/fuzz"
cd "$root/fuzz"
for target in sniff read_metadata process_image jpeg_dc; do
  mkdir -p "$corpus/$target"
  echo "[fuzz] $target for ${seconds}s"
  # One job: the machine has two cores and libFuzzer's own process is enough to keep one busy.
  log="$corpus/$target.log"
  if ! cargo +nightly fuzz run "$target" "$corpus/$target" "$seeds" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 >"$log" 2>&1; then
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" >&2 || tail -n 30 "$log" >&2
    echo "[fuzz] $target failed: the input is in fuzz/artifacts/$target/, the log in $log" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | tr '\n' ' '
  echo
done
