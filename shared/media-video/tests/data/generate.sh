#!/usr/bin/env bash
# Regenerates the small synthetic clips in this folder with the ffmpeg CLI (FFmpeg 5.1). The tests
# read the committed files; run this only to change them. Each clip is an edge case a phone, camera or
# editor produces; all are 320x240 or smaller and a few seconds long.
set -euo pipefail
cd "$(dirname "$0")"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Blue picture with a red 80x60 box in the stored top-left corner, a 440 Hz tone.
picture="color=c=blue:s=320x240:r=30:d=2,drawbox=x=0:y=0:w=80:h=60:color=red:t=fill"
tone="sine=f=440:r=48000:d=2"

# A phone held upright: landscape pixels plus a display matrix of -90 degrees (turn 90 clockwise),
# QuickTime, keyframes every 0.5 s, capture time and place. FFmpeg 5.1 writes the matrix only when
# copying, hence two steps; its `rotate=270` tag becomes a -90 degree matrix.
ff -f lavfi -i "$picture" -f lavfi -i "$tone" -c:v libx264 -preset veryfast -crf 30 -g 15 -pix_fmt yuv420p \
  -c:a aac -b:a 48k "$tmp/upright.mov"
ff -i "$tmp/upright.mov" -c copy -metadata:s:v:0 rotate=270 -metadata creation_time=2024-05-01T12:00:00Z \
  -metadata location="+48.8583+002.2945+035.000/" rotated-portrait.mov

# No audio, WebM (VP9), shorter than 2 s: the poster is the first frame.
ff -f lavfi -i "testsrc2=s=320x180:r=25:d=1.5" -c:v libvpx-vp9 -b:v 200k -deadline realtime -cpu-used 8 \
  no-audio.webm

# Audio only, with cover art (an attached picture is not a video stream).
ff -f lavfi -i "color=c=green:s=64x64:d=1" -frames:v 1 "$tmp/cover.png"
ff -f lavfi -i "sine=f=330:r=44100:d=3" -i "$tmp/cover.png" -map 0 -map 1 -c:a aac -b:a 64k -c:v png \
  -disposition:v attached_pic audio-only.m4a

# Odd dimensions in AVI (MJPEG, full-range YUV) with MP3 audio.
ff -f lavfi -i "testsrc2=s=320x240:r=15:d=2" -f lavfi -i "sine=f=550:r=44100:d=2" -vf scale=321:241 \
  -c:v mjpeg -q:v 20 -pix_fmt yuvj420p -c:a libmp3lame -b:a 64k odd-dimensions.avi

# Variable frame rate in Matroska: 30 fps for the first second, then every third frame (10 fps).
ff -f lavfi -i "testsrc2=s=320x240:r=30:d=3" -f lavfi -i "sine=f=660:r=48000:d=3" \
  -vf "select='lt(n\,30)+not(mod(n\,3))'" -vsync vfr -c:v libx264 -preset veryfast -crf 30 -c:a aac -b:a 48k \
  variable-frame-rate.mkv

# HDR: 10-bit HEVC with the PQ transfer and BT.2020 primaries, MP4.
ff -f lavfi -i "testsrc2=s=320x180:r=25:d=1" -c:v libx265 -preset ultrafast -x265-params log-level=error \
  -pix_fmt yuv420p10le -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc -tag:v hvc1 hdr-10bit.mp4

# MPEG transport stream (starts at 1.4 s, as broadcast and camera TS files do).
ff -f lavfi -i "testsrc2=s=320x240:r=25:d=2" -f lavfi -i "sine=f=770:r=48000:d=2" -c:v libx264 -preset veryfast \
  -crf 30 -c:a aac -b:a 48k sample.ts

ls -l
