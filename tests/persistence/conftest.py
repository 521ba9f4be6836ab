"""Persistence fixtures: an emulator served from a thread of the test process (so a test can
read its Backend directly), and a state seeded through the real APIs (boto3 and the registry)."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from ecr_emulator.app import create_app
from ecr_emulator.settings import Settings
from ecr_emulator.testing import checked_client
from ecr_emulator.testing.synthetic import make_image, make_index

from ..registry.client import Registry, authorization_token

OTHER = "210987654321"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


class InProcess:
    """An :class:`Emulator` on a werkzeug server in a thread, on a free loopback port."""

    def __init__(self, **settings) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args) -> None:
                pass

        # the tests compare two emulators' states a few seconds apart: a deleted image's blobs
        # must not be collected from one of them meanwhile (the default grace is seconds)
        settings.setdefault("deleted_blob_grace_seconds", 30 * 24 * 3600.0)  # seed() advances the clock
        self.app = create_app(Settings(host="127.0.0.1", port=0, access_log=False, **settings))
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(30)  # werkzeug closes the listening socket on the serving thread
        self.server.server_close()
        self.app.close()


@pytest.fixture
def in_process():
    """``in_process(**settings)``: start an in-thread emulator (stopped after the test)."""
    started: list[InProcess] = []

    def start(**settings) -> InProcess:
        started.append(InProcess(**settings))
        return started[-1]

    yield start
    for each in started:
        each.close()


def seed(url: str) -> dict[str, str]:
    """Fill an emulator through its APIs with a bit of every kind of state; returns the
    digests pushed, by name."""
    ecr = checked_client("ecr", url)
    other = checked_client("ecr", url, account=OTHER, region="eu-west-1")
    public = checked_client("ecr-public", url)
    ecr.create_repository(repositoryName="team/app", tags=[{"Key": "team", "Value": "a"}],
                          imageScanningConfiguration={"scanOnPush": True})
    ecr.create_repository(repositoryName="team/locked", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev-*"}])
    ecr.set_repository_policy(repositoryName="team/app", policyText=POLICY)
    ecr.put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "r", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": ["ecr:ReplicateImage"], "Resource": "*"}]}))
    other.create_repository(repositoryName="elsewhere")
    registry = Registry(url, authorization_token(ecr))
    pushed = {
        "app": registry.push_image("team/app", make_image("app"), tag="v1"),
        "index": registry.push_image("team/app", make_index(
            [make_image("amd"), make_image("arm", arch="arm64")],
            [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}]), tag="multi"),
        "locked": registry.push_image("team/locked", make_image("locked", docker=True), tag="release"),
        "gone": registry.push_image("team/app", make_image("gone"), tag="old"),
    }
    ecr.batch_delete_image(repositoryName="team/app", imageIds=[{"imageTag": "old"}])
    manifest = ecr.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])["images"][0]
    ecr.put_image(repositoryName="team/app", imageManifest=manifest["imageManifest"], imageTag="v1-copy")
    assert registry.get("/v2/team/app/manifests/v1", headers={"Accept": "*/*"}).status_code == 200  # a pull time
    other_registry = Registry(url, authorization_token(other))
    pushed["other"] = other_registry.push_image("elsewhere", make_image("other"), tag="latest")
    public.create_repository(repositoryName="tool", catalogData={
        "description": "a tool", "logoImageBlob": PNG, "architectures": ["ARM 64"]})
    public.put_registry_catalog_data(displayName="my-tools")
    requests.post(url + "/_emulator/clock/advance", json={"seconds": 3600}, timeout=10).raise_for_status()
    return pushed

