#!/usr/bin/env bash
# Builds the C libraries mediaflow links statically, from Debian's source packages, into a cache
# outside the clone: x264 (H.264 encoder), dav1d (AV1 decoder), zimg (the `zscale` filter HDR tone
# mapping needs), a minimal FFmpeg 5.1 with only the demuxers, decoders, encoders, muxers and
# filters the project uses, and for HEIC/AVIF stills libde265 (HEVC decoder) and libheif with only
# its libde265 and dav1d decoders. The CLI, every test, the benchmarks and the Lambda artifacts
# link this one build, so what is tested is what ships.
#
# Two sources are not bookworm's: libde265 comes from Debian trixie (1.0.15 with a dozen security
# fixes; bookworm's newest .dsc is missing from the mirror), fetched by apt-get from a private
# source list in the cache so the machine's apt configuration is left alone. libheif is upstream
# 1.23.1 as the libheif-sys crate vendors it (from the crate registry, pinned in scripts/downloads.toml):
# bookworm's 1.15 predates the API libheif-rs needs (1.17), and trixie's 1.23.6 source package is
# listed but its files are not on the mirror.
#
#   scripts/build-static-libs.sh                 # build what is missing (idempotent), print the prefix
#   scripts/build-static-libs.sh --print-prefix  # print the prefix of the newest complete build
#
# The prefix is keyed by the configure flags and the Debian source versions, so a flag change or a Debian update builds a new prefix and an unchanged one is
# reused. `$MEDIAFLOW_STATIC_CACHE/current` points at the newest complete one; the Makefile hands
# `<prefix>/lib/pkgconfig` to cargo as PKG_CONFIG_PATH (ffmpeg-sys-next's `static` feature).
# About 10 minutes on two cores; nothing is downloaded but Debian's source packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

CACHE="${MEDIAFLOW_STATIC_CACHE:-$HOME/.cache/mediaflow/static}"
JOBS="${JOBS:-$(nproc)}"
log() { printf '[static-libs] %s\n' "$*" >&2; }

if [[ "${1:-}" == "--print-prefix" ]]; then
  readlink -f "$CACHE/current" 2>/dev/null || echo "$CACHE/missing"
  exit 0
fi

# Build tools and deb-src entries for `apt-get source`.
"$ROOT/scripts/install-deps.sh" >&2

source_version() {
  apt-cache showsrc --only-source "$1" | awk '/^Version:/ {print $2}' | sort -V | tail -n 1
}
# Trixie's source index, in the cache: apt verifies it against the machine's Debian archive keyring.
TRIXIE="$CACHE/apt-trixie"
trixie_apt=(-o "Dir::Etc::sourcelist=$TRIXIE/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$TRIXIE/lists"
  -o "Dir::Cache=$TRIXIE/cache")
if [[ ! -f "$TRIXIE/.updated" ]]; then
  log "reading Debian trixie's source index (for libde265)"
  mkdir -p "$TRIXIE/lists/partial" "$TRIXIE/cache"
  printf '%s\n' 'deb-src http://deb.debian.org/debian trixie main' \
    'deb-src http://deb.debian.org/debian-security trixie-security main' >"$TRIXIE/sources.list"
  apt-get "${trixie_apt[@]}" update -qq && touch "$TRIXIE/.updated"
fi
declare -A VERSION
for package in x264 dav1d zimg ffmpeg; do
  VERSION[$package]="$(source_version "$package")"
  [[ -n "${VERSION[$package]}" ]] || { echo "no Debian source package $package (apt-get update?)" >&2; exit 1; }
done
VERSION[libde265]="$(apt-cache "${trixie_apt[@]}" showsrc --only-source libde265 | awk '/^Version:/ {print $2}' | sort -V | tail -n 1)"
[[ -n "${VERSION[libde265]}" ]] || { echo "no libde265 in $TRIXIE's index: rm $TRIXIE/.updated and retry" >&2; exit 1; }
LIBHEIF_CRATE=libheif-sys-5.3.1+1.23.1

