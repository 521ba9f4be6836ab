"""Identity policies with the condition keys ECR users write, over a real server, both doors:
attribute-based access (``ecr:ResourceTag/team`` = ``${aws:PrincipalTag/team}``, the principal's
tags from the identity-policies file), request tags and ``aws:TagKeys`` on CreateRepository /
TagResource / UntagResource, ``${aws:username}`` in resources, ``aws:SecureTransport``,
``aws:SourceIp`` and ``aws:CurrentTime`` (the emulator's clock)."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry

ACCOUNT = "222233334444"
DEV = f"arn:aws:sts::{ACCOUNT}:assumed-role/dev/laptop"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
OPS = f"arn:aws:iam::{ACCOUNT}:user/ops"
KEYS = {"root": ("AKIAROOTABAC00000001", None), "dev": ("ASIADEVABAC000000001", DEV),
        "alice": ("AKIAALICEABAC0000001", ALICE), "ops": ("AKIAOPSABAC000000001", OPS)}
REPOS = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository"
POLICIES = {
    f"arn:aws:iam::{ACCOUNT}:role/dev": {"Tags": {"team": "a"}, "Policies": [{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow", "NotAction": ["ecr:CreateRepository", "ecr:TagResource", "ecr:UntagResource"],
             "Resource": f"{REPOS}/*",
             "Condition": {"StringEquals": {"ecr:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
            {"Effect": "Allow", "Action": ["ecr:CreateRepository", "ecr:TagResource"], "Resource": f"{REPOS}/*",
             "Condition": {"StringEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"},
                           "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "owner"]}}},
            {"Effect": "Allow", "Action": "ecr:UntagResource", "Resource": f"{REPOS}/*",
             "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["owner"]}}},
            {"Effect": "Deny", "Action": "ecr:DeleteRepository", "Resource": "*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Effect": "Deny", "Action": "ecr:*", "Resource": "*",
             "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"}}},
        ],
    }]},
    OPS: [{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecr:CreateRepository", "Resource": "*"},
            {"Effect": "Allow", "Action": "ecr:GetAccountSetting", "Resource": "*",
             "Condition": {"StringEquals": {"ecr:AccountSetting": "BASIC_SCAN_TYPE_VERSION"}}},
        ],
    }],
    ALICE: [{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecr:*", "Resource": f"{REPOS}/${{aws:username}}/*",
             "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
            {"Effect": "Allow", "Action": "ecr:DescribeRepositories", "Resource": f"{REPOS}/*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        ],
    }],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("abac")
    (path / "credentials").write_text("\n".join(
        f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {name}-secret\naccount = {ACCOUNT}\n"
        + (f"principal_arn = {arn}\n" if arn else "") for name, (key, arn) in KEYS.items()))
    (path / "policies.json").write_text(json.dumps(POLICIES))
    with ServerProcess("--no-access-log", "--credentials-file", str(path / "credentials"),
                       "--identity-policies", str(path / "policies.json")) as server:
        yield server


def client(server, who: str):
    return checked_client("ecr", server.url, access_key=KEYS[who][0], secret=f"{who}-secret")


def refused(call, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    return info.value.response["Error"]["Message"]


def tags(*pairs) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in pairs]


def test_attribute_based_access_on_both_doors(server):
    root, dev = client(server, "root"), client(server, "dev")
    root.create_repository(repositoryName="b/app", tags=tags(("team", "b")))
    assert refused(dev.create_repository, repositoryName="a/app", tags=tags(("team", "b"))).endswith(
        "because no identity-based policy allows the ecr:CreateRepository action")
    assert refused(dev.create_repository, repositoryName="a/app", tags=tags(("team", "a"), ("cost", "1")))
    arn = dev.create_repository(repositoryName="a/app", tags=tags(("team", "a")))["repository"]["repositoryArn"]

    dev.tag_resource(resourceArn=arn, tags=tags(("team", "a"), ("owner", "me")))
    assert refused(dev.tag_resource, resourceArn=arn, tags=tags(("stage", "x")))
    dev.untag_resource(resourceArn=arn, tagKeys=["owner"])
    assert refused(dev.untag_resource, resourceArn=arn, tagKeys=["team"])  # aws:TagKeys of the removal

    assert dev.describe_images(repositoryName="a/app")["imageDetails"] == []
    assert refused(dev.describe_images, repositoryName="b/app") == (
        f"User: {DEV} is not authorized to perform: ecr:DescribeImages on resource: {REPOS}/b/app "
        "because no identity-based policy allows the ecr:DescribeImages action")

    token = dev.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    registry = Registry(server.url, token)
    image = make_image("abac")
    registry.push_image("a/app", image, "v1")
    denied = registry.post("/v2/b/app/blobs/uploads/")
    assert denied.status_code == 403
    (error,) = denied.json()["errors"]
    assert error["code"] == "DENIED"
    assert error["message"] == (f"User: {DEV} is not authorized to perform: ecr:InitiateLayerUpload on resource: "
                                f"{REPOS}/b/app because no identity-based policy allows the ecr:InitiateLayerUpload action")

    assert refused(dev.delete_repository, repositoryName="a/app", force=True).endswith(
        "with an explicit deny in an identity-based policy")  # aws:SecureTransport is false over http


def test_user_names_and_source_addresses(server):
    alice = client(server, "alice")
    alice.create_repository(repositoryName="alice/tools")
    assert refused(alice.create_repository, repositoryName="bob/tools").endswith(
        "because no identity-based policy allows the ecr:CreateRepository action")
    # 127.0.0.1 is in 127.0.0.0/8: the NotIpAddress statement does not grant listing everything
    assert refused(alice.describe_repositories).startswith(f"User: {ALICE} is not authorized")
    assert alice.describe_repositories(repositoryNames=["alice/tools"])["repositories"]


def test_the_emulator_clock_is_aws_current_time(server):
    dev = client(server, "dev")
    dev.create_repository(repositoryName="c/app", tags=tags(("team", "a")))
    assert dev.describe_images(repositoryName="c/app")["imageDetails"] == []
    requests.post(server.url + "/_emulator/clock/advance", json={"seconds": 6 * 366 * 86400}, timeout=10)
    assert refused(dev.describe_images, repositoryName="c/app").endswith(
        "with an explicit deny in an identity-based policy")


def test_tag_on_create_needs_tag_resource_and_account_settings_are_named(server):
    ops = client(server, "ops")
    ops.create_repository(repositoryName="ops/plain")
    assert refused(ops.create_repository, repositoryName="ops/tagged", tags=tags(("team", "ops"))) == (
        f"User: {OPS} is not authorized to perform: ecr:TagResource on resource: {REPOS}/ops/tagged "
        "because no identity-based policy allows the ecr:TagResource action")
    assert ops.get_account_setting(name="BASIC_SCAN_TYPE_VERSION")["name"] == "BASIC_SCAN_TYPE_VERSION"
    assert refused(ops.get_account_setting, name="REGISTRY_POLICY_SCOPE").endswith(
        "because no identity-based policy allows the ecr:GetAccountSetting action")
