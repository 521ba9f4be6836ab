"""Pull-through cache end to end: a second emulator is the upstream registry (seeded with
skopeo), the emulator under test reaches it through ``--upstream-url``, and skopeo pulls
``<prefix>/<upstream path>`` through the emulator. Bearer-token upstreams are shown with a
small in-test token server in front of the upstream; credentials come from
``--upstream-credentials``."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.store.manifests import OCI_INDEX, OCI_MANIFEST
from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.images import make_image, make_index, write_oci_layout

from ..conftest import ACCOUNT
from ..registry.client import Registry
from ..tools import requires

SKOPEO = shutil.which("skopeo")
pytestmark = [pytest.mark.slow]
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ptc"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}]})
LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5}, "action": {"type": "expire"}}]})
ACCEPT = {"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}
needs_skopeo = requires(SKOPEO, "skopeo is not installed")


@pytest.fixture
def skopeo(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
           "XDG_RUNTIME_DIR": str(tmp_path)}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True,
                              timeout=120, env=env)
        if check:
            assert done.returncode == 0, f"skopeo {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    return run


@pytest.fixture
def upstream():
    """The upstream registry: an emulator of its own, registry auth off, stopped by the test if it likes."""
    server = ServerProcess("--no-access-log", "--no-registry-auth").start()
    yield server
    server.stop()


def _emulator(*args: str) -> ServerProcess:
    """The emulator under test (``with _emulator(...) as server``: started and stopped)."""
    return ServerProcess("--no-access-log", "--no-registry-auth", *args)


def _seed(upstream: ServerProcess, name: str, image, tag: str) -> None:
    """Push ``image`` (an image or an index) to ``name:tag`` on the upstream."""
    ecr = checked_client("ecr", upstream.url)
    if name not in {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}:
        ecr.create_repository(repositoryName=name)
    Registry(upstream.url).push_image(name, image, tag)


def _layout_digest(path) -> str:
    (entry,) = json.loads((path / "index.json").read_text())["manifests"]
    return entry["digest"]


@needs_skopeo
def test_skopeo_pulls_through_and_the_template_applies(upstream, skopeo, tmp_path):
    image = make_image("ptc-single", layers=3, layer_bytes=100_000)
    ecr_up = checked_client("ecr", upstream.url)
    ecr_up.create_repository(repositoryName="team/app")
    skopeo("copy", "--dest-tls-verify=false", write_oci_layout(str(tmp_path / "src"), image, "v1"),
           f"docker://{upstream.host}/team/app:v1")

    with _emulator("--upstream-url", f"public.ecr.aws={upstream.url}") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository_creation_template(
            prefix="ecr-public", appliedFor=["PULL_THROUGH_CACHE"], imageTagMutability="IMMUTABLE",
            resourceTags=[{"Key": "cache", "Value": "ecr-public"}], customRoleArn=ROLE,
            repositoryPolicy=POLICY, lifecyclePolicy=LIFECYCLE)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")
        assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public")["isValid"] is True

        out = tmp_path / "out"
        skopeo("copy", "--src-tls-verify=false", f"docker://{server.host}/ecr-public/team/app:v1", f"oci:{out}:v1")
        assert _layout_digest(out) == image.digest
        for digest, data in image.blobs.items():
            assert (out / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == data

        (repo,) = ecr.describe_repositories(repositoryNames=["ecr-public/team/app"])["repositories"]
        assert repo["imageTagMutability"] == "IMMUTABLE"
        assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [
            {"Key": "cache", "Value": "ecr-public"}]
        assert ecr.get_repository_policy(repositoryName="ecr-public/team/app")["policyText"] == POLICY
        (detail,) = ecr.describe_images(repositoryName="ecr-public/team/app")["imageDetails"]
        assert detail["imageDigest"] == image.digest and detail["imageTags"] == ["v1"]

        upstream.stop()  # later pulls are served from the cache
        again = tmp_path / "again"
        skopeo("copy", "--src-tls-verify=false", f"docker://{server.host}/ecr-public/team/app:v1",
               f"oci:{again}:v1")
        assert _layout_digest(again) == image.digest
        # a day later the tag is due a check; the upstream is down, so the cached image is served
        requests.post(server.url + "/_emulator/clock/advance", json={"seconds": 25 * 3600}, timeout=10)
        skopeo("inspect", "--tls-verify=false", f"docker://{server.host}/ecr-public/team/app:v1")
        # what was never cached is an error, promptly
        started = time.monotonic()
        missing = Registry(server.url).get("/v2/ecr-public/team/other/manifests/v1", headers=ACCEPT)
        assert time.monotonic() - started < 10
        assert missing.status_code == 404
        error = missing.json()["errors"][0]
        assert error["code"] == "MANIFEST_UNKNOWN" and error["detail"]["upstreamFailure"] == "UpstreamUnavailable"


def test_a_multi_arch_index_and_its_children_are_cached(upstream):
    children = [make_image("ptc-amd", arch="amd64"), make_image("ptc-arm", arch="arm64")]
    index = make_index(children, [{"architecture": "amd64", "os": "linux"},
                                  {"architecture": "arm64", "os": "linux"}])
    _seed(upstream, "multi/app", index, "v1")
    with _emulator("--upstream-url", f"quay.io={upstream.url}") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
        registry = Registry(server.url)
        got = registry.get("/v2/quay/multi/app/manifests/v1", headers=ACCEPT)
        assert got.status_code == 200 and got.content == index.manifest
        upstream.stop()
        for child in children:
            head = registry.get(f"/v2/quay/multi/app/manifests/{child.digest}", headers=ACCEPT)
            assert head.status_code == 200 and head.content == child.manifest
            for digest, data in child.blobs.items():
                assert registry.get(f"/v2/quay/multi/app/blobs/{digest}").content == data
        digests = {d["imageDigest"] for d in ecr.describe_images(repositoryName="quay/multi/app")["imageDetails"]}
        assert digests == {index.digest, *(c.digest for c in children)}
        # no template matched: ECR's defaults
        (repo,) = ecr.describe_repositories()["repositories"]
        assert repo["imageTagMutability"] == "MUTABLE"
        assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}


def test_a_moved_tag_is_picked_up_once_a_day_and_digests_are_served_locally(upstream):
    first, second = make_image("ptc-first"), make_image("ptc-second")
    _seed(upstream, "lib/app", first, "latest")
    _seed(upstream, "upstream-app/image1", first, "v1")
    host = f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com"
    with _emulator("--upstream-url", f"public.ecr.aws={upstream.url}", "--upstream-url",
                   f"{host}={upstream.url}") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="pub", upstreamRegistryUrl="public.ecr.aws")
        registry = Registry(server.url)
        # an ECR upstream with an upstream prefix: my-app/image1 caches upstream-app/image1
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="my-app", upstreamRegistryUrl=host,
                                           upstreamRepositoryPrefix="upstream-app")
        got = registry.get("/v2/my-app/image1/manifests/v1", headers=ACCEPT)
        assert got.status_code == 200 and got.content == first.manifest

        # BatchGetImage pulls through as well (ECR's API door of a pull)
        got = ecr.batch_get_image(repositoryName="pub/lib/app", imageIds=[{"imageTag": "latest"},
                                                                           {"imageTag": "absent"}])
        assert [i["imageId"]["imageDigest"] for i in got["images"]] == [first.digest]
        assert [f["failureCode"] for f in got["failures"]] == ["ImageNotFound"]
        layer = next(iter(first.blobs))
        assert ecr.get_download_url_for_layer(repositoryName="pub/lib/app", layerDigest=layer)["downloadUrl"]

        def pulled() -> str:
            response = registry.get("/v2/pub/lib/app/manifests/latest", headers=ACCEPT)
            assert response.status_code == 200, response.text
            return response.headers["Docker-Content-Digest"]

        assert pulled() == first.digest
        _seed(upstream, "lib/app", second, "latest")
        assert pulled() == first.digest  # checked less than 24 h ago
        requests.post(server.url + "/_emulator/clock/advance", json={"seconds": 24 * 3600 + 1}, timeout=10)
        assert pulled() == second.digest
        by_digest = registry.head(f"/v2/pub/lib/app/manifests/{first.digest}", headers=ACCEPT)
        assert by_digest.status_code == 200
        missing = registry.get("/v2/pub/lib/app/manifests/nope", headers=ACCEPT)
        assert missing.status_code == 404 and missing.json()["errors"][0]["detail"]["upstreamFailure"] == \
            "ImageNotFound"
        assert ecr.describe_repositories(repositoryNames=["pub/lib/app"])["repositories"]


# -- an upstream behind the Bearer-token handshake ------------------------------------------

class _TokenGate(ThreadingHTTPServer):
    """In front of ``target``: ``/v2/...`` needs ``Bearer <token>`` (else 401 with a Bearer
    challenge naming ``/token``); ``/token`` hands out the token for the right Basic credentials."""

    daemon_threads = True

    def __init__(self, target: str, username: str, password: str) -> None:
        self.target, self.basic = target, base64.b64encode(f"{username}:{password}".encode()).decode()
        self.token, self.token_requests = "gate-token-123", []
        super().__init__(("127.0.0.1", 0), _GateHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _GateHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        gate: _TokenGate = self.server
        auth = self.headers.get("Authorization", "")
        if self.path.startswith("/token"):
            gate.token_requests.append(self.path)
            if auth != f"Basic {gate.basic}":
                return self._reply(401)
            return self._reply(200, json.dumps({"token": gate.token}).encode(),
                               {"Content-Type": "application/json"})
        if auth != f"Bearer {gate.token}":
            challenge = f'Bearer realm="{gate.url}/token",service="gate",scope="repository:x:pull"'
            return self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
        upstream = requests.get(gate.target + self.path, headers={"Accept": self.headers.get("Accept", "*/*")},
                                timeout=30)
        headers = {k: v for k, v in upstream.headers.items() if k in ("Content-Type", "Docker-Content-Digest")}
        self._reply(upstream.status_code, upstream.content, headers)

    do_HEAD = do_GET


@pytest.fixture
def gate(upstream):
    server = _TokenGate(upstream.url, "hubuser", "hubtoken")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_docker_hub_upstream_with_a_bearer_handshake_and_a_secret(upstream, gate, tmp_path):
    image = make_image("ptc-hub")
    _seed(upstream, "library/alpine", image, "3.20")
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({SECRET: {"username": "hubuser", "accessToken": "wrong"}}))
    with _emulator("--upstream-url", f"registry-1.docker.io={gate.url}",
                   "--upstream-credentials", str(credentials)) as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io",
                                           credentialArn=SECRET)
        registry = Registry(server.url)
        denied = registry.get("/v2/hub/library/alpine/manifests/3.20", headers=ACCEPT)
        assert denied.status_code == 403
        assert denied.json()["errors"][0]["detail"]["upstreamFailure"] == "UpstreamAccessDenied"
        failed = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="hub")
        assert failed["isValid"] is False and "refused" in failed["failure"]

        credentials.write_text(json.dumps({SECRET: {"username": "hubuser", "accessToken": "hubtoken"}}))
        assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="hub")["isValid"] is True
        got = registry.get("/v2/hub/library/alpine/manifests/3.20", headers=ACCEPT)
        assert got.status_code == 200 and got.content == image.manifest
        assert any("scope=repository%3Alibrary%2Falpine%3Apull" in p for p in gate.token_requests)
        for digest, data in image.blobs.items():
            assert registry.get(f"/v2/hub/library/alpine/blobs/{digest}").content == data


def test_an_unreachable_upstream_fails_promptly():
    with _emulator("--upstream-url", "quay.io=http://127.0.0.1:9") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
        started = time.monotonic()
        got = Registry(server.url).get("/v2/quay/some/image/manifests/latest", headers=ACCEPT)
        assert time.monotonic() - started < 10
        assert got.status_code == 404 and got.json()["errors"][0]["detail"]["upstreamFailure"] == \
            "UpstreamUnavailable"
        with pytest.raises(ClientError) as info:
            ecr.batch_get_image(repositoryName="quay/some/image", imageIds=[{"imageTag": "latest"}])
        assert info.value.response["Error"]["Code"] == "UnableToGetUpstreamImageException"
        result = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="quay")
        assert result["isValid"] is False and "unreachable" in result["failure"]
        assert ecr.describe_repositories()["repositories"] == []
