#!/usr/bin/env python3
"""Cold start of packaged Lambda bootstraps (<LAMBDA_DIR>/<name>/bootstrap), measured locally.

Lambda bills the init phase, and a cold invocation waits for it: the phase ends when the runtime
first asks the Runtime API for an event (GET /2018-06-01/runtime/invocation/next). This script
serves the Runtime API on 127.0.0.1 (the local stack's: mediaflow_local_executor/runtime_api.py
under localstack/executor), starts each bootstrap with a Lambda-like environment and measures,
per start:

- init: from just before the exec to the first GET .../invocation/next (process start, dynamic
  loading, the function's own set-up: logging, configuration, AWS SDK configuration);
- first invocation: from sending one event to receiving its /response (or /error). The event is
  an SQS batch with no records, {"Records": []}: it goes through deserialisation, the handler and
  the response path without contacting AWS;
- peak RSS (VmHWM) just before the process is killed (SIGKILL, as Lambda ends a sandbox).

Functions are started in turn (round-robin) so machine noise falls on all of them evenly, after one
uncounted round that puts every binary in the page cache (Lambda's sandbox creation and code
download are not part of this measurement). The environment is built from scratch, as on Lambda:
nothing is inherited, in particular no AWS_ENDPOINT_URL unless --endpoint-url gives one.
--baseline PATH adds a trivial bootstrap as a reference for what the harness itself costs.

Usage: scripts/bench-cold-start.py [--starts N] [--json FILE] [--endpoint-url URL]
                                   [--baseline PATH] LAMBDA_DIR [NAME ...]
Exit status 0 whatever the numbers; 2 on usage errors; 1 if a bootstrap fails to start or to answer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# The Runtime API server lives with the LocalStack executor, which serves the same protocol. It
# needs only the standard library: imported from the source tree, found from this file's location.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "localstack" / "executor"))
from mediaflow_local_executor.runtime_api import Invocation, RuntimeApiServer  # noqa: E402

FUNCTIONS = ("ingest", "thumbnail", "metadata", "transcode", "moderate")
# Median init targets from the issue, in milliseconds. The moderate function loads and optimises
# open_nsfw (23 MB of weights, from the zip next to bootstrap) at init, once per process.
TARGET_INIT_MS = {"ingest": 20, "thumbnail": 20, "metadata": 20, "transcode": 40, "moderate": 600}
BASELINE = "baseline"

EVENT = b'{"Records": []}'
INIT_TIMEOUT_S = 10  # Lambda's own limit on the init phase
INVOKE_TIMEOUT_S = 60  # the deadline the event advertises
NEVER_CONTACTED = "http://127.0.0.1:1/000000000000/q"
FUNCTION_ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:"


class BootstrapFailed(Exception):
    """A bootstrap exited or stalled before the measurement was complete."""


class Start:
    """One start of a bootstrap as the Runtime API sees it; the server's handler threads fill it in
    through the server's callbacks (next_invocation, complete_invocation, report_init_error)."""

    def __init__(self, function_name: str):
        self.function_name = function_name
        self.request_id = str(uuid.uuid4())
        self.first_next_ns: int | None = None
        self.event_sent_ns: int | None = None
        self.result_ns: int | None = None
        self.result_kind: str | None = None  # "response" or "error"
        self.result_body = b""
        self.init_error = b""
        self.asked = threading.Event()
        self.answered = threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()

    def next_invocation(self) -> Invocation | None:
        """The event, for the first poll only (a start gets exactly one event). The runtime polls
        again right after its response: that poll is held until the process is killed, then sent
        away."""
        now_ns = time.perf_counter_ns()
        with self._lock:
            first_poll = self.first_next_ns is None
            if first_poll:
                self.first_next_ns = now_ns
        if not first_poll:
            self.closed.wait()
            return None
        self.asked.set()
        root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        invocation = Invocation(
            request_id=self.request_id,
            payload=EVENT,
            invoked_function_arn=f"{FUNCTION_ARN_PREFIX}{self.function_name}",
            trace_id=f"Root={root};Parent={secrets.token_hex(8)};Sampled=0",
            timeout_s=INVOKE_TIMEOUT_S,
        )
        self.event_sent_ns = time.perf_counter_ns()
        return invocation

    def complete_invocation(self, request_id: str, body: bytes, is_error: bool) -> bool:
        now_ns = time.perf_counter_ns()
        if request_id != self.request_id:
            return False
        self.result_ns, self.result_body = now_ns, body
        self.result_kind = "error" if is_error else "response"
        self.answered.set()
        return True

    def report_init_error(self, body: bytes) -> None:
        self.init_error = body


