#!/usr/bin/env bash
# Fetches 17 real, ordinary photos (people, animals, food, objects, documents, landscapes; nothing
# explicit) for the moderation tests and bench, idempotently, into DIR (the project default is
# ~/.cache/mediaflow/moderation-photos). Too many and too large to commit; every file is pinned by
# sha256 below. Sources and licences:
#   From the PyPI wheel scikit-image==0.26.0 (skimage/data/; per-image notes in skimage/data/_fetchers.py):
#     astronaut.png        Eileen Collins, NASA portrait: public domain
#     camera.png           man with a camera, grey (Lav Varshney): CC0
#     chelsea.png          a cat (Stefan van der Walt): CC0
#     coffee.png           a coffee cup (Rachel Michetti, Pikolo Espresso Bar): CC0
#     rocket.jpg           Falcon 9 launch (SpaceX): public domain
#     motorcycle.png       a motorcycle indoors (skimage's motorcycle_left.png, Middlebury stereo data set)
#     page.png             a scanned page of text, grey: scikit-image test data (BSD-3-Clause)
#     text.png             text on a wall, grey (Wikipedia, File:Corner.png): public domain
#     hubble.jpg           Hubble eXtreme Deep Field (NASA): public domain
#     coins.png            Greek coins from Pompeii (Brooklyn Museum), grey: no known copyright restrictions
#     grass.png            grass, grey: CC0
#     brick.png            a brick wall, grey (CC0Textures): CC0
#   From the Debian package mate-backgrounds (1.26.0-1, /usr/share/backgrounds/mate/nature/), GPL-2+
#   (the package's copyright file names each photographer):
#     dune.jpg (Marco Cogoni, Hylke Bons)  storm.jpg (Sergey Nazarov)
#     meadow.jpg (Timothy Schellhase, Lapo Calamandrei)  ladybird.jpg  garden.jpg (Charles Barbin)
# Usage: scripts/fetch-moderation-photos.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
if [[ -f "$dir/.complete" ]]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A throwaway venv has pip even where the system Python lacks it (python3-venv: scripts/install-deps.sh).
# The wheel is platform specific; ask for one platform's so that every machine gets the same files.
python3 -m venv "$work/venv"
"$work/venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary :all: \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp scikit-image==0.26.0 -d "$work" ||
  { echo "pip download scikit-image==0.26.0 failed: is PyPI reachable?" >&2; exit 1; }
"$work/venv/bin/python" - "$work" "$dir" <<'PY'
import glob, os, sys, zipfile
work, out = sys.argv[1], sys.argv[2]
names = {"astronaut.png": "astronaut.png", "camera.png": "camera.png", "chelsea.png": "chelsea.png",
         "coffee.png": "coffee.png", "rocket.jpg": "rocket.jpg", "motorcycle_left.png": "motorcycle.png",
         "page.png": "page.png", "text.png": "text.png", "hubble_deep_field.jpg": "hubble.jpg",
         "coins.png": "coins.png", "grass.png": "grass.png", "brick.png": "brick.png"}
(wheel,) = glob.glob(os.path.join(work, "scikit_image-0.26.0-*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name, target in names.items():
        with open(os.path.join(out, target), "wb") as dst:
            dst.write(z.read("skimage/data/" + name))
PY
# apt-get download needs the package lists; on a fresh machine they may not be there yet.
(cd "$work" && { apt-get download -q mate-backgrounds >/dev/null 2>&1 ||
  { apt-get update -qq && apt-get download -q mate-backgrounds; }; }) ||
  { echo "apt-get download mate-backgrounds failed: is the Debian mirror reachable?" >&2; exit 1; }
nature=./usr/share/backgrounds/mate/nature
dpkg-deb --fsys-tarfile "$work"/mate-backgrounds_*_all.deb |
  tar -x -C "$work" "$nature/Dune.jpg" "$nature/Storm.jpg" "$nature/GreenMeadow.jpg" "$nature/LadyBird.jpg" "$nature/Garden.jpg"
cp "$work/$nature/Dune.jpg" "$dir/dune.jpg"
cp "$work/$nature/Storm.jpg" "$dir/storm.jpg"
cp "$work/$nature/GreenMeadow.jpg" "$dir/meadow.jpg"
cp "$work/$nature/LadyBird.jpg" "$dir/ladybird.jpg"
cp "$work/$nature/Garden.jpg" "$dir/garden.jpg"
(cd "$dir" && sha256sum -c --quiet - <<'SUMS'
88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5  astronaut.png
7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf  brick.png
b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a  camera.png
596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb  chelsea.png
cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7  coffee.png
f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba  coins.png
b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89  grass.png
db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179  motorcycle.png
341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3  page.png
bd84aa3a6e3c9887850d45d606c96b2e59433fbef50338570b63c319e668e6d1  text.png
8a67c2cb0be8c46b70c237311a4fa4d2b4ac7d39568135384787801fa5cc9a91  dune.jpg
d3095ee09d425ef23d27155412136cf14fc3c9af76ca58b452f55e23da324e78  garden.jpg
3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4  hubble.jpg
e35a9a4126ef969c90b29c038058c5a575a20eadd84106a37bf1fa9931e7b61d  ladybird.jpg
8fa0de0aa4089f7319c9fb7a6d006d4cab6023e8c8853731557cff53567b4832  meadow.jpg
c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c  rocket.jpg
77ca53077831d3237f73393a91fc879158abc046d852941c26e90de336356957  storm.jpg
SUMS
)
touch "$dir/.complete"
echo "$dir"
