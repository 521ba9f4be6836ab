"""Bad input over raw HTTP (botocore validates client-side, so these bypass it): every bad
request gets a 4xx with the right ``__type`` and a useful message, never a 500."""

from __future__ import annotations

import json

import botocore.session
import pytest
import requests
from werkzeug.wrappers import Request

from ecr_emulator.testing.contract import check_response

ECR = "AmazonEC2ContainerRegistry_V20150921"
PUBLIC = "SpencerFrontendService"
JSON = "application/x-amz-json-1.1"
_MODELS = {ECR: botocore.session.get_session().get_service_model("ecr"),
           PUBLIC: botocore.session.get_session().get_service_model("ecr-public")}


def call(url: str, target: str, body, content_type: str = JSON, prefix: str = ECR) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(url + "/", data=data, timeout=10,
                         headers={"X-Amz-Target": f"{prefix}.{target}", "Content-Type": content_type})


def expect_error(response: requests.Response, code: str, status: int = 400, *, prefix: str = ECR,
                 operation: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["__type"] == code, body
    assert response.headers["x-amzn-ErrorType"] == code
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["Content-Type"].startswith("application/x-amz-json-1.1")
    assert isinstance(body["message"], str) and body["message"]
    if operation is not None:
        check_response(_MODELS[prefix].operation_model(operation), response.status_code, response.content)
    return body["message"]


NAME_PATTERN = "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*"


@pytest.mark.parametrize("name, rule", [
    ("MyApp", f"must satisfy regular expression '{NAME_PATTERN}'"),
    ("a", "must have length greater than or equal to 2"),
    ("a" * 257, "must have length less than or equal to 256"),
    ("a//b", f"must satisfy regular expression '{NAME_PATTERN}'"),
    ("-ab", f"must satisfy regular expression '{NAME_PATTERN}'"),
    ("ab-", f"must satisfy regular expression '{NAME_PATTERN}'"),
    ("a/", f"must satisfy regular expression '{NAME_PATTERN}'"),
    ("a b", f"must satisfy regular expression '{NAME_PATTERN}'"),
])
def test_invalid_repository_names(url, name, rule):
    response = call(url, "CreateRepository", {"repositoryName": name})
    message = expect_error(response, "InvalidParameterException", operation="CreateRepository")
    assert message == f"Invalid parameter at 'repositoryName' failed to satisfy constraint: '{rule}'"
    # nothing was created
    listing = call(url, "DescribeRepositories", {})
    assert listing.status_code == 200 and listing.json()["repositories"] == []


@pytest.mark.parametrize("operation", ["DescribeRepositories", "DeleteRepository", "GetRepositoryPolicy"])
def test_invalid_names_on_other_operations(url, operation):
    if operation == "DescribeRepositories":
        body = {"repositoryNames": ["Bad Name"]}
        path = "repositoryNames.1.member"
    else:
        body = {"repositoryName": "Bad Name"}
        path = "repositoryName"
    message = expect_error(call(url, operation, body), "InvalidParameterException", operation=operation)
    assert message.startswith(f"Invalid parameter at '{path}' failed to satisfy constraint:")


def test_public_name_rules(url):
    response = call(url, "CreateRepository", {"repositoryName": "a" * 206}, prefix=PUBLIC)
    message = expect_error(response, "InvalidParameterException", prefix=PUBLIC, operation="CreateRepository")
    assert "must have length less than or equal to 205" in message
    response = call(url, "CreateRepository", {"repositoryName": "a__b"}, prefix=PUBLIC)
    expect_error(response, "InvalidParameterException", prefix=PUBLIC, operation="CreateRepository")


@pytest.mark.parametrize("operation, body, member", [
    ("CreateRepository", {}, "repositoryName"),
    ("CreateRepository", {"repositoryName": None}, "repositoryName"),
    ("DeleteRepository", {"force": True}, "repositoryName"),
    ("SetRepositoryPolicy", {"repositoryName": "app"}, "policyText"),
    ("PutRegistryPolicy", {}, "policyText"),
    ("TagResource", {"resourceArn": "arn:aws:ecr:us-east-1:123456789012:repository/app"}, "tags"),
    ("TagResource", {"resourceArn": "x", "tags": [{"Key": "k"}]}, "tags.1.member.Value"),
    ("UntagResource", {"resourceArn": "x"}, "tagKeys"),
    ("PutImageTagMutability", {"repositoryName": "app"}, "imageTagMutability"),
    ("PutImageScanningConfiguration", {"repositoryName": "app"}, "imageScanningConfiguration"),
    ("CreateRepository", {"repositoryName": "app", "encryptionConfiguration": {}},
     "encryptionConfiguration.encryptionType"),
])
def test_missing_required_members_message_is_ours(url, operation, body, member):
    message = expect_error(call(url, operation, body), "InvalidParameterException", operation=operation)
    assert message == f"Invalid parameter at '{member}' failed to satisfy constraint: 'must not be null'"


@pytest.mark.parametrize("body, member", [
    ({"repositoryName": "app", "imageTagMutability": "mutable"}, "imageTagMutability"),
    ({"repositoryName": "app", "encryptionConfiguration": {"encryptionType": "DES"}},
     "encryptionConfiguration.encryptionType"),
    ({"repositoryName": "app", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
      "imageTagMutabilityExclusionFilters": [{"filterType": "REGEX", "filter": "x"}]},
     "imageTagMutabilityExclusionFilters.1.member.filterType"),
])
def test_bad_enum_values(url, body, member):
    message = expect_error(call(url, "CreateRepository", body), "InvalidParameterException",
                           operation="CreateRepository")
    assert message.startswith(f"Invalid parameter at '{member}' failed to satisfy constraint: "
                              "'Member must satisfy enum value set: [")


def test_enum_message_is_ecrs(url):
    """ECR's text (aws-controllers-k8s/community#172, moto's PutImageTagMutability test), values in
    the model's order."""
    message = expect_error(call(url, "PutImageTagMutability", {"repositoryName": "app", "imageTagMutability": "X"}),
                           "InvalidParameterException", operation="PutImageTagMutability")
    assert message == ("Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must "
                       "satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'")


def test_list_length_message_is_ecrs(url):
    """ECR's text: trek10inc/ecr-cleaner#8 quotes it for BatchDeleteImage."""
    ids = [{"imageTag": f"t{i}"} for i in range(101)]
    message = expect_error(call(url, "BatchDeleteImage", {"repositoryName": "app", "imageIds": ids}),
                           "InvalidParameterException", operation="BatchDeleteImage")
    assert message == ("Invalid parameter at 'imageIds' failed to satisfy constraint: "
                       "'Member must have length less than or equal to 100'")


@pytest.mark.parametrize("operation, body, path", [
    ("CreateRepository", {"repositoryName": 42}, "repositoryName"),
    ("CreateRepository", {"repositoryName": ["app"]}, "repositoryName"),
    ("CreateRepository", {"repositoryName": "app", "tags": {"Key": "k", "Value": "v"}}, "tags"),
    ("CreateRepository", {"repositoryName": "app", "tags": ["k=v"]}, "tags.1.member"),
    ("CreateRepository", {"repositoryName": "app", "imageScanningConfiguration": {"scanOnPush": "true"}},
     "imageScanningConfiguration.scanOnPush"),
    ("CreateRepository", {"repositoryName": "app", "imageScanningConfiguration": True},
     "imageScanningConfiguration"),
    ("DescribeRepositories", {"maxResults": "10"}, "maxResults"),
    ("DescribeRepositories", {"maxResults": 10.5}, "maxResults"),
    ("DescribeRepositories", {"maxResults": True}, "maxResults"),
    ("DeleteRepository", {"repositoryName": "app", "force": "yes"}, "force"),
])
def test_wrong_json_types_message_is_ours(url, operation, body, path):
    message = expect_error(call(url, operation, body), "SerializationException", operation=operation)
    assert f"'{path}'" in message


@pytest.mark.parametrize("body", ["[]", "null", "42", '"text"'])
def test_body_that_is_not_an_object(url, body):
    expect_error(call(url, "CreateRepository", body), "SerializationException", operation="CreateRepository")


@pytest.mark.parametrize("body", [
    b'{"repositoryName": "app"',
    b"{repositoryName: 'app'}",
    b'{"repositoryName": "\xff\xfe"}',
    b"\x00\x01\x02",
], ids=["truncated", "not-json", "bad-utf8", "binary"])
def test_malformed_json(url, body):
    message = expect_error(call(url, "CreateRepository", body), "SerializationException",
                           operation="CreateRepository")
    assert "JSON" in message


def test_deeply_nested_json_is_a_client_error(url):
    """A body nested deeper than the JSON parser's recursion limit must not crash the request."""
    depth = 100_000
    for body in ("[" * depth + "]" * depth,
                 '{"repositoryName": "app", "tags": ' + "[" * depth + "]" * depth + "}"):
        message = expect_error(call(url, "CreateRepository", body), "SerializationException",
                               operation="CreateRepository")
        assert "nested" in message
    assert call(url, "DescribeRepositories", {}).json()["repositories"] == []


def test_empty_body_means_no_members(url):
    response = call(url, "DescribeRepositories", b"")
    assert response.status_code == 200
    check_response(_MODELS[ECR].operation_model("DescribeRepositories"), 200, response.content)
    expect_error(call(url, "CreateRepository", b""), "InvalidParameterException", operation="CreateRepository")


def test_unknown_members_are_ignored(url):
    response = call(url, "CreateRepository", {"repositoryName": "app", "colour": "blue"})
    assert response.status_code == 200
    check_response(_MODELS[ECR].operation_model("CreateRepository"), 200, response.content)
    assert "colour" not in response.json()["repository"]


def test_blob_that_is_not_base64(url):
    response = call(url, "CreateRepository", {"repositoryName": "app", "catalogData": {"logoImageBlob": "!!"}},
                    prefix=PUBLIC)
    message = expect_error(response, "SerializationException", prefix=PUBLIC, operation="CreateRepository")
    assert "catalogData.logoImageBlob" in message


def test_range_constraints(url):
    message = expect_error(call(url, "DescribeRepositories", {"maxResults": 0}), "InvalidParameterException",
                           operation="DescribeRepositories")
    # ECR's form ('Member must have value less than or equal to 1000' is quoted from ECR)
    assert message == ("Invalid parameter at 'maxResults' failed to satisfy constraint: "
                       "'Member must have value greater than or equal to 1'")
    message = expect_error(call(url, "DescribeRepositories", {"maxResults": 1001}), "InvalidParameterException",
                           operation="DescribeRepositories")
    assert "less than or equal to 1000" in message
    message = expect_error(call(url, "DescribeRepositories", {"repositoryNames": []}), "InvalidParameterException",
                           operation="DescribeRepositories")
    assert "'repositoryNames'" in message and "length greater than or equal to 1" in message
    message = expect_error(call(url, "DescribeRepositories", {"registryId": "12345"}), "InvalidParameterException",
                           operation="DescribeRepositories")
    assert "'registryId'" in message


@pytest.mark.parametrize("target", [
    f"{ECR}.MakeCoffee",
    f"{ECR}.",
    "CreateRepository",
    "AmazonS3.ListBuckets",
    f"{ECR.lower()}.CreateRepository",
    "",
])
def test_unknown_operation(url, target):
    response = requests.post(url + "/", data="{}", timeout=10,
                             headers={"X-Amz-Target": target, "Content-Type": JSON})
    expect_error(response, "UnknownOperationException")


def test_operation_of_the_other_service(url):
    # DescribeRegistries exists in ecr-public only; DescribeRegistry in ecr only
    expect_error(call(url, "DescribeRegistries", {}), "UnknownOperationException")
    expect_error(call(url, "DescribeRegistry", {}, prefix=PUBLIC), "UnknownOperationException")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""])
