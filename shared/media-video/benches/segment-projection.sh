#!/usr/bin/env bash
# The wall time of a 10-minute 1080p video transcoded in segments by N concurrent Lambda
# invocations, projected from the parts measured on this machine, next to the serial transcode of
# the same clip measured in the same run (default ladder 1080p/720p/480p plus HLS, x264 veryfast,
# as in production).
#
# Sources, made once and cached in $CARGO_TARGET_DIR/media-video-bench: the 52 s Sintel trailer
# ($MEDIAFLOW_SAMPLE_VIDEOS/long-clip.mp4, from `make fixtures`) upscaled to
# 1920x1080 (x264 fast CRF 18, keyframes every 2 s like camera footage, AAC), and a 10-minute-plus
# file made by remuxing it 12 times (-stream_loop 11 -c copy, 626 s).
#
# examples/segment_projection measures (std::time::Instant, each step reading its file through a
# ranged source as the functions read S3, so bytes and requests are counted):
#   - on the long file, the per-file steps: probe, plan_segments, poster, transcode_audio_track;
#   - on the 52 s clip, the per-segment steps: every transcode_segment (whole ladder), each rung
#     alone on one full-length segment, and join_segments; and the serial transcode(). Ten
#     minutes are never encoded serially here: the serial time is the clip's, projected linearly.
#
# The model, for S = ceil(VIDEO_SECONDS / segment seconds) segments and N concurrent invocations:
#   T(N) = plan + parts + join
#   plan  = overhead + probe + plan_segments + poster + their S3 reads + poster and plan uploads
#   parts = one audio part then S segment parts (the order the pipeline sends them) on
#           N slots, each taking an earliest free one; with N >= S + 1 one wave, otherwise
#           about ceil((S + 1) / N) waves. Segment part = overhead + segment time + its S3 reads
#           (its share of the source) + upload of its chunks; audio part likewise (it reads the
#           whole source).
#   join  = overhead + download of every chunk (16 at a time, as the pipeline's join fetches them:
#           the bytes at S3_MBPS, the requests' latency divided by 16) + remux + upload of the MP4s
#           and the playlists (the parts uploaded the chunks already).
# Inputs that cannot be measured here, as parameters (environment variables):
#   COLD_START_MS  per-invocation cold start of the transcode function; default: measured here by
#                  scripts/bench-cold-start.py on the packaged bootstrap ($LAMBDA_DIR/transcode,
#                  `make package`), median init + median first invocation; without a package, the
#                  script's own target for the transcode init (40 ms), said so.
#   DISPATCH_MS    what that local measurement leaves out, per invocation: SQS delivery, sandbox
#                  creation and code download (default 300, an assumption).
#   S3_MBPS        S3 throughput of one Lambda, one stream (default 90 MB/s, an assumption:
#                  conservative for a single stream).
#   S3_REQUEST_MS  latency of each S3 request; the functions make them one after another
#                  (default 30, an assumption).
#   LAMBDA_VCPUS   vCPUs of the 3008 MB transcode function (default 1.7: 1 vCPU per 1769 MB).
# Step times measured here become Lambda times two ways, both printed: "wall", the wall time x
# (this machine's cores / LAMBDA_VCPUS), as if Lambda's vCPUs were this machine's cores (exact for
# x264's threads, conservative for the single-threaded probe, plan, poster, audio and remux); and
# "cpu", the step's CPU-seconds over LAMBDA_VCPUS for the threaded encodes (over 1 for the
# single-threaded steps), which other load on a shared machine hardly changes (the load average
# and the cores each encode kept busy are printed with the results).
# Prints the measurements, the model, its inputs and T(N) for N = 1, 10, 60 and segments of 30 s
# and 10 s, and the serial time projected to 10 minutes with the ratio serial / T(N).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
workspace="$(cd "$crate/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$workspace/target}"
bench_dir="$target_dir/media-video-bench"
lambda_dir="${LAMBDA_DIR:-$target_dir/lambda}"
samples="${MEDIAFLOW_SAMPLE_VIDEOS:-$HOME/.cache/mediaflow/sample-videos}"
segment_seconds="${SEGMENT_SECONDS:-30,10}"
mkdir -p "$bench_dir"

