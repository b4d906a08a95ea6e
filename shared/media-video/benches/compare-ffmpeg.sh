#!/usr/bin/env bash
# media-video against the ffmpeg CLI, same machine, same run, alternating, identical settings:
# libx264 (preset veryfast, CRF 23, the rung's maxrate/bufsize, keyframes every 2 s, no scene-cut
# keyframes), bicubic scaling, AAC 128 kb/s stereo, faststart MP4.
#
#   1. one 720p rendition: `examples/transcode --ladder 720 --no-hls` vs one `ffmpeg` run;
#   2. the default ladder (1080p, 720p, 480p, plus HLS): one `examples/transcode` run vs three
#      `ffmpeg` runs, one per rendition (MP4 only: ffmpeg does less work than we do here).
#
# The source is the Big Buck Bunny clip from tests/data upscaled to 1080p and looped 4 times (21 s),
# made once and cached. Prints fps, realtime factor, peak RSS and the speed ratio (ffmpeg time / ours:
# above 1 means media-video is faster). ROUNDS=N changes the number of alternating rounds (default 3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
workspace="$(cd "$crate/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$workspace/target}"
bench_dir="$target_dir/media-video-bench"
rounds="${ROUNDS:-3}"
mkdir -p "$bench_dir"

for tool in ffmpeg ffprobe /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "compare-ffmpeg: $tool is required (apt-get install ffmpeg time)" >&2; exit 1; }
done

echo "building examples/transcode (release)..."
(cd "$workspace" && cargo build --release --quiet -p media-video --example transcode)
ours="$target_dir/release/examples/transcode"

source_clip="$bench_dir/bbb-1080p-21s.mp4"
if [ ! -s "$source_clip" ]; then
  echo "making the 1080p source clip..."
  ffmpeg -hide_banner -loglevel error -y -stream_loop 3 -i "$crate/tests/data/bigbuckbunny.mp4" \
    -vf scale=1920:1080:flags=lanczos -c:v libx264 -preset fast -crf 18 -pix_fmt yuv420p \
    -c:a aac -b:a 192k "$source_clip.tmp.mp4"
  mv "$source_clip.tmp.mp4" "$source_clip"
fi
duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$source_clip")
frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$source_clip")
fps_in=$(ffprobe -v error -select_streams v:0 -show_entries stream=avg_frame_rate -of csv=p=0 "$source_clip")
gop=$(awk -v r="$fps_in" 'BEGIN { split(r, f, "/"); printf "%d", (f[1] / f[2]) * 2 + 0.5 }')
echo "source: $source_clip ($duration s, $frames frames, $fps_in fps, GOP $gop)"

# ffmpeg_rendition HEIGHT MAXRATE_K OUT: the ffmpeg CLI with media-video's settings for one rung.
ffmpeg_rendition() {
  ffmpeg -hide_banner -loglevel error -y -i "$source_clip" -map 0:v:0 -map '0:a:0?' \
    -vf "scale=-2:$1:flags=bicubic" -fps_mode passthrough -pix_fmt yuv420p \
    -c:v libx264 -preset veryfast -crf 23 -maxrate "${2}k" -bufsize "$(($2 * 2))k" \
    -g "$gop" -keyint_min "$gop" -sc_threshold 0 -forced-idr 1 -force_key_frames 'expr:gte(t,n_forced*2)' \
    -c:a aac -b:a 128k -ac 2 -movflags +faststart "$3"
}

# measure NAME COMMAND...: runs COMMAND under /usr/bin/time, appends "seconds rss_kb" to NAME's log.
measure() {
  local name="$1"; shift
  local stats="$bench_dir/time.txt"
  /usr/bin/time -v -o "$stats" "$@" >/dev/null 2>"$bench_dir/$name.err" || { cat "$bench_dir/$name.err" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$stats")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$stats")
  echo "$wall $rss" >>"$bench_dir/$name.log"
}

ladder_ffmpeg() {
  ffmpeg_rendition 1080 6000 "$bench_dir/ffmpeg-1080p.mp4"
  ffmpeg_rendition 720 3500 "$bench_dir/ffmpeg-720p.mp4"
  ffmpeg_rendition 480 1500 "$bench_dir/ffmpeg-480p.mp4"
}
export -f ffmpeg_rendition ladder_ffmpeg
export source_clip gop bench_dir

rm -f "$bench_dir"/*.log
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds"
  rm -rf "$bench_dir/ours-720" "$bench_dir/ours-ladder"
  measure ours-720 "$ours" "$source_clip" "$bench_dir/ours-720" --ladder 720 --no-hls --work-dir "$bench_dir"
  measure ffmpeg-720 bash -c 'ffmpeg_rendition 720 3500 "$bench_dir/ffmpeg-720p.mp4"'
  measure ours-ladder "$ours" "$source_clip" "$bench_dir/ours-ladder" --work-dir "$bench_dir"
  measure ffmpeg-ladder bash -c ladder_ffmpeg
done

# median NAME FIELD: the median of field 1 (seconds) or 2 (RSS kB) over the rounds.
median() { awk -v f="$2" '{ print $f }' "$bench_dir/$1.log" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

report() {
  local name="$1" label="$2" seconds rss
  seconds=$(median "$name" 1); rss=$(median "$name" 2)
  awk -v l="$label" -v s="$seconds" -v r="$rss" -v f="$frames" -v d="$duration" \
    'BEGIN { printf "  %-34s %7.2f s  %7.1f fps  %6.2fx realtime  peak RSS %6.1f MiB\n", l, s, f / s, d / s, r / 1024 }'
}

echo
echo "one 720p rendition (median of $rounds):"
report ours-720 "media-video"
report ffmpeg-720 "ffmpeg CLI"
awk -v a="$(median ffmpeg-720 1)" -v b="$(median ours-720 1)" 'BEGIN { printf "  speed ratio (ffmpeg time / ours): %.3f  (target >= 0.95)\n", a / b }'
echo
echo "ladder 1080p+720p+480p (median of $rounds):"
report ours-ladder "media-video, one run (+HLS)"
report ffmpeg-ladder "ffmpeg CLI, three runs (MP4 only)"
awk -v a="$(median ffmpeg-ladder 1)" -v b="$(median ours-ladder 1)" 'BEGIN { printf "  speed ratio (ffmpeg time / ours): %.3f  (target > 1)\n", a / b }'
