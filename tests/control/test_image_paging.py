"""Deep ListImages / DescribeImages pages (served from the paging index, ``store/listing.py``)
are exactly the slice of the whole listing at their offset, also right after the repository
changed between two pages: a tag moved, an image deleted, pushed, archived, restored and, once
the clock passes its restore, ACTIVE again. The cost figures are in scripts/bench_images.py."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from ecr_emulator.testing.synthetic import make_image

from .test_layers import push_image

PAGE = 2


def _token(operation: str, offset: int) -> str:
    """The nextToken the emulator gives for ``offset`` (what a client holds after some pages)."""
    scope = f"ecr:{operation}:123456789012:deep"
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": scope}).encode()).decode()


def _check_every_offset(ecr, **filters) -> None:
    whole_ids = ecr.list_images(repositoryName="deep", maxResults=1000, **filters)["imageIds"]
    whole_details = ecr.describe_images(repositoryName="deep", maxResults=1000, **filters)["imageDetails"]
    for operation, whole, key, call in (("ListImages", whole_ids, "imageIds", ecr.list_images),
                                        ("DescribeImages", whole_details, "imageDetails", ecr.describe_images)):
        for offset in range(PAGE, len(whole) + 1):
            page = call(repositoryName="deep", maxResults=PAGE, nextToken=_token(operation, offset), **filters)
            assert page[key] == whole[offset:offset + PAGE], (operation, offset)
            assert ("nextToken" in page) == (offset + PAGE < len(whole)), (operation, offset)
            if "nextToken" in page:
                assert page["nextToken"] == _token(operation, offset + PAGE)


@pytest.fixture
def images(ecr):
    ecr.create_repository(repositoryName="deep")
    built = [make_image(f"deep{i}", layers=1, layer_bytes=64) for i in range(7)]
    for i, image in enumerate(built):
        push_image(ecr, "deep", image, f"v{i}" if i % 3 else None)
    ecr.put_image(repositoryName="deep", imageManifest=built[1].manifest.decode(), imageTag="extra")
    return built


def test_deep_pages_follow_every_change(ecr, images, url):
    _check_every_offset(ecr)
    ecr.put_image(repositoryName="deep", imageManifest=images[2].manifest.decode(), imageTag="extra")  # moved
    _check_every_offset(ecr)
    ecr.batch_delete_image(repositoryName="deep", imageIds=[{"imageDigest": images[4].digest}])
    _check_every_offset(ecr)
    push_image(ecr, "deep", make_image("deep-late", layers=1, layer_bytes=64), "late")
    _check_every_offset(ecr, filter={"tagStatus": "TAGGED"})
    ecr.update_image_storage_class(repositoryName="deep", imageId={"imageDigest": images[5].digest},
                                   targetStorageClass="ARCHIVE")
    _check_every_offset(ecr)
    _check_every_offset(ecr, filter={"imageStatus": "ANY"})
    ecr.update_image_storage_class(repositoryName="deep", imageId={"imageDigest": images[5].digest},
                                   targetStorageClass="STANDARD")
    _check_every_offset(ecr)  # ACTIVATING: not in the default (ACTIVE) listing
    requests.post(url + "/_emulator/clock/advance", json={"seconds": 3600}, timeout=10).raise_for_status()
    _check_every_offset(ecr)  # the restore completed: listed again, without any other change
    digests = [d["imageDigest"] for d in ecr.describe_images(repositoryName="deep")["imageDetails"]]
    assert images[5].digest in digests


def test_a_whole_walk_matches_the_single_page(ecr, images):
    for operation, key in (("list_images", "imageIds"), ("describe_images", "imageDetails")):
        whole = getattr(ecr, operation)(repositoryName="deep", maxResults=1000)[key]
        pages = ecr.get_paginator(operation).paginate(repositoryName="deep", PaginationConfig={"PageSize": PAGE})
        assert [item for page in pages for item in page[key]] == whole
