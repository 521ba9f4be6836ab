"""Pull-time update exclusions: Register/Deregister/List with their errors and limit, and
excluded principals' pulls (BatchGetImage, a manifest GET) leave lastRecordedPullTime alone."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from ..registry.client import Registry, authorization_token
from .helpers import push

ROLE = "arn:aws:iam::123456789012:role/ci/scanner"
SESSION = "arn:aws:sts::123456789012:assumed-role/scanner/job-42"


def _code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_register_list_deregister(ecr):
    registered = ecr.register_pull_time_update_exclusion(principalArn=ROLE)
    assert registered["principalArn"] == ROLE and registered["createdAt"]
    with pytest.raises(ClientError) as excinfo:
        ecr.register_pull_time_update_exclusion(principalArn=ROLE)
    assert _code(excinfo) == "ExclusionAlreadyExistsException"
    ecr.register_pull_time_update_exclusion(principalArn="arn:aws:iam::123456789012:user/alice")
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == [
        ROLE, "arn:aws:iam::123456789012:user/alice"]
    page = ecr.list_pull_time_update_exclusions(maxResults=1)
    assert page["pullTimeUpdateExclusions"] == [ROLE]
    assert ecr.list_pull_time_update_exclusions(nextToken=page["nextToken"])["pullTimeUpdateExclusions"] == [
        "arn:aws:iam::123456789012:user/alice"]
    assert ecr.deregister_pull_time_update_exclusion(principalArn=ROLE)["principalArn"] == ROLE
    ecr.deregister_pull_time_update_exclusion(principalArn="arn:aws:iam::123456789012:user/alice")
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == []
    with pytest.raises(ClientError) as excinfo:
        ecr.deregister_pull_time_update_exclusion(principalArn=ROLE)
    assert _code(excinfo) == "ExclusionNotFoundException"


@pytest.mark.parametrize("arn", ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:group/devs",
                                 "arn:aws:sts::123456789012:assumed-role/scanner/x", "scanner"])
def test_only_role_and_user_arns(ecr, arn):
    with pytest.raises(ClientError) as excinfo:
        ecr.register_pull_time_update_exclusion(principalArn=arn)
    assert _code(excinfo) == "InvalidParameterException"


def test_at_most_100_exclusions(ecr):
    for n in range(100):
        ecr.register_pull_time_update_exclusion(principalArn=f"arn:aws:iam::123456789012:role/r{n}")
    with pytest.raises(ClientError) as excinfo:
        ecr.register_pull_time_update_exclusion(principalArn="arn:aws:iam::123456789012:role/one-more")
    assert _code(excinfo) == "LimitExceededException"


def _pulled_at(ecr):
    return ecr.describe_images(repositoryName="team/app")["imageDetails"][0].get("lastRecordedPullTime")


def test_excluded_principals_do_not_move_the_pull_time(url, ecr, make_client):
    ecr.create_repository(repositoryName="team/app")
    push(url, ecr, "team/app", "pulled")
    ecr.register_pull_time_update_exclusion(principalArn=ROLE)
    scanner = make_client("ecr", aws_session_token=SESSION)  # an assumed-role session of the role

    scanner.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    Registry(url, authorization_token(scanner)).get("/v2/team/app/manifests/v1").raise_for_status()
    assert _pulled_at(ecr) is None

    ecr.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])  # the account's root
    first = _pulled_at(ecr)
    assert first is not None
    requests.post(url + "/_emulator/clock/advance", json={"seconds": 3600}, timeout=10)
    Registry(url, authorization_token(scanner)).get("/v2/team/app/manifests/v1").raise_for_status()
    assert _pulled_at(ecr) == first
    Registry(url, authorization_token(ecr)).get("/v2/team/app/manifests/v1").raise_for_status()
    assert _pulled_at(ecr) > first

    ecr.deregister_pull_time_update_exclusion(principalArn=ROLE)
    requests.post(url + "/_emulator/clock/advance", json={"seconds": 3600}, timeout=10)
    second = _pulled_at(ecr)
    scanner.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert _pulled_at(ecr) > second
