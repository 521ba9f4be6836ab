"""Pull-through cache rules: CRUD with ECR's validation of every upstream kind of the model.
(Pulling through a rule: tests/e2e/test_pull_through.py.)"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ..conftest import ACCOUNT, OTHER_ACCOUNT

SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ptc"


def _code(info) -> str:
    return info.value.response["Error"]["Code"]


def test_create_describe_delete(ecr):
    created = ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public",
                                                 upstreamRegistryUrl="public.ecr.aws")
    assert created["ecrRepositoryPrefix"] == "ecr-public"
    assert created["upstreamRegistry"] == "ecr-public"  # inferred from the URL
    assert created["upstreamRepositoryPrefix"] == "ROOT"
    assert created["registryId"] == ACCOUNT and "credentialArn" not in created
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="k8s", upstreamRegistryUrl="registry.k8s.io",
                                       upstreamRegistry="k8s")
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")

    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert [r["ecrRepositoryPrefix"] for r in rules] == ["ecr-public", "k8s", "quay"]
    (one,) = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["k8s"])["pullThroughCacheRules"]
    assert one["upstreamRegistryUrl"] == "registry.k8s.io"
    pages = ecr.get_paginator("describe_pull_through_cache_rules").paginate(PaginationConfig={"PageSize": 2})
    assert sum(len(p["pullThroughCacheRules"]) for p in pages) == 3

    deleted = ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="k8s")
    assert deleted["upstreamRegistryUrl"] == "registry.k8s.io"
    for call in (lambda: ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="k8s"),
                 lambda: ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["k8s"]),
                 lambda: ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="k8s")):
        with pytest.raises(ClientError) as info:
            call()
        assert _code(info) == "PullThroughCacheRuleNotFoundException"


def test_a_prefix_has_one_rule(ecr):
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")
    with pytest.raises(ClientError) as info:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public/", upstreamRegistryUrl="quay.io")
    assert _code(info) == "PullThroughCacheRuleAlreadyExistsException"
    with pytest.raises(ClientError) as info:  # a clash: ecr-public/x would match both rules
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public/x", upstreamRegistryUrl="quay.io")
    assert _code(info) == "InvalidParameterException" and "overlaps" in info.value.response["Error"]["Message"]


@pytest.mark.parametrize("upstream", ["docker.io", "registry.example.com", "https://public.ecr.aws", "gcr.io"])
def test_unsupported_upstreams(ecr, upstream):
    with pytest.raises(ClientError) as info:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="up", upstreamRegistryUrl=upstream)
    assert _code(info) == "UnsupportedUpstreamRegistryException"
    assert upstream in info.value.response["Error"]["Message"]


@pytest.mark.parametrize("params, member", [
    # a URL that is not the named kind's
    ({"upstreamRegistryUrl": "quay.io", "upstreamRegistry": "k8s"}, "upstreamRegistryUrl"),
    # kinds that need a Secrets Manager secret
    ({"upstreamRegistryUrl": "registry-1.docker.io"}, "credentialArn"),
    ({"upstreamRegistryUrl": "ghcr.io"}, "credentialArn"),
    ({"upstreamRegistryUrl": "myregistry.azurecr.io"}, "credentialArn"),
    ({"upstreamRegistryUrl": "registry.gitlab.com"}, "credentialArn"),
    ({"upstreamRegistryUrl": "cgr.dev", "upstreamRegistry": "chainguard"}, "credentialArn"),
    # kinds that take none
    ({"upstreamRegistryUrl": "public.ecr.aws", "credentialArn": SECRET}, "credentialArn"),
    ({"upstreamRegistryUrl": "quay.io", "customRoleArn": ROLE}, "customRoleArn"),
    # ecr: another account's registry needs a role of ours
    ({"upstreamRegistryUrl": f"{OTHER_ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com"}, "customRoleArn"),
    ({"upstreamRegistryUrl": f"{OTHER_ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com",
      "customRoleArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/r"}, "customRoleArn"),
    ({"upstreamRegistryUrl": f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com", "credentialArn": SECRET},
     "credentialArn"),
    # upstream prefixes are for ecr upstreams, and ROOT is too
    ({"upstreamRegistryUrl": "public.ecr.aws", "upstreamRepositoryPrefix": "lib"}, "upstreamRepositoryPrefix"),
])
def test_invalid_rules(ecr, params, member):
    with pytest.raises(ClientError) as info:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="up", **params)
    assert _code(info) == "InvalidParameterException"
    assert member in info.value.response["Error"]["Message"]
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []


def test_root_rules(ecr):
    with pytest.raises(ClientError) as info:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ROOT", upstreamRegistryUrl="public.ecr.aws")
    assert _code(info) == "InvalidParameterException"
    with pytest.raises(ClientError) as info:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ROOT", upstreamRepositoryPrefix="team",
                                           upstreamRegistryUrl=f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com")
    assert _code(info) == "InvalidParameterException"
    rule = ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ROOT",
                                              upstreamRegistryUrl=f"{ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com")
    assert rule["upstreamRegistry"] == "ecr"
    # ROOT is the fallback: a named prefix next to it is no clash
    cross = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="mirror", upstreamRepositoryPrefix="team",
        upstreamRegistryUrl=f"{OTHER_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com", customRoleArn=ROLE)
    assert cross["upstreamRepositoryPrefix"] == "team" and cross["customRoleArn"] == ROLE


def test_a_secret_must_exist(ecr):
    with pytest.raises(ClientError) as info:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io",
                                           credentialArn=SECRET)
    assert _code(info) == "SecretNotFoundException"


def test_credential_arn_has_the_model_form(ecr):
    with pytest.raises(ClientError) as info:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io",
            credentialArn=f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:other/hub-AbCdEfGhIjKl")
    assert _code(info) == "InvalidParameterException"


def test_update_changes_the_role(ecr):
    upstream = f"{OTHER_ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com"
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="mirror", upstreamRegistryUrl=upstream,
                                       customRoleArn=ROLE)
    updated = ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="mirror", customRoleArn=ROLE + "-2")
    assert updated["customRoleArn"] == ROLE + "-2" and updated["updatedAt"]
    (rule,) = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert rule["customRoleArn"] == ROLE + "-2" and rule["updatedAt"] == updated["updatedAt"]
    with pytest.raises(ClientError) as info:  # a credentialArn is not for ecr upstreams
        ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="mirror", credentialArn=SECRET)
    assert _code(info) == "InvalidParameterException"
    with pytest.raises(ClientError) as info:
        ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="nothing", customRoleArn=ROLE)
    assert _code(info) == "PullThroughCacheRuleNotFoundException"


def test_rules_are_per_registry(make_client):
    mine, theirs = make_client("ecr"), make_client("ecr", account=OTHER_ACCOUNT)
    mine.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    assert theirs.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    west = make_client("ecr", region="us-west-2")
    assert west.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
