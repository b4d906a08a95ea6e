"""deploy.py: YAML short-form tags (no LocalStack needed) and a tiny SAM stack deployed to LocalStack."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import BOOTSTRAPS, ENDPOINT, LS_DIR, wait_for

DEPLOY = LS_DIR / "deploy.py"

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Description: deploy.py test stack (one function with a bash bootstrap, one queue, an SQS event)
Parameters:
  OutDir:
    Type: String
  Stage:
    Type: String
    Default: test
Globals:
  Function:
    Timeout: 10
    MemorySize: 256
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../target/lambda/worker/
      Handler: bootstrap
      Runtime: provided.al2023
      Architectures: [x86_64]
      ReservedConcurrentExecutions: 1
      Environment:
        Variables:
          OUT_DIR: !Ref OutDir
          BATCH_SLEEP: "0.1"
          STAGE: !Sub "${Stage}-${AWS::Region}"
          QUEUE_ARN: !GetAtt Queue.Arn
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: 2
Outputs:
  QueueUrl:
    Value: !Ref Queue
  FunctionName:
    Value: !Ref Worker
  Label:
    Value: !Join ["-", [!Ref Stage, !Select [1, !Split [",", "a,b,c"]]]]
"""


def load_deploy_module():
    spec = importlib.util.spec_from_file_location("mediaflow_deploy", DEPLOY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_yaml_loader_handles_short_form_tags(tmp_path):
    deploy = load_deploy_module()
    path = tmp_path / "t.yaml"
    path.write_text(
        """\
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  X:
    Type: AWS::SNS::Topic
    Condition: IsProd
    Properties:
      TopicName: !Sub "${AWS::StackName}-topic"
      A: !GetAtt Bucket.Arn
      B: !GetAtt [Bucket, DomainName]
      C: !If [IsProd, !Ref AWS::NoValue, !Base64 "x"]
      D: !Select [0, !GetAZs ""]
      E: !FindInMap [M, !Ref AWS::Region, K]
      F: !ImportValue shared-export
      G: !Join [",", !Split ["|", "a|b"]]
      H: !Sub
        - "${A}-x"
        - A: !Ref Stage
"""
    )
    t = deploy.load_template(path)
    assert t["AWSTemplateFormatVersion"] == "2010-09-09"
    assert t["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert t["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    p = t["Resources"]["X"]["Properties"]
    assert p["TopicName"] == {"Fn::Sub": "${AWS::StackName}-topic"}
    assert p["A"] == {"Fn::GetAtt": ["Bucket", "Arn"]}
    assert p["B"] == {"Fn::GetAtt": ["Bucket", "DomainName"]}
    assert p["C"] == {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, {"Fn::Base64": "x"}]}
    assert p["D"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert p["E"] == {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "K"]}
    assert p["F"] == {"Fn::ImportValue": "shared-export"}
    assert p["G"] == {"Fn::Join": [",", {"Fn::Split": ["|", "a|b"]}]}
    assert p["H"] == {"Fn::Sub": ["${A}-x", {"A": {"Ref": "Stage"}}]}
    json.dumps(t)  # serialisable as a JSON template body


def test_zip_is_reproducible_and_executable(tmp_path):
    import zipfile

    deploy = load_deploy_module()
    b = tmp_path / "bootstrap"
    b.write_text("#!/bin/sh\n")
    first, second = deploy.build_zip(b), deploy.build_zip(b)
    assert first == second
    info = zipfile.ZipFile(__import__("io").BytesIO(first)).getinfo("bootstrap")
    assert (info.external_attr >> 16) & 0o777 == 0o755


def test_template_passes_cfn_lint(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    r = subprocess.run([str(cfn_lint), str(path)], capture_output=True, text=True)
    assert r.returncode & 2 == 0, r.stdout + r.stderr  # 2 = errors (4/8 = warnings/informational)


def run_deploy(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, AWS_ENDPOINT_URL=ENDPOINT, AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
    return subprocess.run([sys.executable, str(DEPLOY), *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "template.yaml").write_text(TEMPLATE)
    fn_dir = tmp_path / "target" / "lambda" / "worker"
    fn_dir.mkdir(parents=True)
    shutil.copy(BOOTSTRAPS / "sqs_batch.sh", fn_dir / "bootstrap")
    (fn_dir / "bootstrap").chmod(0o755)
    (tmp_path / "out").mkdir()
    return tmp_path


def test_deploy_sam_stack(aws, project):
    cfn, lam, sqs, s3 = aws("cloudformation"), aws("lambda"), aws("sqs"), aws("s3")
    stack = f"deploy-test-{uuid.uuid4().hex[:8]}"
    outputs_file = project / "stack-outputs.json"
    args = [
        "--template", str(project / "infra" / "template.yaml"),
        "--stack", stack,
        "--lambda-dir", str(project / "target" / "lambda"),
        "--param", f"OutDir={project / 'out'}",
        "--outputs-file", str(outputs_file),
    ]
    try:
        started = time.monotonic()
        r = run_deploy(*args)
        assert r.returncode == 0, r.stdout + r.stderr
        create_seconds = time.monotonic() - started
        outputs = json.loads(r.stdout)
        assert json.loads(outputs_file.read_text()) == outputs
        assert set(outputs) == {"QueueUrl", "FunctionName", "Label"}
        assert outputs["Label"] == "test-b"
        fn = outputs["FunctionName"]

        # code uploaded to the artifacts bucket under <name>-<sha256>.zip
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mediaflow-artifacts").get("Contents", [])]
        assert any(k.startswith("worker-") and k.endswith(".zip") and len(k) == len("worker-.zip") + 64 for k in keys)

        conf = lam.get_function_configuration(FunctionName=fn)
        assert conf["Runtime"] == "provided.al2023"
        env = conf["Environment"]["Variables"]
        assert env["STAGE"] == "test-us-east-1" and env["QUEUE_ARN"].startswith("arn:aws:sqs:")
        # LocalStack's CloudFormation ignores ReservedConcurrentExecutions: deploy.py applied it
        assert lam.get_function_concurrency(FunctionName=fn)["ReservedConcurrentExecutions"] == 1
        mappings = lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]
        assert len(mappings) == 1 and mappings[0]["ScalingConfig"] == {"MaximumConcurrency": 2}
        assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

        # the SQS event reaches the function
        for body in ("one", "two", "three"):
            sqs.send_message(QueueUrl=outputs["QueueUrl"], MessageBody=body)
        seen = project / "out" / "bodies.txt"
        wait_for(lambda: seen.exists() and {"one", "two", "three"} <= set(seen.read_text().split()),
                 30, what="messages consumed by the deployed function")

        # unchanged: "No updates are to be performed" is success
        r = run_deploy(*args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "no updates are to be performed" in r.stderr.lower()

        # changed bootstrap: new artifact, stack updated, function code replaced
        old_sha = conf["CodeSha256"]
        with open(project / "target" / "lambda" / "worker" / "bootstrap", "a") as f:
            f.write("# v2\n")
        r = run_deploy(*args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "UPDATE_COMPLETE" in r.stderr
        assert lam.get_function_configuration(FunctionName=fn)["CodeSha256"] != old_sha
        print(f"\ndeploy.py: create {create_seconds:.1f}s")
    finally:
        cfn.delete_stack(StackName=stack)
        wait_for(lambda: _gone(cfn, stack), 120, interval=1, what="stack deleted")


def _gone(cfn, stack) -> bool:
    try:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except Exception:
        return True
    return status == "DELETE_COMPLETE"


def test_deploy_missing_bootstrap_fails(project):
    shutil.rmtree(project / "target" / "lambda" / "worker")
    r = run_deploy("--template", str(project / "infra" / "template.yaml"), "--stack", "never-created",
                   "--lambda-dir", str(project / "target" / "lambda"), "--outputs-file", str(project / "o.json"))
    assert r.returncode != 0 and "does not exist" in (r.stdout + r.stderr)


def test_deploy_failed_stack_prints_failed_resources_and_exits_non_zero(aws, tmp_path):
    cfn = aws("cloudformation")
    template = tmp_path / "bad.yaml"
    template.write_text(
        """\
Resources:
  Good:
    Type: AWS::SQS::Queue
  Bad:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-not-fifo"
      FifoQueue: true
"""
    )
    stack = f"deploy-bad-{uuid.uuid4().hex[:8]}"
    try:
        r = run_deploy("--template", str(template), "--stack", stack, "--lambda-dir", str(tmp_path),
                       "--outputs-file", str(tmp_path / "o.json"))
        assert r.returncode == 1, r.stdout + r.stderr
        assert "Bad (AWS::SQS::Queue)" in r.stderr and "FAILED" in r.stderr, r.stderr
    finally:
        cfn.delete_stack(StackName=stack)
        wait_for(lambda: _gone(cfn, stack), 60, interval=1, what="stack deleted")


def test_reserved_concurrency_value_resolution():
    deploy = load_deploy_module()
    template = deploy.yaml.load(
        """\
Parameters:
  Enabled: {Type: String, Default: "true"}
  Reserved: {Type: Number, Default: 5}
Conditions:
  UseReserved: !Equals [!Ref Enabled, "true"]
  Both: !And [!Condition UseReserved, !Not [!Equals [!Ref Reserved, 0]]]
""",
        Loader=deploy.CfnLoader,
    )
    value = {"Fn::If": ["UseReserved", {"Ref": "Reserved"}, {"Ref": "AWS::NoValue"}]}
    assert deploy._resolve(value, {}, template) == 5
    assert deploy._resolve(value, {"Reserved": "3"}, template) == "3"
    assert deploy._resolve(value, {"Enabled": "false"}, template) is deploy.NO_VALUE
    assert deploy._resolve({"Fn::If": ["Both", 1, 2]}, {}, template) == 1
    assert deploy._resolve(7, {}, template) == 7
    with pytest.raises(deploy.Unresolvable):
        deploy._resolve({"Fn::GetAtt": ["X", "Y"]}, {}, template)
