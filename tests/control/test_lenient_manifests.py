"""``--lenient-manifests``: moto-style suites PutImage hand-made manifests whose layers were
never uploaded, and indexes whose child manifests were never pushed. With the setting they are
accepted (sizes from the manifest's descriptors); without it, ECR's ``LayersNotFoundException`` /
``ReferencedImagesNotFoundException``."""

from __future__ import annotations

import hashlib
import json

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.testing import ServerProcess, checked_client

from ..registry.client import Registry, authorization_token, expect_error


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


#: what moto's own ECR tests PutImage (``_create_image_manifest``): layers never uploaded
MOTO_MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
               "digest": _digest("config")},
    "layers": [
        {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": _digest("layer1")},
        {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 16724, "digest": _digest("layer2")},
        {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 73109, "digest": _digest("layer3")},
    ],
}


@pytest.fixture(scope="module")
def lenient_server():
    with ServerProcess("--no-access-log", "--lenient-manifests") as server:
        yield server


@pytest.fixture
def lenient(lenient_server):
    ecr = checked_client("ecr", lenient_server.url)
    for repo in ecr.describe_repositories()["repositories"]:
        ecr.delete_repository(repositoryName=repo["repositoryName"], force=True)
    return ecr


def _moto_style_test(ecr) -> str:
    """A test as a moto suite writes it."""
    ecr.create_repository(repositoryName="test_repository")
    manifest = json.dumps(MOTO_MANIFEST)
    image = ecr.put_image(repositoryName="test_repository", imageManifest=manifest, imageTag="latest")["image"]
    assert image["imageId"]["imageTag"] == "latest"
    assert image["imageManifest"] == manifest
    return image["imageId"]["imageDigest"]


def test_a_moto_style_put_image_passes_with_lenient_manifests(lenient, lenient_server):
    digest = _moto_style_test(lenient)
    assert digest == "sha256:" + hashlib.sha256(json.dumps(MOTO_MANIFEST).encode()).hexdigest()
    [detail] = lenient.describe_images(repositoryName="test_repository")["imageDetails"]
    assert detail["imageSizeInBytes"] == 32654 + 16724 + 73109  # the layers' sizes, from the manifest
    assert detail["imageManifestMediaType"] == MOTO_MANIFEST["mediaType"]
    [got] = lenient.batch_get_image(repositoryName="test_repository", imageIds=[{"imageTag": "latest"}])["images"]
    assert json.loads(got["imageManifest"]) == MOTO_MANIFEST
    # the layers themselves still do not exist: ECR's answers about them stay true
    layers = [layer["digest"] for layer in MOTO_MANIFEST["layers"]]
    answer = lenient.batch_check_layer_availability(repositoryName="test_repository", layerDigests=layers)
    assert {f["failureCode"] for f in answer["failures"]} == {"MissingLayerDigest"}
    registry = Registry(lenient_server.url, authorization_token(lenient))
    expect_error(registry.get(f"/v2/test_repository/blobs/{layers[0]}"), 404, "BLOB_UNKNOWN")
    head = registry.head("/v2/test_repository/manifests/latest", headers={"Accept": MOTO_MANIFEST["mediaType"]})
    assert head.status_code == 200 and head.headers["Docker-Content-Digest"] == digest
    # the store's one put path: a manifest PUT through the registry is as lenient
    pushed = json.dumps(dict(MOTO_MANIFEST, layers=MOTO_MANIFEST["layers"][1:])).encode()
    assert registry.put_manifest("test_repository", "pushed", pushed, MOTO_MANIFEST["mediaType"]).status_code == 201


def test_the_same_test_fails_without_it(ecr):
    with pytest.raises(ClientError) as info:
        _moto_style_test(ecr)
    assert info.value.response["Error"]["Code"] == "LayersNotFoundException"
    assert ecr.describe_images(repositoryName="test_repository")["imageDetails"] == []


def test_lenient_manifests_keep_the_other_rules(lenient):
    lenient.create_repository(repositoryName="app", imageTagMutability="IMMUTABLE")
    lenient.put_image(repositoryName="app", imageManifest=json.dumps(MOTO_MANIFEST), imageTag="v1")
    other = dict(MOTO_MANIFEST, layers=MOTO_MANIFEST["layers"][:1])
    with pytest.raises(ClientError) as info:
        lenient.put_image(repositoryName="app", imageManifest=json.dumps(other), imageTag="v1")
    assert info.value.response["Error"]["Code"] == "ImageTagAlreadyExistsException"
    with pytest.raises(ClientError) as info:
        lenient.put_image(repositoryName="app", imageManifest=json.dumps(other), imageTag="v2",
                          imageDigest=_digest("not it"))
    assert info.value.response["Error"]["Code"] == "ImageDigestDoesNotMatchException"


#: an index as moto suites put it: its child manifests were never pushed
MOTO_INDEX = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
              "manifests": [
                  {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 100,
                   "digest": _digest("amd64"), "platform": {"architecture": "amd64", "os": "linux"}},
                  {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 120,
                   "digest": _digest("arm64"), "platform": {"architecture": "arm64", "os": "linux"}}]}


def test_an_index_of_never_pushed_children_is_accepted_through_put_image(lenient, lenient_server):
    lenient.create_repository(repositoryName="multi")
    text = json.dumps(MOTO_INDEX)
    image = lenient.put_image(repositoryName="multi", imageManifest=text, imageTag="list")["image"]
    digest = image["imageId"]["imageDigest"]
    assert digest == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    [detail] = lenient.describe_images(repositoryName="multi")["imageDetails"]
    assert detail["imageTags"] == ["list"] and detail["imageManifestMediaType"] == MOTO_INDEX["mediaType"]
    [got] = lenient.batch_get_image(repositoryName="multi", imageIds=[{"imageTag": "list"}])["images"]
    assert got["imageManifest"] == text
    # the children themselves stay unknown
    registry = Registry(lenient_server.url, authorization_token(lenient))
    expect_error(registry.get(f"/v2/multi/manifests/{_digest('amd64')}",
                              headers={"Accept": MOTO_INDEX["manifests"][0]["mediaType"]}), 404, "MANIFEST_UNKNOWN")
    lenient.batch_delete_image(repositoryName="multi", imageIds=[{"imageDigest": digest}])
    assert lenient.describe_images(repositoryName="multi")["imageDetails"] == []


def test_an_index_of_never_pushed_children_is_accepted_through_the_registry(lenient, lenient_server):
    lenient.create_repository(repositoryName="multi")
    registry = Registry(lenient_server.url, authorization_token(lenient))
    text = json.dumps(MOTO_INDEX).encode()
    answer = registry.put_manifest("multi", "list", text, MOTO_INDEX["mediaType"])
    assert answer.status_code == 201
    pulled = registry.get("/v2/multi/manifests/list", headers={"Accept": MOTO_INDEX["mediaType"]})
    assert pulled.status_code == 200 and pulled.content == text


def test_without_it_an_index_of_never_pushed_children_is_refused(ecr, url):
    ecr.create_repository(repositoryName="multi")
    with pytest.raises(ClientError) as info:
        ecr.put_image(repositoryName="multi", imageManifest=json.dumps(MOTO_INDEX), imageTag="list")
    assert info.value.response["Error"]["Code"] == "ReferencedImagesNotFoundException"
    registry = Registry(url, authorization_token(ecr))
    answer = registry.put_manifest("multi", "list", json.dumps(MOTO_INDEX).encode(), MOTO_INDEX["mediaType"])
    expect_error(answer, 400, "MANIFEST_BLOB_UNKNOWN")
    assert ecr.describe_images(repositoryName="multi")["imageDetails"] == []
