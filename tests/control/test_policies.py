"""Repository policies (Set/Get/DeleteRepositoryPolicy) and the registry policy
(Put/Get/DeleteRegistryPolicy), through checked boto3 clients."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
OTHER = "210987654321"


def error_of(info) -> dict:
    return info.value.response["Error"]


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


PULL_FROM_OTHER = {
    "Sid": "AllowPull",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
}
REPLICATE = {
    "Sid": "Replicate",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
    "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
    "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*",
}

BAD_REPOSITORY_POLICIES = {
    "malformed json": '{"Version": "2012-10-17", "Statement": [',
    "empty": "",
    "not an object": "[]",
    "no statement": json.dumps({"Version": "2012-10-17"}),
    "empty statement list": policy(),
    "non-ecr action": policy({**PULL_FROM_OTHER, "Action": "s3:GetObject"}),
    "unknown ecr action": policy({**PULL_FROM_OTHER, "Action": "ecr:MakeCoffee"}),
    "missing principal": policy({k: v for k, v in PULL_FROM_OTHER.items() if k != "Principal"}),
    "missing action": policy({k: v for k, v in PULL_FROM_OTHER.items() if k != "Action"}),
    "bad effect": policy({**PULL_FROM_OTHER, "Effect": "Maybe"}),
    "bad version": json.dumps({"Version": "2020-01-01", "Statement": [PULL_FROM_OTHER]}),
    "unknown statement key": policy({**PULL_FROM_OTHER, "Colour": "blue"}),
}


@pytest.fixture
def repo(ecr):
    ecr.create_repository(repositoryName="app")
    return "app"


# -- repository policies ------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    PULL_FROM_OTHER,
    {**PULL_FROM_OTHER, "Action": "ecr:*", "Principal": "*"},
    {**PULL_FROM_OTHER, "Action": "ecr:Describe*", "Effect": "Deny"},
    {**PULL_FROM_OTHER, "Action": "*"},
    {**PULL_FROM_OTHER, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}},
], ids=["pull", "wildcard", "prefix-wildcard", "star", "condition"])
def test_set_get_delete_repository_policy(ecr, repo, statement):
    text = policy(statement)
    expected = {"registryId": ACCOUNT, "repositoryName": repo, "policyText": text}
    answer = ecr.set_repository_policy(repositoryName=repo, policyText=text)
    answer.pop("ResponseMetadata")
    assert answer == expected
    got = ecr.get_repository_policy(repositoryName=repo)
    got.pop("ResponseMetadata")
    assert got == expected
    deleted = ecr.delete_repository_policy(repositoryName=repo)
    deleted.pop("ResponseMetadata")
    assert deleted == expected
    with pytest.raises(ClientError) as info:
        ecr.get_repository_policy(repositoryName=repo)
    assert error_of(info)["Code"] == "RepositoryPolicyNotFoundException"


def test_single_statement_object_and_force(ecr, repo):
    text = json.dumps({"Version": "2008-10-17", "Statement": PULL_FROM_OTHER})
    assert ecr.set_repository_policy(repositoryName=repo, policyText=text, force=True)["policyText"] == text


def test_set_repository_policy_replaces_the_old_one(ecr, repo):
    ecr.set_repository_policy(repositoryName=repo, policyText=policy(PULL_FROM_OTHER))
    newer = policy({**PULL_FROM_OTHER, "Action": "ecr:BatchGetImage"})
    ecr.set_repository_policy(repositoryName=repo, policyText=newer)
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == newer


@pytest.mark.parametrize("text", BAD_REPOSITORY_POLICIES.values(), ids=BAD_REPOSITORY_POLICIES.keys())
def test_invalid_repository_policy(ecr, repo, text):
    with pytest.raises(ClientError) as info:
        ecr.set_repository_policy(repositoryName=repo, policyText=text)
    assert error_of(info) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                   "'Invalid repository policy provided'",
    }
    # nothing was stored
    with pytest.raises(ClientError) as info:
        ecr.get_repository_policy(repositoryName=repo)
    assert error_of(info)["Code"] == "RepositoryPolicyNotFoundException"


def test_repository_policy_not_found_messages(ecr, repo):
    for call in (ecr.get_repository_policy, ecr.delete_repository_policy):
        with pytest.raises(ClientError) as info:
            call(repositoryName=repo)
        assert error_of(info) == {
            "Code": "RepositoryPolicyNotFoundException",
            "Message": f"Repository policy does not exist for the repository with name '{repo}' "
                       f"in the registry with id '{ACCOUNT}'",
        }


def test_repository_policy_of_missing_repository(ecr):
    for call, extra in ((ecr.set_repository_policy, {"policyText": policy(PULL_FROM_OTHER)}),
                        (ecr.get_repository_policy, {}), (ecr.delete_repository_policy, {})):
        with pytest.raises(ClientError) as info:
            call(repositoryName="missing", **extra)
        assert error_of(info)["Code"] == "RepositoryNotFoundException"


def test_repository_policy_goes_with_the_repository(ecr, repo):
    ecr.set_repository_policy(repositoryName=repo, policyText=policy(PULL_FROM_OTHER))
    ecr.delete_repository(repositoryName=repo)
    ecr.create_repository(repositoryName=repo)
    with pytest.raises(ClientError) as info:
        ecr.get_repository_policy(repositoryName=repo)
    assert error_of(info)["Code"] == "RepositoryPolicyNotFoundException"


def test_public_repository_policy_uses_ecr_public_actions(ecr_public):
    ecr_public.create_repository(repositoryName="pub")
    good = policy({**PULL_FROM_OTHER, "Action": ["ecr-public:BatchCheckLayerAvailability", "ecr-public:PutImage"]})
    assert ecr_public.set_repository_policy(repositoryName="pub", policyText=good)["policyText"] == good
    assert ecr_public.get_repository_policy(repositoryName="pub")["policyText"] == good
    with pytest.raises(ClientError) as info:
        ecr_public.set_repository_policy(repositoryName="pub", policyText=policy(PULL_FROM_OTHER))
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert ecr_public.delete_repository_policy(repositoryName="pub")["policyText"] == good
    with pytest.raises(ClientError) as info:
        ecr_public.delete_repository_policy(repositoryName="pub")
    assert error_of(info)["Code"] == "RepositoryPolicyNotFoundException"


# -- registry policy ----------------------------------------------------------------------

def test_put_get_delete_registry_policy(ecr):
    text = policy(REPLICATE)
    answer = ecr.put_registry_policy(policyText=text)
    assert (answer["registryId"], answer["policyText"]) == (ACCOUNT, text)
    got = ecr.get_registry_policy()
    assert (got["registryId"], got["policyText"]) == (ACCOUNT, text)
    deleted = ecr.delete_registry_policy()
    assert (deleted["registryId"], deleted["policyText"]) == (ACCOUNT, text)
    with pytest.raises(ClientError) as info:
        ecr.get_registry_policy()
    assert error_of(info) == {
        "Code": "RegistryPolicyNotFoundException",
        "Message": f"Registry policy does not exist in the registry with id '{ACCOUNT}'",
    }


def test_delete_missing_registry_policy(ecr):
    with pytest.raises(ClientError) as info:
        ecr.delete_registry_policy()
    assert error_of(info)["Code"] == "RegistryPolicyNotFoundException"


def test_registry_policy_is_per_region(ecr, make_client):
    ecr.put_registry_policy(policyText=policy(REPLICATE))
    west = make_client("ecr", region="us-west-2")
    with pytest.raises(ClientError) as info:
        west.get_registry_policy()
    assert error_of(info)["Code"] == "RegistryPolicyNotFoundException"


@pytest.mark.parametrize("text", [
    "{not json",
    policy({**REPLICATE, "Action": "s3:PutObject"}),
    policy({k: v for k, v in REPLICATE.items() if k != "Principal"}),
    json.dumps({"Version": "2012-10-17"}),
], ids=["malformed", "non-ecr action", "missing principal", "no statement"])
def test_invalid_registry_policy(ecr, text):
    with pytest.raises(ClientError) as info:
        ecr.put_registry_policy(policyText=text)
    assert error_of(info) == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                   "'Invalid registry policy provided'",
    }
    with pytest.raises(ClientError) as info:
        ecr.get_registry_policy()
    assert error_of(info)["Code"] == "RegistryPolicyNotFoundException"
