#!/usr/bin/env bash
# mediaflow against vipsthumbnail on the same real 12+ MP photos, in the same run, alternating:
# JPEGs at 256 px, and iPhone HEICs at 256 and 1024 px (mediaflow makes both from one decode in one
# process; vipsthumbnail runs once per size, as it makes one size a run). Both pinned to one core
# (taskset; also mediaflow --jobs 1 and VIPS_CONCURRENCY=1, and libheif's tile threads share that
# core in both), JPEG q80, metadata stripped. Prints per-image time in a batch (one process for all
# files), per-process time (one process per file), peak RSS of both, and the ratios.
# Usage: scripts/bench-vs-vips.sh [ROUNDS] [all|jpeg|heic]
# Reads MEDIAFLOW_BENCH_IMAGES, MEDIAFLOW_SAMPLE_PHOTOS and MEDIAFLOW_CLI (the release `mediaflow`
# that `make package` builds), as `make bench` sets them after fetching the images.
set -euo pipefail
rounds=${1:-5}
sets=${2:-all}
images=${MEDIAFLOW_BENCH_IMAGES:?run make bench}
photos=${MEDIAFLOW_SAMPLE_PHOTOS:?run make bench}
mediaflow=${MEDIAFLOW_CLI:?run make bench}

mapfile -t baseline < <(find "$images" -maxdepth 1 -name '*.jpg' | sort)
mapfile -t progressive < <(find "$images/progressive" -maxdepth 1 -name '*.jpg' 2>/dev/null | sort)
[ ${#baseline[@]} -gt 0 ] || { echo "no bench images in $images" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_timed MS_VAR RSS_VAR FILES... -- COMMAND...: wall milliseconds and peak RSS (KiB) of COMMAND FILES...
run_timed() {
  local -n ms_out=$1 rss_out=$2
  shift 2
  local files=()
  while [ "$1" != "--" ]; do files+=("$1"); shift; done
  shift
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" "${files[@]}" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
  end=$(date +%s%N)
  ms_out=$(( (end - start) / 1000000 ))
  rss_out=$(cat "$work/rss")
}

# The thumbnail sizes of the current set (comma-separated).
sizes=256
# vipsthumbnail once per size, over the files it is given.
cat >"$work/vips-sizes" <<'SH'
#!/bin/sh
out=$1 sizes=$2
shift 2
for size in $(echo "$sizes" | tr , ' '); do
  VIPS_CONCURRENCY=1 vipsthumbnail -s "${size}x" -o "$out/%s-$size.jpg[Q=80,strip]" "$@" || exit 1
done
SH
chmod +x "$work/vips-sizes"

# Each run starts from an empty output folder; GNU time needs a program, not a shell function.
ours_batch() {
  rm -rf "$work/ours"
  run_timed "$@" -- taskset -c 0 "$mediaflow" process --jobs 1 --sizes "$sizes" --format jpeg --quality 80 --out "$work/ours"
}
vips_batch() {
  rm -rf "$work/vips" && mkdir -p "$work/vips"
  run_timed "$@" -- taskset -c 0 "$work/vips-sizes" "$work/vips" "$sizes"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

bench_set() {
  local name=$1; shift
  local files=("$@") n=$#
  local ours_ms=() vips_ms=() ours_rss=() vips_rss=() ours_one=() vips_one=() ms rss
  for ((round = 0; round < rounds; round++)); do
    ours_batch ms rss "${files[@]}"; ours_ms+=("$ms"); ours_rss+=("$rss")
    vips_batch ms rss "${files[@]}"; vips_ms+=("$ms"); vips_rss+=("$rss")
    for file in "${files[@]}"; do
      ours_batch ms rss "$file"; ours_one+=("$ms")
      vips_batch ms rss "$file"; vips_one+=("$ms")
    done
  done
  local ob vb oo vo
  ob=$(median "${ours_ms[@]}"); vb=$(median "${vips_ms[@]}")
  oo=$(median "${ours_one[@]}"); vo=$(median "${vips_one[@]}")
  printf '\n== %s: %d files, %d rounds, one core, %s px JPEG q80\n' "$name" "$n" "$rounds" "$sizes"
  printf '%-28s %12s %12s %8s\n' "" "mediaflow" "vipsthumb" "ratio"
  awk -v o="$ob" -v v="$vb" -v n="$n" 'BEGIN { printf "%-28s %9.1f ms %9.1f ms %7.2fx\n", "per image, batch", o/n, v/n, v/o }'
  awk -v o="$oo" -v v="$vo" 'BEGIN { printf "%-28s %9.1f ms %9.1f ms %7.2fx\n", "per image, one process each", o, v, v/o }'
  awk -v o="$(median "${ours_rss[@]}")" -v v="$(median "${vips_rss[@]}")" \
    'BEGIN { printf "%-28s %9.1f MiB %8.1f MiB %7.2fx\n", "peak RSS, batch", o/1024, v/1024, v/o }'
  echo "(ratio > 1: mediaflow faster / smaller)"
}

echo "vipsthumbnail: $(vipsthumbnail --vips-version 2>/dev/null || true)"
if [[ $sets == all || $sets == jpeg ]]; then
  bench_set "baseline JPEGs" "${baseline[@]}"
  [ ${#progressive[@]} -eq 0 ] || bench_set "progressive JPEGs" "${progressive[@]}"
fi
if [[ $sets == all || $sets == heic ]]; then
  mapfile -t heic < <(find "$photos" -maxdepth 1 -name '*.heic' | sort)
  sizes=256,1024
  bench_set "12 MP iPhone HEICs" "${heic[@]}"
fi
