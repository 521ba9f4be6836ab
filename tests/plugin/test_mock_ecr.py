"""``mock_ecr``: the emulator in the test's process, served to boto3 without a socket."""

from __future__ import annotations

import json
import unittest
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from ecr_emulator import mock_ecr
from ecr_emulator.testing import MockEcr

from ..tools import import_client

REGION = "us-east-1"


def ecr_client(service: str = "ecr", **kwargs):
    return boto3.client(service, region_name=REGION, **kwargs)


def test_context_manager_serves_ecr_and_ecr_public():
    with mock_ecr() as mock:
        repo = ecr_client().create_repository(repositoryName="team/app")["repository"]
        assert repo["repositoryUri"] == f"123456789012.dkr.ecr.{REGION}.amazonaws.com/team/app"
        public = ecr_client("ecr-public").create_repository(repositoryName="pub")["repository"]
        assert public["repositoryName"] == "pub"
        assert "team/app" in mock.backend.private("123456789012", REGION).repositories


def test_errors_are_aws_errors():
    with mock_ecr():
        with pytest.raises(ClientError) as info:
            ecr_client().describe_repositories(repositoryNames=["missing"])
    assert info.value.response["Error"]["Code"] == "RepositoryNotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_each_activation_starts_empty():
    with mock_ecr():
        ecr_client().create_repository(repositoryName="app")
    with mock_ecr():
        assert ecr_client().describe_repositories()["repositories"] == []


@mock_ecr
def test_bare_decorator():
    assert ecr_client().create_repository(repositoryName="app")["repository"]["repositoryName"] == "app"


@mock_ecr(account="111111111111", region="eu-west-1")
def test_decorator_with_settings(monkeypatch):
    # the access key id is the account when it is 12 digits; other keys act as the default account
    arn = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
                       aws_secret_access_key="x").create_repository(repositoryName="app")["repository"]["repositoryArn"]
    assert arn == "arn:aws:ecr:eu-west-1:111111111111:repository/app"


@mock_ecr
class TestPlainClass:
    def test_one(self):
        ecr_client().create_repository(repositoryName="app")

    def test_two_starts_empty(self):
        assert ecr_client().describe_repositories()["repositories"] == []


@mock_ecr
class TestUnittestCase(unittest.TestCase):
    def setUp(self):
        ecr_client().create_repository(repositoryName="from-setup")

    def test_sees_what_set_up_made(self):
        names = [r["repositoryName"] for r in ecr_client().describe_repositories()["repositories"]]
        self.assertEqual(names, ["from-setup"])


def test_start_and_stop():
    mock = mock_ecr()
    mock.start()
    try:
        ecr_client().create_repository(repositoryName="app")
    finally:
        mock.stop()
    stopped = ecr_client(endpoint_url="http://127.0.0.1:9", config=Config(retries={"max_attempts": 0},
                                                                          connect_timeout=2))
    with pytest.raises(EndpointConnectionError):  # no longer answered in-process
        stopped.describe_repositories()


def test_other_services_are_untouched():
    with mock_ecr():
        s3 = boto3.client("s3", region_name=REGION, endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"max_attempts": 0}, connect_timeout=2))
        with pytest.raises(EndpointConnectionError):
            s3.list_buckets()


def test_composes_with_moto_mock_aws_for_s3():
    moto = import_client("moto")
    with moto.mock_aws(), mock_ecr() as mock:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="artifacts")
        s3.put_object(Bucket="artifacts", Key="k", Body=b"v")
        ecr = ecr_client()
        ecr.create_repository(repositoryName="app")
        assert s3.get_object(Bucket="artifacts", Key="k")["Body"].read() == b"v"
        # ECR went to the emulator, not to moto's ECR backend
        assert "app" in mock.backend.private("123456789012", REGION).repositories
        from moto.ecr.models import ecr_backends

        assert "app" not in ecr_backends["123456789012"][REGION].repositories
        # and the emulator's own checks apply (moto has no registry: no layer uploads)
        with pytest.raises(ClientError) as info:
            ecr.put_image(repositoryName="app", imageManifest=json.dumps(_manifest_with_missing_layers()))
        assert info.value.response["Error"]["Code"] == "LayersNotFoundException"


