"""Registry faults against real clients that retry: skopeo (``--retry-times``) through a 429,
podman (its default retries) through a connection cut mid-push; both pushes land, and the call
log shows the failed attempt before the good one."""

from __future__ import annotations

import pytest

from ecr_emulator.testing import checked_client
from ecr_emulator.testing.synthetic import write_oci_layout

from ..features.helpers import debian_image
from ..registry.client import authorization_token, password_of
from ..tools import requires
from .conftest import PODMAN, SKOPEO

pytestmark = pytest.mark.slow


def _repository(url: str, name: str):
    ecr = checked_client("ecr", url)
    uri = ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
    return ecr, uri, "AWS:" + password_of(authorization_token(ecr))


@requires(SKOPEO, "skopeo is not installed")
def test_skopeo_retries_a_too_many_requests_answer_and_the_push_lands(ecr_emulator_url, ecr_faults, ecr_calls,
                                                                      skopeo, tmp_path):
    ecr, uri, creds = _repository(ecr_emulator_url, "flaky")
    ecr_faults.add(path="/v2/flaky/blobs/uploads/", method="POST", status=429, count=1)
    image = debian_image("skopeo-retry")
    skopeo("copy", "--retry-times", "3", "--dest-tls-verify=false", "--dest-creds", creds,
           write_oci_layout(str(tmp_path / "src"), image, "v1"), f"docker://{uri}:v1")
    assert ecr.describe_images(repositoryName="flaky")["imageDetails"][0]["imageDigest"] == image.digest
    assert ecr_faults.list()[0]["hits"] == 1
    starts = ecr_calls.list("InitiateLayerUpload")
    assert starts[0]["errorCode"] == "TOOMANYREQUESTS" and "errorCode" not in starts[-1]


@requires(PODMAN, "podman is not installed")
def test_podman_push_survives_a_connection_cut(ecr_emulator_url, ecr_faults, podman, tmp_path):
    ecr, uri, creds = _repository(ecr_emulator_url, "cut")
    podman("login", "--username", "AWS", "--password-stdin", uri.split("/")[0], input=creds.split(":", 1)[1])
    podman("pull", write_oci_layout(str(tmp_path / "src"), debian_image("podman-retry"), "v1"))
    local = podman("images", "--format", "{{.ID}}").stdout.split()[0]
    ecr_faults.add(path="/v2/cut/blobs/uploads/", method="POST", resetAfterBytes=0, count=1)
    podman("push", local, f"{uri}:v1")
    assert ecr_faults.list()[0]["hits"] == 1
    (detail,) = ecr.describe_images(repositoryName="cut")["imageDetails"]
    assert detail["imageTags"] == ["v1"]
