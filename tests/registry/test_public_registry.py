"""The ECR Public registry over plain HTTP, as the OCI distribution spec and Docker's token auth
write it: /v2/<alias>/<repository>/... on the public listener, Bearer tokens from /token."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from ecr_emulator.store.manifests import OCI_MANIFEST
from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image

from .client import Registry, authorization_token, expect_error

ACCOUNT = "123456789012"
OTHER = "210987654321"
ALIAS = f"public-{ACCOUNT}"
SERVICE = "public.ecr.aws"


def api_token(ecr_public) -> str:
    return ecr_public.get_authorization_token()["authorizationData"]["authorizationToken"]


def bearer(public_url: str, scope: str | None = None, basic: str | None = None) -> str:
    headers = {"Authorization": f"Basic {basic}"} if basic else {}
    params = {"service": SERVICE, **({"scope": scope} if scope else {})}
    response = requests.get(public_url + "/token", params=params, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0
    return body["token"]


def anonymous_get(public_url: str, name: str, rest: str) -> requests.Response:
    """``GET /v2/<name>/<rest>`` with an anonymous token scoped to ``name``, as a client does it."""
    return client(public_url, bearer(public_url, f"repository:{name}:pull")).get(f"/v2/{name}/{rest}")


def client(public_url: str, token: str | None) -> Registry:
    registry = Registry(public_url)
    if token:
        registry.session.headers["Authorization"] = f"Bearer {token}"
    return registry


@pytest.fixture
def public_url(ecr_emulator_server) -> str:
    return ecr_emulator_server.public_url


@pytest.fixture
def pusher(ecr_public, public_url) -> Registry:
    """A client holding a token that may push to the caller's repository ``tool``."""
    ecr_public.create_repository(repositoryName="tool")
    return client(public_url, bearer(public_url, f"repository:{ALIAS}/tool:pull,push", api_token(ecr_public)))


def test_the_base_endpoint_challenges_for_a_bearer_token(public_url):
    response = requests.get(public_url + "/v2/", timeout=10)
    expect_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{public_url}/token",service="{SERVICE}"'
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    ok = client(public_url, bearer(public_url)).get("/v2/")
    assert ok.status_code == 200 and ok.json() == {}


def test_a_repository_request_names_its_scope(public_url, ecr_public):
    ecr_public.create_repository(repositoryName="tool")
    pull = requests.get(f"{public_url}/v2/{ALIAS}/tool/tags/list", timeout=10)
    expect_error(pull, 401, "UNAUTHORIZED")
    assert f'scope="repository:{ALIAS}/tool:pull"' in pull.headers["WWW-Authenticate"]
    push = requests.post(f"{public_url}/v2/{ALIAS}/tool/blobs/uploads/", timeout=10)
    assert f'scope="repository:{ALIAS}/tool:pull,push"' in push.headers["WWW-Authenticate"]


