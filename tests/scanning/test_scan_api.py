"""StartImageScan, DescribeImageScanFindings, the scanning configurations, account settings
and canned findings, as a boto3 user sees them."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.testing.scan_images import dpkg_status, image_of, layer, os_release
from ecr_emulator.testing.synthetic import make_image, make_index

from ..control.test_layers import error_of
from .conftest import attributes, wait_for_scan

DEBIAN = os_release("debian", "12")


def vulnerable_image(count: int = 1, seed: str = "") -> object:
    packages = [("libssl3", "3.0.9-1", "openssl"), ("zlib1g", "1:1.2.11.dfsg-2", "zlib"),
                ("openssl", "3.0.9-1")][:count]
    if seed:
        packages.append((f"marker-{seed}", "1.0"))
    return image_of([layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status(packages)})])


@pytest.fixture
def repo(ecr):
    ecr.create_repository(repositoryName="manual")
    return "manual"


def advance(url: str, seconds: float) -> None:
    assert requests.post(f"{url}/_emulator/clock/advance", json={"seconds": seconds}, timeout=10).ok


# -- StartImageScan ------------------------------------------------------------------------

def test_a_manual_scan_runs_once_per_24_hours_of_the_emulator_clock(ecr, registry, repo, url):
    digest = registry.push_image(repo, vulnerable_image(), tag="v1")
    with pytest.raises(ClientError) as info:
        ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageTag": "v1"})
    assert error_of(info)["Code"] == "ScanNotFoundException"
    assert "ImageScan" not in str(ecr.describe_images(repositoryName=repo)["imageDetails"][0])

    started = ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    assert started["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert wait_for_scan(ecr, repo, digest)["imageScanStatus"]["status"] == "COMPLETE"

    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    assert error_of(info) == {"Code": "LimitExceededException",
                              "Message": "The scan quota per image has been exceeded. Wait and try again."}
    advance(url, 23 * 3600)
    with pytest.raises(ClientError):
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    advance(url, 3600)
    assert ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})["imageScanStatus"] == {
        "status": "IN_PROGRESS"}
    assert wait_for_scan(ecr, repo, digest)["imageScanStatus"]["status"] == "COMPLETE"


def test_the_scan_on_push_counts_against_the_daily_limit(ecr, registry):
    ecr.create_repository(repositoryName="onpush", imageScanningConfiguration={"scanOnPush": True})
    digest = registry.push_image("onpush", vulnerable_image())
    wait_for_scan(ecr, "onpush", digest)
    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName="onpush", imageId={"imageDigest": digest})
    assert error_of(info)["Code"] == "LimitExceededException"


def test_indexes_and_artifacts_are_unsupported_image_types(ecr, registry, repo):
    child = vulnerable_image()
    index = make_index([child], [{"architecture": "amd64", "os": "linux"}])
    registry.push_image(repo, index, tag="multi")
    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "multi"})
    assert error_of(info)["Code"] == "UnsupportedImageTypeException"
    artifact = make_image("sbom", config=b"{}", config_media_type="application/vnd.example.sbom.v1+json")
    registry.push_image(repo, artifact, tag="sbom")
    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "sbom"})
    assert error_of(info)["Code"] == "UnsupportedImageTypeException"
    assert "application/vnd.example.sbom.v1+json" in error_of(info)["Message"]
    # the index's child is an image: it scans
    assert ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": child.digest})["imageScanStatus"]


def test_start_image_scan_errors(ecr, repo):
    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "nope"})
    assert error_of(info)["Code"] == "ImageNotFoundException"
    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName="missing", imageId={"imageTag": "nope"})
    assert error_of(info)["Code"] == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as info:
        ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": "sha256:xyz"})
    assert error_of(info)["Code"] == "InvalidParameterException"


def test_start_image_scan_is_refused_with_enhanced_scanning(ecr, registry, repo):
    digest = registry.push_image(repo, vulnerable_image())
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
    with pytest.raises(ClientError) as info:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    assert error_of(info)["Code"] == "ValidationException"


# -- DescribeImageScanFindings ---------------------------------------------------------------

def test_findings_are_paginated_most_severe_first(ecr, registry, repo):
    digest = registry.push_image(repo, vulnerable_image(3))
    ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    complete = wait_for_scan(ecr, repo, digest)
    everything = complete["imageScanFindings"]["findings"]
    assert [(f["name"], f["severity"]) for f in everything] == [
        ("CVE-2023-45853", "CRITICAL"), ("CVE-2024-0727", "MEDIUM"), ("CVE-2024-0727", "MEDIUM")]
    assert "nextToken" not in complete
    first = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": digest}, maxResults=2)
    assert first["imageScanFindings"]["findings"] == everything[:2]
    assert first["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 1, "MEDIUM": 2}
    second = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": digest}, maxResults=2,
                                              nextToken=first["nextToken"])
    assert second["imageScanFindings"]["findings"] == everything[2:]
    assert "nextToken" not in second
    pages = ecr.get_paginator("describe_image_scan_findings").paginate(
        repositoryName=repo, imageId={"imageDigest": digest}, PaginationConfig={"PageSize": 1})
    assert [f for page in pages for f in page["imageScanFindings"]["findings"]] == everything


# -- scanning configuration -----------------------------------------------------------------

def test_registry_scanning_configuration_defaults_and_round_trip(ecr):
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {"scanType": "BASIC", "rules": []}
    rules = [{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]},
             {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]
    put = ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=rules)
    assert put["registryScanningConfiguration"] == {"scanType": "ENHANCED", "rules": rules}
    got = ecr.get_registry_scanning_configuration()
    assert got["registryId"] == "123456789012"
    assert got["scanningConfiguration"] == {"scanType": "ENHANCED", "rules": rules}


@pytest.mark.parametrize("scan_type, rules, where", [
    ("BASIC", [{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}],
     "rules.scanFrequency"),
    ("ENHANCED", [{"scanFrequency": "MANUAL", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}],
     "rules.scanFrequency"),
    ("BASIC", [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "a*", "filterType": "WILDCARD"}]},
               {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "b*", "filterType": "WILDCARD"}]}],
     "rules"),
    ("BASIC", [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": []}], "rules.repositoryFilters"),
    ("BASIC", [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "UPPER", "filterType": "WILDCARD"}]}],
     "filter"),
])
def test_bad_registry_scanning_rules_are_refused(ecr, scan_type, rules, where):
    with pytest.raises(ClientError) as info:
        ecr.put_registry_scanning_configuration(scanType=scan_type, rules=rules)
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert where in error_of(info)["Message"]
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {"scanType": "BASIC", "rules": []}


def test_batch_get_repository_scanning_configuration(ecr):
    for name in ("prod-api", "prod-web", "dev-api", "legacy"):
        ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": name == "legacy"})
    by_name = lambda answer: {c["repositoryName"]: c for c in answer["scanningConfigurations"]}  # noqa: E731
    answer = ecr.batch_get_repository_scanning_configuration(repositoryNames=["prod-api", "legacy", "ghost"])
    assert by_name(answer)["prod-api"] == {
        "repositoryArn": "arn:aws:ecr:us-east-1:123456789012:repository/prod-api", "repositoryName": "prod-api",
        "scanOnPush": False, "scanFrequency": "MANUAL", "appliedScanFilters": []}
    assert by_name(answer)["legacy"]["scanFrequency"] == "SCAN_ON_PUSH"
    assert answer["failures"] == [{
        "repositoryName": "ghost", "failureCode": "REPOSITORY_NOT_FOUND",
        "failureReason": "The repository with name 'ghost' does not exist in the registry with id '123456789012'"}]

    prod = {"filter": "prod-*", "filterType": "WILDCARD"}
    every = {"filter": "*api", "filterType": "WILDCARD"}
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[
        {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [prod]},
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [every]}])
    configs = by_name(ecr.batch_get_repository_scanning_configuration(
        repositoryNames=["prod-api", "prod-web", "dev-api", "legacy"]))
    assert (configs["prod-api"]["scanFrequency"], configs["prod-api"]["appliedScanFilters"]) == ("CONTINUOUS_SCAN", [prod])
    assert configs["prod-web"]["scanFrequency"] == "CONTINUOUS_SCAN"
    assert (configs["dev-api"]["scanFrequency"], configs["dev-api"]["appliedScanFilters"]) == ("SCAN_ON_PUSH", [every])
    # with ENHANCED, the repository's own (basic) scanOnPush flag no longer applies
    assert (configs["legacy"]["scanFrequency"], configs["legacy"]["scanOnPush"]) == ("MANUAL", False)


def test_continuous_scanning_leaves_the_image_active(ecr, registry):
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[
        {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}])
    ecr.create_repository(repositoryName="watched")
    digest = registry.push_image("watched", vulnerable_image())
    answer = wait_for_scan(ecr, "watched", digest)
    assert answer["imageScanStatus"]["status"] == "ACTIVE"
    assert answer["imageScanFindings"]["findingSeverityCounts"] == {"MEDIUM": 1}


def test_a_new_tag_on_a_scanned_image_does_not_rescan_it(ecr, registry, url):
    ecr.create_repository(repositoryName="retag", imageScanningConfiguration={"scanOnPush": True})
    image = vulnerable_image()
    digest = registry.push_image("retag", image, tag="a")
    completed = wait_for_scan(ecr, "retag", digest)["imageScanFindings"]["imageScanCompletedAt"]
    advance(url, 3600)
    registry.push_image("retag", image, tag="b")
    answer = wait_for_scan(ecr, "retag", digest)
    assert answer["imageScanFindings"]["imageScanCompletedAt"] == completed


def test_repositories_no_rule_selects_are_not_scanned_on_push(ecr, registry):
    ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]}])
    ecr.create_repository(repositoryName="dev-quiet")
    registry.push_image("dev-quiet", vulnerable_image(), tag="a")
    assert "imageScanStatus" not in ecr.describe_images(repositoryName="dev-quiet")["imageDetails"][0]


# -- account settings ---------------------------------------------------------------------

def plain(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def test_account_settings_defaults_and_values(ecr):
    assert plain(ecr.get_account_setting(name="BASIC_SCAN_TYPE_VERSION")) == {
        "name": "BASIC_SCAN_TYPE_VERSION", "value": "AWS_NATIVE"}
    assert ecr.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"] == "V2"
    assert ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == "DISABLED"
    assert plain(ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")) == {"name": "BLOB_MOUNTING",
                                                                              "value": "ENABLED"}
    assert ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == "ENABLED"


@pytest.mark.parametrize("name, value, where", [
    ("NOT_A_SETTING", "X", "name"), ("BASIC_SCAN_TYPE_VERSION", "CLAIR", "value"),
    ("REGISTRY_POLICY_SCOPE", "V1", "value"), ("BLOB_MOUNTING", "enabled", "value"),
])
def test_bad_account_settings_are_refused(ecr, name, value, where):
    with pytest.raises(ClientError) as info:
        ecr.put_account_setting(name=name, value=value)
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert error_of(info)["Message"].startswith(f"Invalid parameter at '{where}'")


def test_account_settings_are_per_account_and_region(ecr, make_client):
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    assert make_client("ecr", region="eu-west-1").get_account_setting(name="BLOB_MOUNTING")["value"] == "DISABLED"


# -- canned findings ----------------------------------------------------------------------

def test_canned_findings_replace_the_scanner_for_a_digest(ecr, registry, repo, url):
    image = vulnerable_image()
    canned = {"imageDigest": image.digest, "findings": [
        {"name": "CVE-2030-0001", "severity": "CRITICAL", "packageName": "libfoo", "packageVersion": "1.0",
         "fixedInVersion": "1.1", "description": "made up for a test", "uri": "https://example.com/CVE-2030-0001",
         "cvss3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}
    # a body without a JSON Content-Type is read all the same
    response = requests.post(f"{url}/_emulator/scan-findings", data=__import__("json").dumps(canned), timeout=10)
    assert response.status_code == 200, response.text
    digest = registry.push_image(repo, image)
    ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    (finding,) = wait_for_scan(ecr, repo, digest)["imageScanFindings"]["findings"]
    assert finding["name"] == "CVE-2030-0001" and finding["severity"] == "CRITICAL"
    assert attributes(finding) == {"package_name": "libfoo", "package_version": "1.0", "fixed_in_version": "1.1",
                                   "CVSS3_SCORE": "9.8",
                                   "CVSS3_VECTOR": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
    # changing them updates the finished scan at once
    requests.post(f"{url}/_emulator/scan-findings", json={"imageDigest": digest, "findings": []}, timeout=10)
    answer = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": digest})
    assert answer["imageScanFindings"]["findings"] == []
    assert requests.delete(f"{url}/_emulator/scan-findings/{digest}", timeout=10).json()["removed"] is True


@pytest.mark.parametrize("body", [
    {"findings": []},
    {"imageDigest": "sha256:abc", "findings": []},
    {"imageDigest": "sha256:" + "a" * 64, "findings": [{"name": "CVE-1", "severity": "SEVERE"}]},
    {"imageDigest": "sha256:" + "a" * 64, "findings": [{"severity": "LOW"}]},
    {"imageDigest": "sha256:" + "a" * 64, "findings": {}},
    {"imageDigest": "sha256:" + "a" * 64, "status": "DONE"},
])
def test_bad_canned_findings_are_refused(url, body):
    response = requests.post(f"{url}/_emulator/scan-findings", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]