for tool in ffmpeg ffprobe python3; do
  command -v "$tool" >/dev/null || { echo "segment-projection: $tool is required" >&2; exit 1; }
done
trailer="$samples/long-clip.mp4"
[ -s "$trailer" ] || python3 "$workspace/scripts/fetch.py" sample-videos="$samples"
[ -s "$trailer" ] || { echo "segment-projection: no $trailer (make fixtures)" >&2; exit 1; }

echo "building examples/segment_projection (release)..."
(cd "$workspace" && cargo build --release --quiet -p media-video --example segment_projection)
example="$target_dir/release/examples/segment_projection"

clip="$bench_dir/sintel-1080p-52s.mp4"
if [ ! -s "$clip" ]; then
  echo "making the 1080p clip (52 s)..."
  ffmpeg -hide_banner -loglevel error -y -i "$trailer" -map 0:v:0 -map 0:a:0 \
    -vf scale=1920:1080:flags=lanczos -c:v libx264 -preset fast -crf 18 -pix_fmt yuv420p \
    -g 48 -keyint_min 48 -sc_threshold 0 -c:a aac -b:a 192k -movflags +faststart "$clip.tmp.mp4"
  mv "$clip.tmp.mp4" "$clip"
fi
long="$bench_dir/sintel-1080p-10min.mp4"
if [ ! -s "$long" ]; then
  echo "making the 10-minute file (the clip 12 times, remuxed)..."
  ffmpeg -hide_banner -loglevel error -y -stream_loop 11 -i "$clip" -c copy -movflags +faststart "$long.tmp.mp4"
  mv "$long.tmp.mp4" "$long"
fi
for file in "$clip" "$long"; do
  echo "source: $file ($(ffprobe -v error -show_entries format=duration,bit_rate -of csv=p=0 "$file" |
    awk -F, '{ printf "%.1f s, %.1f Mb/s", $1, $2 / 1e6 }'), $(du -m "$file" | cut -f1) MB)"
done

cold_json="$bench_dir/cold-start-transcode.json"
rm -f "$cold_json"
if [ -z "${COLD_START_MS:-}" ] && [ -x "$lambda_dir/transcode/bootstrap" ]; then
  echo
  "$workspace/scripts/bench-cold-start.py" --starts 10 --json "$cold_json" "$lambda_dir" transcode
fi

echo
echo "measuring (segment targets $segment_seconds s)..."
measurements="$bench_dir/segment-projection.jsonl"
rm -rf "$bench_dir/segment-projection-work"
load_before="$(cut -d' ' -f1 /proc/loadavg)"
"$example" "$clip" --long "$long" --segment-seconds "$segment_seconds" \
  --work-dir "$bench_dir/segment-projection-work" >"$measurements"
load_after="$(cut -d' ' -f1 /proc/loadavg)"
rm -rf "$bench_dir/segment-projection-work"

MEASUREMENTS="$measurements" COLD_JSON="$cold_json" CORES="$(nproc)" LOAD_BEFORE="$load_before" LOAD_AFTER="$load_after" \
  python3 - <<'PYTHON'
import heapq, json, math, os

rows = [json.loads(line) for line in open(os.environ["MEASUREMENTS"]) if line.startswith("{")]
def find(file, step, target=None):
    return [r for r in rows if r["file"] == file and r["step"] == step
            and (target is None or r.get("target_seconds") == target)]
def one(file, step, target=None):
    return find(file, step, target)[0]

video_seconds = float(os.environ.get("VIDEO_SECONDS", "600"))
s3_mbps = float(os.environ.get("S3_MBPS", "90"))
request_s = float(os.environ.get("S3_REQUEST_MS", "30")) / 1000
dispatch_s = float(os.environ.get("DISPATCH_MS", "300")) / 1000
vcpus = float(os.environ.get("LAMBDA_VCPUS", "1.7"))
cores = int(os.environ["CORES"])
scale = cores / vcpus
if os.environ.get("COLD_START_MS"):
    cold_s, cold_source = float(os.environ["COLD_START_MS"]) / 1000, "COLD_START_MS (given)"