def test_push_then_anonymous_pull_with_the_alias_in_every_location(pusher, public_url, ecr_public):
    image = make_image("public-http")
    for data in image.blobs.values():
        response = pusher.post(f"/v2/{ALIAS}/tool/blobs/uploads/", params={"digest": digest_of(data)}, data=data)
        assert response.status_code == 201
        assert response.headers["Location"] == f"{public_url}/v2/{ALIAS}/tool/blobs/{digest_of(data)}"
    started = pusher.post(f"/v2/{ALIAS}/tool/blobs/uploads/")
    assert started.status_code == 202 and started.headers["Location"].startswith(f"{public_url}/v2/{ALIAS}/tool/")
    put = pusher.put_manifest(f"{ALIAS}/tool", "v1", image.manifest, image.media_type)
    assert put.status_code == 201
    assert put.headers["Location"] == f"{public_url}/v2/{ALIAS}/tool/manifests/{image.digest}"

    anonymous = client(public_url, bearer(public_url, f"repository:{ALIAS}/tool:pull"))
    got = anonymous.get(f"/v2/{ALIAS}/tool/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert got.status_code == 200 and got.content == image.manifest
    assert got.headers["Docker-Content-Digest"] == image.digest
    for digest, data in image.blobs.items():
        # ECR's redirect to a pre-signed URL on the download origin, followed without the token
        assert anonymous.get(f"/v2/{ALIAS}/tool/blobs/{digest}", follow=False).status_code == 307
        assert anonymous.get(f"/v2/{ALIAS}/tool/blobs/{digest}").content == data
    assert anonymous.get(f"/v2/{ALIAS}/tool/tags/list").json() == {"name": f"{ALIAS}/tool", "tags": ["v1"]}
    (detail,) = ecr_public.describe_images(repositoryName="tool")["imageDetails"]
    assert detail["imageDigest"] == image.digest
    assert detail["imageSizeInBytes"] == sum(len(layer) for layer in image.layers)


def test_an_anonymous_token_cannot_push(ecr_public, public_url):
    ecr_public.create_repository(repositoryName="tool")
    anonymous = client(public_url, bearer(public_url, f"repository:{ALIAS}/tool:pull,push"))
    for response in (anonymous.post(f"/v2/{ALIAS}/tool/blobs/uploads/"),
                     anonymous.put(f"/v2/{ALIAS}/tool/manifests/v1", data=b"{}"),
                     anonymous.delete(f"/v2/{ALIAS}/tool/manifests/v1")):
        expect_error(response, 401, "UNAUTHORIZED")
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_a_token_for_one_repository_does_not_open_another(pusher, public_url, ecr_public):
    ecr_public.create_repository(repositoryName="other")
    expect_error(pusher.post(f"/v2/{ALIAS}/other/blobs/uploads/"), 401, "UNAUTHORIZED")


def test_another_accounts_password_cannot_push(ecr_public, make_client, public_url):
    ecr_public.create_repository(repositoryName="tool")
    other = make_client("ecr-public", account=OTHER)
    token = bearer(public_url, f"repository:{ALIAS}/tool:pull,push", api_token(other))
    expect_error(client(public_url, token).post(f"/v2/{ALIAS}/tool/blobs/uploads/"), 401, "UNAUTHORIZED")
    # ... but it pulls, like anyone
    assert client(public_url, token).get(f"/v2/{ALIAS}/tool/tags/list").status_code == 200


def test_the_api_token_is_also_a_bearer_token(ecr_public, public_url):
    ecr_public.create_repository(repositoryName="tool")
    registry = client(public_url, api_token(ecr_public))
    assert registry.get("/v2/").status_code == 200
    assert registry.push_blob(f"{ALIAS}/tool", b"layer bytes")


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer    ", "Bearer garbage", "Bearer a.b.c", "Bearer \u00e9\u00e9.\u00e9", "Bearer eyJ9.x",
    "Bearer " + base64.b64encode(b"AWS:not-a-token").decode(), "Bearer " + base64.b64encode(b"\xff\xfe").decode(),
    "Basic " + base64.b64encode(b"AWS:x").decode(), "Digest x", "Bearer " + "A" * 5000,
])
def test_malformed_tokens_get_401_not_500(public_url, ecr_public, header):
    ecr_public.create_repository(repositoryName="tool")
    for path in ("/v2/", f"/v2/{ALIAS}/tool/tags/list"):
        response = requests.get(public_url + path, headers={"Authorization": header.encode("latin-1")}, timeout=10)
        expect_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_a_tampered_token_is_refused(public_url):
    token = bearer(public_url, f"repository:{ALIAS}/tool:pull")
    payload, _, signature = token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["a"] = ACCOUNT
    claims["s"] = [[f"{ALIAS}/tool", ["push"]]]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + signature
    expect_error(client(public_url, forged).post(f"/v2/{ALIAS}/tool/blobs/uploads/"), 401, "UNAUTHORIZED")


def test_tokens_expire_with_the_emulator_clock(public_url, url):
    token = bearer(public_url)
    requests.post(url + "/_emulator/clock/advance", json={"seconds": 13 * 3600}, timeout=10)
    expect_error(client(public_url, token).get("/v2/"), 401, "UNAUTHORIZED")


def test_the_token_endpoint_refuses_bad_and_private_credentials(public_url, ecr, url):
    private = requests.get(public_url + "/token", headers={"Authorization": f"Basic {authorization_token(ecr)}"},
                           timeout=10)
    expect_error(private, 403, "DENIED")
    for value in ("AWS:wrong", "someone:x", "nocolon"):
        bad = requests.get(public_url + "/token", timeout=10,
                           headers={"Authorization": "Basic " + base64.b64encode(value.encode()).decode()})
        expect_error(bad, 401, "UNAUTHORIZED")
    expect_error(requests.post(public_url + "/token", timeout=10), 405, "UNSUPPORTED")
    # the private listener has no token endpoint: private ECR takes Basic credentials only
    expect_error(requests.get(url + "/token", timeout=10), 404, "NOT_FOUND")


