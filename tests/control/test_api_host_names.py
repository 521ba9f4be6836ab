"""A client that reaches the API under ECR's own API host name (``api.ecr.<region>.amazonaws.com``
pointed here through /etc/hosts, as docker-credential-ecr-login needs) gets ECR's registry
host names back, with the port it used when that is not 443."""

from __future__ import annotations

import pytest
import requests

TARGET = "AmazonEC2ContainerRegistry_V20150921."


def _call(url: str, host: str, operation: str, body: str) -> dict:
    response = requests.post(url + "/", data=body, timeout=10, headers={
        "Host": host, "X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("api_host, registry", [
    ("api.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
    ("api.ecr.us-east-1.amazonaws.com:443", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
    ("ecr.us-east-1.amazonaws.com:5000", "123456789012.dkr.ecr.us-east-1.amazonaws.com:5000"),
])
def test_ecr_api_host_names_answer_ecr_registry_host_names(url, ecr_emulator_server, api_host, registry):
    token = _call(url, api_host, "GetAuthorizationToken", "{}")["authorizationData"][0]
    assert token["proxyEndpoint"] == f"http://{registry}"
    repo = _call(url, api_host, "CreateRepository", '{"repositoryName": "named"}')["repository"]
    assert repo["repositoryUri"] == f"{registry}/named"


def test_other_host_names_are_answered_as_used(url, ecr_emulator_server):
    token = _call(url, "localhost:1234", "GetAuthorizationToken", "{}")["authorizationData"][0]
    assert token["proxyEndpoint"] == "http://localhost:1234"
