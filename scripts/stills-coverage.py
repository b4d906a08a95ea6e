#!/usr/bin/env python3
"""How much of a broad third-party set of stills mediaflow processes, measured against Pillow.

The set is every file in Pillow's and pillow-heif's test images (their source distributions on
PyPI) that Pillow (with pillow-heif for HEIF/AVIF) identifies as one of the formats mediaflow
reads and decodes completely. Each is then run through `mediaflow process` (thumbnails and
metadata, the same core the functions run); the script prints the share processed per format and
every failure with its error code. Files Pillow itself cannot decode are counted apart: mediaflow
must refuse them with a code, not crash.

Usage: scripts/stills-coverage.py MEDIAFLOW_BINARY [--min PERCENT] [--min-heif PERCENT]
(`make stills-coverage` builds the binary and runs this in a throwaway venv with pinned Pillow
and pillow-heif). Exits non-zero when a share is under its minimum.
"""

import argparse
import collections
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile

from PIL import Image

import pillow_heif

# HEIF through pillow-heif; AVIF is Pillow's own (libavif, since Pillow 11.2).
pillow_heif.register_heif_opener()

# Pillow's format names for what mediaflow reads. MPO is Pillow's name for a multi-picture JPEG.
FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "TIFF": "tiff",
           "BMP": "bmp", "HEIF": "heif", "AVIF": "avif"}
SDISTS = [("pillow", "11.3.0", "Tests/images"), ("pillow_heif", "1.8.1", "tests/images")]


def fetch(work: pathlib.Path) -> list[pathlib.Path]:
    files = []
    for name, version, images in SDISTS:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                        "--no-deps", "--no-binary", ":all:", f"{name}=={version}", "-d", str(work)], check=True)
        archive = next(work.glob(f"{name}-{version}.tar.gz"))
        prefix = f"{name}-{version}/{images}/"
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith(prefix)]
            tar.extractall(work / name, members=members, filter="data")
        files += sorted(p for p in (work / name).rglob("*") if p.is_file())
    return files


def pillow_format(path: pathlib.Path):
    """Pillow's format name if Pillow decodes the file completely, else None."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.format
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is out of the set
        return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mediaflow")
    parser.add_argument("--min", type=float, default=0.0, help="least share of the non-HEIF set, in %%")
    parser.add_argument("--min-heif", type=float, default=0.0, help="least share of the HEIF/AVIF set, in %%")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        files = fetch(work)
        in_set, refused_by_pillow = {}, []
        for path in files:
            format = pillow_format(path)
            if format in FORMATS:
                in_set[path] = FORMATS[format]
            elif format is None:
                refused_by_pillow.append(path)
        out = work / "out"
        results = {}
        for path in list(in_set) + refused_by_pillow:
            # One file per run: a crash (which must not happen) is then pinned on its file.
            run = subprocess.run([args.mediaflow, "process", "--json", "--jobs", "1", "--sizes", "128",
                                  "--out", str(out), str(path)], capture_output=True, text=True)
            lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
            first = next((line for line in lines if "status" in line), None)
            if first is None:
                results[path] = ("crash", f"exit {run.returncode}: {run.stderr.strip()[-300:]}")
            elif first["status"] == "ok":
                results[path] = ("ok", "")
            else:
                results[path] = (first["error"]["code"], first["error"]["message"])

    shares = {}
    by_format = collections.defaultdict(lambda: [0, 0])
    for path, format in in_set.items():
        by_format[format][1] += 1
        by_format[format][0] += results[path][0] == "ok"
    print(f"{'format':8} {'processed':>9} / {'Pillow decodes':<14}")
    for format, (ok, total) in sorted(by_format.items()):
        print(f"{format:8} {ok:9} / {total:<14} {100 * ok / total:6.1f} %")
    for group, formats in (("stills", {"jpeg", "png", "gif", "webp", "tiff", "bmp"}), ("heif", {"heif", "avif"})):
        ok = sum(by_format[f][0] for f in formats)
        total = sum(by_format[f][1] for f in formats)
        shares[group] = 100 * ok / max(total, 1)
        print(f"{group}: {ok} / {total} = {shares[group]:.1f} %")
    print("\nfailures (of files Pillow decodes):")
    for path, format in sorted(in_set.items()):
        code, message = results[path]
        if code != "ok":
            print(f"  {format:5} {path.name}: {code}: {message[:160]}")
    crashes = [path for path, (code, _) in results.items() if code == "crash"]
    refused = collections.Counter(results[path][0] for path in refused_by_pillow)
    print(f"\nfiles Pillow cannot decode: {len(refused_by_pillow)}, mediaflow: {dict(refused)}")
    for path in crashes:
        print(f"  CRASH {path.name}: {results[path][1]}")
    failed = bool(crashes) or shares["stills"] < args.min or shares["heif"] < args.min_heif
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