def test_private_repositories_are_not_reachable_through_the_public_registry(ecr, ecr_public, url, public_url):
    ecr.create_repository(repositoryName="team/secret")
    Registry(url, authorization_token(ecr)).push_image("team/secret", make_image("secret"), "v1")
    expect_error(anonymous_get(public_url, "team/secret", "manifests/v1"), 404, "NAME_UNKNOWN")
    expect_error(anonymous_get(public_url, f"{ALIAS}/team/secret", "manifests/v1"), 404, "NAME_UNKNOWN")
    expect_error(client(public_url, bearer(public_url)).get("/v2/_catalog"), 404, "NOT_FOUND")
    # and the private registry takes neither public Bearer tokens nor the public password
    token = bearer(public_url, "repository:team/secret:pull", api_token(ecr_public))
    expect_error(client(url, token).get("/v2/team/secret/manifests/v1"), 401, "UNAUTHORIZED")
    expect_error(Registry(url, api_token(ecr_public)).get("/v2/team/secret/manifests/v1"), 403, "DENIED")
    expect_error(Registry(url).get("/v2/team/secret/manifests/v1"), 401, "UNAUTHORIZED")


def test_unknown_aliases_and_names(public_url):
    expect_error(anonymous_get(public_url, "nobody/tool", "manifests/v1"), 404, "NAME_UNKNOWN")
    expect_error(anonymous_get(public_url, ALIAS, "manifests/v1"), 404, "NAME_UNKNOWN")
    expect_error(anonymous_get(public_url, f"{ALIAS}/missing", "manifests/v1"), 404, "NAME_UNKNOWN")
    expect_error(anonymous_get(public_url, f"{ALIAS}/bad..name", "manifests/v1"), 400, "NAME_INVALID")
    # a token names the repositories it covers: one for another name does not open this one
    other = client(public_url, bearer(public_url, f"repository:{ALIAS}/other:pull"))
    expect_error(other.get(f"/v2/{ALIAS}/missing/manifests/v1"), 401, "UNAUTHORIZED")


def test_mount_between_public_repositories_of_one_registry(pusher, public_url, ecr_public):
    digest = pusher.push_blob(f"{ALIAS}/tool", b"shared layer")
    ecr_public.create_repository(repositoryName="copy")
    token = bearer(public_url, f"repository:{ALIAS}/copy:pull,push", api_token(ecr_public))
    mounted = client(public_url, token).post(f"/v2/{ALIAS}/copy/blobs/uploads/",
                                             params={"mount": digest, "from": f"{ALIAS}/tool"})
    assert mounted.status_code == 201
    assert mounted.headers["Location"] == f"{public_url}/v2/{ALIAS}/copy/blobs/{digest}"


@pytest.fixture(scope="module")
def aliased_server():
    with ServerProcess("--no-access-log", "--public-alias", f"{ACCOUNT}=my-org") as server:
        yield server


def test_a_chosen_alias(aliased_server):
    ecr_public = checked_client("ecr-public", aliased_server.url)
    uri = ecr_public.create_repository(repositoryName="tool")["repository"]["repositoryUri"]
    assert uri == f"{aliased_server.public_host}/my-org/tool"
    (registry,) = ecr_public.describe_registries()["registries"]
    assert registry["registryUri"] == f"{aliased_server.public_host}/my-org"
    assert registry["aliases"] == [
        {"name": "my-org", "status": "ACTIVE", "primaryRegistryAlias": True, "defaultRegistryAlias": False},
        {"name": ALIAS, "status": "ACTIVE", "primaryRegistryAlias": False, "defaultRegistryAlias": True},
    ]
    public_url = aliased_server.public_url
    token = bearer(public_url, "repository:my-org/tool:pull,push", api_token(ecr_public))
    digest = client(public_url, token).push_blob("my-org/tool", b"via my-org")
    for alias in ("my-org", ALIAS):  # the default alias keeps working
        assert anonymous_get(public_url, f"{alias}/tool", f"blobs/{digest}").content == b"via my-org"
    # the push-path operations take the alias as registryId
    layers = ecr_public.batch_check_layer_availability(registryId="my-org", repositoryName="tool",
                                                       layerDigests=[digest])["layers"]
    assert [layer["layerDigest"] for layer in layers] == [digest]


