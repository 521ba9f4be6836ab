"""Cross-account access through the API: denied without a policy, allowed by the repository's
(or registry's) policy, denied again by an explicit Deny; same account needs no policy."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry, authorization_token

OWNER, OTHER, THIRD = "111111111111", "222222222222", "333333333333"


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def grant(actions, principal=OTHER, effect="Allow", **extra) -> dict:
    return {"Sid": f"s{effect}", "Effect": effect, "Principal": {"AWS": principal}, "Action": actions, **extra}


def code(info) -> str:
    return info.value.response["Error"]["Code"]


@pytest.fixture
def owner(make_client):
    client = make_client("ecr", account=OWNER)
    client.create_repository(repositoryName="team/app")
    return client


@pytest.fixture
def other(make_client):
    return make_client("ecr", account=OTHER)


def _push(url, owner, seed="access") -> str:
    image = make_image(seed)
    Registry(url, authorization_token(owner)).push_image("team/app", image, "v1")
    return image.digest


def test_denied_without_a_policy_with_aws_message(owner, other):
    with pytest.raises(ClientError) as info:
        other.describe_images(registryId=OWNER, repositoryName="team/app")
    assert code(info) == "AccessDeniedException"
    assert info.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{OTHER}:root is not authorized to perform: ecr:DescribeImages on resource: "
        f"arn:aws:ecr:us-east-1:{OWNER}:repository/team/app because no resource-based policy allows the "
        "ecr:DescribeImages action")


def test_a_repository_policy_grants_the_actions_it_names(url, owner, other):
    digest = _push(url, owner)
    owner.set_repository_policy(repositoryName="team/app",
                                policyText=policy(grant(["ecr:BatchGetImage", "ecr:DescribeImages"])))
    images = other.batch_get_image(registryId=OWNER, repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert images["images"][0]["imageId"]["imageDigest"] == digest
    assert other.describe_images(registryId=OWNER, repositoryName="team/app")["imageDetails"][0]["imageDigest"] == digest
    with pytest.raises(ClientError) as info:  # not granted
        other.batch_delete_image(registryId=OWNER, repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert code(info) == "AccessDeniedException"
    assert owner.list_images(repositoryName="team/app")["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]


def test_an_explicit_deny_wins(url, owner, other):
    _push(url, owner)
    owner.set_repository_policy(repositoryName="team/app", policyText=policy(
        grant("ecr:*"), grant("ecr:BatchGetImage", effect="Deny")))
    other.describe_images(registryId=OWNER, repositoryName="team/app")
    with pytest.raises(ClientError) as info:
        other.batch_get_image(registryId=OWNER, repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert code(info) == "AccessDeniedException"
    assert "with an explicit deny in a resource-based policy" in info.value.response["Error"]["Message"]


def test_the_registry_policy_grants_across_repositories(owner, other):
    owner.put_registry_policy(policyText=policy(grant(["ecr:DescribeRepositories", "ecr:CreateRepository"],
                                                      Resource=f"arn:aws:ecr:us-east-1:{OWNER}:repository/*")))
    created = other.create_repository(registryId=OWNER, repositoryName="shared/one")["repository"]
    assert created["registryId"] == OWNER
    names = [r["repositoryName"] for r in other.describe_repositories(registryId=OWNER)["repositories"]]
    assert sorted(names) == ["shared/one", "team/app"]


def test_listing_shows_only_what_is_granted(make_client, owner, other):
    owner.create_repository(repositoryName="secret")
    owner.set_repository_policy(repositoryName="team/app", policyText=policy(grant("ecr:DescribeRepositories")))
    names = [r["repositoryName"] for r in other.describe_repositories(registryId=OWNER)["repositories"]]
    assert names == ["team/app"]
    with pytest.raises(ClientError) as info:
        make_client("ecr", account=THIRD).describe_repositories(registryId=OWNER)
    assert code(info) == "AccessDeniedException"


def test_an_unknown_repository_of_another_account_is_denied_not_revealed(owner, other):
    with pytest.raises(ClientError) as info:
        other.describe_images(registryId=OWNER, repositoryName="missing")
    assert code(info) == "AccessDeniedException"


def test_conditions_on_the_principal_account(owner, other, make_client):
    owner.set_repository_policy(repositoryName="team/app", policyText=policy(grant(
        "ecr:DescribeImages", principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": [OTHER]}})))
    assert other.describe_images(registryId=OWNER, repositoryName="team/app")["imageDetails"] == []
    with pytest.raises(ClientError):
        make_client("ecr", account=THIRD).describe_images(registryId=OWNER, repositoryName="team/app")


def test_same_account_needs_no_policy(owner):
    assert owner.describe_images(repositoryName="team/app", registryId=OWNER)["imageDetails"] == []
