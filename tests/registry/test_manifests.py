"""Manifests through the registry: push/pull by tag and digest, Accept negotiation, deletes,
immutable tags -- and bad manifests, each refused with its OCI error, leaving images as they were."""

from __future__ import annotations

import json

import pytest

from ecr_emulator.store.manifests import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from ecr_emulator.testing.synthetic import digest_of, make_image, make_index

from .client import expect_error

AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux"}



def test_push_and_pull_by_tag_and_digest(registry, repo):
    image = make_image("pull")
    registry.push_image(repo, image, "v1")
    for reference in ("v1", image.digest):
        response = registry.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
        assert response.status_code == 200
        assert response.content == image.manifest
        assert response.headers["Content-Type"] == OCI_MANIFEST
        assert response.headers["Docker-Content-Digest"] == image.digest
        head = registry.head(f"/v2/{repo}/manifests/{reference}")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(image.manifest))
        assert head.headers["Docker-Content-Digest"] == image.digest
        assert head.headers["Content-Type"] == OCI_MANIFEST


def test_put_answers_201_with_location_and_digest(registry, repo):
    image = make_image("put")
    for data in image.blobs.values():
        registry.push_blob(repo, data)
    response = registry.put_manifest(repo, "v1", image.manifest, image.media_type)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == image.digest
    assert response.headers["Location"].endswith(f"/v2/{repo}/manifests/{image.digest}")
    assert "OCI-Subject" not in response.headers


def test_identical_repush_is_a_success(registry, repo):
    image = make_image("again")
    registry.push_image(repo, image, "v1")
    response = registry.put_manifest(repo, "v1", image.manifest, image.media_type)
    assert response.status_code == 201
    assert registry.put_manifest(repo, image.digest, image.manifest, image.media_type).status_code == 201
    assert registry.tags(repo) == {"v1": image.digest}


def test_push_by_digest_then_tag(registry, repo):
    image = make_image("bydigest", docker=True)
    registry.push_image(repo, image, tag=None)
    assert registry.tags(repo) == {}
    assert registry.put_manifest(repo, "v2", image.manifest, DOCKER_MANIFEST).status_code == 201
    assert registry.tags(repo) == {"v2": image.digest}


def test_accept_negotiation_without_conversion(registry, repo):
    image = make_image("accept", docker=True)
    registry.push_image(repo, image, "v1")
    path = f"/v2/{repo}/manifests/v1"
    for accept in [None, "*/*", DOCKER_MANIFEST, f"{OCI_MANIFEST}, {DOCKER_MANIFEST};q=0.9", "application/*"]:
        headers = {"Accept": accept} if accept else {}
        response = registry.get(path, headers=headers)
        assert response.status_code == 200, accept
        assert response.content == image.manifest
        assert response.headers["Content-Type"] == DOCKER_MANIFEST
    for accept in [OCI_MANIFEST, f"{OCI_MANIFEST}, {OCI_INDEX}", "application/json"]:
        response = registry.get(path, headers={"Accept": accept})
        error = expect_error(response, 404, "MANIFEST_UNKNOWN")
        assert DOCKER_MANIFEST in error["message"]


def test_multi_arch_index(registry, repo):
    index = make_index([make_image("amd", arch="amd64"), make_image("arm", arch="arm64")], [AMD64, ARM64])
    registry.push_image(repo, index, "multi")
    response = registry.get(f"/v2/{repo}/manifests/multi", headers={"Accept": OCI_INDEX})
    assert response.content == index.manifest
    assert response.headers["Content-Type"] == OCI_INDEX
    child = index.images[1]
    assert registry.get(f"/v2/{repo}/manifests/{child.digest}", headers={"Accept": OCI_MANIFEST}).content == child.manifest


