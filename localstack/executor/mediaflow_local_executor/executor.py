"""LocalStack runtime executor that runs a function's ``bootstrap`` as a local process (no Docker).

One executor = one LocalStack execution environment = one bootstrap process (restarted after a
timeout or a crash) plus one loopback HTTP server speaking the Lambda Runtime API
(``AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>``; ``runtime_api.py``, shared with
``scripts/bench-cold-start.py`` so that cold starts are measured against the same protocol).

LocalStack drives it through the ``RuntimeExecutor`` interface
(``localstack/services/lambda_/invocation/runtime_executor.py``):

* ``prepare_version``  unzips the code (CreateFunction / UpdateFunctionCode),
* ``start(env)``       spawns the bootstrap with LocalStack's environment and waits until it asks
                       for its first event (``GET /runtime/invocation/next``) or fails,
* ``invoke(payload)``  hands one event to the process and waits for ``/response`` or ``/error``,
                       at most the function's timeout (then: ``Sandbox.Timedout``, process restarted),
* ``stop()``           kills the process group and the Runtime API server.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import select
import signal
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass, field
from pathlib import Path

from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.services.lambda_.invocation.executor_endpoint import StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from . import stats
from .runtime_api import Invocation, RuntimeApiServer, error_payload

LOG = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
STOP_GRACE_SECONDS = float(os.environ.get("MEDIAFLOW_EXECUTOR_STOP_GRACE", "0.5"))
LOG_RING_LINES = 500

# every executor alive in this LocalStack process, for the exit hook
_EXECUTORS: set[LocalProcessRuntimeExecutor] = set()
_EXECUTORS_LOCK = threading.Lock()

# a fresh stats file per LocalStack run (functions are not persisted across restarts)
stats.reset()


def _now_iso() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


# ------------------------------------------------------------------ per-function log files
class _FunctionLogFiles:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, object] = {}

    def write(self, function_name: str, env_id: str, lines: list[str]) -> None:
        if not lines:
            return
        with self._lock:
            f = self._files.get(function_name)
            if f is None:
                directory = stats.log_dir()
                os.makedirs(directory, exist_ok=True)
                f = open(os.path.join(directory, f"{function_name}.log"), "a", buffering=1)
                self._files[function_name] = f
            ts = _now_iso()
            f.write("".join(f"{ts} {env_id[:8]} {line}\n" for line in lines))


LOG_FILES = _FunctionLogFiles()


# ------------------------------------------------------------------ invocation
@dataclass
class _Invocation(Invocation):
    """An invocation handed to this executor: the event, its result, and the output it produced."""

    future: Future[tuple[bytes, bool]] = field(default_factory=Future)
    lines: list[str] = field(default_factory=list)


class _Process:
    def __init__(self, popen: subprocess.Popen, generation: int):
        self.popen = popen
        self.pid = popen.pid
        self.generation = generation
        self.exited = threading.Event()
        self.returncode: int | None = None
        self.out_lock = threading.Lock()
        self.partial = b""
        self.eof = False


class LocalProcessRuntimeExecutor(RuntimeExecutor):
    """Runs ``<code>/bootstrap`` of a ``provided.*`` function as a local process."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.function_name = function_version.id.function_name
        self._cond = threading.Condition(threading.RLock())
        self._stopped = False
        self._generation = 0
        self._proc: _Process | None = None
        self._ready_generation = -1
        self._init_error_payload: bytes | None = None
        self._pending: _Invocation | None = None  # handed out on the next GET /next
        self._current: _Invocation | None = None  # in flight (pending or taken)
        self._init_lines: list[str] = []  # output before the first invocation
        self._ring: deque[str] = deque(maxlen=LOG_RING_LINES)
        self._env: dict[str, str] | None = None
        self._server: RuntimeApiServer | None = None
        self._code_dir: Path | None = None

    # ---------------------------------------------------------- RuntimeExecutor interface
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.package_type == PackageType.Image:
            raise LambdaRuntimeException(
                "Container image functions are not supported by the local-process executor"
            )
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # LocalStack deletes the unzipped code itself

    @classmethod
    def validate_environment(cls) -> bool:
        return True

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        host = config.GATEWAY_LISTEN[0].host
        return "127.0.0.1" if host in ("0.0.0.0", "::", "", None) else host

    def get_runtime_endpoint(self) -> str:
        # Our processes talk to our own Runtime API (AWS_LAMBDA_RUNTIME_API), not to LocalStack's
        # executor endpoint; this value only fills LOCALSTACK_RUNTIME_ENDPOINT.
        return f"http://{self.get_endpoint_from_executor()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return "\n".join(self._ring)

    def start(self, env_vars: dict[str, str]) -> None:
        code = self.function_version.config.code
        if self.function_version.config.package_type == PackageType.Image or code is None:
            raise StatusErrorException(
                "unsupported package type",
                error_payload("Runtime.InvalidEntrypoint", "container images are not supported locally"),
            )
        code.prepare_for_execution()
        self._code_dir = Path(code.get_unzipped_code_location())
        bootstrap = self._code_dir / "bootstrap"
        runtime = str(self.function_version.config.runtime or "")
        if not bootstrap.is_file():
            msg = f"Couldn't find valid bootstrap(s): [{bootstrap}]"
            if not runtime.startswith("provided"):
                msg = (
                    f"runtime {runtime} is not supported by the local-process executor "
                    "(only provided.* functions with a bootstrap)"
                )
            self._ring.append(msg)
            raise StatusErrorException("no bootstrap", error_payload("Runtime.InvalidEntrypoint", msg))
        if self.function_version.config.layers:
            LOG.warning(
                "local-process executor: layers of %s are ignored (no /opt)", self.function_name
            )

        with self._cond:
            if self._stopped:
                raise LambdaRuntimeException(f"environment {self.id} stopped during startup")
            self._server = RuntimeApiServer(self._next_invocation, self._complete, self._init_error)
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"lambda-runtime-api-{self.id[:8]}",
            daemon=True,
        ).start()
        self._env = self._process_env(env_vars)
        with _EXECUTORS_LOCK:
            _EXECUTORS.add(self)

        try:
            self._start_and_wait()
        except StatusErrorException:
            stats.init_failed(self.function_name)
            raise

    def _start_and_wait(self) -> None:
        proc = self._spawn()
        # wait until the runtime asks for its first event, fails, or we are stopped
        # (LocalStack's startup timer calls stop() after LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        with self._cond:
            while True:
                if self._stopped:
                    raise LambdaRuntimeException(f"environment {self.id} stopped during startup")
                if self._init_error_payload is not None:
                    payload = self._init_error_payload
                    raise StatusErrorException("Environment startup failed", payload=payload)
                if self._ready_generation == proc.generation:
                    return
                if proc.exited.is_set():
                    raise StatusErrorException(
                        "Environment startup failed",
                        payload=error_payload(
                            "Runtime.ExitError",
                            f"RequestId: init Error: Runtime exited with error: exit status {proc.returncode}",
                        ),
                    )
                self._cond.wait(0.2)

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_s = int(self.function_version.config.timeout or 3)
        body = payload.get("payload") or ""
        inv = _Invocation(
            request_id=request_id,
            payload=body.encode() if isinstance(body, str) else body,
            invoked_function_arn=payload.get("invoked-function-arn") or self.function_version.qualified_arn,
            trace_id=payload.get("trace-id") or "",
            timeout_s=timeout_s,
        )
        stats.invocation_started(self.function_name)
        started = time.monotonic()
        timed_out = False
        try:
            with self._cond:
                if self._stopped:
                    raise LambdaRuntimeException(f"environment {self.id} is stopped")
                if self._proc is None or self._proc.exited.is_set():
                    self._spawn()
                inv.lines = self._init_lines
                self._init_lines = []
                self._current = inv
                self._pending = inv
                self._cond.notify_all()
            try:
                result_payload, is_error = inv.future.result(timeout=timeout_s)
            except FutureTimeoutError:
                msg = f"Task timed out after {timeout_s:.2f} seconds"
                if self._finish(inv, error_payload("Sandbox.Timedout", f"RequestId: {request_id} Error: {msg}"), True):
                    timed_out = True
                    with self._cond:
                        proc = self._proc
                    if proc is not None:
                        self._drain_output(proc)
                    inv.lines.append(f"{_now_iso()} {request_id} {msg}")
                    LOG_FILES.write(
                        self.function_name,
                        self.id,
                        [f"[local-process] {request_id} {msg}: killing pid {proc.pid if proc else '-'}"],
                    )
                    with self._cond:  # the new process's init output belongs to the next invocation
                        if self._current is inv:
                            self._current = None
                    self._restart_after_failure(proc, "timeout")
                result_payload, is_error = inv.future.result()
        except BaseException:
            stats.invocation_finished(self.function_name, error=True, timeout=False)
            with self._cond:
                if self._current is inv:
                    self._current = None
                if self._pending is inv:
                    self._pending = None
            raise
        duration_ms = (time.monotonic() - started) * 1000
        with self._cond:
            proc = self._proc
        if proc is not None and not timed_out:
            self._drain_output(proc)
        with self._cond:
            if self._current is inv:
                self._current = None
            if self._pending is inv:
                self._pending = None
            lines = inv.lines
            inv.lines = []
        stats.invocation_finished(self.function_name, error=is_error, timeout=timed_out)
        return InvocationResult(
            request_id=request_id,
            payload=result_payload,
            is_error=is_error,
            logs=self._format_logs(request_id, lines, duration_ms),
        )

    def stop(self) -> None:
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            proc = self._proc
            current = self._current
            server = self._server
            self._cond.notify_all()
        if current is not None:
            self._finish(
                current,
                error_payload("Runtime.Stopped", "execution environment stopped during the invocation"),
                True,
            )
        if proc is not None:
            self._kill(proc, graceful=True)
        if server is not None:
            try:
                server.shutdown()
                server.server_close()
            except Exception as e:  # pragma: no cover
                LOG.debug("error closing runtime API server of %s: %s", self.id, e)
        with _EXECUTORS_LOCK:
            _EXECUTORS.discard(self)

    # ---------------------------------------------------------- process handling
    def _process_env(self, env_vars: dict[str, str]) -> dict[str, str]:
        env = {k: str(v) for k, v in env_vars.items() if v is not None}
        user_env = self.function_version.config.environment or {}
        code_dir = str(self._code_dir)
        env["LAMBDA_TASK_ROOT"] = code_dir
        env["LAMBDA_RUNTIME_DIR"] = code_dir
        env.setdefault("PATH", DEFAULT_PATH)
        env.setdefault("LANG", "C.UTF-8")
        if not os.environ.get("MEDIAFLOW_EXECUTOR_ROLE_CREDENTIALS") and "AWS_ACCESS_KEY_ID" not in user_env:
            # LocalStack's account for a 12-digit access key id is that number; "test" means 000000000000
            account = self.function_version.id.account
            env["AWS_ACCESS_KEY_ID"] = "test" if account == "000000000000" else account
            env["AWS_SECRET_ACCESS_KEY"] = "test"
            env.pop("AWS_SESSION_TOKEN", None)
        if not config.LAMBDA_DISABLE_AWS_ENDPOINT_URL:
            env.setdefault(
                "AWS_ENDPOINT_URL",
                f"http://{self.get_endpoint_from_executor()}:{config.GATEWAY_LISTEN[0].port}",
            )
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{self._server.server_address[1]}"
        return env

    def _spawn(self) -> _Process:
        with self._cond:
            if self._stopped:
                raise LambdaRuntimeException(f"environment {self.id} is stopped")
            self._generation += 1
            generation = self._generation
            self._init_error_payload = None
            try:
                popen = subprocess.Popen(
                    [str(self._code_dir / "bootstrap")],
                    cwd=str(self._code_dir),
                    env=self._env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: killpg() reaches its children too
                    close_fds=True,
                )
            except OSError as e:
                msg = f"Couldn't start bootstrap {self._code_dir / 'bootstrap'}: {e}"
                self._ring.append(msg)
                raise StatusErrorException(
                    "bootstrap failed", error_payload("Runtime.InvalidEntrypoint", msg)
                ) from e
            proc = _Process(popen, generation)
            self._proc = proc
        stats.process_started(self.function_name, proc.pid)
        self._log_lines(proc, [f"[local-process] started bootstrap pid {proc.pid}"], to_invocation=False)
        threading.Thread(target=self._pump_output, args=(proc,), daemon=True,
                         name=f"lambda-out-{proc.pid}").start()
        threading.Thread(target=self._wait_process, args=(proc,), daemon=True,
                         name=f"lambda-wait-{proc.pid}").start()
        return proc

    def _wait_process(self, proc: _Process) -> None:
        try:
            # wait without reaping so that the process group id cannot be reused yet,
            # then kill whatever the bootstrap left behind in its group
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.returncode = proc.popen.wait()
        self._drain_output(proc, final=True)
        self._log_lines(
            proc, [f"[local-process] bootstrap pid {proc.pid} exited with code {proc.returncode}"],
            to_invocation=False,
        )
        stats.process_exited(self.function_name, proc.pid)
        with self._cond:
            proc.exited.set()
            if self._proc is proc:
                self._proc = None
            current = self._current
            stopped = self._stopped
            self._cond.notify_all()
        if current is not None and not stopped:
            msg = f"RequestId: {current.request_id} Error: Runtime exited with error: exit status {proc.returncode}"
            if self._finish(current, error_payload("Runtime.ExitError", msg), True):
                current.lines.append(msg)

    def _kill(self, proc: _Process, graceful: bool) -> None:
        if proc.exited.is_set():
            return
        if graceful and STOP_GRACE_SECONDS > 0:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.exited.wait(STOP_GRACE_SECONDS):
                return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.exited.wait(10)

    def _restart_after_failure(self, proc: _Process | None, reason: str) -> None:
        """Kill the (timed out) process, wait until it is gone, start a fresh one for the next invocation."""
        if proc is not None:
            self._kill(proc, graceful=False)
        with self._cond:
            if self._stopped or (self._proc is not None and not self._proc.exited.is_set()):
                return
            try:
                self._spawn()
            except StatusErrorException as e:
                LOG.warning("local-process: could not restart %s after %s: %s", self.function_name, reason, e)

    def kill_all(self) -> None:
        with self._cond:
            self._stopped = True
            proc = self._proc
            self._cond.notify_all()
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    # ---------------------------------------------------------- output
    def _pump_output(self, proc: _Process) -> None:
        """Reader thread: the only one that closes the pipe (so no one selects on a closed fd)."""
        stdout = proc.popen.stdout
        fd = stdout.fileno()
        try:
            while not proc.eof:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if not ready:
                    continue
                with proc.out_lock:
                    if not proc.eof:
                        self._read_chunk(proc, fd)
        finally:
            with proc.out_lock:
                proc.eof = True
                stdout.close()

    def _read_chunk(self, proc: _Process, fd: int) -> None:
        """Read what is available; called with proc.out_lock held."""
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            proc.eof = True
            if proc.partial:
                self._log_lines(proc, [proc.partial.decode(errors="replace")])
                proc.partial = b""
            return
        data = proc.partial + data
        *complete, proc.partial = data.split(b"\n")
        if complete:
            self._log_lines(proc, [line.decode(errors="replace").rstrip("\r") for line in complete])

    def _drain_output(self, proc: _Process, final: bool = False) -> None:
        """Process everything the function wrote so far (it wrote it before posting its response)."""
        with proc.out_lock:
            if proc.eof:
                return
            fd = proc.popen.stdout.fileno()
            while not proc.eof and select.select([fd], [], [], 0.5 if final else 0)[0]:
                self._read_chunk(proc, fd)

    def _log_lines(self, proc: _Process, lines: list[str], to_invocation: bool = True) -> None:
        LOG_FILES.write(self.function_name, self.id, lines)
        with self._cond:
            self._ring.extend(lines)
            if not to_invocation:
                return
            if self._current is not None and self._proc is proc:
                self._current.lines.extend(lines)
            else:
                self._init_lines.extend(lines)
                del self._init_lines[:-LOG_RING_LINES]

    def _format_logs(self, request_id: str, lines: list[str], duration_ms: float) -> str:
        memory = self.function_version.config.memory_size
        version = self.function_version.id.qualifier
        out = [f"START RequestId: {request_id} Version: {version}"]
        out.extend(lines)
        out.append(f"END RequestId: {request_id}")
        out.append(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory} MB\t"
            f"Max Memory Used: {memory} MB"
        )
        return "\n".join(out) + "\n"

    # ---------------------------------------------------------- Runtime API callbacks
    def _next_invocation(self) -> _Invocation | None:
        with self._cond:
            generation = self._generation
            if self._ready_generation != generation:
                self._ready_generation = generation
                self._cond.notify_all()
            while True:
                if self._stopped or self._generation != generation:
                    return None
                inv = self._pending
                if inv is not None and not inv.future.done():
                    self._pending = None
                    return inv
                self._cond.wait(1.0)

    def _complete(self, request_id: str, body: bytes, is_error: bool) -> bool:
        with self._cond:
            inv = self._current
        if inv is None or inv.request_id != request_id:
            return False
        self._finish(inv, body, is_error)
        return True

    def _init_error(self, body: bytes) -> None:
        with self._cond:
            self._init_error_payload = body
            current = self._current
            self._cond.notify_all()
        if current is not None:
            self._finish(current, body, True)

    def _finish(self, inv: _Invocation, payload: bytes, is_error: bool) -> bool:
        with self._cond:
            if inv.future.done():
                return False
            inv.future.set_result((payload, is_error))
            return True


@atexit.register
def _kill_all_processes() -> None:
    with _EXECUTORS_LOCK:
        executors = list(_EXECUTORS)
    for executor in executors:
        executor.kill_all()