def test_every_ecr_public_operation_around_images_that_came_through_the_registry(pusher, ecr_public, public_url):
    """All 23 operations of botocore's ecr-public model, each answer checked against its output
    shape by the checked client, on images pushed through the public registry."""
    import botocore.session

    called: set[str] = set()
    ecr_public.meta.events.register("after-call", lambda model, **_: called.add(model.name))

    image = make_image("every-op", layers=2)
    pusher.push_image(f"{ALIAS}/tool", image, "v1")
    config, *layers = image.blobs

    assert ecr_public.get_authorization_token()["authorizationData"]["authorizationToken"]
    (registry,) = ecr_public.describe_registries()["registries"]
    assert registry["registryUri"].endswith(f"/{ALIAS}")
    assert [r["repositoryName"] for r in ecr_public.describe_repositories()["repositories"]] == ["tool"]
    ecr_public.put_registry_catalog_data(displayName="Example")
    assert ecr_public.get_registry_catalog_data()["registryCatalogData"] == {"displayName": "Example"}
    ecr_public.put_repository_catalog_data(repositoryName="tool", catalogData={"usageText": "pull it"})
    assert ecr_public.get_repository_catalog_data(repositoryName="tool")["catalogData"]["usageText"] == "pull it"

    (detail,) = ecr_public.describe_images(repositoryName="tool")["imageDetails"]
    assert (detail["imageDigest"], detail["imageTags"]) == (image.digest, ["v1"])
    assert detail["imageSizeInBytes"] == sum(len(layer) for layer in image.layers)
    (tag,) = ecr_public.describe_image_tags(repositoryName="tool")["imageTagDetails"]
    assert tag["imageTag"] == "v1" and tag["imageDetail"]["imageDigest"] == image.digest
    available = ecr_public.batch_check_layer_availability(repositoryName="tool", layerDigests=[config, *layers])
    assert [layer["layerAvailability"] for layer in available["layers"]] == ["AVAILABLE"] * 3

    # PutImage gives the registry's manifest a second tag; the layer API adds a blob
    put = ecr_public.put_image(registryId=ALIAS, repositoryName="tool", imageManifest=image.manifest.decode(),
                               imageTag="v2")
    assert put["image"]["imageId"] == {"imageDigest": image.digest, "imageTag": "v2"}
    upload = ecr_public.initiate_layer_upload(repositoryName="tool")["uploadId"]
    ecr_public.upload_layer_part(repositoryName="tool", uploadId=upload, partFirstByte=0, partLastByte=4,
                                 layerPartBlob=b"extra")
    completed = ecr_public.complete_layer_upload(repositoryName="tool", uploadId=upload,
                                                 layerDigests=[digest_of(b"extra")])
    assert completed["layerDigest"] == digest_of(b"extra")
    anonymous = client(public_url, bearer(public_url, f"repository:{ALIAS}/tool:pull"))
    assert anonymous.get(f"/v2/{ALIAS}/tool/manifests/v2", headers={"Accept": "*/*"}).content == image.manifest

    arn = f"arn:aws:ecr-public::{ACCOUNT}:repository/tool"
    ecr_public.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "core"}])
    assert ecr_public.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "core"}]
    ecr_public.untag_resource(resourceArn=arn, tagKeys=["team"])
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "push", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": ["ecr-public:BatchCheckLayerAvailability", "ecr-public:PutImage"]}]})
    ecr_public.set_repository_policy(repositoryName="tool", policyText=policy)
    assert json.loads(ecr_public.get_repository_policy(repositoryName="tool")["policyText"]) == json.loads(policy)
    ecr_public.delete_repository_policy(repositoryName="tool")

    deleted = ecr_public.batch_delete_image(repositoryName="tool", imageIds=[{"imageDigest": image.digest}])
    assert sorted(i.get("imageTag") for i in deleted["imageIds"]) == ["v1", "v2"]
    expect_error(anonymous.get(f"/v2/{ALIAS}/tool/manifests/v1", headers={"Accept": "*/*"}), 404, "MANIFEST_UNKNOWN")
    ecr_public.create_repository(repositoryName="gone")
    ecr_public.delete_repository(repositoryName="gone")

    every = set(botocore.session.get_session().get_service_model("ecr-public").operation_names)
    assert called == every, sorted(every - called)
