"""Blob uploads: sessions, chunks (Content-Range and chunked transfer encoding), completion,
status, cancel -- and every way an upload can go wrong, none of which may touch stored images."""

from __future__ import annotations

import os
import random

import pytest

from ecr_emulator.testing.synthetic import digest_of, make_image

from .client import expect_error, raw_http

DATA = random.Random(2).randbytes(3 * 1024 * 1024 + 17)


def _status(registry, location):
    response = registry.get(location)
    assert response.status_code == 204, response.text
    return response.headers["Range"]


def test_start_an_upload(registry, repo):
    response = registry.post(f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202
    location = response.headers["Location"]
    assert location.startswith(registry.url + f"/v2/{repo}/blobs/uploads/")
    assert response.headers["Docker-Upload-UUID"] == location.rsplit("/", 1)[1]
    assert response.headers["Range"] == "0-0"
    assert response.headers["Content-Length"] == "0"


def test_monolithic_post_put(registry, repo):
    location = registry.start_upload(repo)
    digest = digest_of(DATA)
    response = registry.put(location, params={"digest": digest}, data=DATA)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["Location"].endswith(f"/v2/{repo}/blobs/{digest}")
    assert registry.get(response.headers["Location"]).content == DATA
    expect_error(registry.get(location), 404, "BLOB_UPLOAD_UNKNOWN")


def test_single_post_with_digest(registry, repo):
    digest = digest_of(DATA)
    response = registry.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=DATA)
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/v2/{repo}/blobs/{digest}")
    assert registry.get(f"/v2/{repo}/blobs/{digest}").content == DATA


def test_empty_blob(registry, repo):
    digest = digest_of(b"")
    assert registry.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}).status_code == 201
    response = registry.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200 and response.content == b""


def test_chunked_upload_with_content_range(registry, repo):
    location = registry.start_upload(repo)
    size = 1024 * 1024
    for start in range(0, len(DATA), size):
        chunk = DATA[start:start + size]
        response = registry.patch(location, data=chunk, headers={
            "Content-Range": f"{start}-{start + len(chunk) - 1}", "Content-Type": "application/octet-stream"})
        assert response.status_code == 202, response.text
        assert response.headers["Range"] == f"0-{start + len(chunk) - 1}"
        location = response.headers["Location"]
    assert _status(registry, location) == f"0-{len(DATA) - 1}"
    response = registry.put(location, params={"digest": digest_of(DATA)})
    assert response.status_code == 201
    assert registry.get(f"/v2/{repo}/blobs/{digest_of(DATA)}").content == DATA


def test_streamed_patch_without_content_range_then_put_with_the_last_bytes(registry, repo):
    location = registry.start_upload(repo)
    response = registry.patch(location, data=DATA[:2_000_000])
    assert response.status_code == 202
    assert response.headers["Range"] == "0-1999999"
    response = registry.put(response.headers["Location"], params={"digest": digest_of(DATA)}, data=DATA[2_000_000:])
    assert response.status_code == 201
    assert registry.get(f"/v2/{repo}/blobs/{digest_of(DATA)}").content == DATA


def test_chunked_transfer_encoding_patch_and_put(registry, repo):
    """Bodies without Content-Length (Transfer-Encoding: chunked) arrive whole."""
    def pieces(data, size=100_003):
        for start in range(0, len(data), size):
            yield data[start:start + size]

    location = registry.start_upload(repo)
    response = registry.patch(location, data=pieces(DATA[:1_500_000]))
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 202, response.text
    assert response.headers["Range"] == "0-1499999"
    response = registry.put(location, params={"digest": digest_of(DATA)}, data=pieces(DATA[1_500_000:]))
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 201, response.text
    assert registry.get(f"/v2/{repo}/blobs/{digest_of(DATA)}").content == DATA
    # a monolithic POST can be chunked too
    small = os.urandom(70_000)
    response = registry.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest_of(small)}, data=pieces(small))
    assert response.status_code == 201
    assert registry.get(f"/v2/{repo}/blobs/{digest_of(small)}").content == small


def test_out_of_order_chunk_is_416_and_changes_nothing(registry, repo):
    location = registry.start_upload(repo)
    assert registry.patch(location, data=DATA[:1000], headers={"Content-Range": "0-999"}).status_code == 202
    for header in ["2000-2999", "0-999", "500-1499"]:
        response = registry.patch(location, data=DATA[1000:2000], headers={"Content-Range": header})
        expect_error(response, 416, "RANGE_INVALID")
        assert response.headers["Range"] == "0-999"
        assert response.headers["Location"] == location
    assert _status(registry, location) == "0-999"
    response = registry.patch(location, data=DATA[1000:], headers={"Content-Range": f"1000-{len(DATA) - 1}"})
    assert response.status_code == 202
    assert registry.put(location, params={"digest": digest_of(DATA)}).status_code == 201


@pytest.mark.parametrize("header", ["bytes", "abc-def", "0-5"])
def test_malformed_content_range_is_416(registry, repo, header):
    location = registry.start_upload(repo)
    response = registry.patch(location, data=b"0123456789", headers={"Content-Range": header})
    expect_error(response, 416, "RANGE_INVALID")
    assert _status(registry, location) == "0-0"


