"""Per-function concurrency statistics, written atomically as JSON on every change.

File: ``$MEDIAFLOW_EXECUTOR_STATS`` or, by default, ``executor-stats.json`` beside LocalStack's
``FILESYSTEM_ROOT`` (``<repo>/.localstack/executor-stats.json`` with ``localstack/start.sh``).

Shape::

    {
      "pid": 1234,                      # LocalStack's process id
      "updated_at": "2025-01-01T00:00:00.000Z",
      "functions": {
        "<function name>": {
          "live": 1,                    # bootstrap processes alive now
          "peak": 2,                    # most bootstrap processes alive at once, ever
          "invocations": 5,             # invocations handed to this executor
          "in_flight": 0, "peak_in_flight": 2,   # invocations running now / at most at once
          "errors": 1, "timeouts": 1,   # function errors (incl. timeouts) / timeouts
          "process_starts": 3,          # bootstrap processes started (incl. restarts)
          "init_errors": 0,             # environments that failed to start (bad bootstrap, init error)
          "pids": [4321],               # pids of the live bootstrap processes
          "log_file": "/.../lambda-logs/<function name>.log"
        }
      }
    }
"""

from __future__ import annotations

import json
import os
import threading
import time

_LOCK = threading.RLock()
_FUNCTIONS: dict[str, dict] = {}


def state_dir() -> str:
    """The folder that holds LocalStack's state: the parent of FILESYSTEM_ROOT (``<repo>/.localstack``)."""
    root = os.environ.get("FILESYSTEM_ROOT")
    if root:
        return os.path.dirname(os.path.abspath(root.rstrip("/")))
    return os.path.join(os.getcwd(), ".localstack")


def stats_path() -> str:
    return os.environ.get("MEDIAFLOW_EXECUTOR_STATS") or os.path.join(
        state_dir(), "executor-stats.json"
    )


def log_dir() -> str:
    return os.environ.get("MEDIAFLOW_EXECUTOR_LOG_DIR") or os.path.join(state_dir(), "lambda-logs")


def _entry(function_name: str) -> dict:
    entry = _FUNCTIONS.get(function_name)
    if entry is None:
        entry = {
            "live": 0,
            "peak": 0,
            "invocations": 0,
            "in_flight": 0,
            "peak_in_flight": 0,
            "errors": 0,
            "timeouts": 0,
            "process_starts": 0,
            "init_errors": 0,
            "pids": [],
            "log_file": os.path.join(log_dir(), f"{function_name}.log"),
        }
        _FUNCTIONS[function_name] = entry
    return entry


def _write_locked() -> None:
    path = stats_path()
    now = time.time()
    data = {
        "pid": os.getpid(),
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        + f".{int(now * 1000) % 1000:03d}Z",
        "functions": _FUNCTIONS,
    }
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def reset() -> None:
    """Start from an empty file (LocalStack keeps no functions across restarts)."""
    with _LOCK:
        _FUNCTIONS.clear()
        if not (os.environ.get("MEDIAFLOW_EXECUTOR_STATS") or os.environ.get("FILESYSTEM_ROOT")):
            return  # not inside a configured LocalStack (e.g. imported by a test): write nothing
        try:
            _write_locked()
        except OSError:
            pass


def process_started(function_name: str, pid: int) -> None:
    with _LOCK:
        e = _entry(function_name)
        e["live"] += 1
        e["peak"] = max(e["peak"], e["live"])
        e["process_starts"] += 1
        e["pids"] = sorted(set(e["pids"]) | {pid})
        _write_locked()


def process_exited(function_name: str, pid: int) -> None:
    with _LOCK:
        e = _entry(function_name)
        e["live"] = max(0, e["live"] - 1)
        e["pids"] = [p for p in e["pids"] if p != pid]
        _write_locked()


def invocation_started(function_name: str) -> None:
    with _LOCK:
        e = _entry(function_name)
        e["invocations"] += 1
        e["in_flight"] += 1
        e["peak_in_flight"] = max(e["peak_in_flight"], e["in_flight"])
        _write_locked()


def invocation_finished(function_name: str, *, error: bool, timeout: bool) -> None:
    with _LOCK:
        e = _entry(function_name)
        e["in_flight"] = max(0, e["in_flight"] - 1)
        if error:
            e["errors"] += 1
        if timeout:
            e["timeouts"] += 1
        _write_locked()


def init_failed(function_name: str) -> None:
    with _LOCK:
        _entry(function_name)["init_errors"] += 1
        _write_locked()
