"""Repository creation templates: CRUD with ECR's validation and errors, and how they apply
to the repositories ECR creates itself (create-on-push here; pull-through in e2e)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.testing.synthetic import make_image

from ..conftest import ACCOUNT, OTHER_ACCOUNT
from ..registry.client import Registry, authorization_token

ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-templates"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})
LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
    "action": {"type": "expire"}}]})


def _code(info) -> str:
    return info.value.response["Error"]["Code"]


def _message(info) -> str:
    return info.value.response["Error"]["Message"]


def test_create_describe_update_delete(ecr):
    created = ecr.create_repository_creation_template(
        prefix="prod/", description="production", appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}],
        encryptionConfiguration={"encryptionType": "KMS"}, resourceTags=[{"Key": "team", "Value": "a"}],
        repositoryPolicy=POLICY, lifecyclePolicy=LIFECYCLE, customRoleArn=ROLE)
    assert created["registryId"] == ACCOUNT
    template = created["repositoryCreationTemplate"]
    assert template["prefix"] == "prod"
    assert template["appliedFor"] == ["PULL_THROUGH_CACHE", "REPLICATION"]
    assert template["resourceTags"] == [{"Key": "team", "Value": "a"}]
    assert template["encryptionConfiguration"] == {"encryptionType": "KMS"}
    assert template["repositoryPolicy"] == POLICY and template["lifecyclePolicy"] == LIFECYCLE
    assert template["createdAt"] == template["updatedAt"]

    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])
    described = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert [t["prefix"] for t in described] == ["ROOT", "prod"]
    only = ecr.describe_repository_creation_templates(prefixes=["prod"])["repositoryCreationTemplates"]
    assert only == [template]

    updated = ecr.update_repository_creation_template(prefix="prod", imageTagMutability="MUTABLE",
                                                      description="changed")["repositoryCreationTemplate"]
    assert updated["imageTagMutability"] == "MUTABLE" and "imageTagMutabilityExclusionFilters" not in updated
    assert updated["description"] == "changed" and updated["repositoryPolicy"] == POLICY
    assert updated["appliedFor"] == ["PULL_THROUGH_CACHE", "REPLICATION"]

    deleted = ecr.delete_repository_creation_template(prefix="prod")["repositoryCreationTemplate"]
    assert deleted["prefix"] == "prod"
    with pytest.raises(ClientError) as info:
        ecr.delete_repository_creation_template(prefix="prod")
    assert _code(info) == "TemplateNotFoundException"
    with pytest.raises(ClientError) as info:
        ecr.update_repository_creation_template(prefix="prod", description="x")
    assert _code(info) == "TemplateNotFoundException"


def test_a_prefix_has_one_template(ecr):
    ecr.create_repository_creation_template(prefix="team", appliedFor=["REPLICATION"])
    with pytest.raises(ClientError) as info:
        ecr.create_repository_creation_template(prefix="team/", appliedFor=["CREATE_ON_PUSH"])
    assert _code(info) == "TemplateAlreadyExistsException"
    assert "team/" in _message(info)


@pytest.mark.parametrize("members, member", [
    ({"appliedFor": []}, "appliedFor"),
    ({"resourceTags": [{"Key": "a", "Value": "b"}]}, "customRoleArn"),
    ({"encryptionConfiguration": {"encryptionType": "KMS",
                                  "kmsKey": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc-1"}}, "customRoleArn"),
    ({"encryptionConfiguration": {"encryptionType": "AES256",
                                  "kmsKey": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc-1"}, "customRoleArn": ROLE},
     "kmsKey"),
    ({"customRoleArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/x"}, "customRoleArn"),
    ({"customRoleArn": "not-an-arn"}, "customRoleArn"),
    ({"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "imageTagMutabilityExclusionFilters"),
    ({"imageTagMutability": "MUTABLE",
      "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "x*"}]},
     "imageTagMutabilityExclusionFilters"),
    ({"repositoryPolicy": '{"Statement": []}'}, "PolicyText"),
    ({"lifecyclePolicy": "{not json"}, "lifecyclePolicy"),
    ({"lifecyclePolicy": '{"rules": []}'}, "lifecyclePolicy"),
])
def test_malformed_templates_are_refused(ecr, members, member):
    params = {"prefix": "bad", "appliedFor": ["REPLICATION"], **members}
    with pytest.raises(ClientError) as info:
        ecr.create_repository_creation_template(**params)
    assert _code(info) == "InvalidParameterException"
    assert member in _message(info)
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_model_validation_of_prefix_and_applied_for(ecr):
    for params in ({"prefix": "Upper", "appliedFor": ["REPLICATION"]},
                   {"prefix": "ok", "appliedFor": ["SOMETIMES"]}):
        with pytest.raises(ClientError) as info:
            ecr.create_repository_creation_template(**params)
        assert _code(info) == "InvalidParameterException"


def test_a_refused_update_changes_nothing(ecr):
    ecr.create_repository_creation_template(prefix="keep", appliedFor=["REPLICATION"], description="d")
    with pytest.raises(ClientError):
        ecr.update_repository_creation_template(prefix="keep", description="new", lifecyclePolicy="[]")
    (template,) = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert template["description"] == "d" and "lifecyclePolicy" not in template


def test_describe_pages(ecr):
    for i in range(5):
        ecr.create_repository_creation_template(prefix=f"p{i}", appliedFor=["REPLICATION"])
    pages = ecr.get_paginator("describe_repository_creation_templates").paginate(PaginationConfig={"PageSize": 2})
    prefixes = [t["prefix"] for page in pages for t in page["repositoryCreationTemplates"]]
    assert prefixes == [f"p{i}" for i in range(5)]


# -- create on push ----------------------------------------------------------------------

def test_a_push_to_a_missing_repository_creates_it_from_a_create_on_push_template(ecr, url):
    ecr.create_repository_creation_template(
        prefix="auto", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "made-by", "Value": "push"}], customRoleArn=ROLE,
        repositoryPolicy=POLICY, lifecyclePolicy=LIFECYCLE)
    ecr.create_repository_creation_template(prefix="auto/deep", appliedFor=["REPLICATION"])
    registry = Registry(url, authorization_token(ecr))
    image = make_image("create-on-push")
    registry.push_image("auto/deep/app", image, "v1")
    (repo,) = ecr.describe_repositories(repositoryNames=["auto/deep/app"])["repositories"]
    # auto/deep is the longer prefix but is not for CREATE_ON_PUSH: auto applies
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [
        {"Key": "made-by", "Value": "push"}]
    assert ecr.get_repository_policy(repositoryName="auto/deep/app")["policyText"] == POLICY
    assert [d["imageDigest"] for d in ecr.describe_images(repositoryName="auto/deep/app")["imageDetails"]] == [
        image.digest]


def test_without_a_matching_template_a_push_still_needs_the_repository(ecr, url):
    ecr.create_repository_creation_template(prefix="auto", appliedFor=["CREATE_ON_PUSH"])
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["PULL_THROUGH_CACHE"])
    registry = Registry(url, authorization_token(ecr))
    started = registry.post("/v2/elsewhere/app/blobs/uploads/")
    assert started.status_code == 404 and started.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert ecr.describe_repositories()["repositories"] == []


def test_a_root_create_on_push_template_catches_every_name(ecr, url):
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"],
                                            encryptionConfiguration={"encryptionType": "KMS"})
    registry = Registry(url, authorization_token(ecr))
    assert registry.post("/v2/anything/here/blobs/uploads/").status_code == 202
    (repo,) = ecr.describe_repositories()["repositories"]
    assert repo["repositoryName"] == "anything/here"
    assert repo["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert repo["encryptionConfiguration"]["kmsKey"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
