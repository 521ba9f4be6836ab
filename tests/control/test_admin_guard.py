"""The emulator's endpoints refuse what a browser sends for another site, and take an admin token."""

from __future__ import annotations

import pytest
import requests

from ecr_emulator.testing import ServerProcess


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"}, {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
])
@pytest.mark.parametrize("path", ["/_emulator/reset", "/moto-api/reset", "/_emulator/clock/advance"])
def test_cross_origin_browser_requests_are_refused(url, make_client, headers, path):
    make_client("ecr").create_repository(repositoryName="kept")
    response = requests.post(url + path, data="seconds=5", timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", **headers})
    assert response.status_code == 403
    assert [r["repositoryName"] for r in make_client("ecr").describe_repositories()["repositories"]] == ["kept"]


def test_same_origin_and_plain_clients_are_served(url):
    host = url.split("://", 1)[1]
    assert requests.post(url + "/_emulator/reset", timeout=10).status_code == 200
    assert requests.post(url + "/_emulator/reset", timeout=10,
                         headers={"Origin": url, "Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert requests.post(url + "/_emulator/clock/advance", data='{"seconds": 1}', timeout=10,
                         headers={"Host": host, "Sec-Fetch-Site": "none"}).status_code == 200


@pytest.fixture(scope="module")
def guarded():
    with ServerProcess("--no-access-log", "--admin-token", "s3cret") as server:
        yield server


def test_an_admin_token_guards_the_endpoints_that_change_state(guarded):
    for path in ("/_emulator/reset", "/moto-api/reset"):
        refused = requests.post(guarded.url + path, timeout=10)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = requests.post(guarded.url + path, timeout=10, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert requests.post(guarded.url + path, timeout=10,
                             headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert requests.get(guarded.url + "/_emulator/health", timeout=10).status_code == 200
