#!/usr/bin/env bash
# Stop the LocalStack started by localstack/start.sh: SIGTERM, wait, then make sure none of its
# child processes (function bootstrap processes, the DynamoDB Local JVM, ...) is left.
# No-op when it is not running.
#
# Env overrides: MEDIAFLOW_LOCALSTACK_STATE, LOCALSTACK_STOP_TIMEOUT (s, default 20).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
STATE="${MEDIAFLOW_LOCALSTACK_STATE:-$ROOT/.localstack}"
PIDFILE="$STATE/localstack.pid"
export STOP_TIMEOUT="${LOCALSTACK_STOP_TIMEOUT:-20}"

pid=""
if [[ -f "$PIDFILE" ]]; then
  pid="$(cat "$PIDFILE")"
fi

exec python3 - "$pid" "$STATE" "$PIDFILE" <<'EOF'
import os, signal, sys, time

pid_arg, state, pidfile = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3]
timeout = float(os.environ.get("STOP_TIMEOUT", "20"))


def stat(pid):
    """(ppid, starttime) of a live, non-zombie process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), fields[19]


def is_localstack(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
        return b"localstack.runtime.main" in cmd and os.path.realpath(f"/proc/{pid}/cwd") == state
    except OSError:
        return False


def descendants(root):
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = stat(int(name))
            if s:
                children.setdefault(s[0], []).append((int(name), s[1]))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def alive(p):
    s = stat(p[0])
    return s is not None and s[1] == p[1]


def strays():
    """Processes of a LocalStack from this state folder that outlived it (e.g. after a crash or
    SIGKILL): the DynamoDB JVM (its command line names <state>/fs/) and the bootstrap processes
    listed in executor-stats.json (their environment has AWS_LAMBDA_RUNTIME_API)."""
    listed = set()
    try:
        import json
        stats = json.load(open(os.environ.get("MEDIAFLOW_EXECUTOR_STATS") or os.path.join(state, "executor-stats.json")))
        for fn in stats.get("functions", {}).values():
            listed.update(fn.get("pids", []))
    except (OSError, ValueError):
        pass
    out = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        p = int(name)
        s = stat(p)
        if s is None:
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read()
            if b"localstack.runtime.main" in cmd:
                continue
            if (state + "/fs/").encode() in cmd:
                out.append((p, s[1]))
            elif p in listed:
                with open(f"/proc/{p}/environ", "rb") as f:
                    if b"AWS_LAMBDA_RUNTIME_API=" in f.read():
                        out.append((p, s[1]))
        except OSError:
            pass
    return out


def kill_all(procs):
    for k in procs:
        try:
            os.kill(k[0], signal.SIGTERM)
        except ProcessLookupError:
            pass
    time.sleep(1)
    for k in procs:
        if alive(k):
            try:
                os.kill(k[0], signal.SIGKILL)
            except ProcessLookupError:
                pass
    time.sleep(0.2)


pid = int(pid_arg) if pid_arg.isdigit() else None
if pid is None or stat(pid) is None or not is_localstack(pid):
    # no (valid) pid file: look for a LocalStack started from this state folder
    found = [int(n) for n in os.listdir("/proc") if n.isdigit() and is_localstack(int(n))]
    pid = found[0] if found else None
if pid is None:
    left = strays()
    if left:
        print(f"[stop] LocalStack is not running; killing {len(left)} processes it left behind: {[k[0] for k in left]}")
        kill_all(left)
    else:
        print("[stop] LocalStack is not running")
    try:
        os.remove(pidfile)
    except FileNotFoundError:
        pass
    sys.exit(0)

main = (pid, stat(pid)[1])
kids = descendants(pid)
print(f"[stop] stopping LocalStack pid {pid} ({len(kids)} child processes)")
os.kill(pid, signal.SIGTERM)
deadline = time.monotonic() + timeout
while alive(main) and time.monotonic() < deadline:
    kids += [k for k in descendants(pid) if k not in kids]  # started during shutdown
    time.sleep(0.2)
if alive(main):
    print(f"[stop] LocalStack did not exit after {timeout:.0f}s: SIGKILL")
    kids += [k for k in descendants(pid) if k not in kids]
    os.kill(pid, signal.SIGKILL)

left = [k for k in kids if alive(k)]
left += [k for k in strays() if k not in left]
if left:
    print(f"[stop] killing {len(left)} leftover child processes: {[k[0] for k in left]}")
    kill_all(left)
left = [k[0] for k in kids + strays() if alive(k)] + ([pid] if alive(main) else [])
try:
    os.remove(pidfile)
except FileNotFoundError:
    pass
if left:
    print(f"[stop] still alive: {left}", file=sys.stderr)
    sys.exit(1)
print("[stop] stopped")
EOF
