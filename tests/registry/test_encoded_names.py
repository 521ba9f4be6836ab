"""A percent-encoded ``/`` or ``.`` in a registry path is NAME_INVALID, judged on the raw request
target, under every server the app runs in (gunicorn, werkzeug's server, the in-process mock):
``DELETE /v2/rt/a%2fb/manifests/<digest>`` must never reach repository ``rt/a/b``."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.test import Client

from ecr_emulator.app import create_app
from ecr_emulator.settings import Settings
from ecr_emulator.testing import ServerProcess, checked_client, mock_ecr
from ecr_emulator.testing.synthetic import make_image

from .client import Registry

ENCODED = [
    "DELETE /v2/rt/a%2fb/manifests/{digest}",
    "DELETE /v2/rt/a%2Fb/manifests/{digest}",
    "GET /v2/rt/a%2fb/manifests/{digest}",
    "GET /v2/rt%2fa%2fb/manifests/latest",
    "GET /v2/rt/a/b/manifests/lat%2eest",
    "GET /v2/rt/a/%2e%2e/a/b/manifests/latest",
    "HEAD /v2/rt/a%2fb/blobs/{layer}",
    "GET /v2/rt/a%2fb/tags/list",
    "POST /v2/rt/a%2fb/blobs/uploads/",
    "GET /v2/rt/%61/b/tags/list",
]


def _send(registry: Registry, method: str, path: str) -> tuple[int, dict]:
    """The request with its target exactly as written (``requests`` would decode ``%2e``)."""
    parts = urlsplit(registry.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {"Content-Length": "0"}
        if "Authorization" in registry.session.headers:
            headers["Authorization"] = registry.session.headers["Authorization"]
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, (json.loads(body) if body else {})
    finally:
        connection.close()


def _check(registry: Registry, image) -> None:
    digest = registry.push_image("rt/a/b", image, tag="latest")
    layer = next(iter(image.blobs))
    for line in ENCODED:
        method, path = line.format(digest=digest, layer=layer).split(" ")
        status, body = _send(registry, method, path)
        assert status == 400, (line, status, body)
        if method != "HEAD":
            assert body["errors"][0]["code"] == "NAME_INVALID", body
    assert registry.tags("rt/a/b") == {"latest": digest}
    assert registry.get(f"/v2/rt/a/b/manifests/{digest}",
                        headers={"Accept": image.media_type}).status_code == 200


def test_gunicorn(url, ecr):
    ecr.create_repository(repositoryName="rt/a/b")
    from .client import authorization_token

    _check(Registry(url, authorization_token(ecr)), make_image("encoded-gunicorn"))


@pytest.fixture(scope="module")
def werkzeug_server():
    with ServerProcess("--no-access-log", "--no-registry-auth", "--server", "werkzeug") as server:
        yield server


def test_werkzeug_server(werkzeug_server):
    checked_client("ecr", werkzeug_server.url).create_repository(repositoryName="rt/a/b")
    _check(Registry(werkzeug_server.url), make_image("encoded-werkzeug"))


def test_in_process_mock():
    with mock_ecr(registry=True) as mock:
        mock.client("ecr").create_repository(repositoryName="rt/a/b")
        password = mock.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
        _check(Registry(mock.registry_url, password), make_image("encoded-mock"))


def test_a_wsgi_call_without_a_server():
    """werkzeug's test client (what Flask test clients use) gives RAW_URI too."""
    client = Client(create_app(Settings(registry_auth=False)))
    response = client.delete("/v2/rt/a%2fb/manifests/latest")
    assert response.status_code == 400 and response.json["errors"][0]["code"] == "NAME_INVALID"
    assert client.get("/v2/rt/a/b/tags/list").json["errors"][0]["code"] == "NAME_UNKNOWN"


def test_plain_names_and_encoded_digest_colons_still_work(url, ecr):
    """Only what would change the name is refused: ``%3A`` in a digest is just a colon."""
    ecr.create_repository(repositoryName="rt/plain")
    from .client import authorization_token

    registry = Registry(url, authorization_token(ecr))
    image = make_image("encoded-colon")
    digest = registry.push_image("rt/plain", image, tag="latest")
    response = registry.get("/v2/rt/plain/manifests/" + digest.replace(":", "%3A"),
                            headers={"Accept": image.media_type})
    assert response.status_code == 200, response.text
    assert requests.get(url + "/v2/", timeout=10).status_code == 401
