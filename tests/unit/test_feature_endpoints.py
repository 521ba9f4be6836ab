"""The features' endpoints are data (features/endpoints.py) that runtime/admin.py mounts: each
one is served from the admin blueprint, behind its guards, whatever the feature."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from ecr_emulator.app import Emulator
from ecr_emulator.features import ENDPOINTS
from ecr_emulator.settings import Settings


@pytest.fixture(scope="module")
def emulator():
    emulator = Emulator(Settings(admin_token="s3cret"))
    yield emulator
    emulator.close()


def _path(endpoint) -> str:
    return "/_emulator" + re.sub(r"<[^>]+>", "x", endpoint.rule)


def test_every_feature_endpoint_is_on_the_admin_blueprint(emulator):
    rules = {rule.endpoint: rule for rule in emulator.flask.url_map.iter_rules()}
    for endpoint in ENDPOINTS:
        rule = rules["emulator_admin." + endpoint.name]
        assert rule.rule == "/_emulator" + endpoint.rule and set(endpoint.methods) <= rule.methods


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{'/'.join(e.methods)} {e.rule}")
def test_every_feature_endpoint_is_guarded(emulator, endpoint):
    client = Client(emulator)
    method = endpoint.methods[0]
    assert client.open(_path(endpoint), method=method, headers={"Host": "evil.example"}).status_code == 403
    assert client.open(_path(endpoint), method=method, headers={"Origin": "http://evil.example"}).status_code == 403
    if method not in ("GET", "HEAD", "OPTIONS"):
        refused = client.open(_path(endpoint), method=method)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