# Everything that decides what is built: the recipe revision (bump it when a step changes), each
# library's flags and each Debian source version.
RECIPE=4
X264_FLAGS=(--enable-static --enable-pic --disable-cli --disable-opencl --disable-avs --disable-swscale
  --disable-lavf --disable-ffms --disable-gpac --disable-lsmash --bit-depth=8)
DAV1D_FLAGS=(--buildtype=release --default-library=static -Db_staticpic=true -Denable_tools=false
  -Denable_tests=false)
ZIMG_FLAGS=(--enable-static --disable-shared --with-pic)
# What users upload (containers and codecs of phones, cameras, screen recorders and the web), and
# what the transcode writes: libx264 + AAC in MP4, M4A and fMP4 HLS; zscale + tonemap for HDR.
demuxers=mov,matroska,avi,mpegts,mpegps,mp3,wav,flac,ogg,aac,ac3,eac3
video_decoders=h264,hevc,vp8,vp9,libdav1d,mpeg4,mpeg1video,mpeg2video,prores,mjpeg
audio_decoders=aac,aac_latm,mp3,mp3float,opus,vorbis,flac,ac3,eac3,alac
pcm_decoders=pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_s32be,pcm_f32le,pcm_f64le,pcm_u8,pcm_alaw,pcm_mulaw
parsers=h264,hevc,vp8,vp9,av1,mpeg4video,mpegvideo,mpegaudio,aac,aac_latm,ac3,flac,opus,vorbis,mjpeg
bsfs=aac_adtstoasc,h264_mp4toannexb,hevc_mp4toannexb,extract_extradata,vp9_superframe_split,av1_frame_split
filters=buffer,buffersink,abuffer,abuffersink,format,aformat,scale,aresample,zscale,tonemap,null,anull
FFMPEG_FLAGS=(--enable-static --disable-shared --enable-pic --disable-autodetect --disable-debug
  --disable-programs --disable-doc --disable-network --disable-avdevice --disable-postproc
  --disable-everything --enable-gpl --enable-libx264 --enable-libdav1d --enable-libzimg
  --enable-protocol=file --enable-demuxer="$demuxers"
  --enable-decoder="$video_decoders,$audio_decoders,$pcm_decoders"
  --enable-parser="$parsers" --enable-bsf="$bsfs" --enable-filter="$filters"
  --enable-encoder=libx264,aac --enable-muxer=mp4,ipod,hls)

# Static, position-independent C/C++ with one section per function, so the final link keeps only
# what is called.
CMAKE_STATIC=(-G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_LIBDIR=lib
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  "-DCMAKE_C_FLAGS=-ffunction-sections -fdata-sections" "-DCMAKE_CXX_FLAGS=-ffunction-sections -fdata-sections")
LIBDE265_FLAGS=(-DENABLE_SDL=OFF -DENABLE_DECODER=OFF -DENABLE_ENCODER=OFF)
# HEVC (libde265) and AV1 (dav1d) decoding only: no encoders, no plugins loaded at run time, and
# every other codec off even where its library happens to be installed.
LIBHEIF_FLAGS=(-DBUILD_TESTING=OFF -DBUILD_DOCUMENTATION=OFF -DWITH_EXAMPLES=OFF -DWITH_EXAMPLE_HEIF_THUMB=OFF
  -DWITH_EXAMPLE_HEIF_VIEW=OFF -DWITH_GDK_PIXBUF=OFF -DENABLE_PLUGIN_LOADING=OFF -DENABLE_EXPERIMENTAL_FEATURES=OFF
  -DWITH_REDUCED_VISIBILITY=ON -DWITH_LIBSHARPYUV=OFF -DWITH_HEADER_COMPRESSION=OFF -DWITH_UNCOMPRESSED_CODEC=OFF
  -DWITH_LIBDE265=ON -DWITH_LIBDE265_PLUGIN=OFF -DWITH_DAV1D=ON -DWITH_DAV1D_PLUGIN=OFF
  -DCMAKE_REQUIRE_FIND_PACKAGE_LIBDE265=ON -DCMAKE_REQUIRE_FIND_PACKAGE_DAV1D=ON)
