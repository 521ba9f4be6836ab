"""ECR's registry auth: Basic ``AWS:<token>`` from GetAuthorizationToken, scoped to one
account and region; the Host may name the registry (``<acct>.dkr.ecr.<region>.amazonaws.com``)."""

from __future__ import annotations

import base64

import pytest

from ecr_emulator.testing import checked_client
from ecr_emulator.testing.synthetic import make_image

from ..conftest import OTHER_ACCOUNT
from .client import Registry, authorization_token, expect_error


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_base_with_a_token_answers_200(registry):
    response = registry.get("/v2/")
    assert response.status_code == 200
    assert response.json() == {}
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_no_credentials_get_the_basic_challenge(anonymous, url):
    response = anonymous.get("/v2/")
    expect_error(response, 401, "UNAUTHORIZED")
    host = url.split("://")[1]
    assert response.headers["WWW-Authenticate"] == f'Basic realm="http://{host}/",service="ecr.amazonaws.com"'


@pytest.mark.parametrize("authorization", [
    basic("AWS", "not-a-token"),
    basic("AWS", "eyJhIjoiMTIzNDU2Nzg5MDEyIn0.forged"),
    "Basic !!!not-base64!!!",
    "Bearer abc",
])
def test_bad_credentials_get_401(anonymous, authorization):
    response = anonymous.get("/v2/", headers={"Authorization": authorization})
    expect_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_a_user_other_than_aws_is_refused(anonymous, ecr):
    password = base64.b64decode(authorization_token(ecr)).decode().split(":", 1)[1]
    expect_error(anonymous.get("/v2/", headers={"Authorization": basic("admin", password)}), 401, "UNAUTHORIZED")


def test_every_endpoint_needs_credentials(anonymous, registry, repo):
    digest = registry.push_image(repo, make_image("auth"))
    for method, path in [("GET", f"/v2/{repo}/manifests/latest"), ("HEAD", f"/v2/{repo}/manifests/{digest}"),
                         ("GET", f"/v2/{repo}/tags/list"), ("POST", f"/v2/{repo}/blobs/uploads/"),
                         ("DELETE", f"/v2/{repo}/manifests/latest"), ("GET", "/v2/_catalog"),
                         ("GET", f"/v2/{repo}/referrers/{digest}")]:
        response = anonymous.request(method, path)
        assert response.status_code == 401, (method, path, response.status_code)
    assert registry.tags(repo) == {"latest": digest}


def test_expired_token_is_denied_with_a_clear_message(expiring_server):
    ecr = checked_client("ecr", expiring_server.url)
    registry = Registry(expiring_server.url, authorization_token(ecr))
    error = expect_error(registry.get("/v2/"), 403, "DENIED")
    assert "expired" in error["message"].lower()


def test_token_of_another_account_cannot_reach_this_registry(url, make_client, registry, repo):
    registry.push_image(repo, make_image("mine"))
    other = make_client("ecr", account=OTHER_ACCOUNT)
    host = url.split("://")[1]
    port = host.rsplit(":", 1)[1]
    theirs = Registry(url, authorization_token(other))
    # the Host names account 123456789012's registry: their token does not open it
    ecr_host = f"123456789012.dkr.ecr.us-east-1.amazonaws.com:{port}"
    for method, path in [("GET", f"/v2/{repo}/manifests/latest"), ("POST", f"/v2/{repo}/blobs/uploads/"),
                         ("GET", f"/v2/{repo}/tags/list")]:
        error = expect_error(theirs.request(method, path, headers={"Host": ecr_host}), 403, "DENIED")
        assert OTHER_ACCOUNT in error["message"]
    # without an ECR Host the token's own account is addressed, where the repository does not exist
    expect_error(theirs.get(f"/v2/{repo}/tags/list"), 404, "NAME_UNKNOWN")
    # and the owner may use the ECR Host form
    assert registry.get(f"/v2/{repo}/tags/list", headers={"Host": ecr_host}).json()["tags"] == ["latest"]


def test_token_of_another_region_is_denied(url, make_client, repo):
    port = url.rsplit(":", 1)[1]
    west = Registry(url, authorization_token(make_client("ecr", region="us-west-2")))
    response = west.get(f"/v2/{repo}/tags/list", headers={"Host": f"123456789012.dkr.ecr.us-east-1.amazonaws.com:{port}"})
    error = expect_error(response, 403, "DENIED")
    assert "us-west-2" in error["message"]


def test_ecr_public_token_does_not_open_a_private_registry(url, make_client):
    token = make_client("ecr-public").get_authorization_token()["authorizationData"]["authorizationToken"]
    expect_error(Registry(url, token).get("/v2/"), 403, "DENIED")


def test_auth_off_needs_no_credentials_and_uses_the_default_account(open_registry, open_ecr):
    assert open_registry.get("/v2/").status_code == 200
    open_ecr.create_repository(repositoryName="free")
    digest = open_registry.push_image("free", make_image("free"))
    assert open_registry.tags("free") == {"latest": digest}
    assert open_registry.get("/v2/_catalog").json() == {"repositories": ["free"]}


def test_auth_off_takes_the_account_from_an_ecr_host(open_registry, open_ecr, make_client):
    port = open_registry.url.rsplit(":", 1)[1]
    other = checked_client("ecr", open_registry.url, account=OTHER_ACCOUNT, region="eu-west-1")
    other.create_repository(repositoryName="theirs")
    host = {"Host": f"{OTHER_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com:{port}"}
    assert open_registry.get("/v2/_catalog", headers=host).json() == {"repositories": ["theirs"]}
    assert open_registry.get("/v2/_catalog").json() == {"repositories": []}
