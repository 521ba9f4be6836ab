"""Who is calling: the account from a 12-digit access key id, the region from the SigV4 scope."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"


def error_of(info) -> dict:
    return info.value.response["Error"]


def names(client) -> list[str]:
    return [r["repositoryName"] for r in client.describe_repositories()["repositories"]]


def test_access_key_of_twelve_digits_is_the_account(make_client):
    a, b = make_client("ecr", account=ACCOUNT_A), make_client("ecr", account=ACCOUNT_B)
    repo = a.create_repository(repositoryName="app")["repository"]
    assert repo["registryId"] == ACCOUNT_A
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT_A}:repository/app"
    assert names(a) == ["app"]
    assert names(b) == []
    with pytest.raises(ClientError) as info:
        b.describe_repositories(repositoryNames=["app"])
    assert error_of(info) == {
        "Code": "RepositoryNotFoundException",
        "Message": f"The repository with name 'app' does not exist in the registry with id '{ACCOUNT_B}'",
    }
    # the same name can exist in both accounts, independently
    b.create_repository(repositoryName="app", imageTagMutability="IMMUTABLE")
    assert a.describe_repositories()["repositories"][0]["imageTagMutability"] == "MUTABLE"


def test_other_access_keys_act_as_the_default_account(make_client):
    client = make_client("ecr", access_key="AKIAEXAMPLEKEY")
    assert client.create_repository(repositoryName="app")["repository"]["registryId"] == ACCOUNT


def test_region_comes_from_the_signature(make_client):
    east, west = make_client("ecr", region="us-east-1"), make_client("ecr", region="us-west-2")
    east.create_repository(repositoryName="app")
    assert names(west) == []
    repo = west.create_repository(repositoryName="app")["repository"]
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-west-2:{ACCOUNT}:repository/app"
    west.delete_repository(repositoryName="app")
    assert names(east) == ["app"]


def test_registry_id_of_another_account_is_denied(make_client):
    a, b = make_client("ecr", account=ACCOUNT_A), make_client("ecr", account=ACCOUNT_B)
    b.create_repository(repositoryName="app")
    calls = [
        lambda: a.describe_repositories(registryId=ACCOUNT_B),
        lambda: a.describe_repositories(registryId=ACCOUNT_B, repositoryNames=["app"]),
        lambda: a.create_repository(registryId=ACCOUNT_B, repositoryName="other"),
        lambda: a.delete_repository(registryId=ACCOUNT_B, repositoryName="app"),
        lambda: a.get_repository_policy(registryId=ACCOUNT_B, repositoryName="app"),
        lambda: a.put_image_tag_mutability(registryId=ACCOUNT_B, repositoryName="app",
                                           imageTagMutability="IMMUTABLE"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        error = error_of(info)
        assert error["Code"] == "AccessDeniedException"
        assert ACCOUNT_A in error["Message"] and ACCOUNT_B in error["Message"]
    # nothing changed in B
    assert b.describe_repositories()["repositories"][0]["imageTagMutability"] == "MUTABLE"
    assert names(b) == ["app"]


def test_own_registry_id_is_fine(make_client):
    a = make_client("ecr", account=ACCOUNT_A)
    assert a.create_repository(registryId=ACCOUNT_A, repositoryName="app")["repository"]["registryId"] == ACCOUNT_A
    assert [r["repositoryName"] for r in a.describe_repositories(registryId=ACCOUNT_A)["repositories"]] == ["app"]


def test_public_registries_are_per_account(make_client):
    a, b = make_client("ecr-public", account=ACCOUNT_A), make_client("ecr-public", account=ACCOUNT_B)
    a.create_repository(repositoryName="tool")
    assert names(b) == []
    assert b.describe_registries()["registries"][0]["registryId"] == ACCOUNT_B
