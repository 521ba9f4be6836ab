"""Pull-through cache end to end: CNCF Distribution (Debian's ``docker-registry``, seeded with
skopeo) is the upstream registry, the emulator under test reaches it through ``--upstream-url``,
and skopeo and plain HTTP pull ``<prefix>/<upstream path>`` through the emulator. Distribution
runs without auth, with htpasswd (Basic) auth and with token auth (a small token server in the
test issues the JWTs Distribution verifies: ``distribution.py``); credentials come from
``--upstream-credentials``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.store.manifests import OCI_INDEX, OCI_MANIFEST
from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image, make_index

from ..conftest import ACCOUNT
from ..registry.client import Registry
from ..tools import requires
from .distribution import Distribution

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
def upstream(tmp_path):
    """The upstream registry: CNCF Distribution without auth, stopped by the test if it likes."""
    with Distribution(tmp_path) as registry:
        yield registry


def _emulator(*args: str) -> ServerProcess:
    """The emulator under test (``with _emulator(...) as server``: started and stopped)."""
    return ServerProcess("--no-access-log", "--no-registry-auth", *args)


def _layout_digest(path) -> str:
    (entry,) = json.loads((path / "index.json").read_text())["manifests"]
    return entry["digest"]


@needs_skopeo
def test_skopeo_pulls_through_and_the_template_applies(upstream, skopeo, tmp_path):
    image = make_image("ptc-single", layers=3, layer_bytes=100_000)
    upstream.seed("team/app", image, "v1")

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
    upstream.seed("multi/app", index, "v1")
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
    upstream.seed("lib/app", first, "latest")
    upstream.seed("upstream-app/image1", first, "v1")
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
        upstream.seed("lib/app", second, "latest")
        assert pulled() == first.digest  # checked less than 24 h ago
        requests.post(server.url + "/_emulator/clock/advance", json={"seconds": 24 * 3600 + 1}, timeout=10)
        assert pulled() == second.digest
        by_digest = registry.head(f"/v2/pub/lib/app/manifests/{first.digest}", headers=ACCEPT)
        assert by_digest.status_code == 200
        missing = registry.get("/v2/pub/lib/app/manifests/nope", headers=ACCEPT)
        assert missing.status_code == 404 and missing.json()["errors"][0]["detail"]["upstreamFailure"] == \
            "ImageNotFound"
        assert ecr.describe_repositories(repositoryNames=["pub/lib/app"])["repositories"]


# -- Distribution with auth: htpasswd (Basic) and token auth (Bearer) ----------------------

@pytest.mark.parametrize("auth, refusal", [("htpasswd", "denied access"), ("token", "refused the credentials")])
def test_an_upstream_with_auth_and_a_secret(tmp_path, auth, refusal):
    """A Docker Hub-like upstream that needs the rule's secret: wrong credentials are refused
    (``UpstreamAccessDenied``), right ones pull the manifest and the blobs."""
    image = make_image(f"ptc-{auth}")
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({SECRET: {"username": "hubuser", "accessToken": "wrong"}}))
    with Distribution(tmp_path, auth=auth) as upstream, \
            _emulator("--upstream-url", f"registry-1.docker.io={upstream.url}",
                      "--upstream-credentials", str(credentials)) as server:
        upstream.seed("library/alpine", image, "3.20")
        anonymous = requests.get(f"{upstream.url}/v2/library/alpine/manifests/3.20", headers=ACCEPT, timeout=10)
        assert anonymous.status_code == 401  # the upstream really wants credentials
        scheme = anonymous.headers["WWW-Authenticate"].split()[0]
        assert scheme == ("Basic" if auth == "htpasswd" else "Bearer")

        ecr = checked_client("ecr", server.url)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io",
                                           credentialArn=SECRET)
        registry = Registry(server.url)
        denied = registry.get("/v2/hub/library/alpine/manifests/3.20", headers=ACCEPT)
        assert denied.status_code == 403, denied.text
        assert denied.json()["errors"][0]["detail"]["upstreamFailure"] == "UpstreamAccessDenied"
        failed = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="hub")
        assert failed["isValid"] is False and refusal in failed["failure"]

        credentials.write_text(json.dumps({SECRET: {"username": "hubuser", "accessToken": "hubtoken"}}))
        assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="hub")["isValid"] is True
        got = registry.get("/v2/hub/library/alpine/manifests/3.20", headers=ACCEPT)
        assert got.status_code == 200 and got.content == image.manifest
        for digest, data in image.blobs.items():
            assert registry.get(f"/v2/hub/library/alpine/blobs/{digest}").content == data
        if auth == "token":  # the token asked for was scoped to the repository, for Distribution's service
            scopes = [query.get("scope") for query in upstream.tokens.requests_seen]
            assert ["repository:library/alpine:pull"] in scopes


def test_distribution_refuses_tokens_of_an_issuer_it_does_not_trust(tmp_path):
    """The token test above is not vacuous: the same handshake with a token signed by a key
    Distribution's rootcertbundle does not hold ends in UpstreamAccessDenied."""
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({SECRET: {"username": "hubuser", "accessToken": "hubtoken"}}))
    with Distribution(tmp_path, auth="token", trusted_issuer=False) as upstream, \
            _emulator("--upstream-url", f"registry-1.docker.io={upstream.url}",
                      "--upstream-credentials", str(credentials)) as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io",
                                           credentialArn=SECRET)
        denied = Registry(server.url).get("/v2/hub/library/alpine/manifests/3.20", headers=ACCEPT)
        assert denied.status_code == 403, denied.text
        assert denied.json()["errors"][0]["detail"]["upstreamFailure"] == "UpstreamAccessDenied"
        assert upstream.tokens.requests_seen  # a token was issued, and Distribution refused it


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
