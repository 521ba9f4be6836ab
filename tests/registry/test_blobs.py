"""Blobs: HEAD/GET with Range, DELETE, cross-repository mount, pre-signed download URLs."""

from __future__ import annotations

import hashlib
import random

import pytest
import requests

from ecr_emulator.testing.synthetic import digest_of, make_image

from .client import expect_error

DATA = random.Random(1).randbytes(300_000)


def test_head_and_get_a_blob(registry, repo):
    digest = registry.push_blob(repo, DATA)
    head = registry.head(f"/v2/{repo}/blobs/{digest}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(DATA))
    assert head.headers["Docker-Content-Digest"] == digest
    got = registry.get(f"/v2/{repo}/blobs/{digest}")
    assert got.status_code == 200
    assert got.content == DATA
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert got.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-99", 0, 100),
    ("bytes=1000-", 1000, len(DATA)),
    ("bytes=-500", len(DATA) - 500, len(DATA)),
    ("bytes=299990-400000", 299_990, len(DATA)),
    ("bytes=5-5", 5, 6),
])
def test_range_requests_answer_206(registry, repo, header, start, end):
    digest = registry.push_blob(repo, DATA)
    response = registry.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[start:end]
    assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(DATA)}"
    assert response.headers["Content-Length"] == str(end - start)


@pytest.mark.parametrize("header", ["bytes=300000-", "bytes=999999-1000000", "bytes=-0"])
def test_unsatisfiable_range_is_416(registry, repo, header):
    """The registry redirects (as ECR does, whatever the Range); the download answers as S3."""
    digest = registry.push_blob(repo, DATA)
    assert registry.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header}, follow=False).status_code == 307
    response = registry.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 416
    assert "<Code>InvalidRange</Code>" in response.text
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["items=0-5", "bytes=0-5,10-20", "bytes=9-3"])
def test_ranges_the_server_ignores_get_the_whole_blob(registry, repo, header):
    digest = registry.push_blob(repo, DATA)
    response = registry.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == DATA


def test_unknown_and_malformed_blobs(registry, repo):
    expect_error(registry.head(f"/v2/{repo}/blobs/{digest_of(b'nothing')}"), 404, "BLOB_UNKNOWN")
    expect_error(registry.get(f"/v2/{repo}/blobs/{digest_of(b'nothing')}"), 404, "BLOB_UNKNOWN")
    expect_error(registry.get(f"/v2/{repo}/blobs/sha256:abc"), 400, "DIGEST_INVALID")
    expect_error(registry.get(f"/v2/{repo}/blobs/md5:{'a' * 32}"), 400, "DIGEST_INVALID")
    expect_error(registry.get(f"/v2/no/such/blobs/{digest_of(b'x')}"), 404, "NAME_UNKNOWN")
    expect_error(registry.get(f"/v2/Upper/blobs/{digest_of(b'x')}"), 400, "NAME_INVALID")