elif os.path.exists(os.environ["COLD_JSON"]):
    report = json.load(open(os.environ["COLD_JSON"]))
    summary = report["functions"]["transcode"]
    init, first = summary["init_ms"]["median"], summary["first_invocation_ms"]["median"]
    cold_s = (init + first) / 1000
    cold_source = (f"scripts/bench-cold-start.py on the packaged transcode bootstrap, this run: "
                   f"init {init:.1f} ms + first invocation {first:.1f} ms (medians of {report['starts']} starts)")
else:
    cold_s = 0.040
    cold_source = "no packaged bootstrap: scripts/bench-cold-start.py's target for the transcode init, 40 ms (not measured)"
overhead = cold_s + dispatch_s

def transfer(bytes_, requests):
    return bytes_ / (s3_mbps * 1e6) + requests * request_s

# A step's time on Lambda, two ways: "wall", the wall time here x cores / vCPUs (exact when the
# step had this machine's cores to itself); "cpu", its CPU-seconds over the vCPUs it can keep busy:
# all of them for the encodes (x264's threads and the decoder's; the print shows how many cores
# they kept busy here), one for the single-threaded steps. Other load on this shared machine
# stretches the wall times and hardly changes the CPU-seconds.
THREADED_STEPS = {"serial", "segment", "segment-rung"}
def lambda_seconds(row, basis):
    if basis == "wall":
        return row["seconds"] * scale
    return row["cpu_seconds"] / (vcpus if row["step"] in THREADED_STEPS else 1.0)

probe_long, poster_long, audio_long = one("long", "probe"), one("long", "poster"), one("long", "audio")
long_seconds = probe_long["media_seconds"]
serial = one("clip", "serial")
clip_seconds = serial["media_seconds"]
targets = sorted({r["target_seconds"] for r in rows if r["step"] == "segment"}, reverse=True)

def cores_used(row):
    return row["cpu_seconds"] / max(row["seconds"], 1e-9)

print()
print(f"Measured on this machine ({cores} cores, load average {os.environ['LOAD_BEFORE']} before and "
      f"{os.environ['LOAD_AFTER']} after; wall times, CPU-seconds in brackets):")
print(f"  long file ({long_seconds:.1f} s): probe {probe_long['seconds']:.3f} s, poster {poster_long['seconds']:.3f} s, "
      + ", ".join(f"plan_segments({t:g} s) {one('long', 'plan', t)['seconds']:.3f} s -> {one('long', 'plan', t)['segments']} segments"
                  for t in targets))
print(f"    audio track {audio_long['seconds']:.2f} s [{audio_long['cpu_seconds']:.2f}] (reads {audio_long['bytes_read'] / 1e6:.0f} MB "
      f"in {audio_long['requests']} requests, writes {audio_long['bytes_written'] / 1e6:.1f} MB in {audio_long['files_written']} files)")
print(f"  clip ({clip_seconds:.1f} s): serial transcode() {serial['seconds']:.2f} s [{serial['cpu_seconds']:.2f}] = "
      f"{serial['seconds'] / clip_seconds:.3f} s per second of video ({clip_seconds / serial['seconds']:.2f}x realtime, "
      f"{cores_used(serial):.2f} cores busy), writes {serial['bytes_written'] / 1e6:.1f} MB in {serial['files_written']} files")