def test_registry_on_a_port():
    with mock_ecr(registry=True) as mock:
        ecr = ecr_client()
        uri = ecr.create_repository(repositoryName="team/app")["repository"]["repositoryUri"]
        assert uri == f"{mock.registry_host}/team/app" and mock.registry_host.startswith("127.0.0.1:")
        auth = ecr.get_authorization_token()["authorizationData"][0]
        assert auth["proxyEndpoint"] == mock.registry_url
        image = mock.push("team/app", "v1", files={"a.txt": b"a"})
        request = urllib.request.Request(
            f"{mock.registry_url}/v2/team/app/manifests/v1",
            headers={"Authorization": f"Basic {auth['authorizationToken']}", "Accept": image.media_type})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.read() == image.manifest
        anonymous = urllib.request.Request(f"{mock.registry_url}/v2/team/app/manifests/v1")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(anonymous, timeout=10)
        assert refused.value.code == 401
        url = mock.registry_url
    with pytest.raises(urllib.error.URLError):  # stopped with the mock
        urllib.request.urlopen(url + "/v2/", timeout=5)


def test_push_needs_the_registry():
    with mock_ecr() as mock, pytest.raises(RuntimeError, match="registry=True"):
        mock.push("app")


def test_local_uris_need_the_registry():
    with pytest.raises(ValueError, match="registry=True"):
        MockEcr(uri_style="local").start()


def test_clock_moves_forward():
    with mock_ecr() as mock:
        ecr = ecr_client()
        first = ecr.create_repository(repositoryName="first")["repository"]["createdAt"]
        mock.advance_clock(days=10)
        later = ecr.create_repository(repositoryName="later")["repository"]["createdAt"]
        assert (later - first).days >= 10


def test_lenient_manifests_setting():
    with mock_ecr(lenient_manifests=True):
        ecr = ecr_client()
        ecr.create_repository(repositoryName="app")
        ecr.put_image(repositoryName="app", imageManifest=json.dumps(_manifest_with_missing_layers()), imageTag="v1")


def test_credentials_are_provided_when_the_environment_has_none(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with mock_ecr(account="333333333333"):
        arn = boto3.Session().client("ecr", region_name=REGION).create_repository(
            repositoryName="app")["repository"]["repositoryArn"]
    assert arn.split(":")[4] == "333333333333"
    import os

    assert "AWS_ACCESS_KEY_ID" not in os.environ  # restored


def _manifest_with_missing_layers() -> dict:
    """The manifest moto's own tests PutImage: digests of layers that were never uploaded."""
    import hashlib

    def digest(text: str) -> str:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                   "digest": digest("config")},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
             "digest": digest("layer1")},
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 16724,
             "digest": digest("layer2")},
        ],
    }


def test_moto_serves_ecr_again_once_mock_ecr_stops():
    moto = import_client("moto")
    with moto.mock_aws():
        with mock_ecr():
            ecr_client().create_repository(repositoryName="ours")
        ecr_client().create_repository(repositoryName="motos")
        from moto.ecr.models import ecr_backends

        assert set(ecr_backends["123456789012"][REGION].repositories) == {"motos"}


def test_async_functions_and_nesting():
    import asyncio

    @mock_ecr
    async def body():
        ecr_client().create_repository(repositoryName="outer")
        with mock_ecr():  # the innermost activation answers, and starts empty
            assert ecr_client().describe_repositories()["repositories"] == []
        return [r["repositoryName"] for r in ecr_client().describe_repositories()["repositories"]]

    assert asyncio.run(body()) == ["outer"]


def test_a_stopped_mock_refuses_at_once_and_leaves_no_thread():
    """Its registry's listening socket is closed when ``stop`` returns (before, the port still
    accepted, and reset, connections for a moment), and its background threads have ended."""
    import threading

    before = threading.active_count()
    for _ in range(20):  # the old race lost about one round in four
        with mock_ecr(registry=True) as mock:
            ecr_client().create_repository(repositoryName="ab")
            url = mock.registry_url
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url + "/v2/", timeout=5)
    assert threading.active_count() <= before
