"""TagResource / UntagResource / ListTagsForResource on repositories of both services."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
OTHER = "210987654321"


def error_of(info) -> dict:
    return info.value.response["Error"]


def tags(client, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]}


def tag_list(n: int, prefix: str = "k") -> list[dict[str, str]]:
    return [{"Key": f"{prefix}{i}", "Value": f"v{i}"} for i in range(n)]


@pytest.fixture(params=["ecr", "ecr-public"])
def client_and_arn(request, make_client):
    client = make_client(request.param)
    arn = client.create_repository(repositoryName="team/app")["repository"]["repositoryArn"]
    return client, arn


def test_arns(client_and_arn):
    client, arn = client_and_arn
    if client.meta.service_model.service_name == "ecr":
        assert arn == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
    else:
        assert arn == f"arn:aws:ecr-public::{ACCOUNT}:repository/team/app"


def test_tag_list_untag(client_and_arn):
    client, arn = client_and_arn
    assert tags(client, arn) == {}
    client.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "dev"}])
    assert tags(client, arn) == {"team": "core", "env": "dev"}
    # tagging again overwrites the value of an existing key and keeps the others
    client.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "prod"}, {"Key": "cost", "Value": ""}])
    assert tags(client, arn) == {"team": "core", "env": "prod", "cost": ""}
    client.untag_resource(resourceArn=arn, tagKeys=["env", "not-there"])
    assert tags(client, arn) == {"team": "core", "cost": ""}
    client.untag_resource(resourceArn=arn, tagKeys=["team", "cost"])
    assert tags(client, arn) == {}


def test_fifty_tags_is_the_limit(client_and_arn):
    client, arn = client_and_arn
    client.tag_resource(resourceArn=arn, tags=tag_list(50))
    assert len(tags(client, arn)) == 50
    # overwriting existing keys does not count as new tags
    client.tag_resource(resourceArn=arn, tags=tag_list(5))
    with pytest.raises(ClientError) as info:
        client.tag_resource(resourceArn=arn, tags=[{"Key": "one-more", "Value": "x"}])
    assert error_of(info)["Code"] == "TooManyTagsException"
    assert "50" in error_of(info)["Message"]
    assert len(tags(client, arn)) == 50 and "one-more" not in tags(client, arn)


def test_more_than_fifty_tags_in_one_call(client_and_arn):
    client, arn = client_and_arn
    with pytest.raises(ClientError) as info:
        client.tag_resource(resourceArn=arn, tags=tag_list(51))
    assert error_of(info)["Code"] == "TooManyTagsException"
    assert tags(client, arn) == {}


@pytest.mark.parametrize("service", ["ecr", "ecr-public"])
def test_create_with_too_many_tags(make_client, service):
    client = make_client(service)
    with pytest.raises(ClientError) as info:
        client.create_repository(repositoryName="app", tags=tag_list(51))
    assert error_of(info)["Code"] == "TooManyTagsException"
    assert client.describe_repositories()["repositories"] == []


@pytest.mark.parametrize("key", ["aws:owner", "AWS:owner", "aws:"])
def test_aws_prefix_is_reserved(client_and_arn, key):
    client, arn = client_and_arn
    with pytest.raises(ClientError) as info:
        client.tag_resource(resourceArn=arn, tags=[{"Key": "ok", "Value": "1"}, {"Key": key, "Value": "x"}])
    assert error_of(info)["Code"] == "InvalidTagParameterException"
    assert "aws:" in error_of(info)["Message"]
    assert tags(client, arn) == {}


@pytest.mark.parametrize("tag", [{"Key": "k" * 129, "Value": "v"}, {"Key": "k", "Value": "v" * 257}])
def test_ecr_tag_lengths(ecr, tag):
    arn = ecr.create_repository(repositoryName="app")["repository"]["repositoryArn"]
    with pytest.raises(ClientError) as info:
        ecr.tag_resource(resourceArn=arn, tags=[tag])
    assert error_of(info)["Code"] == "InvalidTagParameterException"


def test_longest_tag_is_accepted(ecr):
    arn = ecr.create_repository(repositoryName="app")["repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "k" * 128, "Value": "v" * 256}])
    assert tags(ecr, arn) == {"k" * 128: "v" * 256}


@pytest.mark.parametrize("arn", [
    "not-an-arn",
    "arn:aws:s3:::bucket",
    f"arn:aws:ecr:us-east-1:{ACCOUNT}:cluster/app",
    "arn:aws:ecr:us-east-1:12345:repository/app",
])
def test_bad_arn_message_is_ours(ecr, arn):
    """The sentence is moto's (its tests assert it), not one seen from ECR."""
    for call in (lambda: ecr.list_tags_for_resource(resourceArn=arn),
                 lambda: ecr.tag_resource(resourceArn=arn, tags=[{"Key": "k", "Value": "v"}]),
                 lambda: ecr.untag_resource(resourceArn=arn, tagKeys=["k"])):
        with pytest.raises(ClientError) as info:
            call()
        assert error_of(info) == {
            "Code": "InvalidParameterException",
            "Message": "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'",
        }


def test_public_arn_on_private_ecr_is_bad(ecr, ecr_public):
    arn = ecr_public.create_repository(repositoryName="app")["repository"]["repositoryArn"]
    with pytest.raises(ClientError) as info:
        ecr.list_tags_for_resource(resourceArn=arn)
    assert error_of(info)["Code"] == "InvalidParameterException"


def test_arn_of_missing_repository(ecr):
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/missing"
    with pytest.raises(ClientError) as info:
        ecr.list_tags_for_resource(resourceArn=arn)
    assert error_of(info) == {
        "Code": "RepositoryNotFoundException",
        "Message": f"The repository with name 'missing' does not exist in the registry with id '{ACCOUNT}'",
    }


def test_arn_of_another_region_does_not_name_this_repository(ecr):
    ecr.create_repository(repositoryName="app")
    with pytest.raises(ClientError) as info:
        ecr.list_tags_for_resource(resourceArn=f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/app")
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


def test_arn_of_another_account_is_denied(ecr, make_client):
    other = make_client("ecr", account=OTHER)
    arn = other.create_repository(repositoryName="app")["repository"]["repositoryArn"]
    with pytest.raises(ClientError) as info:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "k", "Value": "v"}])
    assert error_of(info)["Code"] == "AccessDeniedException"
    assert tags(other, arn) == {}
