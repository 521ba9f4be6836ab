"""Routing by host name on one listener, as AWS's host names resolved to the emulator need
(``--tls --port 443``): ``public.ecr.aws`` is the public registry on the main listener too,
``<account>.dkr.ecr.<region>.amazonaws.com`` is the private registry on the public listener
too, and ECR Public's API host answers ``public.ecr.aws`` URIs. Plain HTTP with the Host
header a client sends under those names; docker through ``/etc/hosts`` is tests/e2e/test_docker_aws_hosts.py."""

from __future__ import annotations

import base64

import botocore.session
import pytest
import requests

from ecr_emulator.testing.contract import check_response
from ecr_emulator.testing.synthetic import make_image

from .client import Registry

ACCOUNT = "123456789012"
ALIAS = f"public-{ACCOUNT}"
PUBLIC_HOST = "public.ecr.aws"
PRIVATE_HOST = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
PUBLIC_API = "SpencerFrontendService."


def _api(url: str, host: str, operation: str, body: str) -> dict:
    """An ECR Public API call under ``host``, its answer checked against botocore's shape."""
    response = requests.post(url + "/", data=body, timeout=10, headers={
        "Host": host, "X-Amz-Target": PUBLIC_API + operation, "Content-Type": "application/x-amz-json-1.1"})
    model = botocore.session.get_session().get_service_model("ecr-public").operation_model(operation)
    check_response(model, response.status_code, response.content)
    assert response.status_code == 200, response.text
    return response.json()


class HostRegistry(Registry):
    """A registry client that sends every request to ``url`` under the Host ``host``."""

    def __init__(self, url: str, host: str) -> None:
        super().__init__(url)
        self.session.headers["Host"] = host


def _bearer(url: str, scope: str, basic: str | None = None) -> str:
    headers = {"Host": PUBLIC_HOST, **({"Authorization": f"Basic {basic}"} if basic else {})}
    response = requests.get(url + "/token", params={"service": PUBLIC_HOST, "scope": scope}, headers=headers,
                            timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_public_ecr_aws_on_the_main_listener_is_the_public_registry(url, ecr_public):
    challenge = requests.get(url + "/v2/", headers={"Host": PUBLIC_HOST}, timeout=10)
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == f'Bearer realm="http://{PUBLIC_HOST}/token",service="{PUBLIC_HOST}"'

    ecr_public.create_repository(repositoryName="routed")
    password = ecr_public.get_authorization_token()["authorizationData"]["authorizationToken"]
    pusher = HostRegistry(url, PUBLIC_HOST)
    pusher.session.headers["Authorization"] = f"Bearer {_bearer(url, f'repository:{ALIAS}/routed:pull,push', password)}"
    image = make_image("host-routed")
    pusher.push_image(f"{ALIAS}/routed", image, "v1")

    anonymous = HostRegistry(url, PUBLIC_HOST)
    anonymous.session.headers["Authorization"] = f"Bearer {_bearer(url, f'repository:{ALIAS}/routed:pull')}"
    pulled = anonymous.get(f"/v2/{ALIAS}/routed/manifests/v1", headers={"Accept": "*/*"})
    assert pulled.status_code == 200 and pulled.content == image.manifest
    # under any other host name the main listener stays the private registry
    assert requests.get(url + "/v2/", timeout=10).headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(url + "/token", timeout=10).status_code == 404


def test_a_private_registry_host_on_the_public_listener_is_the_private_registry(ecr_emulator_server, ecr):
    public_url = ecr_emulator_server.public_url
    private = requests.get(public_url + "/v2/", headers={"Host": PRIVATE_HOST}, timeout=10)
    assert private.status_code == 401 and private.headers["WWW-Authenticate"].startswith("Basic")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    assert requests.get(public_url + "/v2/", timeout=10, headers={
        "Host": PRIVATE_HOST, "Authorization": f"Basic {token}"}).status_code == 200
    # without an AWS host name the listener decides, as before
    assert requests.get(public_url + "/v2/", timeout=10).headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("api_host, registry", [
    ("api.ecr-public.us-east-1.amazonaws.com", PUBLIC_HOST),
    ("api.ecr-public.us-east-1.amazonaws.com:443", PUBLIC_HOST),
    ("api.ecr-public.us-east-1.amazonaws.com:5000", f"{PUBLIC_HOST}:5000"),
])
def test_the_ecr_public_api_host_answers_public_ecr_aws_uris(url, api_host, registry):
    repo = _api(url, api_host, "CreateRepository", '{"repositoryName": "named"}')["repository"]
    assert repo["repositoryUri"] == f"{registry}/{ALIAS}/named"
    token = _api(url, api_host, "GetAuthorizationToken", "{}")["authorizationData"]["authorizationToken"]
    assert base64.b64decode(token).startswith(b"AWS:")