@dataclass
class Sample:
    init_ms: float
    first_invocation_ms: float
    result_kind: str
    result: str
    peak_rss_mb: float | None


@dataclass
class Subject:
    """A bootstrap under test and its samples."""

    name: str
    bootstrap: Path
    target_ms: float | None
    samples: list[Sample] = field(default_factory=list)


def lambda_environment(name: str, bootstrap: Path, port: int, endpoint_url: str | None) -> dict[str, str]:
    """The environment Lambda gives a provided.al2023 function, plus what the template sets."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "LAMBDA_TASK_ROOT": str(bootstrap.parent),
        "_HANDLER": "bootstrap",
        "ASSETS_TABLE": "mediaflow-assets",
        "DERIVATIVES_BUCKET": "mediaflow-derivatives",
        "EVENT_BUS_NAME": "default",
        "THUMBNAIL_QUEUE_URL": NEVER_CONTACTED,
        "TRANSCODE_QUEUE_URL": NEVER_CONTACTED,
        "METADATA_QUEUE_URL": NEVER_CONTACTED,
        "TRANSCODE_LONG_QUEUE_URL": NEVER_CONTACTED,
        "MODERATE_QUEUE_URL": NEVER_CONTACTED,
        "MEDIAFLOW_MODERATION": "local",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "RUST_LOG": "info",
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def wait_while_running(event: threading.Event, process: subprocess.Popen, timeout_s: float) -> bool:
    """Waits for `event` as long as `process` runs; False if it exited or time ran out first."""
    give_up = time.monotonic() + timeout_s
    while not event.wait(0.01):
        if process.poll() is not None or time.monotonic() > give_up:
            return event.is_set()
    return True


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM of `pid` (Linux only; of the bootstrap process itself, not its children)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def failure(subject: Subject, what: str, output, start: Start) -> BootstrapFailed:
    output.seek(0)
    tail = output.read().decode(errors="replace").splitlines()[-20:]
    lines = [f"{subject.name}: {what} ({subject.bootstrap})"]
    if start.init_error:
        lines.append(f"init/error: {start.init_error.decode(errors='replace')}")
    lines += ["--- output tail ---", *tail]
    return BootstrapFailed("\n".join(lines))


def measure_start(subject: Subject, endpoint_url: str | None) -> Sample:
    start = Start(subject.name)
    # A server (and port) per start: a killed process's last request, still in flight, can then
    # never be taken for the next start's.
    server = RuntimeApiServer(start.next_invocation, start.complete_invocation, start.report_init_error)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return run_bootstrap(server, start, subject, endpoint_url)
    finally:
        server.shutdown()
        server.server_close()


def run_bootstrap(server: RuntimeApiServer, start: Start, subject: Subject, endpoint_url: str | None) -> Sample:
    env = lambda_environment(subject.name, subject.bootstrap, server.server_address[1], endpoint_url)
    # stdout and stderr to a file: never blocks the bootstrap, and keeps the tail for a failure.
    with tempfile.TemporaryFile() as output:
        began = time.perf_counter_ns()
        try:
            process = subprocess.Popen(
                [str(subject.bootstrap)], cwd=subject.bootstrap.parent, env=env,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a shell bootstrap's children die with it
            )
        except OSError as error:  # e.g. a binary for another architecture
            raise BootstrapFailed(f"{subject.name}: cannot start {subject.bootstrap}: {error}") from None
        try:
            for event, doing, timeout_s in (
                (start.asked, "asking for an event", INIT_TIMEOUT_S),
                (start.answered, "answering its first event", INVOKE_TIMEOUT_S),
            ):
                if not wait_while_running(event, process, timeout_s):
                    raise failure(subject, describe_stop(process, doing, timeout_s), output, start)
            rss = peak_rss_mb(process.pid)
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it exited, and left no children behind
            process.wait()
            start.closed.set()
    return Sample(
        init_ms=(start.first_next_ns - began) / 1e6,
        first_invocation_ms=(start.result_ns - start.event_sent_ns) / 1e6,
        result_kind=start.result_kind,
        result=start.result_body.decode(errors="replace"),
        peak_rss_mb=rss,
    )


def describe_stop(process: subprocess.Popen, doing: str, timeout_s: int) -> str:
    if process.returncode is None:
        return f"still running after {timeout_s} s without {doing}"
    return f"exited with status {process.returncode} before {doing}"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """Median, p10 and p90 (interpolated between the samples)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return statistics.median(values), deciles[0], deciles[8]


