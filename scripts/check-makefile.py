#!/usr/bin/env python3
"""Checks that every path the Makefile hands to scripts and tests is absolute, so that README's
commands work from a plain clone whatever the current directory of a recipe, a script or a test.

Runs make from another folder with CARGO_TARGET_DIR unset (README's case) and set to a relative
path, and looks at (1) every variable the Makefile exports to recipes and (2) every word of the
commands `make -n` prints for the targets that run scripts and tests. A word that names a path
(contains '/') must start with '/', unless an absolute `cd` precedes it in the same command.
Used by `make check`; prints each offender and exits 1.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["demo", "e2e", "unit", "lint", "package", "bench", "deploy", "deploy-function", "stills-coverage"]


def make(args: list[str], cwd: str, env: dict[str, str]) -> str:
    run = subprocess.run(["make", "-f", str(ROOT / "Makefile"), *args], cwd=cwd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"make {' '.join(args)} failed:\n{run.stderr}")
    return run.stdout


def is_relative_path(word: str) -> bool:
    if re.match(r"^\d*[<>]", word):  # a redirection
        return False
    value = word.split("=", 1)[1] if "=" in word and not word.startswith("-") else word
    value = value.split("=", 1)[1] if value.startswith("--") and "=" in value else value
    return "/" in value and "://" not in value and not value.startswith(("/", "$", "'", '"', "-"))


def offenders(env: dict[str, str], cwd: str) -> list[str]:
    found = []
    exported = make(["--eval", "print-env: ; @env", "print-env"], cwd, env)
    for line in exported.splitlines():
        name, _, value = line.partition("=")
        if name not in os.environ and name.isupper() and is_relative_path(value):
            found.append(f"exported {name}={value}")
    for target in TARGETS:
        extra = ["FUNCTION=thumbnail"] if target == "deploy-function" else []
        for line in make(["-n", "-s", target, *extra], cwd, env).splitlines():
            after_cd = False
            for command in line.replace("&&", ";").split(";"):
                try:
                    words = shlex.split(command)
                except ValueError:
                    words = command.split()
                if words[:1] == ["cd"] and len(words) > 1:
                    after_cd = True
                    if not words[1].startswith("/"):
                        found.append(f"{target}: cd to a relative folder in: {line.strip()}")
                    continue
                for word in words:
                    # After an absolute cd a relative argument is relative to it; a variable handed
                    # to a script or test must still be absolute (it may cd elsewhere).
                    assignment = "=" in word and not word.startswith("-")
                    if is_relative_path(word) and (assignment or not after_cd):
                        found.append(f"{target}: {word} in: {line.strip()}")
    return found


def main() -> int:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "CARGO_TARGET_DIR"))}
    problems = []
    with tempfile.TemporaryDirectory() as elsewhere:
        for target_dir in (None, "relative-target"):
            env = dict(base, **({"CARGO_TARGET_DIR": target_dir} if target_dir else {}))
            problems += [f"[CARGO_TARGET_DIR={target_dir or '(unset)'}] {p}" for p in offenders(env, elsewhere)]
    for problem in dict.fromkeys(problems):
        print(f"check-makefile: relative path: {problem}", file=sys.stderr)
    if problems:
        print("check-makefile: make every path the Makefile passes on absolute ($(ROOT)/..., $(abspath ...))", file=sys.stderr)
        return 1
    print(f"check-makefile: every path of {len(TARGETS)} targets and the exported variables is absolute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
