"""ECR's blob redirect: a blob GET answers 307 to an S3-style pre-signed URL on the download
listener (another origin), which serves the bytes without credentials, refuses them with the
registry's Authorization header as S3 does, and expires on the emulator's clock."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import requests

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of

from .client import Registry, expect_error

DATA = os.urandom(100_000)


def _location(registry: Registry, repo: str, digest: str) -> str:
    response = registry.get(f"/v2/{repo}/blobs/{digest}", follow=False)
    assert response.status_code == 307, response.text
    return response.headers["Location"]


def test_blob_get_redirects_to_another_origin(registry, repo, ecr_emulator_server):
    digest = registry.push_blob(repo, DATA)
    location = _location(registry, repo, digest)
    assert location.startswith(ecr_emulator_server.download_url + "/")
    assert urlsplit(location).netloc != urlsplit(ecr_emulator_server.url).netloc
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].endswith("/us-east-1/s3/aws4_request")
    assert {"X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} <= set(query)
    got = requests.get(location, timeout=30)
    assert got.status_code == 200 and got.content == DATA
    assert got.headers["Content-Length"] == str(len(DATA))
    head = registry.head(f"/v2/{repo}/blobs/{digest}", follow=False)  # HEAD is answered directly
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(DATA))


def test_the_download_refuses_an_authorization_header_as_s3_does(registry, repo):
    digest = registry.push_blob(repo, DATA)
    location = _location(registry, repo, digest)
    refused = requests.get(location, headers={"Authorization": registry.session.headers["Authorization"]},
                           timeout=30)
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/xml"
    assert ("<Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm "
            "query parameter, Signature query string parameter or the Authorization header should be "
            "specified</Message><ArgumentName>Authorization</ArgumentName>") in refused.text


def test_the_download_expires_on_the_emulator_clock(registry, repo, url):
    digest = registry.push_blob(repo, DATA)
    location = _location(registry, repo, digest)
    requests.post(url + "/_emulator/clock/advance", json={"seconds": 3601}, timeout=10).raise_for_status()
    expired = requests.get(location, timeout=30)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text


def test_a_blob_unlinked_after_signing_is_no_such_key(registry, repo):
    digest = registry.push_blob(repo, DATA)
    location = _location(registry, repo, digest)
    assert registry.delete(f"/v2/{repo}/blobs/{digest}").status_code == 202
    gone = requests.get(location, timeout=30)
    assert gone.status_code == 404 and "<Code>NoSuchKey</Code>" in gone.text


def test_ranges_of_a_blob_sent_from_its_file(registry, repo):
    """A blob above the memory cache's item size goes out from its file (the server's file
    wrapper: sendfile), ranges included."""
    data = os.urandom(20 << 20)
    digest = registry.push_blob(repo, data)
    assert registry.get(f"/v2/{repo}/blobs/{digest}").content == data
    part = registry.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=5000000-5999999"})
    assert part.status_code == 206 and part.content == data[5_000_000:6_000_000]
    tail = registry.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]


def test_no_blob_redirects_serves_the_bytes_directly():
    with ServerProcess("--no-access-log", "--no-registry-auth", "--no-blob-redirects") as server:
        checked_client("ecr", server.url).create_repository(repositoryName="app")
        registry = Registry(server.url)
        digest = registry.push_blob("app", DATA)
        got = registry.get(f"/v2/app/blobs/{digest}", follow=False)
        assert got.status_code == 200 and got.content == DATA
        expect_error(registry.get(f"/v2/app/blobs/{digest}", headers={"Range": "bytes=999999-"}, follow=False),
                     416, "RANGE_INVALID")
        assert digest == digest_of(DATA)

