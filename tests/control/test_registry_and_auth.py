"""DescribeRegistry and GetAuthorizationToken of private ECR."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import requests

ACCOUNT = "123456789012"
OTHER = "210987654321"


def test_describe_registry(ecr):
    answer = ecr.describe_registry()
    assert answer["registryId"] == ACCOUNT
    assert answer["replicationConfiguration"] == {"rules": []}


def test_describe_registry_names_the_caller(make_client):
    assert make_client("ecr", account=OTHER).describe_registry()["registryId"] == OTHER


def _password(token: str) -> str:
    user, _, password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return password


def test_get_authorization_token(ecr, url):
    before = datetime.now(timezone.utc)
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    entry = data[0]
    assert _password(entry["authorizationToken"])
    twelve_hours = before + timedelta(hours=12)
    assert twelve_hours - timedelta(minutes=1) <= entry["expiresAt"] <= twelve_hours + timedelta(minutes=1)
    assert entry["proxyEndpoint"] == url
    # the proxy endpoint is this very server
    health = requests.get(entry["proxyEndpoint"] + "/_emulator/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_tokens_differ_per_account_and_region(make_client):
    a = make_client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    b = make_client("ecr", account=OTHER).get_authorization_token()["authorizationData"][0]["authorizationToken"]
    c = make_client("ecr", region="eu-west-1").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    assert len({_password(a), _password(b), _password(c)}) == 3


def test_one_entry_per_registry_id(ecr, url):
    data = ecr.get_authorization_token(registryIds=[ACCOUNT, OTHER])["authorizationData"]
    assert len(data) == 2
    assert all(_password(d["authorizationToken"]) for d in data)
    assert all(d["proxyEndpoint"] == url for d in data)
