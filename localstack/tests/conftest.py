"""Fixtures for the local-process executor and deploy.py tests against a real LocalStack.

LocalStack is started with ../start.sh when it does not answer yet, and stopped again at the end
of the session if this session started it (set MEDIAFLOW_KEEP_LOCALSTACK=1 to keep it running).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

LS_DIR = Path(__file__).resolve().parent.parent
ROOT = LS_DIR.parent
STATE = Path(os.environ.get("MEDIAFLOW_LOCALSTACK_STATE") or ROOT / ".localstack")
STATS = Path(os.environ.get("MEDIAFLOW_EXECUTOR_STATS") or STATE / "executor-stats.json")
ENDPOINT = "http://127.0.0.1:4566"
REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
BOOTSTRAPS = Path(__file__).resolve().parent / "bootstraps"


def healthy() -> bool:
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def localstack():
    started = False
    if not healthy():
        subprocess.run([str(LS_DIR / "start.sh")], check=True)
        started = True
    yield ENDPOINT
    if started and not os.environ.get("MEDIAFLOW_KEEP_LOCALSTACK"):
        subprocess.run([str(LS_DIR / "stop.sh")], check=False)


@pytest.fixture(scope="session")
def aws(localstack):
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}, read_timeout=120)
    cache = {}

    def client(service: str):
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=localstack, config=cfg)
        return cache[service]

    return client


def zip_bootstrap(source: str | Path) -> bytes:
    text = Path(source).read_text() if isinstance(source, Path) else source
    buf = io.BytesIO()
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.create_system = 3
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info, text)
    return buf.getvalue()


def read_stats() -> dict:
    return json.loads(STATS.read_text()) if STATS.exists() else {"functions": {}}


def function_stats(name: str) -> dict:
    return read_stats()["functions"].get(name, {})


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def make_function(aws):
    """Create provided.al2023 functions from a bootstrap; deleted (and checked process-free) afterwards."""
    lam = aws("lambda")
    created = []

    def make(bootstrap: str | Path, timeout: int = 10, env: dict | None = None, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        lam.create_function(
            FunctionName=name,
            Runtime="provided.al2023",
            Role=ROLE,
            Handler="bootstrap",
            Code={"ZipFile": zip_bootstrap(bootstrap)},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": env or {}},
        )
        created.append(name)
        lam.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 60}
        )
        return name

    yield make
    for name in created:
        try:
            lam.delete_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            pass
