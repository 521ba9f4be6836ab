"""DNS rebinding: the emulator's endpoints answer only for a Host that is this server's own name.

A page on ``evil.example`` whose name is re-pointed at 127.0.0.1 talks to the emulator with
``Host: evil.example:PORT`` and a matching ``Origin``: same-origin for the browser, so only the
Host tells. Reset and state export must be refused and change nothing; the registry API, the
pre-signed download URLs and logo URLs (guarded by their signed tokens) stay open to any host.
"""

from __future__ import annotations

import http.client
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry, authorization_token


def _request(url: str, method: str, path: str, host: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request with exactly this Host header (requests would rewrite it for redirects)."""
    port = int(url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True)
        connection.putheader("Host", host)
        connection.putheader("Origin", f"http://{host}")
        connection.putheader("Sec-Fetch-Site", "same-origin")
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method, path", [
    ("POST", "/_emulator/reset"), ("POST", "/moto-api/reset"), ("GET", "/_emulator/state"),
    ("POST", "/_emulator/clock/advance"), ("GET", "/_emulator/stats"),
])
def test_a_foreign_host_is_refused_and_nothing_changes(url, make_client, method, path):
    ecr = make_client("ecr")
    ecr.create_repository(repositoryName="kept")
    port = url.rsplit(":", 1)[1]
    before = requests.get(url + "/_emulator/clock", timeout=10).json()["now"]
    status, body = _request(url, method, path, f"evil.example:{port}", b'{"seconds": 3600}')
    assert status == 403, body
    assert b"evil.example" in body and b"--allowed-host" in body
    assert b"token_secret" not in body
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["kept"]
    after = datetime.fromisoformat(requests.get(url + "/_emulator/clock", timeout=10).json()["now"])
    assert after - datetime.fromisoformat(before) < timedelta(minutes=30)  # not advanced by the hour


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "[::1]",
                                  "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                                  "api.ecr.us-east-1.amazonaws.com", "public.ecr.aws",
                                  "api.ecr-public.us-east-1.amazonaws.com"])
def test_the_servers_own_names_are_served(url, host):
    port = url.rsplit(":", 1)[1]
    status, _ = _request(url, "GET", "/_emulator/health", f"{host}:{port}")
    assert status == 200
    status, body = _request(url, "GET", "/_emulator/state", f"{host}:{port}")
    assert status == 200 and body[:512].rstrip(b"\0")


def test_the_registry_and_presigned_downloads_answer_any_host(url, make_client):
    port = url.rsplit(":", 1)[1]
    status, _ = _request(url, "GET", "/v2/", f"evil.example:{port}")
    assert status == 401  # the registry's own answer (its credentials are its guard), not a 403
    ecr = make_client("ecr")
    ecr.create_repository(repositoryName="team/app")
    image = make_image("presigned")
    Registry(url, authorization_token(ecr)).push_image("team/app", image, "v1")
    layer = next(iter(image.blobs))
    download = ecr.get_download_url_for_layer(repositoryName="team/app", layerDigest=layer)["downloadUrl"]
    parts = urlsplit(download)  # on the download listener, as ECR's S3 URLs are on another origin
    status, body = _request(f"http://127.0.0.1:{parts.port}", "GET", f"{parts.path}?{parts.query}",
                            f"evil.example:{parts.port}")
    assert status == 200 and body == image.blobs[layer]  # its signed query is its guard


@pytest.fixture(scope="module")
def ci_service():
    with ServerProcess("--no-access-log", "--allowed-host", "ecr", "--allowed-host", "registry.ci,*.svc.local") as server:
        yield server


@pytest.mark.parametrize("host", ["ecr", "registry.ci", "emulator.svc.local"])
def test_allowed_host_names_are_served(ci_service, host):
    checked_client("ecr", ci_service.url).create_repository(repositoryName="kept")
    port = ci_service.url.rsplit(":", 1)[1]
    status, body = _request(ci_service.url, "POST", "/_emulator/reset", f"{host}:{port}")
    assert status == 200, body
    assert checked_client("ecr", ci_service.url).describe_repositories()["repositories"] == []
    status, _ = _request(ci_service.url, "POST", "/_emulator/reset", f"other:{port}")
    assert status == 403


def test_allowed_hosts_from_the_environment():
    with ServerProcess("--no-access-log", env={"ECR_EMULATOR_ALLOWED_HOSTS": "ecr,builder"}) as server:
        port = server.url.rsplit(":", 1)[1]
        assert _request(server.url, "GET", "/_emulator/health", f"builder:{port}")[0] == 200
        assert _request(server.url, "GET", "/_emulator/health", f"evil.example:{port}")[0] == 403
