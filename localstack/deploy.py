#!/usr/bin/env python3
"""Deploy a SAM/CloudFormation template to LocalStack with locally built Lambda binaries.

    .venv/bin/python localstack/deploy.py --template infra/template.yaml --stack mediaflow-local \
        --lambda-dir target/lambda [--param K=V ...]

For every ``AWS::Serverless::Function`` whose ``CodeUri`` is a local path (``../target/lambda/ingest/``),
the last path component is the function's build name: ``<lambda-dir>/<name>/bootstrap`` is zipped
(reproducibly, executable bit kept), uploaded to the bucket ``mediaflow-artifacts`` and the CodeUri
rewritten to ``s3://mediaflow-artifacts/<name>-<sha256>.zip``. The stack is then created or updated
(capabilities IAM, NAMED_IAM, AUTO_EXPAND; a template over CloudFormation's 51,200-byte TemplateBody
limit goes through that bucket as a TemplateURL, as ``sam deploy`` does) and waited for;
``ReservedConcurrentExecutions`` is applied with PutFunctionConcurrency (LocalStack's CloudFormation
ignores it); the stack outputs are printed as JSON and written to ``<repo>/.localstack/stack-outputs.json``.

Exit code 0 on CREATE_COMPLETE / UPDATE_COMPLETE / "No updates are to be performed", 1 otherwise.

The template is read with ``CfnLoader`` (below), not with cfn-lint's loader (``cfnlint.decode.cfn_yaml``,
pinned in requirements.txt). That one gives the same long form for the short-form tags, and its
dict_node/str_node results resolve and serialise the same, but it is not equivalent here: it builds
``datetime`` objects from unquoted timestamps, which the JSON stack body can only carry as ``str()``
(``2024-01-01T00:00:00Z`` would be deployed as ``2024-01-01 00:00:00+00:00``), where ``CfnLoader`` keeps
the text as written; it fails on duplicate keys, where ``CfnLoader`` keeps the last; and importing it
loads all of cfn-lint (about 900 more modules, 0.4 to 0.6 s, on top of boto3).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUCKET = "mediaflow-artifacts"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def log(msg: str) -> None:
    print(f"[deploy] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ CloudFormation YAML
class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags into their long (JSON) form."""


def _construct_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


def _construct_plain_str(loader: CfnLoader, node: yaml.Node):
    # keep dates (AWSTemplateFormatVersion: 2010-09-09) as the strings they are written as
    return loader.construct_scalar(node)


CfnLoader.add_multi_constructor("!", _construct_tag)
CfnLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_plain_str)


def load_template(path: Path) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


# ------------------------------------------------------------------ artifacts
def build_zip(bootstrap: Path) -> bytes:
    """Reproducible zip (fixed timestamp) holding ``bootstrap`` with mode 0755."""
    buf = io.BytesIO()
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 & 0xFFFF) << 16
    info.create_system = 3  # unix, so that unzip honours the mode
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, bootstrap.read_bytes())
    return buf.getvalue()


