"""EventBridge delivery end to end, with moto_server as the real EventBridge: a rule on
``source: aws.ecr`` targets an SQS queue, and the events a skopeo push, scan on push and
BatchDeleteImage raise are read back from the queue -- and from ``/_emulator/events``, with the
call log of the same session."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import boto3
import pytest
import requests

from ecr_emulator.testing import EmulatorCalls, EmulatorEvents, ServerProcess, checked_client, stop_process
from ecr_emulator.testing.synthetic import write_oci_layout

from ..features.helpers import debian_image
from ..registry.client import authorization_token, password_of
from ..tools import requires
from .conftest import SKOPEO

MOTO_SERVER = os.path.join(os.path.dirname(sys.executable), "moto_server")
pytestmark = [
    pytest.mark.slow,
    requires(SKOPEO, "skopeo is not installed"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url():
    """moto_server on a free loopback port (started here, stopped at the end)."""
    assert os.path.exists(MOTO_SERVER), "moto_server comes with moto[server], in the test extra"
    port = _free_port()
    process = subprocess.Popen([MOTO_SERVER, "-p", str(port), "-H", "127.0.0.1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/moto-api/", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        yield url
    finally:
        stop_process(process)


def _aws(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture
def queue(moto_url):
    """An SQS queue that a rule on ``source: aws.ecr`` of the default bus targets."""
    sqs, events = _aws("sqs", moto_url), _aws("events", moto_url)
    queue_url = sqs.create_queue(QueueName="ecr-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="ecr-to-sqs", EventPattern=json.dumps({"source": ["aws.ecr"]}))
    events.put_targets(Rule="ecr-to-sqs", Targets=[{"Id": "queue", "Arn": arn}])
    yield sqs, queue_url
    sqs.delete_queue(QueueUrl=queue_url)


def _received(sqs, queue_url: str, wanted, timeout: float = 60.0) -> list[dict]:
    """Events from the queue until ``wanted(events)`` holds (or the deadline passes)."""
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    while not wanted(found):
        assert time.monotonic() < deadline, f"the queue received only: {json.dumps(found)[:3000]}"
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _image_actions(events: list[dict], action: str) -> list[dict]:
    return [e for e in events if e["detail-type"] == "ECR Image Action" and e["detail"]["action-type"] == action]


def test_push_scan_and_delete_reach_an_sqs_queue_through_eventbridge(moto_url, queue, skopeo, tmp_path):
    sqs, queue_url = queue
    with ServerProcess("--no-access-log", "--eventbridge-endpoint", moto_url) as server:
        ecr = checked_client("ecr", server.url)
        events, calls = EmulatorEvents(server.url), EmulatorCalls(server.url)
        uri = ecr.create_repository(repositoryName="app", imageScanningConfiguration={"scanOnPush": True})[
            "repository"]["repositoryUri"]
        with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
            ecr.describe_repositories(repositoryNames=["missing"])
        image = debian_image()
        creds = "AWS:" + password_of(authorization_token(ecr))
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds,
               write_oci_layout(str(tmp_path / "src"), image, "v1"), f"docker://{uri}:v1")

        push = events.wait_for("ECR Image Action", detail={"action-type": "PUSH"})
        assert push["detail"] == {"result": "SUCCESS", "repository-name": "app", "image-digest": image.digest,
                                  "action-type": "PUSH", "image-tag": "v1"}
        assert (push["version"], push["account"], push["region"], push["source"]) == (
            "0", "123456789012", "us-east-1", "aws.ecr")
        scan = events.wait_for("ECR Image Scan", detail={"scan-status": "COMPLETE"})
        counts = ecr.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})[
            "imageScanFindings"]["findingSeverityCounts"]
        assert scan["detail"]["finding-severity-counts"] == counts and counts.get("HIGH")
        skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, f"docker://{uri}:v1", f"oci:{tmp_path / 'out'}:v1")
        ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
        delete = events.wait_for("ECR Image Action", detail={"action-type": "DELETE"})
        assert delete["detail"]["image-digest"] == image.digest

        received = _received(sqs, queue_url, lambda found: _image_actions(found, "DELETE") and any(
            e["detail-type"] == "ECR Image Scan" for e in found) and _image_actions(found, "PUSH") and any(
            e["detail-type"] == "AWS API Call via CloudTrail" and e["detail"]["eventName"] == "BatchDeleteImage"
            for e in found))
        for expected in (push, scan, delete):
            (got,) = [e for e in received if e["detail-type"] == expected["detail-type"]
                      and e["detail"] == expected["detail"]]
            # moto builds the envelope of what a target receives (its id, its time) and leaves out
            # ``account``; the emulator's own listing has every member (checked above)
            assert (got["source"], got["region"], got["version"]) == ("aws.ecr", "us-east-1", "0")
            assert got.get("account", "123456789012") == "123456789012"
            assert got["id"] and got["resources"] == expected["resources"]
        api_calls = [e["detail"]["eventName"] for e in received if e["detail-type"] == "AWS API Call via CloudTrail"]
        assert {"CreateRepository", "InitiateLayerUpload", "PutImage", "BatchDeleteImage"} <= set(api_calls)

        delivery = events.delivery()
        assert delivery["failed"] == 0 and delivery["delivered"] >= len(received)

        (create,) = calls.list("CreateRepository")
        assert create["requestParameters"] == {"repositoryName": "app",
                                               "imageScanningConfiguration": {"scanOnPush": True}}
        assert create["eventSource"] == "ecr.amazonaws.com" and "errorCode" not in create
        (refused,) = calls.list("DescribeRepositories")
        assert refused["errorCode"] == "RepositoryNotFoundException"
        assert refused["requestParameters"] == {"repositoryNames": ["missing"]}
        names = calls.names()
        for name in ("InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "PutImage"):
            assert name in names, names
        pulled = calls.list(["BatchGetImage", "GetDownloadUrlForLayer"])
        assert {r["eventName"] for r in pulled} == {"BatchGetImage", "GetDownloadUrlForLayer"}
        assert {r["requestParameters"]["layerDigest"] for r in pulled if r["eventName"] == "GetDownloadUrlForLayer"} \
            == set(image.blobs)
        (put,) = calls.list("PutImage")
        assert put["requestParameters"]["imageTag"] == "v1" and put["eventSource"] == "ecr.amazonaws.com"
        assert put["userIdentity"]["accountId"] == "123456789012"
        assert put["userIdentity"]["arn"] == "arn:aws:iam::123456789012:root"
        assert put["userIdentity"]["accessKeyId"] == "123456789012"  # the key that got the registry token


def test_delivery_failures_are_retried_counted_and_never_block_a_push(tmp_path):
    from ecr_emulator import mock_ecr

    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    with mock_ecr(registry=True, eventbridge_endpoint=closed) as mock:
        mock.client().create_repository(repositoryName="app")
        mock.push("app", "v1", files={"a": b"b"})
        assert len(mock.events.list("ECR Image Action")) == 1  # listed at once, delivered later
        deadline = time.monotonic() + 60
        while mock.events.delivery()["failed"] == 0:
            assert time.monotonic() < deadline, mock.events.delivery()
            time.sleep(0.1)
        delivery = mock.events.delivery()
        assert delivery["delivered"] == 0 and delivery["retried"] > 0 and delivery["endpoint"] == closed