for target in targets:
    segments, rungs, join = find("clip", "segment", target), find("clip", "segment-rung", target), one("clip", "join", target)
    print(f"  clip, {target:g} s segments ({len(segments)}):")
    for s in segments:
        print(f"    segment {s['index']}: {s['media_seconds']:6.2f} s of video in {s['seconds']:6.2f} s [{s['cpu_seconds']:6.2f}] "
              f"({s['seconds'] / s['media_seconds']:.3f} s/s, {cores_used(s):.2f} cores busy), reads {s['bytes_read'] / 1e6:5.1f} MB "
              f"in {s['requests']} requests, writes {s['bytes_written'] / 1e6:5.1f} MB in {s['files_written']} files")
    if rungs:
        whole = next(s for s in segments if s["index"] == rungs[0]["index"])
        print(f"    each rung alone, segment {rungs[0]['index']} ({rungs[0]['media_seconds']:.2f} s): "
              + ", ".join(f"{r['ladder']}p {r['seconds']:.2f} s [{r['cpu_seconds']:.2f}]" for r in rungs)
              + f"; sum {sum(r['seconds'] for r in rungs):.2f} s [{sum(r['cpu_seconds'] for r in rungs):.2f}] against "
              f"{whole['seconds']:.2f} s [{whole['cpu_seconds']:.2f}] for the ladder in one pass")
    audio_clip = one("clip", "audio", target)
    print(f"    audio track {audio_clip['seconds']:.2f} s [{audio_clip['cpu_seconds']:.2f}]; join {join['seconds']:.3f} s "
          f"[{join['cpu_seconds']:.2f}] (downloads {join['files_downloaded']} files, {join['bytes_downloaded'] / 1e6:.1f} MB; writes "
          f"{join['files_written']} files, {join['bytes_written'] / 1e6:.1f} MB: {join['mp4_files']} MP4s {join['mp4_bytes'] / 1e6:.1f} MB, "
          f"{join['playlists']} playlists)")

def build(target, basis):
    """The model's terms for segments of `target` seconds, step times on `basis`."""
    segments, join = find("clip", "segment", target), one("clip", "join", target)
    plan_row = one("long", "plan", target)
    count = math.ceil(video_seconds / target)
    length = video_seconds / count
    media = sum(s["media_seconds"] for s in segments)
    # Segment i of the long video encodes at the rate (time per second of video) of the clip's
    # segment i mod k, as the long file is the clip repeated: a wave waits for its slowest.
    rates = [lambda_seconds(s, basis) / s["media_seconds"] for s in segments]
    per_second = max(rates)
    segment_cpu = per_second * length
    rate = lambda key: sum(s[key] for s in segments) / media
    # Plus 3 small requests: the plan JSON read, the source's HEAD, the part's JSON written.
    segment_s3 = (transfer(rate("bytes_read") * length, math.ceil(rate("requests") * length))
                  + transfer(rate("bytes_written") * length, math.ceil(rate("files_written") * length)) + 3 * request_s)
    audio_cpu = lambda_seconds(audio_long, basis)
    audio_s3 = (transfer(audio_long["bytes_read"], audio_long["requests"])
                + transfer(audio_long["bytes_written"], audio_long["files_written"]) + 3 * request_s)
    plan_cpu = sum(lambda_seconds(r, basis) for r in (probe_long, plan_row, poster_long))
    plan_s3 = (transfer(sum(r["bytes_read"] for r in (probe_long, plan_row, poster_long)),
                        sum(r["requests"] for r in (probe_long, plan_row, poster_long)))
               + transfer(poster_long["bytes_written"], poster_long["files_written"]) + 3 * request_s)
    ratio = video_seconds / clip_seconds
    join_cpu = lambda_seconds(join, basis) * ratio
    join_files = math.ceil(join["files_downloaded"] * ratio)
    # The pipeline's join fetches the chunks 16 at a time, and uploads only what it made.
    join_download = (join["bytes_downloaded"] * ratio / (s3_mbps * 1e6) + math.ceil(join_files / 16) * request_s
                     + (count + 2) * request_s)
    join_upload = transfer((join["mp4_bytes"] + join["playlist_bytes"]) * ratio,
                           math.ceil(join["mp4_files"] + join["playlists"]))
    join_total = overhead + join_download + join_cpu + join_upload
    segment_parts = [overhead + rates[i % len(rates)] * length + segment_s3 for i in range(count)]
    return dict(count=count, length=length, per_second=per_second, segment_cpu=segment_cpu, segment_s3=segment_s3,
                segment_part=overhead + segment_cpu + segment_s3, segment_parts=segment_parts,
                mean_rate=sum(rates) / len(rates), audio_cpu=audio_cpu, audio_s3=audio_s3,
                audio_part=overhead + audio_cpu + audio_s3, plan_cpu=plan_cpu, plan_s3=plan_s3,
                plan=overhead + plan_cpu + plan_s3, join_cpu=join_cpu, join_download=join_download,
                join_upload=join_upload, join_total=join_total)

