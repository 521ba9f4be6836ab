"""The control plane answers through boto3 over HTTP, checked against the output shapes."""

import botocore.session
import pytest
import requests

from ecr_emulator.testing import check_response


def test_create_and_describe_repository(ecr, url):
    created = ecr.create_repository(repositoryName="team/app")["repository"]
    assert created["repositoryName"] == "team/app"
    assert created["repositoryUri"] == url.split("://")[1] + "/team/app"
    assert created["repositoryArn"] == "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
    described = ecr.describe_repositories(repositoryNames=["team/app"])["repositories"]
    assert described == [created]


@pytest.mark.parametrize("service", ["ecr", "ecr-public"])
def test_every_operation_of_the_model_is_implemented(url, service):
    """Each operation of the installed botocore model, called with an empty body, answers with
    its own result or error, never NotImplementedException (501)."""
    model = botocore.session.get_session().get_service_model(service)
    prefix = model.metadata["targetPrefix"]
    not_implemented = []
    for name in model.operation_names:
        response = requests.post(url + "/", data="{}", timeout=10, headers={
            "X-Amz-Target": f"{prefix}.{name}", "Content-Type": "application/x-amz-json-1.1"})
        check_response(model.operation_model(name), response.status_code, response.content)
        if response.status_code == 501 or response.json().get("__type") == "NotImplementedException":
            not_implemented.append(name)
    assert not_implemented == []