def test_a_blob_is_visible_only_in_repositories_that_link_it(registry, repo, ecr):
    ecr.create_repository(repositoryName="other")
    digest = registry.push_blob(repo, DATA)
    expect_error(registry.head(f"/v2/other/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_delete_unlinks_the_blob(registry, repo):
    digest = registry.push_blob(repo, DATA)
    response = registry.delete(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 202
    expect_error(registry.head(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    expect_error(registry.delete(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_a_blob_an_image_uses_cannot_be_deleted(registry, repo):
    image = make_image("in-use")
    registry.push_image(repo, image)
    layer = digest_of(image.layers[0])
    error = expect_error(registry.delete(f"/v2/{repo}/blobs/{layer}"), 403, "DENIED")
    assert image.digest in error["message"]
    assert registry.get(f"/v2/{repo}/blobs/{layer}").content == image.layers[0]
    assert registry.get(f"/v2/{repo}/manifests/latest").content == image.manifest


def test_mount_from_another_repository(registry, repo, ecr):
    ecr.create_repository(repositoryName="target")
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    digest = registry.push_blob(repo, DATA)
    response = registry.post("/v2/target/blobs/uploads/", params={"mount": digest, "from": repo})
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["Location"].endswith(f"/v2/target/blobs/{digest}")
    assert registry.get(f"/v2/target/blobs/{digest}").content == DATA


def test_mount_needs_blob_mounting_enabled_and_the_same_encryption(registry, repo, ecr):
    """ECR: BLOB_MOUNTING is DISABLED by default; a mount between repositories encrypted
    differently falls back to an upload too."""
    ecr.create_repository(repositoryName="target")
    ecr.create_repository(repositoryName="kms", encryptionConfiguration={"encryptionType": "KMS"})
    digest = registry.push_blob(repo, DATA)
    assert registry.post("/v2/target/blobs/uploads/", params={"mount": digest, "from": repo}).status_code == 202
    expect_error(registry.head(f"/v2/target/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    assert registry.post("/v2/kms/blobs/uploads/", params={"mount": digest, "from": repo}).status_code == 202
    assert registry.post("/v2/target/blobs/uploads/", params={"mount": digest, "from": repo}).status_code == 201
    ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")
    assert registry.get(f"/v2/target/blobs/{digest}").content == DATA  # existing mounts stay


@pytest.mark.parametrize("mount, source", [
    (digest_of(b"not here"), "team/app"),
    (digest_of(DATA), "missing/repo"),
    (digest_of(DATA), "Bad Name"),
    ("sha256:zzz", "team/app"),
], ids=["unknown-digest", "missing-source", "invalid-source", "malformed-digest"])
def test_mount_that_cannot_happen_falls_back_to_an_upload(registry, repo, ecr, mount, source):
    ecr.create_repository(repositoryName="target")
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    registry.push_blob(repo, DATA)
    response = registry.post("/v2/target/blobs/uploads/", params={"mount": mount, "from": source})
    assert response.status_code == 202, response.text
    assert "/v2/target/blobs/uploads/" in response.headers["Location"]
    assert response.headers["Range"] == "0-0"
    expect_error(registry.head(f"/v2/target/blobs/{digest_of(DATA)}"), 404, "BLOB_UNKNOWN")


def test_mount_does_not_cross_accounts(registry, repo, make_client, url):
    from .client import Registry, authorization_token

    digest = registry.push_blob(repo, DATA)
    other = make_client("ecr", account="210987654321")
    other.create_repository(repositoryName="team/app")
    other.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    theirs = Registry(url, authorization_token(other))
    response = theirs.post("/v2/team/app/blobs/uploads/", params={"mount": digest, "from": repo})
    assert response.status_code == 202
    expect_error(theirs.head(f"/v2/team/app/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def _download_url(ecr, repo, digest):
    return ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)["downloadUrl"]


def test_presigned_download_url_serves_the_layer_without_credentials(registry, repo, ecr):
    image = make_image("dl", layer_bytes=50_000)
    registry.push_image(repo, image)
    layer = image.layers[0]
    link = _download_url(ecr, repo, digest_of(layer))
    assert "/ecr-emulator-layers/" in link
    got = requests.get(link, timeout=30)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == digest_of(layer).split(":")[1]
    part = requests.get(link, headers={"Range": "bytes=10-19"}, timeout=30)
    assert part.status_code == 206 and part.content == layer[10:20]


def test_altered_download_url_is_denied(registry, repo, ecr):
    """A pre-signed URL whose signature, path or lifetime was changed: S3's 403."""
    image = make_image("forged", layer_bytes=1000)
    registry.push_image(repo, image)
    link = _download_url(ecr, repo, digest_of(image.layers[0]))
    other = digest_of(image.config)
    for altered in (link.replace("X-Amz-Signature=", "X-Amz-Signature=0"),
                    link.replace(digest_of(image.layers[0]), other),
                    link.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200")):
        response = requests.get(altered, timeout=10)
        assert response.status_code == 403, response.text
        assert "<Code>SignatureDoesNotMatch</Code>" in response.text