def parts_time(m, slots):
    """The audio part, then S segment parts, each to the earliest free of `slots`."""
    free = [0.0] * slots
    end = 0.0
    for duration in [m["audio_part"]] + m["segment_parts"]:
        start = heapq.heappop(free)
        heapq.heappush(free, start + duration)
        end = max(end, start + duration)
    return end

def serial_projection(basis):
    ratio = video_seconds / clip_seconds
    cpu = lambda_seconds(serial, basis) * ratio
    s3 = (transfer(serial["bytes_read"] * ratio, math.ceil(serial["requests"] * ratio))
          + transfer(serial["bytes_written"] * ratio, math.ceil(serial["files_written"] * ratio)))
    probe_poster = lambda_seconds(probe_long, basis) + lambda_seconds(poster_long, basis)
    return dict(cpu=cpu, s3=s3, probe_poster=probe_poster, total=overhead + probe_poster + cpu + s3)

serial_wall, serial_cpu_based = serial_projection("wall"), serial_projection("cpu")

print()
print(f"Model (a {video_seconds:g} s video; S = ceil({video_seconds:g} / segment seconds)):")
print("  T(N) = plan + parts(N) + join")
print("  plan     = overhead + probe + plan_segments + poster + their S3 reads + poster/plan uploads")
print("  parts(N) = 1 audio part then S segment parts on N slots, each to the earliest free slot (N >= S + 1: one wave;")
print("             else about ceil((S + 1) / N) waves); a part = overhead + its time + S3 reads + S3 uploads; the 10-minute")
print("             video is the clip repeated, so segment i takes the time per second of video of the clip's segment i mod k")
print("  join     = overhead + download of all chunks, 16 at a time + remux + upload of the MP4s and playlists")
print("  S3 time  = bytes / S3_MBPS + requests x S3_REQUEST_MS (the functions send their requests one after another)")
print("Inputs:")
print(f"  overhead per invocation {overhead * 1000:.0f} ms = cold start {cold_s * 1000:.1f} ms + DISPATCH_MS {dispatch_s * 1000:.0f} "
      "(assumed: SQS delivery, sandbox creation, code download, which the local measurement leaves out)")
print(f"    cold start from {cold_source}")
print(f"  S3_MBPS {s3_mbps:g} MB/s per Lambda (assumed, a conservative single stream); S3_REQUEST_MS {request_s * 1000:g} ms (assumed)")
print(f"  step times on Lambda, two ways: 'wall' = wall time here x {cores}/{vcpus:g} = x {scale:.3f} ({cores} cores here, {vcpus:g} vCPUs")
print(f"    for the 3008 MB function: 1 vCPU per 1769 MB; conservative for single-threaded steps); 'cpu' = CPU-seconds here /")
print(f"    {vcpus:g} for the encodes (threaded), / 1 for the single-threaded steps: insensitive to other load on this shared machine,")
print(f"    which stretches the wall times (see the load average and the cores busy above). Both take a vCPU as fast as a core here")
print(f"  per-file steps measured on the {long_seconds:.0f} s file (not scaled down to {video_seconds:g} s); segment times on the clip, per")
print(f"    second of video; the join's remux and transfers scaled linearly from the clip's {clip_seconds:.1f} s")
print(f"  serial: the clip's measured transcode() projected linearly to {video_seconds:g} s (10 minutes are not encoded serially here),")
print(f"    plus probe, poster, its S3 reads and uploads and one overhead")

