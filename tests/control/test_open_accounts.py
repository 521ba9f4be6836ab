"""``--open-accounts``: moto's model, where any caller acts in every account's registry, on
both doors; without it, AWS's (AccessDenied unless a policy allows)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry

OTHER = "222222222222"


@pytest.fixture(scope="module")
def open_accounts_server():
    with ServerProcess("--no-access-log", "--open-accounts") as server:
        yield server


def _create_and_describe(ecr):
    repo = ecr.create_repository(registryId=OTHER, repositoryName="moto/app")["repository"]
    described = ecr.describe_repositories(registryId=OTHER)["repositories"]
    return repo, described


def test_default_credentials_act_in_another_account(open_accounts_server):
    ecr = checked_client("ecr", open_accounts_server.url, access_key="testing")  # moto's usual key
    repo, described = _create_and_describe(ecr)
    assert repo["registryId"] == OTHER
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{OTHER}:repository/moto/app"
    assert [r["repositoryName"] for r in described] == ["moto/app"]
    # it is the other account's registry, not the caller's
    owner = checked_client("ecr", open_accounts_server.url, account=OTHER)
    assert [r["repositoryName"] for r in owner.describe_repositories()["repositories"]] == ["moto/app"]
    assert ecr.describe_repositories()["repositories"] == []
    ecr.delete_repository(registryId=OTHER, repositoryName="moto/app")


def test_without_the_setting_it_is_access_denied(make_client):
    ecr = make_client("ecr", access_key="testing")
    for call in (lambda: ecr.create_repository(registryId=OTHER, repositoryName="moto/app"),
                 lambda: ecr.describe_repositories(registryId=OTHER)):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    assert make_client("ecr", account=OTHER).describe_repositories()["repositories"] == []


def test_an_explicit_deny_still_wins(open_accounts_server):
    owner = checked_client("ecr", open_accounts_server.url, account=OTHER)
    owner.create_repository(repositoryName="locked")
    owner.set_repository_policy(repositoryName="locked", policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}]}))
    ecr = checked_client("ecr", open_accounts_server.url, access_key="testing")
    with pytest.raises(ClientError) as info:
        ecr.describe_repositories(registryId=OTHER, repositoryNames=["locked"])
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    owner.delete_repository(repositoryName="locked", force=True)


def test_registry_tokens_for_another_account_push_and_pull(open_accounts_server):
    ecr = checked_client("ecr", open_accounts_server.url, access_key="testing")
    ecr.create_repository(registryId=OTHER, repositoryName="moto/pushed")
    token = ecr.get_authorization_token(registryIds=[OTHER])["authorizationData"][0]["authorizationToken"]
    registry = Registry(open_accounts_server.url, token)
    image = make_image("open-accounts", layers=1)
    digest = registry.push_image("moto/pushed", image, "v1")
    pulled = registry.get("/v2/moto/pushed/manifests/v1", headers={"Accept": image.media_type})
    assert pulled.status_code == 200 and pulled.content == image.manifest
    assert "moto/pushed" in registry.get("/v2/_catalog").json()["repositories"]
    owner = checked_client("ecr", open_accounts_server.url, account=OTHER)
    assert owner.list_images(repositoryName="moto/pushed")["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    owner.delete_repository(repositoryName="moto/pushed", force=True)


def test_without_the_setting_a_foreign_token_is_denied(url, make_client):
    make_client("ecr", account=OTHER).create_repository(repositoryName="moto/pushed")
    token = make_client("ecr", access_key="testing").get_authorization_token(
        registryIds=[OTHER])["authorizationData"][0]["authorizationToken"]
    registry = Registry(url, token)
    answer = registry.post("/v2/moto/pushed/blobs/uploads/")
    assert answer.status_code == 403 and answer.json()["errors"][0]["code"] == "DENIED"


def test_mock_ecr_takes_open_accounts_too():
    """A moto suite moved to ``mock_ecr`` keeps passing another account's registryId."""
    import boto3

    from ecr_emulator import mock_ecr

    with mock_ecr(open_accounts=True):
        ecr = boto3.client("ecr", region_name="us-east-1")
        assert ecr.create_repository(registryId=OTHER, repositoryName="app")["repository"]["registryId"] == OTHER
        assert [r["registryId"] for r in ecr.describe_repositories(registryId=OTHER)["repositories"]] == [OTHER]
    with mock_ecr():
        ecr = boto3.client("ecr", region_name="us-east-1")
        with pytest.raises(ClientError) as info:
            ecr.describe_repositories(registryId=OTHER)
        assert info.value.response["Error"]["Code"] == "AccessDeniedException"


def test_mock_ecr_in_china_answers_china_arns():
    import boto3

    from ecr_emulator import mock_ecr

    with mock_ecr():
        ecr = boto3.client("ecr", region_name="cn-north-1")
        repo = ecr.create_repository(repositoryName="app")["repository"]
        assert repo["repositoryArn"] == "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"
        assert repo["repositoryUri"] == "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app"