for codec in AOM_DECODER AOM_ENCODER RAV1E SvtEnc X264 X265 KVAZAAR OpenH264_DECODER JPEG_DECODER JPEG_ENCODER \
  OpenJPEG_DECODER OpenJPEG_ENCODER OPENJPH_ENCODER UVG266 VVDEC VVENC FFMPEG_DECODER; do
  LIBHEIF_FLAGS+=("-DWITH_$codec=OFF")
done

key="$(printf '%s\n' "$RECIPE" "${X264_FLAGS[*]}" "${DAV1D_FLAGS[*]}" "${ZIMG_FLAGS[*]}" "${FFMPEG_FLAGS[*]}" \
  "${CMAKE_STATIC[*]}" "${LIBDE265_FLAGS[*]}" "${LIBHEIF_FLAGS[*]}" "$LIBHEIF_CRATE" \
  "${VERSION[x264]}" "${VERSION[dav1d]}" "${VERSION[zimg]}" "${VERSION[ffmpeg]}" "${VERSION[libde265]}" |
  sha256sum | cut -c1-16)"
PREFIX="$CACHE/ffmpeg-${VERSION[ffmpeg]#*:}-$key"
PREFIX="${PREFIX//+/-}"
if [[ -f "$PREFIX/.complete" ]]; then
  ln -sfn "$PREFIX" "$CACHE/current"
  echo "$PREFIX"
  exit 0
fi

# ---------------------------------------------------------------- build
WORK="$CACHE/build-$key"
rm -rf "$WORK" "$PREFIX"
mkdir -p "$WORK" "$PREFIX"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
fetch() { # fetch PACKAGE: Debian's source with Debian's patches applied; prints its folder
  (cd "$WORK" && apt-get source -qq --only-source "$1=${VERSION[$1]}" >/dev/null 2>&1) ||
    { echo "apt-get source $1=${VERSION[$1]} failed" >&2; exit 1; }
  find "$WORK" -maxdepth 1 -mindepth 1 -type d -name "$1-*" -print -quit
}
started=$SECONDS
step() { # step NAME COMMAND...: runs in the current folder, output to a log shown only on failure
  local name=$1; shift
  if ! "$@" >"$WORK/$name.log" 2>&1; then
    echo "$name failed; the end of $WORK/$name.log:" >&2
    tail -n 30 "$WORK/$name.log" >&2
    exit 1
  fi
}

log "x264 ${VERSION[x264]}"
cd "$(fetch x264)"
step x264-configure ./configure --prefix="$PREFIX" "${X264_FLAGS[@]}"
step x264-make make -j"$JOBS"
step x264-install make install-lib-static

log "dav1d ${VERSION[dav1d]}"
cd "$(fetch dav1d)"
step dav1d-setup meson setup build --prefix="$PREFIX" --libdir=lib "${DAV1D_FLAGS[@]}"
step dav1d-install ninja -C build -j"$JOBS" install

log "zimg ${VERSION[zimg]}"
cd "$(fetch zimg)"
step zimg-autoreconf autoreconf -fi
step zimg-configure ./configure --prefix="$PREFIX" "${ZIMG_FLAGS[@]}"
step zimg-make make -j"$JOBS"
step zimg-install make install
# zimg.pc names libstdc++ but not libm, which a static link needs too (FFmpeg's configure check fails).
sed -i 's/^Libs.private:.*/& -lm/' "$PREFIX/lib/pkgconfig/zimg.pc"
# zimg is C++, so its runtime is linked statically too: with GCC's libstdc++.a in the prefix, the
# `-lstdc++` of zimg.pc resolves to it (pkg-config and rustc bundle it like the other archives), and
# no final linker has to supply a C++ runtime (cargo-lambda's zig would substitute LLVM's libc++,
# which lacks libstdc++'s symbols).
cp "$(g++ -print-file-name=libstdc++.a)" "$PREFIX/lib/"
# GCC 12's headers compile reads of glibc 2.32's `__libc_single_threaded` into C++ code (zimg,
# libde265, libheif and libstdc++ itself). Defining it in the C++ runtime every one of them links,
# as 0 ("threads may exist": atomics always used, which is always correct), keeps the artifacts
# loadable on glibc 2.31 and provided.al2023's 2.34.
echo 'char __libc_single_threaded = 0;' | gcc -x c -c -fPIC -O2 -o "$WORK/single_threaded.o" -
ar rcs "$PREFIX/lib/libstdc++.a" "$WORK/single_threaded.o"