def test_wrong_content_type(url, content_type):
    response = requests.post(url + "/", data=json.dumps({"repositoryName": "app"}), timeout=10,
                             headers={"X-Amz-Target": f"{ECR}.CreateRepository", "Content-Type": content_type})
    message = expect_error(response, "UnknownOperationException")
    assert "application/x-amz-json-1.1" in message
    assert call(url, "DescribeRepositories", {}).json()["repositories"] == []


@pytest.mark.parametrize("content_type", [JSON, "application/x-amz-json-1.1; charset=utf-8",
                                          "application/x-amz-json-1.0", "application/json"])
def test_accepted_content_types(url, content_type):
    response = call(url, "DescribeRepositories", {}, content_type=content_type)
    assert response.status_code == 200
    assert response.headers["x-amzn-RequestId"]
    check_response(_MODELS[ECR].operation_model("DescribeRepositories"), 200, response.content)


def test_an_operation_without_a_handler_is_501_not_a_fake_answer():
    """The protocol answers a modeled operation no handler serves with a named 501."""
    from werkzeug.test import Client

    from ecr_emulator.awsjson import AwsJsonProtocol, OperationRegistry, load_service

    protocol = AwsJsonProtocol(lambda request, service: None)
    protocol.add_service(load_service("ecr"), OperationRegistry("ecr"))
    app = lambda environ, start_response: protocol(Request(environ))(environ, start_response)
    response = Client(app).post("/", data="{}", headers={
        "X-Amz-Target": f"{ECR}.ListPullTimeUpdateExclusions", "Content-Type": JSON})
    assert response.status_code == 501
    body = response.get_json(force=True)
    assert body["__type"] == "NotImplementedException"
    assert "ListPullTimeUpdateExclusions" in body["message"]


def test_requests_without_credentials_use_the_default_identity(url):
    created = call(url, "CreateRepository", {"repositoryName": "app"})
    assert created.status_code == 200
    assert created.json()["repository"]["repositoryArn"] == "arn:aws:ecr:us-east-1:123456789012:repository/app"


def test_other_paths_and_methods_are_not_the_control_plane(url):
    assert requests.get(url + "/", timeout=10,
                        headers={"X-Amz-Target": f"{ECR}.DescribeRepositories"}).status_code in (404, 405)
    assert requests.get(url + "/_emulator/nothing-here", timeout=10).status_code == 404


def test_post_without_a_target_is_an_unknown_operation(url):
    response = requests.post(url + "/", data="{}", timeout=10, headers={"Content-Type": JSON})
    assert "X-Amz-Target" in expect_error(response, "UnknownOperationException")
