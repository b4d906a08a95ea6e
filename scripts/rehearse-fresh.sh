#!/usr/bin/env bash
# `make rehearse`: README's quick start as a new user meets it. Clones HEAD (what is committed, not
# the working tree) into a scratch folder and runs `make demo`, then `make test`, there, with a
# scratch HOME (no ~/.cache/mediaflow, no pip or npm cache), an empty CARGO_HOME (every crate is
# downloaded again), no .venv, and an environment holding nothing README does not mention: only
# the Rust toolchain (a documented prerequisite) and Debian's packages come from this machine.
# Prints each phase's time (the Makefile targets, from `make --trace`) and exits non-zero if either
# command fails. About 50 minutes on two cores.
#
#   scripts/rehearse-fresh.sh [SCRATCH]    (default: a new folder under /var/tmp; kept, with the logs)
#
# LocalStack's port (4566) must be free: stop a running stack first (`make down`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="${1:-$(mktemp -d /var/tmp/mediaflow-rehearse.XXXXXX)}"
mkdir -p "$scratch"
scratch="$(cd "$scratch" && pwd)"

if curl -s -m 2 -o /dev/null http://127.0.0.1:4566/_localstack/health; then
  echo "rehearse: something already answers on 127.0.0.1:4566; stop it first (make down)" >&2
  exit 2
fi
[[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]] ||
  echo "rehearse: the working tree has uncommitted changes; the rehearsal runs HEAD without them" >&2

# The toolchain's own bin folder (cargo, rustc, clippy, rustfmt), not rustup's proxies in
# ~/.cargo/bin, so that nothing else installed there (cargo subcommands, tools) is visible.
toolchain="$(rustc --print sysroot)/bin"
[[ -x "$toolchain/cargo" && -x "$toolchain/cargo-clippy" && -x "$toolchain/rustfmt" ]] ||
  { echo "rehearse: $toolchain lacks cargo, clippy or rustfmt (rustup component add clippy rustfmt)" >&2; exit 2; }

rm -rf "$scratch/mediaflow" "$scratch/home" "$scratch/cargo"
mkdir -p "$scratch/home" "$scratch/cargo"
git clone -q --no-local "$ROOT" "$scratch/mediaflow"
echo "rehearse: $(git -C "$scratch/mediaflow" log --oneline -1) in $scratch/mediaflow"

# A fresh root shell's environment; proxies pass through, as a user's would.
fresh_env=(env -i "HOME=$scratch/home" "CARGO_HOME=$scratch/cargo" "USER=root" "LANG=C.UTF-8" "TERM=dumb"
  "PATH=$toolchain:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
for variable in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [[ -n "${!variable:-}" ]] && fresh_env+=("$variable=${!variable}")
done

# run NAME: `make NAME` in the clone, every line stamped with the seconds since the rehearsal began.
began=$SECONDS
run() {
  local log="$scratch/$1.log" status
  echo "rehearse: make $1 (log: $log)"
  set +e
  (cd "$scratch/mediaflow" && "${fresh_env[@]}" make --trace "$1" 2>&1) |
    while IFS= read -r line; do printf '%d %s\n' "$((SECONDS - began))" "$line"; done >"$log"
  status=${PIPESTATUS[0]}
  set -e
  echo "$((SECONDS - began)) rehearse-end $1 $status" >>"$log"
  return "$status"
}

# summary: the time of each target's own recipe (from its trace line to the next one), per command.
summary() {
  python3 - "$scratch" "$@" <<'PY'
import re, sys
scratch, commands = sys.argv[1], sys.argv[2:]
print(f"\n{'phase':<28}{'seconds':>8}{'minutes':>9}")
for command in commands:
    marks = []
    try:
        lines = open(f"{scratch}/{command}.log", errors="replace").read().splitlines()
    except FileNotFoundError:
        continue
    for line in lines:
        stamp, _, text = line.partition(" ")
        found = re.search(r"target '([^']+)'", text) if "Makefile:" in text else None
        if found or text.startswith("rehearse-end"):
            marks.append((int(stamp), found.group(1) if found else None))
    start = marks[0][0] if marks else 0
    for (at, target), (until, _) in zip(marks, marks[1:]):
        if until > at:
            print(f"  {command + ': ' + target:<26}{until - at:>8}{(until - at) / 60:>9.1f}")
    end = marks[-1][0] if marks else 0
    print(f"{'make ' + command:<28}{end - start:>8}{(end - start) / 60:>9.1f}")
PY
}

status=0
run demo || status=$?
if [[ $status -eq 0 ]]; then
  run test || status=$?
fi
(cd "$scratch/mediaflow" && "${fresh_env[@]}" make down >/dev/null 2>&1) || true
summary demo test
if [[ $status -ne 0 ]]; then
  echo "rehearse: FAILED (exit $status); the end of the failing log:" >&2
  tail -n 40 "$(ls -t "$scratch"/*.log | head -n 1)" >&2
  exit "$status"
fi
echo "rehearse: passed in $(((SECONDS - began) / 60)) min; logs in $scratch"