def ensure_bucket(s3, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        log(f"creating bucket {bucket}")
        s3.create_bucket(Bucket=bucket)


def upload_functions(template: dict, lambda_dir: Path, s3, bucket: str) -> dict[str, str]:
    """Rewrite local CodeUris in place; returns {logical id: s3 uri}."""
    resources = template.get("Resources") or {}
    global_code_uri = ((template.get("Globals") or {}).get("Function") or {}).get("CodeUri")
    rewritten: dict[str, str] = {}
    bucket_ready = False
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.setdefault("Properties", {})
        code_uri = props.get("CodeUri", global_code_uri)
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            continue
        name = Path(code_uri.rstrip("/")).name
        bootstrap = lambda_dir / name / "bootstrap"
        if not bootstrap.is_file():
            raise SystemExit(
                f"[deploy] {logical_id}: CodeUri {code_uri} -> {bootstrap} does not exist "
                "(build it first: make package)"
            )
        # Deploy the zip `make package` (cargo lambda build --output-format zip) made, byte for byte:
        # what is tested is what a user deploys. A bare bootstrap (the plugin's own tests) is zipped here.
        zipped = bootstrap.with_name("bootstrap.zip")
        data = zipped.read_bytes() if zipped.is_file() else build_zip(bootstrap)
        key = f"{name}-{hashlib.sha256(data).hexdigest()}.zip"
        if not bucket_ready:
            ensure_bucket(s3, bucket)
            bucket_ready = True
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            log(f"uploaded {name} ({len(data)} bytes) -> s3://{bucket}/{key}")
        props["CodeUri"] = f"s3://{bucket}/{key}"
        rewritten[logical_id] = props["CodeUri"]
    return rewritten


# ------------------------------------------------------------------ stack
def stack_status(cfn, stack: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as e:
        if "does not exist" in str(e):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def print_failures(cfn, stack: str, since: float) -> None:
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except ClientError as e:
        log(f"could not read stack events: {e}")
        return
    for ev in reversed(events):
        ts = ev.get("Timestamp")
        if ts is not None and ts.timestamp() < since - 5:
            continue
        status = ev.get("ResourceStatus", "")
        if not ev.get("ResourceStatusReason") and ev.get("ResourceType") == "AWS::CloudFormation::Stack":
            continue
        if "FAILED" in status or "ROLLBACK" in status:
            print(
                f"  {ev.get('LogicalResourceId')} ({ev.get('ResourceType')}): {status}: "
                f"{ev.get('ResourceStatusReason', '')}",
                file=sys.stderr,
            )


def wait_stack(cfn, stack: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        status = stack_status(cfn, stack)
        if status is None or not status.endswith("_IN_PROGRESS"):
            return status or "DELETE_COMPLETE"
        if time.monotonic() > deadline:
            return f"TIMEOUT ({status})"
        time.sleep(delay)
        delay = min(delay * 1.5, 3)


def unchanged(cfn, stack: str, body: str, params: list[dict], template: dict) -> bool:
    """True when the stack already has this template body and these parameter values.
    (LocalStack runs an update for an identical template where AWS says "No updates are to be performed".)"""
    try:
        current_body = cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
        current_params = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Parameters") or []
    except ClientError:
        return False
    if isinstance(current_body, str):
        try:
            current_body = json.loads(current_body)
        except ValueError:
            return False
    if current_body != json.loads(body):
        return False
    wanted = {
        name: str(spec["Default"])
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, dict) and "Default" in spec
    }
    wanted.update({p["ParameterKey"]: p["ParameterValue"] for p in params})
    have = {p["ParameterKey"]: p.get("ParameterValue") for p in current_params}
    return all(have.get(k) == v for k, v in wanted.items())


def deploy_stack(
    cfn, stack: str, body: str, params: list[dict], timeout: float, template: dict,
    template_url: str | None = None,
) -> bool:
    """Create or update (from ``template_url`` when given, else from ``body``); True when something
    changed or was created, raises SystemExit on failure."""
    started = time.time()
    status = stack_status(cfn, stack)
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"):
        log(f"stack {stack} is {status}: deleting it first")
        cfn.delete_stack(StackName=stack)
        wait_stack(cfn, stack, timeout)
        status = None
    elif status is not None and status.endswith("_IN_PROGRESS"):
        log(f"stack {stack} is {status}: waiting")
        status = wait_stack(cfn, stack, timeout)
        if status == "DELETE_COMPLETE":
            status = None

    source = dict(TemplateURL=template_url) if template_url else dict(TemplateBody=body)
    common = dict(StackName=stack, Parameters=params, Capabilities=CAPABILITIES, **source)
    if status is None or status == "DELETE_COMPLETE":
        log(f"creating stack {stack}")
        cfn.create_stack(**common)
        want = "CREATE_COMPLETE"
    else:
        if unchanged(cfn, stack, body, params, template):
            log("no updates are to be performed (template and parameters unchanged)")
            return False
        log(f"updating stack {stack} ({status})")
        try:
            cfn.update_stack(**common)
        except ClientError as e:
            if "No updates are to be performed" in str(e):
                log("no updates are to be performed")
                return False
            raise
        want = "UPDATE_COMPLETE"

    final = wait_stack(cfn, stack, timeout)
    if final != want:
        log(f"stack {stack} ended in {final} (wanted {want}); failed resources:")
        print_failures(cfn, stack, started)
        raise SystemExit(1)
    log(f"stack {stack}: {final} in {time.time() - started:.1f}s")
    return True


# ------------------------------------------------------------------ reserved concurrency
class Unresolvable(Exception):
    pass


NO_VALUE = object()


def _resolve(value, params: dict[str, str], template: dict):
    """Resolve the few intrinsics that a ReservedConcurrentExecutions value uses in practice:
    literals, Ref to a parameter (given or default), Ref AWS::NoValue, and Fn::If on a condition
    built from Fn::Equals / Fn::Not / Fn::And / Fn::Or / Condition over those."""
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        name = value["Ref"]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in params:
            return params[name]
        param = (template.get("Parameters") or {}).get(name) or {}
        if "Default" in param:
            return param["Default"]
        raise Unresolvable(f"Ref {name}")
    if set(value) == {"Fn::If"}:
        cond, when_true, when_false = value["Fn::If"]
        return _resolve(when_true if _condition(cond, params, template) else when_false, params, template)
    raise Unresolvable(json.dumps(value))


def _condition(spec, params: dict[str, str], template: dict) -> bool:
    if isinstance(spec, str):  # a condition name
        conditions = template.get("Conditions") or {}
        if spec not in conditions:
            raise Unresolvable(f"Condition {spec}")
        return _condition(conditions[spec], params, template)
    if isinstance(spec, dict) and len(spec) == 1:
        (fn, arg), = spec.items()
        if fn == "Condition":
            return _condition(arg, params, template)
        if fn == "Fn::Equals":
            a, b = (_resolve(x, params, template) for x in arg)
            return str(a) == str(b)
        if fn == "Fn::Not":
            return not _condition(arg[0], params, template)
        if fn == "Fn::And":
            return all(_condition(c, params, template) for c in arg)
        if fn == "Fn::Or":
            return any(_condition(c, params, template) for c in arg)
    raise Unresolvable(json.dumps(spec))


def apply_reserved_concurrency(template: dict, params: dict[str, str], cfn, lam, stack: str) -> None:
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") not in (
            "AWS::Serverless::Function",
            "AWS::Lambda::Function",
        ):
            continue
        props = resource.get("Properties") or {}
        wanted = props.get("ReservedConcurrentExecutions", globals_fn.get("ReservedConcurrentExecutions"))
        try:
            wanted = _resolve(wanted, params, template)
        except Unresolvable as e:
            log(f"{logical_id}: ReservedConcurrentExecutions not resolvable here ({e}); skipped")
            continue
        if wanted is NO_VALUE:
            wanted = None
        try:
            physical = cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
                "StackResourceDetail"
            ]["PhysicalResourceId"]
        except ClientError as e:
            log(f"{logical_id}: no physical function ({e}); skipped")
            continue
        current = lam.get_function_concurrency(FunctionName=physical).get(
            "ReservedConcurrentExecutions"
        )
        if wanted is None:
            if current is not None:
                log(f"{physical}: removing reserved concurrency {current} (not in the template)")
                lam.delete_function_concurrency(FunctionName=physical)
            continue
        wanted = int(wanted)
        if current != wanted:
            lam.put_function_concurrency(FunctionName=physical, ReservedConcurrentExecutions=wanted)
            log(f"{physical}: reserved concurrency {current} -> {wanted}")