for target in targets:
    models = {basis: build(target, basis) for basis in ("wall", "cpu")}
    m = models["wall"]
    print()
    print(f"Segments of {target:g} s: S = {m['count']} of {m['length']:.1f} s (terms on the 'wall' basis; 'cpu' basis in brackets)")
    c = models["cpu"]
    print(f"  plan    {m['plan']:6.2f} s [{c['plan']:6.2f}]  (probe+plan+poster {m['plan_cpu']:.2f}, S3 {m['plan_s3']:.2f}, overhead {overhead:.2f})")
    print(f"  segment {m['segment_part']:6.2f} s [{c['segment_part']:6.2f}]  the slowest (encode {m['segment_cpu']:.2f} = {m['per_second']:.3f} s/s x "
          f"{m['length']:.1f} s [{c['segment_cpu']:.2f}], S3 {m['segment_s3']:.2f}, overhead {overhead:.2f});")
    print(f"          mean encode {m['mean_rate'] * m['length']:.2f} s [{c['mean_rate'] * c['length']:.2f}]: segment i runs at the rate of the clip's segment i mod {len(find('clip', 'segment', target))}")
    print(f"  audio   {m['audio_part']:6.2f} s [{c['audio_part']:6.2f}]  (encode {m['audio_cpu']:.2f}, S3 {m['audio_s3']:.2f}, overhead {overhead:.2f})")
    print(f"  join    {m['join_total']:6.2f} s [{c['join_total']:6.2f}]  (download {m['join_download']:.2f}, remux {m['join_cpu']:.2f}, upload "
          f"{m['join_upload']:.2f}, overhead {overhead:.2f})")
    print(f"      N  waves    plan   parts    join    T(N) wall [cpu]    serial/T(N) wall [cpu]")
    for slots in (1, 10, 60):
        out = {}
        for basis, model in models.items():
            parts = parts_time(model, slots)
            out[basis] = (parts, model["plan"] + parts + model["join_total"])
        (parts, total), (_, total_cpu) = out["wall"], out["cpu"]
        serial_total = serial_wall["total"]
        waves = math.ceil((m["count"] + 1) / slots)
        goal = "" if slots != 60 else ("   goal < 60 s: met" if total < 60 else "   goal < 60 s: not met")
        print(f"  {slots:5d}  {waves:5d}  {m['plan']:6.1f}  {parts:6.1f}  {m['join_total']:6.1f}  {total:7.1f} [{total_cpu:6.1f}]  "
              f"{serial_total / total:8.2f}x [{serial_cpu_based['total'] / total_cpu:5.2f}x]{goal}")
        print(json.dumps({"projection": "segmented", "segment_seconds": target, "segments": m["count"], "concurrency": slots,
                          "plan_s": round(m["plan"], 3), "parts_s": round(parts, 3), "join_s": round(m["join_total"], 3),
                          "total_s": round(total, 3), "total_cpu_basis_s": round(total_cpu, 3),
                          "speedup_vs_serial": round(serial_total / total, 3),
                          "speedup_vs_serial_cpu_basis": round(serial_cpu_based["total"] / total_cpu, 3)}))

print()
s = serial_wall
print(f"Serial transcode() of {video_seconds:g} s, projected linearly from the clip: {s['total']:.1f} s [cpu basis {serial_cpu_based['total']:.1f} s] "
      f"(encode {s['cpu']:.1f} = {serial['seconds'] / clip_seconds:.3f} s/s x {video_seconds:g} s x {scale:.3f}, probe+poster "
      f"{s['probe_poster']:.2f}, S3 {s['s3']:.1f}, overhead {overhead:.2f})"
      + ("; above Lambda's 900 s limit: production sends it to worker mode" if s["total"] > 900 else ""))
print(json.dumps({"projection": "serial", "video_seconds": video_seconds, "total_s": round(s["total"], 3),
                  "total_cpu_basis_s": round(serial_cpu_based["total"], 3), "encode_s": round(s["cpu"], 3)}))
PYTHON
