"""The README's "Coming from moto" table, row by row: each moto behaviour real ECR does not have,
and what the emulator answers instead (as ECR does)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests
from botocore.exceptions import ClientError

from ..features.helpers import push
from ..registry.client import Registry
from ..scanning.conftest import wait_for_scan

MIB = 1 << 20


def _code(info) -> str:
    return info.value.response["Error"]["Code"]


def _images(ecr, repo):
    return {d["imageDigest"]: d.get("imageTags", []) for d in ecr.describe_images(repositoryName=repo)["imageDetails"]}


def test_an_image_whose_only_tag_moved_stays_untagged(url, ecr):
    ecr.create_repository(repositoryName="moved")
    first = push(url, ecr, "moved", "first", tag="latest")
    second = push(url, ecr, "moved", "second", tag="latest")
    assert _images(ecr, "moved") == {first.digest: [], second.digest: ["latest"]}
    # still pullable by digest
    [got] = ecr.batch_get_image(repositoryName="moved", imageIds=[{"imageDigest": first.digest}])["images"]
    assert got["imageId"]["imageDigest"] == first.digest


def test_a_client_given_digest_that_does_not_match_the_manifest_is_refused(url, ecr):
    ecr.create_repository(repositoryName="digest")
    image = push(url, ecr, "digest", "digest", tag=None)
    with pytest.raises(ClientError) as info:
        ecr.put_image(repositoryName="digest", imageManifest=image.manifest.decode(), imageTag="v1",
                      imageDigest="sha256:" + hashlib.sha256(b"something else").hexdigest())
    assert _code(info) == "ImageDigestDoesNotMatchException"
    assert _images(ecr, "digest") == {image.digest: []}


def test_upload_layer_parts_under_5_mib_are_refused_except_the_last(ecr):
    ecr.create_repository(repositoryName="parts")
    upload = ecr.initiate_layer_upload(repositoryName="parts")["uploadId"]
    for first, data in ((0, b"a" * 1024), (1024, b"b" * 1024)):
        ecr.upload_layer_part(repositoryName="parts", uploadId=upload, partFirstByte=first,
                              partLastByte=first + len(data) - 1, layerPartBlob=data)
    with pytest.raises(ClientError) as info:
        ecr.complete_layer_upload(repositoryName="parts", uploadId=upload,
                                  layerDigests=["sha256:" + hashlib.sha256(b"a" * 1024 + b"b" * 1024).hexdigest()])
    assert _code(info) == "LayerPartTooSmallException"
    # a 5 MiB part and then a small last one are fine
    data = b"x" * (5 * MIB) + b"tail"
    upload = ecr.initiate_layer_upload(repositoryName="parts")["uploadId"]
    for first in (0, 5 * MIB):
        part = data[first:first + 5 * MIB]
        ecr.upload_layer_part(repositoryName="parts", uploadId=upload, partFirstByte=first,
                              partLastByte=first + len(part) - 1, layerPartBlob=part)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert ecr.complete_layer_upload(repositoryName="parts", uploadId=upload, layerDigests=[digest])["layerDigest"] == digest


@pytest.mark.parametrize("registry_id", ["12345", "test", "1234567890123"])
def test_registry_id_must_be_12_digits(ecr, registry_id):
    with pytest.raises(ClientError) as info:
        ecr.describe_repositories(registryId=registry_id)
    assert _code(info) == "InvalidParameterException"
    assert "'registryId'" in info.value.response["Error"]["Message"]


def test_the_token_is_not_a_fixed_string(url, ecr, make_client):
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS" and password != "123456789012-auth-token"  # moto's fixed password
    other = make_client("ecr", account="111111111111").get_authorization_token()["authorizationData"][0]
    assert other["authorizationToken"] != token
    # moto's token opens nothing here
    fixed = base64.b64encode(b"AWS:123456789012-auth-token").decode()
    assert Registry(url, fixed).get("/v2/").status_code == 401
    assert Registry(url, token).get("/v2/").status_code == 200


def test_canned_findings_come_from_the_scan_findings_endpoint(url, ecr):
    ecr.create_repository(repositoryName="scanned")
    image = push(url, ecr, "scanned", "scanned")
    ecr.start_image_scan(repositoryName="scanned", imageId={"imageTag": "v1"})
    # no canned CVE-9999-9999 as in moto: the scanner's answer (this synthetic image has no OS
    # the scanner knows, so no findings)
    assert all(f["name"] != "CVE-9999-9999" for f in _findings(ecr))
    canned = {"imageDigest": image.digest, "findings": [
        {"name": "CVE-9999-9999", "severity": "HIGH", "packageName": "libfoo", "packageVersion": "1.0"}]}
    assert requests.post(f"{url}/_emulator/scan-findings", data=json.dumps(canned), timeout=10).status_code == 200
    assert [f["name"] for f in _findings(ecr)] == ["CVE-9999-9999"]


def _findings(ecr) -> list:
    answer = wait_for_scan(ecr, "scanned", ecr.describe_images(repositoryName="scanned")["imageDetails"][0]["imageDigest"])
    return answer.get("imageScanFindings", {}).get("findings", [])