def summarise(subject: Subject) -> dict:
    init = [s.init_ms for s in subject.samples]
    first = [s.first_invocation_ms for s in subject.samples]
    rss = [s.peak_rss_mb for s in subject.samples if s.peak_rss_mb is not None]
    median, p10, p90 = percentiles(init)
    init, first = [round(v, 3) for v in init], [round(v, 3) for v in first]
    return {
        "bootstrap": str(subject.bootstrap),
        "size_mb": round(subject.bootstrap.stat().st_size / 1e6, 3),
        "init_ms": {"median": round(median, 3), "p10": round(p10, 3), "p90": round(p90, 3), "samples": init},
        "first_invocation_ms": {"median": round(statistics.median(first), 3), "samples": first},
        "first_invocation_errors": sum(s.result_kind == "error" for s in subject.samples),
        "last_result": f"{subject.samples[-1].result_kind}: {subject.samples[-1].result}",
        "peak_rss_mb": round(max(rss), 1) if rss else None,
        "target_init_ms": subject.target_ms,
        "meets_target": None if subject.target_ms is None else median <= subject.target_ms,
    }


def verdict(summary: dict) -> str:
    if summary["meets_target"] is None:
        return "-"
    return f"{'meets' if summary['meets_target'] else 'over'} {summary['target_init_ms']:g}"


def print_table(summaries: dict[str, dict]):
    header = ("function", "init med", "p10", "p90", "1st inv med", "size MB", "peak RSS MB", "target ms")
    rows = [header]
    for name, s in summaries.items():
        rss = "-" if s["peak_rss_mb"] is None else f"{s['peak_rss_mb']:.1f}"
        errors = f" ({s['first_invocation_errors']} err)" if s["first_invocation_errors"] else ""
        rows.append((
            name,
            f"{s['init_ms']['median']:.2f}", f"{s['init_ms']['p10']:.2f}", f"{s['init_ms']['p90']:.2f}",
            f"{s['first_invocation_ms']['median']:.2f}{errors}",
            f"{s['size_mb']:.1f}", rss, verdict(s),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        print("  ".join(cells))


def parse_args() -> tuple[argparse.Namespace, list[Subject]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--starts", type=int, default=20, help="counted starts per function (default 20)")
    add("--json", type=Path, metavar="FILE", help="also write the numbers to FILE")
    add("--endpoint-url", metavar="URL", help="AWS_ENDPOINT_URL for the functions (default: none)")
    add("--baseline", type=Path, metavar="PATH", help="a trivial bootstrap, measured for reference")
    add("lambda_dir", type=Path, metavar="LAMBDA_DIR")
    add("names", nargs="*", metavar="NAME", help=f"default: {' '.join(FUNCTIONS)}")
    args = parser.parse_args()
    if args.starts < 1:
        parser.error("--starts must be at least 1")
    subjects = [
        Subject(name, args.lambda_dir / name / "bootstrap", TARGET_INIT_MS.get(name))
        for name in args.names or FUNCTIONS
    ]
    if args.baseline:
        subjects.append(Subject(BASELINE, args.baseline, None))
    for subject in subjects:
        if not os.access(subject.bootstrap, os.X_OK) or not subject.bootstrap.is_file():
            parser.error(f"{subject.name}: no executable {subject.bootstrap}")
    return args, subjects


def main() -> int:
    args, subjects = parse_args()
    try:
        for round_index in range(1 + args.starts):  # round 0 warms the page cache, uncounted
            for subject in subjects:
                sample = measure_start(subject, args.endpoint_url)
                if round_index > 0:
                    subject.samples.append(sample)
    except BootstrapFailed as error:
        print(f"bench-cold-start: {error}", file=sys.stderr)
        return 1

    summaries = {subject.name: summarise(subject) for subject in subjects}
    print(f"cold start, {args.starts} starts each, round-robin; {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Linux {platform.release()}; times in ms")
    print_table(summaries)
    if args.json:
        report = {"starts": args.starts, "machine": platform.machine(), "cpus": os.cpu_count(),
                  "kernel": platform.release(), "functions": summaries}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