log "ffmpeg ${VERSION[ffmpeg]}"
cd "$(fetch ffmpeg)"
step ffmpeg-configure ./configure --prefix="$PREFIX" --pkg-config-flags=--static \
  --extra-cflags="-I$PREFIX/include" --extra-ldflags="-L$PREFIX/lib" "${FFMPEG_FLAGS[@]}"
step ffmpeg-make make -j"$JOBS"
step ffmpeg-install make install

log "libde265 ${VERSION[libde265]} (Debian trixie)"
mkdir -p "$WORK/libde265" && cd "$WORK/libde265"
step libde265-source apt-get "${trixie_apt[@]}" source -qq --only-source "libde265=${VERSION[libde265]}"
cd "$(find "$WORK/libde265" -maxdepth 1 -mindepth 1 -type d -name 'libde265-*' -print -quit)"
step libde265-configure cmake -S . -B build "${CMAKE_STATIC[@]}" -DCMAKE_INSTALL_PREFIX="$PREFIX" "${LIBDE265_FLAGS[@]}"
step libde265-make cmake --build build -j"$JOBS"
step libde265-install cmake --install build
# CMake fills in neither the .pc's Version (an autotools variable) nor the C++ runtime a static
# link needs.
sed -i -e "s/^Version: *\$/Version: $(echo "${VERSION[libde265]}" | sed 's/-.*//')/" \
  -e 's/^Libs.private:.*/Libs.private: -lpthread -lm -lstdc++/' "$PREFIX/lib/pkgconfig/libde265.pc"

log "libheif from $LIBHEIF_CRATE (crate registry)"
python3 "$ROOT/scripts/fetch.py" libheif-source="$WORK/libheif-crate"
crate="$WORK/libheif-crate/$LIBHEIF_CRATE.crate"
tar -xzf "$crate" -C "$WORK"
cd "$WORK/$LIBHEIF_CRATE/vendor/libheif"
# The crate leaves out heifio/ (examples' image I/O); drop its add_subdirectory as its build.rs does.
sed -i 's/^add_subdirectory(heifio)$//' CMakeLists.txt
step libheif-configure cmake -S . -B build "${CMAKE_STATIC[@]}" -DCMAKE_INSTALL_PREFIX="$PREFIX" "${LIBHEIF_FLAGS[@]}"
grep -q "Compiling 'libde265' as built-in" "$WORK/libheif-configure.log" &&
  grep -q "Compiling 'dav1d' as built-in" "$WORK/libheif-configure.log" ||
  { echo "libheif was configured without libde265 or dav1d: see $WORK/libheif-configure.log" >&2; exit 1; }
step libheif-make cmake --build build -j"$JOBS"
step libheif-install cmake --install build

cd "$CACHE"
# Keep only what linking needs, and only the newest build.
rm -rf "$PREFIX/share" "$PREFIX/bin" "$PREFIX/lib/cmake" "$WORK"
touch "$PREFIX/.complete"
ln -sfn "$PREFIX" "$CACHE/current"
find "$CACHE" -mindepth 1 -maxdepth 1 -name 'ffmpeg-*' ! -path "$PREFIX" -exec rm -rf {} +
log "built in $((SECONDS - started)) s"
echo "$PREFIX"