def test_unknown_manifests(registry, repo):
    expect_error(registry.get(f"/v2/{repo}/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    expect_error(registry.get(f"/v2/{repo}/manifests/{digest_of(b'x')}"), 404, "MANIFEST_UNKNOWN")
    expect_error(registry.head(f"/v2/{repo}/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    # neither a valid tag nor a digest: names no manifest (the spec's 404, not a 400)
    expect_error(registry.get(f"/v2/{repo}/manifests/sha256:short"), 404, "MANIFEST_UNKNOWN")
    expect_error(registry.get(f"/v2/{repo}/manifests/-bad-tag"), 404, "MANIFEST_UNKNOWN")
    expect_error(registry.head(f"/v2/{repo}/manifests/{'9' * 400}"), 404, "MANIFEST_UNKNOWN")
    expect_error(registry.get("/v2/missing/manifests/latest"), 404, "NAME_UNKNOWN")


# -- bad pushes: the OCI error, never a 500, images untouched ----------------------------------

@pytest.fixture
def stored(registry, repo):
    """A repository holding one tagged image; yields a check that nothing changed."""
    image = make_image("stored")
    registry.push_image(repo, image, "latest")
    before = registry.tags(repo)
    yield image
    assert registry.tags(repo) == before
    assert registry.get(f"/v2/{repo}/manifests/latest").content == image.manifest


def _bad_push(registry, repo, body: bytes, media_type=OCI_MANIFEST, reference="latest"):
    return registry.put(f"/v2/{repo}/manifests/{reference}", data=body, headers={"Content-Type": media_type})


def test_manifest_referencing_a_missing_blob(registry, repo, stored):
    image = make_image("missing-layer")
    registry.push_blob(repo, image.config)
    expect_error(_bad_push(registry, repo, image.manifest), 400, "MANIFEST_BLOB_UNKNOWN")


def test_index_referencing_a_missing_manifest(registry, repo, stored):
    index = make_index([make_image("absent")], [AMD64])
    expect_error(_bad_push(registry, repo, index.manifest, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b'{"schemaVersion": 2}',
                                  json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                              "config": {"digest": "x"}, "layers": []}).encode(),
                                  b"\xff\xfe\x00", b"[" * 200_000 + b"]" * 200_000])
def test_invalid_manifests(registry, repo, stored, body):
    expect_error(_bad_push(registry, repo, body), 400, "MANIFEST_INVALID")


def test_content_type_contradicting_the_manifest(registry, repo, stored):
    image = make_image("stored")
    expect_error(_bad_push(registry, repo, image.manifest, DOCKER_MANIFEST), 400, "MANIFEST_INVALID")


def test_unknown_repository(registry, stored):
    image = make_image("stored")
    expect_error(_bad_push(registry, "missing/repo", image.manifest), 404, "NAME_UNKNOWN")


def test_oversized_manifest(registry, repo, stored):
    body = b'{"schemaVersion": 2, "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    expect_error(_bad_push(registry, repo, body), 413, "SIZE_INVALID")

    def pieces():  # the same without Content-Length
        for start in range(0, len(body), 1 << 20):
            yield body[start:start + (1 << 20)]

    expect_error(_bad_push(registry, repo, pieces()), 413, "SIZE_INVALID")


def test_digest_reference_that_does_not_match(registry, repo, stored):
    image = make_image("other")
    for data in image.blobs.values():
        registry.push_blob(repo, data)
    expect_error(_bad_push(registry, repo, image.manifest, reference=stored.digest), 400, "DIGEST_INVALID")


def test_invalid_tag(registry, repo, stored):
    expect_error(_bad_push(registry, repo, stored.manifest, reference="bad:tag:x"), 400, "DIGEST_INVALID")
    expect_error(_bad_push(registry, repo, stored.manifest, reference="." + "a" * 10), 400, "TAG_INVALID")
    expect_error(_bad_push(registry, repo, stored.manifest, reference="a" * 301), 400, "TAG_INVALID")


def test_immutable_tag_refuses_a_different_manifest(registry, ecr):
    ecr.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    first, second = make_image("first"), make_image("second")
    registry.push_image("locked", first, "v1")
    for data in second.blobs.values():
        registry.push_blob("locked", data)
    error = expect_error(registry.put_manifest("locked", "v1", second.manifest, OCI_MANIFEST), 400, "TAG_INVALID")
    assert error["message"] == ("The image tag 'v1' already exists in the 'locked' repository and cannot be "
                                "overwritten because the tag is immutable.")
    assert registry.put_manifest("locked", "v1", first.manifest, OCI_MANIFEST).status_code == 201
    assert registry.put_manifest("locked", "v2", second.manifest, OCI_MANIFEST).status_code == 201
    assert registry.tags("locked") == {"v1": first.digest, "v2": second.digest}


# -- deletes -------------------------------------------------------------------------------------

def test_delete_by_digest(registry, repo):
    image = make_image("gone")
    registry.push_image(repo, image, "v1")
    registry.put_manifest(repo, "v2", image.manifest, OCI_MANIFEST)
    assert registry.delete(f"/v2/{repo}/manifests/{image.digest}").status_code == 202
    expect_error(registry.get(f"/v2/{repo}/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")
    expect_error(registry.get(f"/v2/{repo}/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    assert registry.tags(repo) == {}
    expect_error(registry.delete(f"/v2/{repo}/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")


def test_delete_by_tag_removes_the_tag(registry, repo):
    image = make_image("tagged")
    registry.push_image(repo, image, "v1")
    registry.put_manifest(repo, "v2", image.manifest, OCI_MANIFEST)
    assert registry.delete(f"/v2/{repo}/manifests/v1").status_code == 202
    assert registry.tags(repo) == {"v2": image.digest}
    expect_error(registry.delete(f"/v2/{repo}/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    # the last tag goes with its image, as ECR's BatchDeleteImage does
    assert registry.delete(f"/v2/{repo}/manifests/v2").status_code == 202
    expect_error(registry.get(f"/v2/{repo}/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")


def test_a_child_of_an_index_cannot_be_deleted(registry, repo):
    child = make_image("child")
    index = make_index([child], [AMD64])
    registry.push_image(repo, index, "multi")
    error = expect_error(registry.delete(f"/v2/{repo}/manifests/{child.digest}"), 403, "DENIED")
    assert index.digest in error["message"]
    assert registry.get(f"/v2/{repo}/manifests/{child.digest}").status_code == 200
    assert registry.delete(f"/v2/{repo}/manifests/{index.digest}").status_code == 202
    assert registry.delete(f"/v2/{repo}/manifests/{child.digest}").status_code == 202


# -- through the other door ------------------------------------------------------------------------

def test_a_registry_push_is_an_ecr_image(registry, repo, ecr):
    image = make_image("both-doors", layers=3, layer_bytes=4000)
    registry.push_image(repo, image, "v1")
    (detail,) = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert detail["imageDigest"] == image.digest
    assert detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == image.layer_size
    assert detail["imageManifestMediaType"] == OCI_MANIFEST
    assert "lastRecordedPullTime" not in detail
    registry.head(f"/v2/{repo}/manifests/v1")
    assert "lastRecordedPullTime" not in ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    registry.get(f"/v2/{repo}/manifests/v1")
    assert "lastRecordedPullTime" in ecr.describe_images(repositoryName=repo)["imageDetails"][0]
