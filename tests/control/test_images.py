"""Image operations (PutImage, BatchGetImage, DescribeImages, ListImages, BatchDeleteImage,
ListImageReferrers) over images pushed through the layer API, with checked boto3 clients."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.store.manifests import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from ecr_emulator.testing.synthetic import DOCKER_CONFIG, digest_of, make_image, make_index

from .test_layers import error_of, push_image, upload_blob

ACCOUNT = "123456789012"
AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux"}
SIGNATURE = "application/vnd.example.signature.v1+json"
SBOM = "application/vnd.example.sbom.v1+json"


@pytest.fixture
def repo(ecr):
    ecr.create_repository(repositoryName="app")
    return "app"


def _put(ecr, repo, manifest: bytes, **kwargs):
    return ecr.put_image(repositoryName=repo, imageManifest=manifest.decode(), **kwargs)


def _details(ecr, repo, **kwargs):
    return ecr.describe_images(repositoryName=repo, **kwargs)["imageDetails"]


def _tags(ecr, repo):
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in _details(ecr, repo)}


def _referrer(subject, seed: str, artifact_type: str = SIGNATURE):
    descriptor = {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.manifest)}
    return make_image(seed, layers=1, artifact_type=artifact_type, subject=descriptor)


# -- PutImage ------------------------------------------------------------------------------

def test_put_image_answers_the_image(ecr, repo):
    image = make_image("put")
    answer = push_image(ecr, repo, image, "v1")
    assert answer == {
        "registryId": ACCOUNT, "repositoryName": repo,
        "imageId": {"imageDigest": image.digest, "imageTag": "v1"},
        "imageManifest": image.manifest.decode(), "imageManifestMediaType": OCI_MANIFEST,
    }


def test_describe_images_reports_real_digests_sizes_and_types(ecr, repo):
    image = make_image("sizes", layers=3, layer_bytes=5000, docker=True)
    push_image(ecr, repo, image, "v1")
    (detail,) = _details(ecr, repo)
    pushed_at = detail.pop("imagePushedAt")
    assert detail == {
        "registryId": ACCOUNT, "repositoryName": repo, "imageDigest": image.digest, "imageTags": ["v1"],
        "imageSizeInBytes": image.layer_size, "imageManifestMediaType": DOCKER_MANIFEST,
        "artifactMediaType": DOCKER_CONFIG, "imageStatus": "ACTIVE",
    }
    assert abs(pushed_at.timestamp() - time.time()) < 60


def test_put_image_with_a_digest(ecr, repo):
    image = make_image("digest")
    push_image(ecr, repo, image)  # blobs in place, untagged image
    with pytest.raises(ClientError) as info:
        _put(ecr, repo, image.manifest, imageDigest=digest_of(b"something else"), imageTag="v1")
    assert error_of(info)["Code"] == "ImageDigestDoesNotMatchException"
    answer = _put(ecr, repo, image.manifest, imageDigest=image.digest, imageTag="v1")["image"]
    assert answer["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}


def test_put_image_needs_every_layer_in_the_repository(ecr, repo):
    image = make_image("missing-layers")
    upload_blob(ecr, repo, image.config)  # the config only
    with pytest.raises(ClientError) as info:
        _put(ecr, repo, image.manifest, imageTag="v1")
    assert error_of(info)["Code"] == "LayersNotFoundException"
    for layer in image.layers:
        assert digest_of(layer) in error_of(info)["Message"]
    assert _details(ecr, repo) == []


def test_layers_of_another_repository_do_not_count(ecr, repo):
    image = make_image("elsewhere")
    ecr.create_repository(repositoryName="other")
    push_image(ecr, "other", image, "v1")
    with pytest.raises(ClientError) as info:
        _put(ecr, repo, image.manifest, imageTag="v1")
    assert error_of(info)["Code"] == "LayersNotFoundException"


def test_put_image_without_media_type_needs_the_parameter(ecr, repo):
    image = make_image("no-media-type")
    doc = json.loads(image.manifest)
    del doc["mediaType"]
    bare = json.dumps(doc).encode()
    push_image(ecr, repo, image)
    with pytest.raises(ClientError) as info:
        _put(ecr, repo, bare, imageTag="v1")
    assert error_of(info)["Code"] == "InvalidParameterException"
    answer = _put(ecr, repo, bare, imageTag="v1", imageManifestMediaType=OCI_MANIFEST)["image"]
    assert answer["imageManifestMediaType"] == OCI_MANIFEST
    assert answer["imageId"]["imageDigest"] == digest_of(bare)


def test_put_image_refuses_invalid_json_and_tags(ecr, repo):
    with pytest.raises(ClientError) as info:
        ecr.put_image(repositoryName=repo, imageManifest="{not json", imageTag="v1")
    assert error_of(info)["Code"] == "InvalidParameterException"
    image = make_image("bad-tag")
    push_image(ecr, repo, image)
    for tag in ("has space", "sha256:abc", ".dot-first"):
        with pytest.raises(ClientError) as info:
            _put(ecr, repo, image.manifest, imageTag=tag)
        assert error_of(info)["Code"] == "InvalidParameterException"


def test_same_manifest_same_tag_already_exists(ecr, repo):
    image = make_image("again")
    push_image(ecr, repo, image, "v1")
    with pytest.raises(ClientError) as info:
        _put(ecr, repo, image.manifest, imageTag="v1")
    assert error_of(info)["Code"] == "ImageAlreadyExistsException"
    with pytest.raises(ClientError) as info:
        _put(ecr, repo, image.manifest)
    assert error_of(info)["Code"] == "ImageAlreadyExistsException"


def test_same_manifest_new_tag_tags_the_existing_image(ecr, repo):
    image = make_image("retag")
    push_image(ecr, repo, image, "v1")
    pushed_at = _details(ecr, repo)[0]["imagePushedAt"]
    answer = _put(ecr, repo, image.manifest, imageTag="latest")["image"]
    assert answer["imageId"] == {"imageDigest": image.digest, "imageTag": "latest"}
    (detail,) = _details(ecr, repo)
    assert sorted(detail["imageTags"]) == ["latest", "v1"]
    assert detail["imagePushedAt"] == pushed_at


def test_mutable_tag_moves_and_leaves_the_old_image_untagged(ecr, repo):
    old, new = make_image("old"), make_image("new")
    push_image(ecr, repo, old, "latest")
    push_image(ecr, repo, new, "latest")
    assert _tags(ecr, repo) == {old.digest: [], new.digest: ["latest"]}


def test_immutable_tag_refuses_a_different_manifest(ecr):
    ecr.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    first, second = make_image("first"), make_image("second")
    push_image(ecr, "locked", first, "v1")
    with pytest.raises(ClientError) as info:
        push_image(ecr, "locked", second, "v1")
    assert error_of(info) == {
        "Code": "ImageTagAlreadyExistsException",
        "Message": "The image tag 'v1' already exists in the 'locked' repository and cannot be "
                   "overwritten because the tag is immutable.",
    }
    # the same manifest again is no change; other tags are fine
    with pytest.raises(ClientError) as info:
        _put(ecr, "locked", first.manifest, imageTag="v1")
    assert error_of(info)["Code"] == "ImageAlreadyExistsException"
    _put(ecr, "locked", second.manifest, imageTag="v2")
    _put(ecr, "locked", first.manifest, imageTag="also-first")
    assert _tags(ecr, "locked") == {first.digest: ["also-first", "v1"], second.digest: ["v2"]}


def test_immutable_with_exclusion_lets_matching_tags_move(ecr):
    ecr.create_repository(repositoryName="mostly-locked", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev-*"},
                                                              {"filterType": "WILDCARD", "filter": "latest"}])
    first, second = make_image("first"), make_image("second")
    for tag in ("v1", "dev-123", "latest"):
        push_image(ecr, "mostly-locked", first, tag)
    push_image(ecr, "mostly-locked", second, "dev-123")
    push_image(ecr, "mostly-locked", second, "latest")
    with pytest.raises(ClientError) as info:
        push_image(ecr, "mostly-locked", second, "v1")
    assert error_of(info)["Code"] == "ImageTagAlreadyExistsException"
    assert _tags(ecr, "mostly-locked") == {first.digest: ["v1"], second.digest: ["dev-123", "latest"]}


def test_mutable_with_exclusion_locks_matching_tags(ecr):
    ecr.create_repository(repositoryName="mostly-open", imageTagMutability="MUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "release-*"}])
    first, second = make_image("first"), make_image("second")
    push_image(ecr, "mostly-open", first, "release-1.0")
    push_image(ecr, "mostly-open", first, "latest")
    push_image(ecr, "mostly-open", second, "latest")
    with pytest.raises(ClientError) as info:
        push_image(ecr, "mostly-open", second, "release-1.0")
    assert error_of(info)["Code"] == "ImageTagAlreadyExistsException"
    assert _tags(ecr, "mostly-open") == {first.digest: ["release-1.0"], second.digest: ["latest"]}


def test_mutability_change_applies_to_the_next_push(ecr, repo):
    first, second = make_image("first"), make_image("second")
    push_image(ecr, repo, first, "v1")
    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    with pytest.raises(ClientError) as info:
        push_image(ecr, repo, second, "v1")
    assert error_of(info)["Code"] == "ImageTagAlreadyExistsException"


def test_index_needs_its_children(ecr, repo):
    amd, arm = make_image("amd", arch="amd64"), make_image("arm", arch="arm64", layers=3)
    index = make_index([amd, arm], [AMD64, ARM64])
    push_image(ecr, repo, amd)
    with pytest.raises(ClientError) as info:
        _put(ecr, repo, index.manifest, imageTag="multi")
    assert error_of(info)["Code"] == "ReferencedImagesNotFoundException"
    assert arm.digest in error_of(info)["Message"]
    push_image(ecr, repo, arm)
    answer = _put(ecr, repo, index.manifest, imageTag="multi")["image"]
    assert answer["imageManifestMediaType"] == OCI_INDEX
    detail = _details(ecr, repo, imageIds=[{"imageTag": "multi"}])[0]
    assert detail["imageSizeInBytes"] == max(amd.layer_size, arm.layer_size)
    assert "artifactMediaType" not in detail


def test_docker_manifest_list(ecr, repo):
    amd, arm = make_image("amd", docker=True), make_image("arm", docker=True, arch="arm64")
    push_image(ecr, repo, amd)
    push_image(ecr, repo, arm)
    index = make_index([amd, arm], [AMD64, ARM64], docker=True)
    assert _put(ecr, repo, index.manifest, imageTag="multi")["image"]["imageManifestMediaType"] == DOCKER_MANIFEST_LIST


def test_put_image_in_a_missing_repository(ecr):
    with pytest.raises(ClientError) as info:
        ecr.put_image(repositoryName="nope", imageManifest="{}")
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


# -- BatchGetImage -------------------------------------------------------------------------

def test_batch_get_image_by_tag_digest_and_both(ecr, repo):
    image = make_image("get")
    push_image(ecr, repo, image, "v1")
    answer = ecr.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "v1"}, {"imageDigest": image.digest}, {"imageDigest": image.digest, "imageTag": "v1"},
    ])
    assert answer["failures"] == []
    assert [i["imageId"] for i in answer["images"]] == [
        {"imageDigest": image.digest, "imageTag": "v1"},
        {"imageDigest": image.digest},
        {"imageDigest": image.digest, "imageTag": "v1"},
    ]
    for got in answer["images"]:
        assert got["imageManifest"] == image.manifest.decode()
        assert got["imageManifestMediaType"] == OCI_MANIFEST
        assert got["registryId"] == ACCOUNT and got["repositoryName"] == repo


def test_batch_get_image_failures(ecr, repo):
    image, other = make_image("get"), make_image("other")
    push_image(ecr, repo, image, "v1")
    push_image(ecr, repo, other, "v2")
    unknown = digest_of(b"unknown")
    answer = ecr.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "nope"},
        {"imageDigest": unknown},
        {"imageDigest": "not-a-digest"},
        {},
        {"imageDigest": other.digest, "imageTag": "v1"},
        {"imageDigest": unknown, "imageTag": "nope"},
        {"imageTag": "bad tag"},
    ])
    assert answer["images"] == []
    assert answer["failures"] == [
        {"imageId": {"imageTag": "nope"}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"},
        {"imageId": {"imageDigest": unknown}, "failureCode": "ImageNotFound",
         "failureReason": "Requested image not found"},
        {"imageId": {"imageDigest": "not-a-digest"}, "failureCode": "InvalidImageDigest",
         "failureReason": "Invalid request parameters: image digest should satisfy the regex "
                          "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"},
        {"imageId": {}, "failureCode": "MissingDigestAndTag",
         "failureReason": "Invalid request parameters: both tag and digest cannot be null"},
        {"imageId": {"imageDigest": other.digest, "imageTag": "v1"}, "failureCode": "ImageTagDoesNotMatchDigest",
         "failureReason": "Invalid request parameters: given tag does not map to the given digest"},
        {"imageId": {"imageDigest": unknown, "imageTag": "nope"}, "failureCode": "ImageNotFound",
         "failureReason": "Requested image not found"},
        {"imageId": {"imageTag": "bad tag"}, "failureCode": "InvalidImageTag",
         "failureReason": answer["failures"][-1]["failureReason"]},
    ]


def test_batch_get_image_accepted_media_types(ecr, repo):
    oci, docker = make_image("oci"), make_image("docker", docker=True)
    push_image(ecr, repo, oci, "oci")
    push_image(ecr, repo, docker, "docker")
    answer = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "oci"}, {"imageTag": "docker"}],
                                 acceptedMediaTypes=[DOCKER_MANIFEST])
    assert [i["imageId"]["imageTag"] for i in answer["images"]] == ["docker"]
    assert [(f["imageId"], f["failureCode"]) for f in answer["failures"]] == [({"imageTag": "oci"}, "ImageNotFound")]
    both = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "oci"}, {"imageTag": "docker"}],
                               acceptedMediaTypes=[DOCKER_MANIFEST, OCI_MANIFEST])
    assert len(both["images"]) == 2 and both["failures"] == []


def test_batch_get_image_records_the_pull_time(ecr, repo):
    image = make_image("pull")
    push_image(ecr, repo, image, "v1")
    assert "lastRecordedPullTime" not in _details(ecr, repo)[0]
    ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    detail = _details(ecr, repo)[0]
    assert detail["lastRecordedPullTime"] >= detail["imagePushedAt"]
    # a failed get records nothing
    other = make_image("other")
    push_image(ecr, repo, other, "v2")
    ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v2"}], acceptedMediaTypes=[DOCKER_MANIFEST])
    assert "lastRecordedPullTime" not in _details(ecr, repo, imageIds=[{"imageTag": "v2"}])[0]


def test_batch_get_image_in_a_missing_repository(ecr):
    with pytest.raises(ClientError) as info:
        ecr.batch_get_image(repositoryName="nope", imageIds=[{"imageTag": "v1"}])
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


# -- DescribeImages / ListImages -------------------------------------------------------------

def test_describe_images_by_id_aggregates_tags(ecr, repo):
    image = make_image("ids")
    push_image(ecr, repo, image, "v1")
    _put(ecr, repo, image.manifest, imageTag="latest")
    details = _details(ecr, repo, imageIds=[{"imageTag": "v1"}, {"imageDigest": image.digest}])
    assert len(details) == 1
    assert sorted(details[0]["imageTags"]) == ["latest", "v1"]


def test_describe_images_unknown_id_fails_the_call(ecr, repo):
    push_image(ecr, repo, make_image("known"), "v1")
    with pytest.raises(ClientError) as info:
        _details(ecr, repo, imageIds=[{"imageTag": "v1"}, {"imageTag": "nope"}])
    assert error_of(info) == {
        "Code": "ImageNotFoundException",
        "Message": "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the "
                   f"repository with name '{repo}' in the registry with id '{ACCOUNT}'",
    }


def test_describe_images_ids_exclude_paging(ecr, repo):
    push_image(ecr, repo, make_image("x"), "v1")
    with pytest.raises(ClientError) as info:
        _details(ecr, repo, imageIds=[{"imageTag": "v1"}], maxResults=5)
    assert error_of(info)["Code"] == "InvalidParameterException"


def test_describe_images_tag_status_filter(ecr, repo):
    tagged, untagged = make_image("tagged"), make_image("untagged")
    push_image(ecr, repo, tagged, "v1")
    push_image(ecr, repo, untagged)
    by = {status: [d["imageDigest"] for d in _details(ecr, repo, filter={"tagStatus": status})]
          for status in ("TAGGED", "UNTAGGED", "ANY")}
    assert by == {"TAGGED": [tagged.digest], "UNTAGGED": [untagged.digest], "ANY": [tagged.digest, untagged.digest]}
    assert _details(ecr, repo, filter={"imageStatus": "ARCHIVED"}) == []
    assert len(_details(ecr, repo, filter={"imageStatus": "ANY"})) == 2


def test_describe_images_pagination(ecr, repo):
    images = [make_image(f"page{i}", layers=1, layer_bytes=100) for i in range(7)]
    for i, image in enumerate(images):
        push_image(ecr, repo, image, f"v{i}")
    first = ecr.describe_images(repositoryName=repo, maxResults=3)
    assert len(first["imageDetails"]) == 3 and first["nextToken"]
    pages = list(ecr.get_paginator("describe_images").paginate(repositoryName=repo,
                                                                 PaginationConfig={"PageSize": 3}))
    assert [len(p["imageDetails"]) for p in pages] == [3, 3, 1]
    assert "nextToken" not in pages[-1]
    seen = [d["imageDigest"] for p in pages for d in p["imageDetails"]]
    assert sorted(seen) == sorted(i.digest for i in images)
    with pytest.raises(ClientError) as info:
        ecr.list_images(repositoryName=repo, nextToken=first["nextToken"])
    assert error_of(info)["Code"] == "InvalidParameterException"


def test_list_images_one_entry_per_tag(ecr, repo):
    tagged, untagged = make_image("tagged"), make_image("untagged")
    push_image(ecr, repo, tagged, "v1")
    _put(ecr, repo, tagged.manifest, imageTag="latest")
    push_image(ecr, repo, untagged)
    ids = ecr.list_images(repositoryName=repo)["imageIds"]
    assert ids == [{"imageDigest": tagged.digest, "imageTag": "v1"},
                   {"imageDigest": tagged.digest, "imageTag": "latest"},
                   {"imageDigest": untagged.digest}]
    assert ecr.list_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})["imageIds"] == [
        {"imageDigest": untagged.digest}]
    assert len(ecr.list_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})["imageIds"]) == 2


def test_list_images_pagination(ecr, repo):
    image = make_image("many-tags")
    push_image(ecr, repo, image, "t0")
    for i in range(1, 12):
        _put(ecr, repo, image.manifest, imageTag=f"t{i}")
    pages = list(ecr.get_paginator("list_images").paginate(repositoryName=repo, PaginationConfig={"PageSize": 5}))
    assert [len(p["imageIds"]) for p in pages] == [5, 5, 2]
    assert [i["imageTag"] for p in pages for i in p["imageIds"]] == [f"t{i}" for i in range(12)]
    everything = ecr.get_paginator("list_images").paginate(repositoryName=repo).build_full_result()
    assert len(everything["imageIds"]) == 12


def test_list_and_describe_missing_repository(ecr):
    for call in (ecr.list_images, ecr.describe_images):
        with pytest.raises(ClientError) as info:
            call(repositoryName="nope")
        assert error_of(info)["Code"] == "RepositoryNotFoundException"


# -- BatchDeleteImage ----------------------------------------------------------------------

def test_delete_by_tag_untags_and_the_last_tag_deletes(ecr, repo):
    image = make_image("del")
    push_image(ecr, repo, image, "v1")
    _put(ecr, repo, image.manifest, imageTag="latest")
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert answer["imageIds"] == [{"imageDigest": image.digest, "imageTag": "v1"}]
    assert answer["failures"] == []
    assert _tags(ecr, repo) == {image.digest: ["latest"]}
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "latest"}])
    assert answer["imageIds"] == [{"imageDigest": image.digest, "imageTag": "latest"}]
    assert _details(ecr, repo) == []


def test_delete_by_digest_removes_the_image_and_its_tags(ecr, repo):
    image, untagged = make_image("del"), make_image("untagged")
    push_image(ecr, repo, image, "v1")
    _put(ecr, repo, image.manifest, imageTag="latest")
    push_image(ecr, repo, untagged)
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest},
                                                                  {"imageDigest": untagged.digest}])
    assert answer["imageIds"] == [{"imageDigest": image.digest, "imageTag": "v1"},
                                  {"imageDigest": image.digest, "imageTag": "latest"},
                                  {"imageDigest": untagged.digest}]
    assert _details(ecr, repo) == []
    assert ecr.list_images(repositoryName=repo)["imageIds"] == []


def test_delete_with_tag_and_digest_removes_that_tag(ecr, repo):
    image = make_image("both")
    push_image(ecr, repo, image, "v1")
    _put(ecr, repo, image.manifest, imageTag="v2")
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest, "imageTag": "v1"}])
    assert answer["imageIds"] == [{"imageDigest": image.digest, "imageTag": "v1"}]
    assert _tags(ecr, repo) == {image.digest: ["v2"]}


def test_delete_ids_naming_the_same_image_report_it_once(ecr, repo):
    image = make_image("twice")
    push_image(ecr, repo, image, "t2")
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest}, {"imageTag": "t2"}])
    assert answer == {"imageIds": [{"imageDigest": image.digest, "imageTag": "t2"}], "failures": [],
                      "ResponseMetadata": answer["ResponseMetadata"]}


def test_delete_failures_do_not_fail_the_call(ecr, repo):
    image, other = make_image("keep"), make_image("other")
    push_image(ecr, repo, image, "v1")
    push_image(ecr, repo, other, "v2")
    unknown = digest_of(b"unknown")
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[
        {"imageTag": "nope"}, {"imageDigest": unknown}, {"imageDigest": "sha256:xyz"}, {},
        {"imageDigest": other.digest, "imageTag": "v1"}, {"imageTag": "in valid"}, {"imageTag": "v2"},
    ])
    assert answer["imageIds"] == [{"imageDigest": other.digest, "imageTag": "v2"}]
    assert [(f["imageId"], f["failureCode"]) for f in answer["failures"]] == [
        ({"imageTag": "nope"}, "ImageNotFound"),
        ({"imageDigest": unknown}, "ImageNotFound"),
        ({"imageDigest": "sha256:xyz"}, "InvalidImageDigest"),
        ({}, "MissingDigestAndTag"),
        ({"imageDigest": other.digest, "imageTag": "v1"}, "ImageTagDoesNotMatchDigest"),
        ({"imageTag": "in valid"}, "InvalidImageTag"),
    ]
    assert _tags(ecr, repo) == {image.digest: ["v1"]}


def test_child_of_an_index_cannot_be_deleted_while_the_index_exists(ecr, repo):
    amd, arm = make_image("amd"), make_image("arm", arch="arm64")
    push_image(ecr, repo, amd, "amd")
    push_image(ecr, repo, arm)
    index = make_index([amd, arm], [AMD64, ARM64])
    _put(ecr, repo, index.manifest, imageTag="multi")
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": arm.digest}, {"imageTag": "amd"}])
    assert answer["imageIds"] == []
    assert [(f["imageId"], f["failureCode"]) for f in answer["failures"]] == [
        ({"imageDigest": arm.digest}, "ImageReferencedByManifestList"),
        ({"imageTag": "amd"}, "ImageReferencedByManifestList"),
    ]
    assert index.digest in answer["failures"][0]["failureReason"]
    # the index and its children together, in any order
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[
        {"imageDigest": arm.digest}, {"imageTag": "amd"}, {"imageTag": "multi"}])
    assert answer["failures"] == []
    assert _details(ecr, repo) == []


def test_untagging_a_child_that_keeps_a_tag_is_fine(ecr, repo):
    amd = make_image("amd")
    push_image(ecr, repo, amd, "amd")
    _put(ecr, repo, amd.manifest, imageTag="amd-too")
    index = make_index([amd], [AMD64])
    _put(ecr, repo, index.manifest, imageTag="multi")
    answer = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "amd"}])
    assert answer["failures"] == [] and answer["imageIds"] == [{"imageDigest": amd.digest, "imageTag": "amd"}]


def test_deleting_a_subject_keeps_its_referrers(ecr, repo):
    subject = make_image("subject")
    push_image(ecr, repo, subject, "v1")
    signature = _referrer(subject, "sig")
    push_image(ecr, repo, signature)
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert [d["imageDigest"] for d in _details(ecr, repo)] == [signature.digest]


def test_batch_delete_in_a_missing_repository(ecr):
    with pytest.raises(ClientError) as info:
        ecr.batch_delete_image(repositoryName="nope", imageIds=[{"imageTag": "v1"}])
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


# -- referrers -----------------------------------------------------------------------------

def test_referrer_is_described_with_its_subject(ecr, repo):
    subject = make_image("subject")
    push_image(ecr, repo, subject, "v1")
    signature = _referrer(subject, "sig")
    push_image(ecr, repo, signature)
    detail = _details(ecr, repo, imageIds=[{"imageDigest": signature.digest}])[0]
    assert detail["subjectManifestDigest"] == subject.digest
    assert "imageTags" not in detail
    assert "subjectManifestDigest" not in _details(ecr, repo, imageIds=[{"imageTag": "v1"}])[0]


def test_list_image_referrers(ecr, repo):
    subject = make_image("subject")
    push_image(ecr, repo, subject, "v1")
    signature, sbom = _referrer(subject, "sig"), _referrer(subject, "sbom", SBOM)
    push_image(ecr, repo, signature)
    push_image(ecr, repo, sbom)
    unrelated = make_image("unrelated")
    push_image(ecr, repo, unrelated, "other")
    answer = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest})
    assert answer["referrers"] == [
        {"digest": signature.digest, "mediaType": OCI_MANIFEST, "artifactType": SIGNATURE,
         "size": len(signature.manifest), "artifactStatus": "ACTIVE"},
        {"digest": sbom.digest, "mediaType": OCI_MANIFEST, "artifactType": SBOM,
         "size": len(sbom.manifest), "artifactStatus": "ACTIVE"},
    ]
    filtered = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest},
                                        filter={"artifactTypes": [SBOM]})
    assert [r["digest"] for r in filtered["referrers"]] == [sbom.digest]
    archived = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest},
                                        filter={"artifactStatus": "ARCHIVED"})
    assert archived["referrers"] == []
    none = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": unrelated.digest})
    assert none["referrers"] == []


def test_referrer_of_a_subject_not_pushed_yet(ecr, repo):
    subject = make_image("later")
    signature = _referrer(subject, "sig")
    push_image(ecr, repo, signature)
    answer = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest})
    assert [r["digest"] for r in answer["referrers"]] == [signature.digest]


def test_list_image_referrers_pages(ecr, repo):
    subject = make_image("subject")
    push_image(ecr, repo, subject, "v1")
    empty = b"{}"
    upload_blob(ecr, repo, empty)
    expected = []
    for i in range(53):
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SIGNATURE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest_of(empty), "size": 2},
            "layers": [], "annotations": {"n": str(i)},
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject.digest, "size": len(subject.manifest)},
        }).encode()
        _put(ecr, repo, manifest)
        expected.append(digest_of(manifest))
    first = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest})
    assert len(first["referrers"]) == 50
    second = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest},
                                      nextToken=first["nextToken"])
    assert len(second["referrers"]) == 3 and "nextToken" not in second
    assert [r["digest"] for r in first["referrers"] + second["referrers"]] == expected
    small = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject.digest}, maxResults=10)
    assert len(small["referrers"]) == 10


def test_list_image_referrers_bad_subject(ecr, repo):
    with pytest.raises(ClientError) as info:
        ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": "nope"})
    assert error_of(info)["Code"] == "InvalidParameterException"


# -- time ------------------------------------------------------------------------------------

def test_pull_time_is_later_than_push_time(ecr, repo):
    image = make_image("clock")
    push_image(ecr, repo, image, "v1")
    ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    detail = _details(ecr, repo)[0]
    assert detail["lastRecordedPullTime"] - detail["imagePushedAt"] < timedelta(minutes=1)


# -- one validator for an ImageIdentifier ------------------------------------------------------

_BAD_DIGEST = ("Invalid parameter at 'imageDigest' failed to satisfy constraint: "
               "'must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+''")
_SINGLE_IMAGE_CALLS = [
    ("describe_images", lambda image_id: {"imageIds": [image_id]}),
    ("start_image_scan", lambda image_id: {"imageId": image_id}),
    ("describe_image_scan_findings", lambda image_id: {"imageId": image_id}),
    ("describe_image_replication_status", lambda image_id: {"imageId": image_id}),
    ("describe_image_signing_status", lambda image_id: {"imageId": image_id}),
    ("update_image_storage_class", lambda image_id: {"imageId": image_id, "targetStorageClass": "ARCHIVE"}),
]


@pytest.mark.parametrize(("operation", "members"), _SINGLE_IMAGE_CALLS, ids=[c[0] for c in _SINGLE_IMAGE_CALLS])
def test_a_malformed_image_id_gets_one_answer_in_every_operation(ecr, repo, operation, members):
    """ECR's text for a bad digest (prowler-cloud/prowler#603: DescribeImageScanFindings;
    pulumi/pulumi-aws#2466: DescribeImages), the same whichever operation names the image."""
    with pytest.raises(ClientError) as info:
        getattr(ecr, operation)(repositoryName=repo, **members({"imageDigest": "sha256:xyz"}))
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert error_of(info)["Message"] == _BAD_DIGEST
    with pytest.raises(ClientError) as info:
        getattr(ecr, operation)(repositoryName=repo, **members({"imageTag": "has space"}))
    assert error_of(info)["Message"] == ("Invalid parameter at 'imageTag' failed to satisfy constraint: "
                                         "'must satisfy regular expression '[A-Za-z0-9_][A-Za-z0-9_.-]*''")