def test_wrong_digest_is_digest_invalid_and_stores_nothing(registry, repo):
    registry.push_image(repo, make_image("keep"))
    before = registry.tags(repo)
    location = registry.start_upload(repo)
    response = registry.put(location, params={"digest": digest_of(b"something else")}, data=DATA)
    expect_error(response, 400, "DIGEST_INVALID")
    expect_error(registry.head(f"/v2/{repo}/blobs/{digest_of(DATA)}"), 404, "BLOB_UNKNOWN")
    expect_error(registry.get(location), 404, "BLOB_UPLOAD_UNKNOWN")  # a failed upload is over
    response = registry.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest_of(b"x")}, data=b"y")
    expect_error(response, 400, "DIGEST_INVALID")
    assert registry.tags(repo) == before


@pytest.mark.parametrize("params", [{}, {"digest": "sha256:123"}, {"digest": "bogus"}])
def test_completing_without_a_valid_digest(registry, repo, params):
    location = registry.start_upload(repo)
    expect_error(registry.put(location, params=params, data=b"abc"), 400, "DIGEST_INVALID")


def test_put_with_the_digest_of_partial_data(registry, repo):
    location = registry.start_upload(repo)
    registry.patch(location, data=DATA[:1000])
    expect_error(registry.put(location, params={"digest": digest_of(DATA)}), 400, "DIGEST_INVALID")
    expect_error(registry.head(f"/v2/{repo}/blobs/{digest_of(DATA)}"), 404, "BLOB_UNKNOWN")
    expect_error(registry.head(f"/v2/{repo}/blobs/{digest_of(DATA[:1000])}"), 404, "BLOB_UNKNOWN")


def _truncated(registry, method, path, declared, sent):
    request = (f"{method} {path} HTTP/1.1\r\nHost: {registry.host}\r\n"
               f"Authorization: {registry.session.headers['Authorization']}\r\n"
               f"Content-Length: {declared}\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + sent
    return raw_http(registry.url, request)


def test_truncated_patch_body_is_refused_and_the_upload_is_unchanged(registry, repo):
    location = registry.start_upload(repo)
    assert registry.patch(location, data=DATA[:100]).status_code == 202
    path = location.split(registry.host, 1)[1]
    answer = _truncated(registry, "PATCH", path, declared=10_000, sent=DATA[100:5_100])
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b'"BLOB_UPLOAD_INVALID"' in answer
    assert _status(registry, location) == "0-99"
    response = registry.put(location, params={"digest": digest_of(DATA[:200])}, data=DATA[100:200])
    assert response.status_code == 201


def test_truncated_monolithic_upload_stores_nothing(registry, repo):
    registry.push_image(repo, make_image("keep"))
    before = registry.tags(repo)
    digest = digest_of(DATA)
    answer = _truncated(registry, "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}",
                        declared=len(DATA), sent=DATA[:len(DATA) // 2])
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    location = registry.start_upload(repo)
    path = location.split(registry.host, 1)[1] + f"?digest={digest}"
    answer = _truncated(registry, "PUT", path, declared=len(DATA), sent=DATA[:1000])
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    expect_error(registry.head(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert _status(registry, location) == "0-0"
    assert registry.tags(repo) == before


def test_status_and_cancel(registry, repo):
    location = registry.start_upload(repo)
    registry.patch(location, data=b"x" * 10)
    response = registry.get(location)
    assert response.status_code == 204
    assert response.headers["Range"] == "0-9"
    assert response.headers["Location"] == location
    assert registry.delete(location).status_code == 204
    expect_error(registry.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    expect_error(registry.patch(location, data=b"y"), 404, "BLOB_UPLOAD_UNKNOWN")
    expect_error(registry.put(location, params={"digest": digest_of(b"")}), 404, "BLOB_UPLOAD_UNKNOWN")
    expect_error(registry.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")


def test_an_upload_belongs_to_its_repository(registry, repo, ecr):
    ecr.create_repository(repositoryName="other")
    location = registry.start_upload(repo)
    elsewhere = location.replace(f"/v2/{repo}/", "/v2/other/")
    expect_error(registry.get(elsewhere), 404, "BLOB_UPLOAD_UNKNOWN")
    expect_error(registry.post("/v2/missing/blobs/uploads/"), 404, "NAME_UNKNOWN")


def test_unsupported_method_is_405(registry, repo):
    response = registry.put(f"/v2/{repo}/blobs/uploads/")
    expect_error(response, 405, "UNSUPPORTED")
    assert "POST" in response.headers["Allow"]


def test_an_unread_body_after_an_error_does_not_corrupt_the_connection(registry, repo):
    """Two requests on one connection, the first refused before its body is read: the second
    must get its own answer (or the server closes the connection), never garbage."""
    location = registry.start_upload(repo)
    path = location.split(registry.host, 1)[1]
    auth = registry.session.headers["Authorization"]
    for size in (10, 200_000):
        body = b"z" * size
        first = (f"PATCH {path} HTTP/1.1\r\nHost: {registry.host}\r\nAuthorization: {auth}\r\n"
                 f"Content-Range: 5-{5 + size - 1}\r\nContent-Length: {size}\r\n\r\n").encode() + body
        second = f"GET {path} HTTP/1.1\r\nHost: {registry.host}\r\nAuthorization: {auth}\r\n\r\n".encode()
        answer = raw_http(registry.url, first + second, timeout=10)
        if not answer and size > 64 * 1024:
            # the server may close rather than drain a large unread body; the TCP reset that
            # follows can overtake its 416 -- a closed connection is a correct outcome too
            continue
        assert answer.startswith(b"HTTP/1.1 416"), answer[:200]
        rest = answer.split(b"HTTP/1.1 ", 2)
        assert len(rest) in (2, 3), answer
        if len(rest) == 3:
            assert rest[2].startswith(b"204"), answer
    assert _status(registry, location) == "0-0"
