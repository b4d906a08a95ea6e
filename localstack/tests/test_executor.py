"""The local-process runtime executor against a running LocalStack (see conftest.py)."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest

from conftest import BOOTSTRAPS, STATE, function_stats, pid_alive, wait_for

ECHO = BOOTSTRAPS / "echo.sh"


def invoke(lam, name: str, event: dict, log_tail: bool = False):
    started = time.monotonic()
    kwargs = {"LogType": "Tail"} if log_tail else {}
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    body = r["Payload"].read()
    return r, json.loads(body), time.monotonic() - started


def test_invoke_returns_response_and_passes_environment(aws, make_function):
    lam = aws("lambda")
    name = make_function(ECHO, env={"CUSTOM_VAR": "hello"})
    r, payload, _ = invoke(lam, name, {"n": 1, "text": "hi"}, log_tail=True)

    assert r["StatusCode"] == 200 and "FunctionError" not in r, payload
    assert payload["event"] == {"n": 1, "text": "hi"}
    assert payload["function"] == name
    assert payload["memory"] == "256"
    assert payload["handler"] == "bootstrap"
    assert payload["custom"] == "hello"
    assert payload["endpoint"] == "http://127.0.0.1:4566"
    assert payload["region"] == "us-east-1"
    assert payload["access_key"] == "test"
    assert payload["task_root"] == payload["cwd"]
    assert payload["deadline_ms"] > time.time() * 1000
    # function output reaches the invocation's log (LogType=Tail) and the per-function log file
    tail = base64.b64decode(r["LogResult"]).decode()
    assert f"event {payload['request_id']}" in tail and "REPORT RequestId" in tail
    log_file = function_stats(name)["log_file"]
    wait_for(lambda: f"done {payload['request_id']}" in open(log_file).read(), 5, what="log line")

    # the process is reused by the next invocation
    _, payload2, _ = invoke(lam, name, {"n": 2})
    assert payload2["event"] == {"n": 2} and payload2["pid"] == payload["pid"]
    st = function_stats(name)
    assert st["live"] == 1 and st["peak"] == 1 and st["invocations"] == 2
    assert st["pids"] == [payload["pid"]]


def test_function_error_is_reported(aws, make_function):
    lam = aws("lambda")
    name = make_function(ECHO)
    r, payload, _ = invoke(lam, name, {"fail": True})
    assert r["FunctionError"] == "Unhandled"
    assert payload == {"errorType": "TestError", "errorMessage": "asked to fail"}
    assert function_stats(name)["errors"] == 1


def test_timeout_reports_error_and_restarts_the_process(aws, make_function):
    lam = aws("lambda")
    name = make_function(ECHO, timeout=2)
    _, first, _ = invoke(lam, name, {"warm": True})
    old_pid = first["pid"]

    r, payload, elapsed = invoke(lam, name, {"sleep": 6}, log_tail=True)
    assert r["FunctionError"] == "Unhandled"
    assert "Task timed out after 2.00 seconds" in base64.b64decode(r["LogResult"]).decode()
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in payload["errorMessage"]
    assert 1.9 <= elapsed < 4.5, elapsed
    assert not pid_alive(old_pid), "the timed out process must be killed"

    _, after, elapsed = invoke(lam, name, {"again": True})
    assert after["event"] == {"again": True}
    assert after["pid"] != old_pid
    st = function_stats(name)
    assert st["timeouts"] == 1 and st["process_starts"] == 2
    assert st["live"] == 1 and st["peak"] == 1 and st["pids"] == [after["pid"]]


def test_parallel_invokes_peak_and_cleanup_after_delete(aws, make_function):
    lam = aws("lambda")
    name = make_function(ECHO)
    results = []

    def call():
        results.append(invoke(lam, name, {"sleep": 1.5})[1])

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pids = {r["pid"] for r in results}
    assert len(results) == 3 and len(pids) == 3
    st = function_stats(name)
    assert st["peak"] == 3 and st["live"] == 3 and st["peak_in_flight"] == 3
    assert sorted(st["pids"]) == sorted(pids)

    lam.delete_function(FunctionName=name)
    wait_for(lambda: function_stats(name)["live"] == 0, 15, what="live == 0 after delete")
    assert function_stats(name)["pids"] == []
    assert not any(pid_alive(p) for p in pids)


def test_reserved_concurrency_throttles_parallel_invokes(aws, make_function):
    """PutFunctionConcurrency is enforced by LocalStack for every invoke (sync, async, event sources)."""
    lam = aws("lambda")
    name = make_function(ECHO)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    outcomes = []

    def call():
        try:
            invoke(lam, name, {"sleep": 1.5})
            outcomes.append("ok")
        except lam.exceptions.TooManyRequestsException:
            outcomes.append("throttled")

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "throttled", "throttled"]
    assert function_stats(name)["peak"] == 1


def _peak_overlap(spans: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    overlap = peak = 0
    for _, delta in points:
        overlap += delta
        peak = max(peak, overlap)
    return peak


def _run_sqs_esm(aws, make_function, tmp_path, queues: int, reserved: int | None) -> dict:
    """20 messages (one of them "fail-once") spread over `queues` queues, one ESM per queue with
    BatchSize 2, ScalingConfig.MaximumConcurrency 2 and ReportBatchItemFailures; 0.5 s per batch."""
    lam, sqs = aws("lambda"), aws("sqs")
    bodies = [f"msg-{i:02d}" for i in range(19)] + ["fail-once"]
    name = make_function(
        BOOTSTRAPS / "sqs_batch.sh",
        timeout=10,
        env={"OUT_DIR": str(tmp_path), "BATCH_SLEEP": "0.5"},
        prefix="esm",
    )
    if reserved is not None:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
    queue_urls, mappings = [], []
    for q in range(queues):
        url = sqs.create_queue(QueueName=f"{name}-{q}", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
        queue_urls.append(url)
        mine = bodies[q::queues]
        for i in range(0, len(mine), 10):
            sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(mine[i : i + 10])],
            )
    started = time.monotonic()
    try:
        for url in queue_urls:
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            mappings.append(
                lam.create_event_source_mapping(
                    FunctionName=name,
                    EventSourceArn=arn,
                    BatchSize=2,
                    ScalingConfig={"MaximumConcurrency": 2},
                    FunctionResponseTypes=["ReportBatchItemFailures"],
                )["UUID"]
            )
        seen_file = tmp_path / "bodies.txt"

        def all_consumed():
            if not seen_file.exists():
                return False
            seen = [line for line in seen_file.read_text().split() if line]
            return set(seen) == set(bodies) and seen.count("fail-once") >= 2

        wait_for(all_consumed, 90, what="all 20 messages consumed (fail-once twice)")
        elapsed = time.monotonic() - started

        def queues_empty():
            for url in queue_urls:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                if any(v != "0" for v in attrs.values()):
                    return False
            return True

        wait_for(queues_empty, 30, what="queues empty (successful batches deleted)")
    finally:
        for uuid_ in mappings:
            lam.delete_event_source_mapping(UUID=uuid_)
        for url in queue_urls:
            sqs.delete_queue(QueueUrl=url)

    spans = [
        tuple(map(float, line.split()[1:]))
        for line in (tmp_path / "batches.txt").read_text().splitlines()
    ]
    st = function_stats(name)
    return {
        "event_source_mappings": queues,
        "reserved_concurrency": reserved,
        "maximum_concurrency": 2,
        "messages": len(bodies),
        "batches": len(spans),
        "seconds_to_consume": round(elapsed, 2),
        "peak_processes": st["peak"],
        "peak_in_flight": st["peak_in_flight"],
        "peak_overlap_measured_in_function": _peak_overlap(spans),
        "invocations": st["invocations"],
    }


def _save_report(key: str, report: dict) -> None:
    print(f"\nESM concurrency ({key}):", json.dumps(report))
    path = STATE / "esm-concurrency-report.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = report
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def test_one_event_source_mapping_runs_one_batch_at_a_time(aws, make_function, tmp_path):
    """LocalStack 4.13 has one poller per mapping and ignores ScalingConfig.MaximumConcurrency (2
    here): batches of one mapping never overlap, every batch is one invocation of one process."""
    report = _run_sqs_esm(aws, make_function, tmp_path, queues=1, reserved=None)
    _save_report("one_esm", report)
    assert report["peak_overlap_measured_in_function"] == 1
    assert report["peak_processes"] == 1
    assert report["invocations"] == report["batches"] >= 10


def test_reserved_concurrency_limits_event_source_mappings(aws, make_function, tmp_path):
    """Two ESMs (two queues) on one function with reserved concurrency 1: still one process at a time,
    every message consumed (throttled batches come back after the visibility timeout)."""
    report = _run_sqs_esm(aws, make_function, tmp_path, queues=2, reserved=1)
    _save_report("two_esms_reserved_1", report)
    assert report["peak_processes"] == 1
    assert report["peak_overlap_measured_in_function"] == 1


def test_two_event_source_mappings_run_in_parallel(aws, make_function, tmp_path):
    """Without reserved concurrency, two mappings on one function (one poller each) run their batches
    at the same time: the function itself sees two batches overlap, in two processes."""
    report = _run_sqs_esm(aws, make_function, tmp_path, queues=2, reserved=None)
    _save_report("two_esms_unreserved", report)
    assert report["peak_overlap_measured_in_function"] == 2
    assert report["peak_processes"] == 2


@pytest.mark.parametrize("bad", ["missing", "crash"])
def test_broken_bootstrap_reports_error(aws, make_function, bad):
    lam = aws("lambda")
    if bad == "missing":
        # a zip whose bootstrap is not executable by any interpreter
        name = make_function("#!/nonexistent/interpreter\n")
        expected = "Runtime.InvalidEntrypoint"
    else:
        name = make_function("#!/bin/bash\necho about to crash\nexit 3\n")
        expected = "Runtime.ExitError"
    r = lam.invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(r["Payload"].read())
    assert r.get("FunctionError") == "Unhandled", payload
    assert payload["errorType"] == expected, payload
    wait_for(lambda: function_stats(name).get("live", 0) == 0, 5, what="no live process")
    assert function_stats(name)["init_errors"] >= 1
