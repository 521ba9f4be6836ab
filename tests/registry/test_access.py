"""Cross-account access through the registry: a token GetAuthorizationToken issued to another
account for this registry opens only what the repository's (or registry's) policy grants."""

from __future__ import annotations

import json

import pytest

from ecr_emulator.testing.synthetic import digest_of, make_image

from .client import Registry, authorization_token, expect_error

OWNER, OTHER = "111111111111", "222222222222"


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def grant(actions, effect="Allow") -> dict:
    return {"Effect": effect, "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": actions}


@pytest.fixture
def owner(make_client):
    client = make_client("ecr", account=OWNER)
    client.create_repository(repositoryName="team/app")
    return client


@pytest.fixture
def pushed(url, owner):
    image = make_image("cross", layers=1)
    Registry(url, authorization_token(owner)).push_image("team/app", image, "v1")
    return image


@pytest.fixture
def foreign(url, make_client) -> Registry:
    """OTHER's token for OWNER's registry (GetAuthorizationToken with registryIds)."""
    other = make_client("ecr", account=OTHER)
    data = other.get_authorization_token(registryIds=[OWNER])["authorizationData"][0]
    return Registry(url, data["authorizationToken"])


def test_pull_is_denied_without_a_policy(foreign, pushed):
    error = expect_error(foreign.get("/v2/team/app/manifests/v1"), 403, "DENIED")
    assert f"arn:aws:iam::{OTHER}:root is not authorized to perform: ecr:BatchGetImage" in error["message"]
    expect_error(foreign.get(f"/v2/team/app/blobs/{digest_of(pushed.config)}"), 403, "DENIED")
    assert foreign.get("/v2/_catalog").json() == {"repositories": []}


def test_a_policy_opens_pulls_and_only_pulls(foreign, pushed, owner):
    owner.set_repository_policy(repositoryName="team/app", policyText=policy(
        grant(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
               "ecr:DescribeRepositories"])))
    response = foreign.get("/v2/team/app/manifests/v1",
                           headers={"Accept": pushed.media_type})
    assert response.status_code == 200 and response.content == pushed.manifest
    layer = pushed.layers[0]
    assert foreign.get(f"/v2/team/app/blobs/{digest_of(layer)}").content == layer
    assert foreign.get("/v2/_catalog").json() == {"repositories": ["team/app"]}
    # pushing needs PutImage and the layer actions, which the policy does not grant
    expect_error(foreign.post("/v2/team/app/blobs/uploads/"), 403, "DENIED")
    other = make_image("intruder", layers=1)
    expect_error(foreign.put("/v2/team/app/manifests/v1", data=other.manifest,
                             headers={"Content-Type": other.media_type}), 403, "DENIED")
    assert owner.describe_images(repositoryName="team/app")["imageDetails"][0]["imageTags"] == ["v1"]


def test_a_policy_can_grant_pushes(foreign, owner):
    owner.set_repository_policy(repositoryName="team/app", policyText=policy(grant("ecr:*")))
    image = make_image("pushed-by-other", layers=1)
    foreign.push_image("team/app", image, "from-other")
    assert owner.describe_images(repositoryName="team/app")["imageDetails"][0]["imageDigest"] == image.digest


def test_an_explicit_deny_closes_it_again(foreign, pushed, owner):
    owner.set_repository_policy(repositoryName="team/app", policyText=policy(
        grant("ecr:*"), grant("ecr:BatchGetImage", effect="Deny")))
    expect_error(foreign.get("/v2/team/app/manifests/v1"), 403, "DENIED")
    assert foreign.get("/v2/team/app/tags/list").json()["tags"] == ["v1"]


def test_the_registry_policy_also_grants(foreign, pushed, owner):
    owner.put_registry_policy(policyText=policy(grant(["ecr:BatchGetImage"])))
    assert foreign.get("/v2/team/app/manifests/v1", headers={"Accept": pushed.media_type}).status_code == 200


def test_a_token_opens_only_the_registry_it_was_issued_for(url, make_client, pushed):
    other = make_client("ecr", account=OTHER)
    own_token = authorization_token(other)  # OTHER's token for OTHER's own registry
    host = f"{OWNER}.dkr.ecr.us-east-1.amazonaws.com"
    response = Registry(url, own_token).get("/v2/team/app/manifests/v1", headers={"Host": host})
    expect_error(response, 403, "DENIED")
    # and with no host naming a registry, it addresses its own registry (where team/app does not exist)
    expect_error(Registry(url, own_token).get("/v2/team/app/manifests/v1"), 404, "NAME_UNKNOWN")