# ------------------------------------------------------------------ main
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--template", required=True, type=Path)
    p.add_argument("--stack", required=True)
    p.add_argument("--lambda-dir", required=True, type=Path,
                   help="folder with <name>/bootstrap for every function (cargo lambda's target/lambda)")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="stack parameter (repeatable)")
    p.add_argument("--bucket", default=DEFAULT_BUCKET)
    p.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    p.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    p.add_argument("--outputs-file", type=Path, default=ROOT / ".localstack" / "stack-outputs.json")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for the stack")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    params: dict[str, str] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"[deploy] --param wants K=V, got {item!r}")
        params[key] = value

    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        region_name=args.region,
    )
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"})
    s3 = session.client("s3", endpoint_url=args.endpoint_url, config=cfg)
    cfn = session.client("cloudformation", endpoint_url=args.endpoint_url, config=cfg)
    lam = session.client("lambda", endpoint_url=args.endpoint_url, config=cfg)

    template = load_template(args.template)
    upload_functions(template, args.lambda_dir.resolve(), s3, args.bucket)
    # Compact: CloudFormation takes at most 51,200 bytes of TemplateBody. A larger template goes
    # through S3 as a TemplateURL (at most 1 MB), as `sam deploy` does; LocalStack reads it from its S3.
    body = json.dumps(template, separators=(",", ":"), default=str)
    template_url = None
    if len(body) > 51_200:
        data = body.encode()
        if len(data) > 1_048_576:
            raise SystemExit(f"[deploy] the template is {len(data)} bytes as JSON, over CloudFormation's 1 MB")
        key = f"templates/{args.stack}-{hashlib.sha256(data).hexdigest()}.json"
        ensure_bucket(s3, args.bucket)
        s3.put_object(Bucket=args.bucket, Key=key, Body=data)
        template_url = f"{args.endpoint_url.rstrip('/')}/{args.bucket}/{key}"
        log(f"template ({len(data)} bytes) -> {template_url}")
    stack_params = [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
    deploy_stack(cfn, args.stack, body, stack_params, args.timeout, template, template_url)
    apply_reserved_concurrency(template, params, cfn, lam, args.stack)

    stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs") or []}
    text = json.dumps(outputs, indent=2, sort_keys=True)
    args.outputs_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.outputs_file.with_suffix(".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(args.outputs_file)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
