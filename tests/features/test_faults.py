"""Fault injection (``/_emulator/faults``) against the real server: AWS's error form and status so
boto3's retry modes react as against AWS, and registry faults a plain HTTP client sees."""

from __future__ import annotations

import threading

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry, authorization_token


def client(url: str, mode: str = "standard", attempts: int | None = None):
    retries = {"mode": mode, **({"total_max_attempts": attempts} if attempts else {})}
    return checked_client("ecr", url, config=Config(retries=retries))


def test_two_throttles_are_retried_by_boto3s_standard_mode(url, ecr_faults, ecr_calls):
    ecr_faults.add(operation="GetAuthorizationToken", error="ThrottlingException", count=2)
    answer = client(url).get_authorization_token()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert answer["authorizationData"]
    (rule,) = ecr_faults.list()
    assert (rule["hits"], rule["remaining"]) == (2, 0)
    records = ecr_calls.list("GetAuthorizationToken")
    assert [r.get("errorCode") for r in records] == ["ThrottlingException", "ThrottlingException", None]
    assert records[0]["errorMessage"] == "Rate exceeded"


def test_a_throttle_has_awss_error_form_and_status(url, ecr_faults):
    ecr_faults.add(operation="DescribeRepositories", error="ThrottlingException", count=1)
    with pytest.raises(ClientError) as info:
        client(url, attempts=1).describe_repositories()
    response = info.value.response
    assert response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
    assert client(url, attempts=1).describe_repositories()["repositories"] == []  # spent: retired


def test_legacy_mode_retries_too_and_more_throttles_than_attempts_fail(url, ecr_faults):
    ecr_faults.add(operation="ListImages", error="ThrottlingException", count=3)
    client(url).create_repository(repositoryName="app")
    answer = client(url, mode="legacy").list_images(repositoryName="app")
    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    ecr_faults.add(operation="ListImages", error="ThrottlingException", count=3)
    with pytest.raises(ClientError) as info:
        client(url).list_images(repositoryName="app")  # standard: 3 attempts in all
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 2


def test_server_errors_are_500_and_retried(url, ecr_faults):
    ecr_faults.add(operation="DescribeRegistry", error="ServerException", message="try again", count=1)
    answer = client(url).describe_registry()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    ecr_faults.add(operation="DescribeRegistry", error="ServerException", count=1)
    with pytest.raises(ClientError) as info:
        client(url, attempts=1).describe_registry()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_probability_zero_never_fires_and_a_service_filter_is_kept(url, ecr_faults, make_client):
    ecr_faults.add(operation="DescribeRepositories", error="ThrottlingException", probability=0)
    ecr_faults.add(operation="DescribeRepositories", service="ecr-public", error="ThrottlingException")
    assert client(url, attempts=1).describe_repositories()["repositories"] == []
    with pytest.raises(ClientError):
        checked_client("ecr-public", url, config=Config(retries={"total_max_attempts": 1})).describe_repositories()
    assert [rule["hits"] for rule in ecr_faults.list()] == [0, 1]


def test_latency_delays_and_then_answers(url, ecr_faults):
    ecr_faults.add(operation="DescribeRegistry", latencyMs=50, count=1)
    assert client(url).describe_registry()["ResponseMetadata"]["RetryAttempts"] == 0
    assert ecr_faults.list()[0]["hits"] == 1


def test_a_delayed_call_delays_nobody_else(url, ecr_faults):
    """Quick calls run on the server's event loop; a latency rule must move them off it, or
    the delay would hold every other client."""
    ecr_faults.add(operation="DescribeRegistry", latencyMs=3000, count=1)
    done = threading.Event()
    delayed = threading.Thread(target=lambda: (client(url).describe_registry(), done.set()))
    delayed.start()
    answered = 0
    for _ in range(100):  # bounded: the delayed call ends after 3 s
        if done.is_set():
            break
        assert requests.get(f"{url}/_emulator/health", timeout=2).status_code == 200
        answered += 1
        done.wait(0.2)
    delayed.join(30)
    assert done.is_set() and answered >= 2
    assert ecr_faults.list()[0]["hits"] == 1


def test_a_registry_503_is_answered_once_then_the_upload_starts(url, ecr, ecr_faults):
    ecr.create_repository(repositoryName="app")
    ecr_faults.add(path="/v2/app/blobs/uploads/", method="POST", status=503, count=1)
    registry = Registry(url, authorization_token(ecr))
    first = registry.post("/v2/app/blobs/uploads/")
    assert first.status_code == 503
    assert first.json()["errors"][0]["code"] == "UNAVAILABLE"
    assert registry.post("/v2/app/blobs/uploads/").status_code == 202


def test_a_pattern_and_a_method_select_the_requests(url, ecr, ecr_faults):
    ecr.create_repository(repositoryName="team/app")
    ecr_faults.add(path="/v2/*/manifests/*", method="GET", status=429)
    registry = Registry(url, authorization_token(ecr))
    assert registry.get("/v2/team/app/manifests/v1").status_code == 429
    assert registry.head("/v2/team/app/manifests/v1").status_code == 404  # HEAD is not GET
    assert registry.post("/v2/team/app/blobs/uploads/").status_code == 202


