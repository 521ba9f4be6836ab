"""The archive storage class: UpdateImageStorageClass, the statuses and filters every listing
honours, and an archived image refused through both doors (BatchGetImage and a registry pull)
until its restore completes on the emulator's clock."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.testing.synthetic import digest_of, make_image, make_index

from ..registry.client import Registry, authorization_token, expect_error
from .test_layers import error_of, push_image

ACCOUNT = "123456789012"
SIGNATURE = "application/vnd.example.signature.v1+json"
AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux"}


@pytest.fixture
def repo(ecr):
    ecr.create_repository(repositoryName="team/app")
    return "team/app"


@pytest.fixture
def registry(url, ecr) -> Registry:
    return Registry(url, authorization_token(ecr))


def _advance(url: str, seconds: float) -> None:
    requests.post(url + "/_emulator/clock/advance", data=json.dumps({"seconds": seconds}), timeout=10)


def _update(ecr, repo, target: str, **image_id) -> dict:
    answer = ecr.update_image_storage_class(repositoryName=repo, imageId=image_id, targetStorageClass=target)
    answer.pop("ResponseMetadata")
    return answer


def _detail(ecr, repo, digest: str) -> dict:
    return ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])["imageDetails"][0]


def _listed(ecr, repo, status: str | None = None) -> set[str]:
    kwargs = {"filter": {"imageStatus": status}} if status else {}
    described = {d["imageDigest"] for d in ecr.describe_images(repositoryName=repo, **kwargs)["imageDetails"]}
    listed = {i["imageDigest"] for i in ecr.list_images(repositoryName=repo, **kwargs)["imageIds"]}
    assert described == listed
    return described


def _pull(registry: Registry, repo: str, reference: str):
    return registry.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": "*/*"})


def test_archive_then_restore_on_the_clock(ecr, repo, url, registry):
    image = make_image("archived", layers=1)
    other = make_image("other", layers=1)
    push_image(ecr, repo, image, "v1")
    push_image(ecr, repo, other, "v2")

    assert _update(ecr, repo, "ARCHIVE", imageTag="v1") == {
        "registryId": ACCOUNT, "repositoryName": repo, "imageId": {"imageDigest": image.digest, "imageTag": "v1"},
        "imageStatus": "ARCHIVED"}
    detail = _detail(ecr, repo, image.digest)
    assert detail["imageStatus"] == "ARCHIVED" and detail["imageTags"] == ["v1"]
    assert "lastArchivedAt" in detail and "lastActivatedAt" not in detail
    # listings: ACTIVE by default, the archived one with its filter or ANY
    assert _listed(ecr, repo) == _listed(ecr, repo, "ACTIVE") == {other.digest}
    assert _listed(ecr, repo, "ARCHIVED") == {image.digest}
    assert _listed(ecr, repo, "ANY") == {image.digest, other.digest}
    # not pullable through either door
    failures = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["failures"]
    assert [(f["failureCode"], "ARCHIVED" in f["failureReason"]) for f in failures] == [("ImageNotFound", True)]
    expect_error(_pull(registry, repo, "v1"), 404, "MANIFEST_UNKNOWN")
    expect_error(_pull(registry, repo, image.digest), 404, "MANIFEST_UNKNOWN")
    assert _pull(registry, repo, "v2").status_code == 200

    with pytest.raises(ClientError) as info:
        _update(ecr, repo, "ARCHIVE", imageDigest=image.digest)
    assert error_of(info)["Code"] == "ImageStorageClassUpdateNotSupportedException"

    # a restore takes 20 minutes of the emulator's clock
    assert _update(ecr, repo, "STANDARD", imageDigest=image.digest)["imageStatus"] == "ACTIVATING"
    assert _listed(ecr, repo, "ACTIVATING") == {image.digest}
    assert _update(ecr, repo, "STANDARD", imageDigest=image.digest)["imageStatus"] == "ACTIVATING"
    expect_error(_pull(registry, repo, "v1"), 404, "MANIFEST_UNKNOWN")
    _advance(url, 19 * 60)
    assert _detail(ecr, repo, image.digest)["imageStatus"] == "ACTIVATING"
    _advance(url, 2 * 60)
    detail = _detail(ecr, repo, image.digest)
    assert detail["imageStatus"] == "ACTIVE" and detail["lastActivatedAt"] > detail["lastArchivedAt"]
    assert _pull(registry, repo, "v1").status_code == 200
    assert ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["failures"] == []

    with pytest.raises(ClientError) as info:
        _update(ecr, repo, "STANDARD", imageTag="v1")
    assert error_of(info) == {
        "Code": "ImageStorageClassUpdateNotSupportedException",
        "Message": f"The image with digest '{image.digest}' in the repository with name '{repo}' is already in the "
                   "STANDARD storage class."}


def test_pushing_an_archived_image_again_restores_it_at_once(ecr, repo, registry):
    image = make_image("again", layers=1)
    push_image(ecr, repo, image, "v1")
    _update(ecr, repo, "ARCHIVE", imageTag="v1")
    registry.push_image(repo, image, tag="v1")  # the same manifest and tag: a no-op for an active image
    assert _detail(ecr, repo, image.digest)["imageStatus"] == "ACTIVE"
    _update(ecr, repo, "ARCHIVE", imageTag="v1")
    ecr.put_image(repositoryName=repo, imageManifest=image.manifest.decode(), imageTag="v1")
    assert _detail(ecr, repo, image.digest)["imageStatus"] == "ACTIVE"
    assert _pull(registry, repo, "v1").status_code == 200


def test_referrers_follow_their_subject_and_honour_the_artifact_status_filter(ecr, repo, registry):
    subject = make_image("subject", layers=1)
    push_image(ecr, repo, subject, "v1")
    signature = make_image("sig", layers=1, artifact_type=SIGNATURE, subject=subject.descriptor())
    push_image(ecr, repo, signature)
    served = registry.get(f"/v2/{repo}/referrers/{subject.digest}").json()["manifests"]
    assert [m["digest"] for m in served] == [signature.digest]
    _update(ecr, repo, "ARCHIVE", imageTag="v1")

    def referrers(status=None):
        kwargs = {"filter": {"artifactStatus": status}} if status else {}
        found = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest}, **kwargs)
        return [(r["digest"], r["artifactStatus"]) for r in found["referrers"]]

    assert referrers() == []
    served = registry.get(f"/v2/{repo}/referrers/{subject.digest}").json()["manifests"]
    assert served == []
    assert referrers("ARCHIVED") == referrers("ANY") == [(signature.digest, "ARCHIVED")]
    assert _detail(ecr, repo, signature.digest)["imageStatus"] == "ARCHIVED"


def test_a_manifest_of_an_index_is_archived_with_its_index_only(ecr, repo, registry):
    amd, arm = make_image("amd", layers=1), make_image("arm", layers=1, arch="arm64")
    index = make_index([amd, arm], [AMD64, ARM64])
    registry.push_image(repo, index, tag="multi")
    with pytest.raises(ClientError) as info:
        _update(ecr, repo, "ARCHIVE", imageDigest=amd.digest)
    assert error_of(info)["Code"] == "ImageStorageClassUpdateNotSupportedException"
    assert index.digest in error_of(info)["Message"]
    _update(ecr, repo, "ARCHIVE", imageTag="multi")
    assert _listed(ecr, repo, "ARCHIVED") == {index.digest, amd.digest, arm.digest}


def test_unknown_and_malformed_images(ecr, repo):
    with pytest.raises(ClientError) as info:
        _update(ecr, repo, "ARCHIVE", imageTag="nope")
    assert error_of(info)["Code"] == "ImageNotFoundException"
    with pytest.raises(ClientError) as info:
        _update(ecr, repo, "ARCHIVE", imageDigest="not-a-digest")
    assert error_of(info)["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as info:
        ecr.update_image_storage_class(repositoryName="missing", imageId={"imageTag": "v1"},
                                       targetStorageClass="ARCHIVE")
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


def test_layers_of_archived_images_only_are_archived(ecr, repo):
    image = make_image("layers", layers=1)
    shared = make_image("shared", layers=1)
    push_image(ecr, repo, image, "v1")
    push_image(ecr, repo, shared, "v2")
    layer = next(d for d in image.blobs if d != digest_of(image.config))
    _update(ecr, repo, "ARCHIVE", imageTag="v1")
    checked = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[layer])["layers"]
    assert [entry["layerAvailability"] for entry in checked] == ["ARCHIVED"]
    with pytest.raises(ClientError) as info:
        ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=layer)
    assert error_of(info)["Code"] == "LayerInaccessibleException"
    other_layer = next(d for d in shared.blobs if d != digest_of(shared.config))
    checked = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[other_layer])["layers"]
    assert [entry["layerAvailability"] for entry in checked] == ["AVAILABLE"]



def test_an_archived_image_cannot_be_scanned(ecr, repo):
    image = make_image("archived-scan", layers=1)
    push_image(ecr, repo, image, "v1")
    _update(ecr, repo, "ARCHIVE", imageTag="v1")
    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    assert error_of(info)["Code"] == "ImageArchivedException"
