"""The control plane answers through boto3 over HTTP, checked against the output shapes."""

import pytest
from botocore.exceptions import ClientError


def test_create_and_describe_repository(ecr, url):
    created = ecr.create_repository(repositoryName="team/app")["repository"]
    assert created["repositoryName"] == "team/app"
    assert created["repositoryUri"] == url.split("://")[1] + "/team/app"
    assert created["repositoryArn"] == "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
    described = ecr.describe_repositories(repositoryNames=["team/app"])["repositories"]
    assert described == [created]


def test_unimplemented_operation_is_a_named_error(ecr):
    ecr.create_repository(repositoryName="app")
    with pytest.raises(ClientError) as info:
        ecr.list_pull_time_update_exclusions()
    assert info.value.response["Error"]["Code"] == "NotImplementedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