def test_reset_after_bytes_cuts_the_answer(url, ecr, ecr_faults):
    ecr.create_repository(repositoryName="app")
    image = make_image("cut", layers=1)
    registry = Registry(url, authorization_token(ecr))
    registry.push_image("app", image, tag="v1")
    ecr_faults.add(path="/v2/app/manifests/v1", method="GET", resetAfterBytes=10, count=1)
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        registry.get("/v2/app/manifests/v1", headers=accept)
    assert registry.get("/v2/app/manifests/v1", headers=accept).content == image.manifest


@pytest.mark.parametrize("rule, problem", [
    ({}, "either"),
    ({"operation": "X", "path": "/v2/"}, "either"),
    ({"operation": "GetAuthorisationToken", "error": "ThrottlingException"}, "not an operation"),
    ({"operation": "GetRegistryCatalogData", "service": "ecr", "error": "ThrottlingException"}, "not an operation"),
    ({"operation": "GetAuthorizationToken"}, "error"),
    ({"operation": "GetAuthorizationToken", "error": "Bad Name"}, "error"),
    ({"operation": "GetAuthorizationToken", "error": "ThrottlingException", "count": 0}, "count"),
    ({"operation": "GetAuthorizationToken", "error": "ThrottlingException", "probability": 2}, "probability"),
    ({"operation": "GetAuthorizationToken", "latencyMs": 600000}, "latencyMs"),
    ({"path": "v2/app"}, "path"),
    ({"path": "/v2/app/", "status": 503, "resetAfterBytes": 1}, "pick one"),
    ({"path": "/v2/app/", "status": True}, "status"),
    ({"path": "/v2/app/", "status": 503, "colour": "red"}, "unknown"),
])
def test_bad_rules_are_refused_with_a_reason(url, rule, problem):
    answer = requests.post(url + "/_emulator/faults", json=rule, timeout=10)
    assert answer.status_code == 400 and problem in answer.json()["error"]
    assert requests.get(url + "/_emulator/faults", timeout=10).json() == {"faults": []}


def test_rules_are_listed_removed_cleared_and_reset(url, ecr_faults):
    first = ecr_faults.add(operation="ListImages", error="ThrottlingException")
    second = ecr_faults.add(path="/v2/", status=503)
    assert [r["id"] for r in ecr_faults.list()] == [first["id"], second["id"]]
    ecr_faults.remove(first["id"])
    assert len(ecr_faults.list()) == 1
    with pytest.raises(KeyError):
        ecr_faults.remove("fault-999")
    ecr_faults.clear()
    assert ecr_faults.list() == []
    ecr_faults.add(path="/v2/", status=503)
    requests.post(url + "/_emulator/reset", timeout=10)
    assert ecr_faults.list() == []


def test_the_emulators_own_endpoints_are_never_faulted(url, ecr_faults):
    ecr_faults.add(path="/", status=503)
    assert requests.get(url + "/_emulator/faults", timeout=10).status_code == 200
    assert requests.get(url + "/v2/", timeout=10).status_code == 503


@pytest.fixture(scope="module")
def guarded():
    with ServerProcess("--no-access-log", "--admin-token", "s3cret") as server:
        yield server


def test_the_new_endpoints_sit_behind_the_admin_guards(guarded, url):
    rule = {"operation": "ListImages", "error": "ThrottlingException"}
    assert requests.post(guarded.url + "/_emulator/faults", json=rule, timeout=10).status_code == 401
    assert requests.delete(guarded.url + "/_emulator/faults", timeout=10).status_code == 401
    assert requests.post(guarded.url + "/_emulator/faults", json=rule, timeout=10,
                         headers={"Authorization": "Bearer s3cret"}).status_code == 201
    for path in ("/_emulator/events", "/_emulator/calls", "/_emulator/faults"):
        assert requests.get(guarded.url + path, timeout=10).status_code == 200  # reading needs no token
        assert requests.get(url + path, timeout=10, headers={"Origin": "http://evil.example"}).status_code == 403
    assert requests.post(url + "/_emulator/faults", json=rule, timeout=10,
                         headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


def test_mock_ecr_has_the_same_faults_and_call_log():
    from ecr_emulator import mock_ecr

    with mock_ecr(registry=True) as mock:
        mock.faults.add(operation="GetAuthorizationToken", error="ThrottlingException", count=2)
        ecr = mock.client(config=Config(retries={"mode": "standard"}))
        assert ecr.get_authorization_token()["ResponseMetadata"]["RetryAttempts"] == 2
        ecr.create_repository(repositoryName="app")
        mock.faults.add(path="/v2/app/blobs/uploads/", method="POST", status=503, count=1)
        registry = Registry(mock.registry_url, authorization_token(ecr))
        assert [registry.post("/v2/app/blobs/uploads/").status_code for _ in range(2)] == [503, 202]
        assert [(r["eventName"], r.get("errorCode")) for r in mock.calls.list()] == [
            ("GetAuthorizationToken", "ThrottlingException"), ("GetAuthorizationToken", "ThrottlingException"),
            ("GetAuthorizationToken", None), ("CreateRepository", None), ("GetAuthorizationToken", None),
            ("InitiateLayerUpload", "UNAVAILABLE"), ("InitiateLayerUpload", None)]
