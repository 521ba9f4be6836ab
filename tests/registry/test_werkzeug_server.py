"""The portable body path: the same uploads against ``--server werkzeug`` (raw socket file as
``wsgi.input``, its own chunked decoding), where the body is not read whole before the app runs."""

from __future__ import annotations

import random

import pytest

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image

from .client import Registry, authorization_token, expect_error, raw_http

DATA = random.Random(3).randbytes(2 * 1024 * 1024 + 5)


@pytest.fixture(scope="module")
def werkzeug_registry():
    with ServerProcess("--no-access-log", "--server", "werkzeug") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName="plain/app")
        yield Registry(server.url, authorization_token(ecr))


def test_uploads_and_pulls(werkzeug_registry):
    registry = werkzeug_registry
    location = registry.start_upload("plain/app")
    response = registry.patch(location, data=DATA[:1_000_000], headers={"Content-Range": "0-999999"})
    assert response.status_code == 202 and response.headers["Range"] == "0-999999"
    pieces = (DATA[i:i + 99_999] for i in range(1_000_000, len(DATA), 99_999))
    response = registry.put(location, params={"digest": digest_of(DATA)}, data=pieces)
    assert response.status_code == 201, response.text
    got = registry.get(f"/v2/plain/app/blobs/{digest_of(DATA)}", headers={"Range": "bytes=10-"})
    assert got.status_code == 206 and got.content == DATA[10:]
    image = make_image("werkzeug")
    registry.push_image("plain/app", image, "v1")
    assert registry.get("/v2/plain/app/manifests/v1").content == image.manifest


def test_truncated_body(werkzeug_registry):
    registry = werkzeug_registry
    location = registry.start_upload("plain/app")
    path = location.split(registry.host, 1)[1]
    request = (f"PATCH {path} HTTP/1.1\r\nHost: {registry.host}\r\n"
               f"Authorization: {registry.session.headers['Authorization']}\r\n"
               f"Content-Length: 5000\r\n\r\n").encode() + DATA[:100]
    answer = raw_http(registry.url, request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert registry.get(location).headers["Range"] == "0-0"
    expect_error(registry.put(location, params={"digest": digest_of(DATA)}), 400, "DIGEST_INVALID")
