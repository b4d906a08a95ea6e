"""The AWS Lambda Runtime API, served on 127.0.0.1 to one bootstrap process.

Two programs run a function's ``bootstrap`` outside Lambda and must speak this protocol to it: the
LocalStack executor (``executor.py``, every function of the local stack) and
``scripts/bench-cold-start.py`` (cold start of the packaged bootstraps). Both serve it from here, so
that the benchmark measures against the same paths, headers, status codes and error reports as the
local stack runs with. What an event is, and what becomes of a response, an error or an init error,
stays with the caller: it passes three callbacks to ``RuntimeApiServer``.

Standard library only: bench-cold-start.py imports this file with the system ``python3``, without
LocalStack's venv.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = logging.getLogger(__name__)

RUNTIME_API_PATH = "/2018-06-01/runtime"
NEXT_INVOCATION_PATH = f"{RUNTIME_API_PATH}/invocation/next"
INVOCATION_PATH_PREFIX = f"{RUNTIME_API_PATH}/invocation/"
INIT_ERROR_PATH = f"{RUNTIME_API_PATH}/init/error"
ACCEPTED_BODY = b'{"status":"OK"}'


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


@dataclass
class Invocation:
    """One event for the runtime, with what GET .../invocation/next sends along in its headers."""

    request_id: str
    payload: bytes
    invoked_function_arn: str
    trace_id: str
    timeout_s: float  # Lambda-Runtime-Deadline-Ms is this long after the runtime takes the event


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    # Keep-alive, as Lambda's Runtime API: lambda_runtime (hyper) reuses one connection for
    # next/response, so an invocation does not pay for a new connection.
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass  # one line per request would drown the executor's log and the benchmark's table

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537).strip()
                size = int(size_line.split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _reported_error(self, body: bytes, message: str) -> bytes:
        """The error the runtime posted; when it posted no body, one made from its error type header."""
        if body:
            return body
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown"
        return error_payload(error_type, message)

    def do_GET(self):  # noqa: N802
        if self.path.rstrip("/") != NEXT_INVOCATION_PATH:
            self._send(404, error_payload("NotFound", f"unsupported path {self.path}"))
            return
        invocation = self.server.next_invocation()
        if invocation is None:
            # environment stopping or this process was replaced
            self.close_connection = True
            self._send(410, error_payload("Runtime.Gone", "execution environment is shutting down"))
            return
        self._send(
            200,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000 + invocation.timeout_s * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_function_arn,
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            },
        )

    def do_POST(self):  # noqa: N802
        body = self._read_body()
        path = self.path.rstrip("/")
        if path == INIT_ERROR_PATH:
            self.server.report_init_error(self._reported_error(body, "init error"))
            self._send(202, ACCEPTED_BODY)
            return
        if path.startswith(INVOCATION_PATH_PREFIX):
            request_id, _, kind = path[len(INVOCATION_PATH_PREFIX) :].rpartition("/")
            if kind in ("response", "error") and request_id:
                is_error = kind == "error"
                if is_error:
                    body = self._reported_error(body, "Unhandled")
                if self.server.complete_invocation(request_id, body, is_error):
                    self._send(202, ACCEPTED_BODY)
                else:
                    self._send(400, error_payload("InvalidRequestID", f"unknown request id {request_id}"))
                return
        self._send(404, error_payload("NotFound", f"unsupported path {self.path}"))


class RuntimeApiServer(ThreadingHTTPServer):
    """The Runtime API on 127.0.0.1 and a free port (``server_address[1]``, for AWS_LAMBDA_RUNTIME_API);
    run ``serve_forever`` on a thread of its own. Its handler threads call back:

    * ``next_invocation()``: blocks until there is an event for the runtime and returns it; None sends
      the runtime away (410: the environment is stopping or this process was replaced),
    * ``complete_invocation(request_id, body, is_error)``: the runtime's response or error; False when
      ``request_id`` is not the invocation in flight (400),
    * ``report_init_error(body)``: the runtime failed before asking for its first event.

    An error posted without a body becomes ``{"errorType": <its Lambda-Runtime-Function-Error-Type or
    Runtime.Unknown>, "errorMessage": "Unhandled"}`` ("init error" for an init error).
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        next_invocation: Callable[[], Invocation | None],
        complete_invocation: Callable[[str, bytes, bool], bool],
        report_init_error: Callable[[bytes], None],
    ):
        self.next_invocation = next_invocation
        self.complete_invocation = complete_invocation
        self.report_init_error = report_init_error
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)

    def handle_error(self, request, client_address):
        # A killed or replaced bootstrap leaves closed connections behind, possibly mid-request:
        # expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            LOG.debug("runtime API connection from %s dropped", client_address, exc_info=True)
        else:
            LOG.exception("runtime API request from %s failed", client_address)
