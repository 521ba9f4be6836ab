"""ECR's EventBridge events (``/_emulator/events``), in process through ``mock_ecr``: every door
raises them as AWS documents, and nothing is raised where AWS documents no event."""

from __future__ import annotations

import re
import uuid

import pytest
from botocore.exceptions import ClientError

from ecr_emulator import mock_ecr
from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry, authorization_token
from .helpers import OTHER, SOURCE, debian_image, replication_policy

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


@pytest.fixture
def mock():
    with mock_ecr(registry=True) as active:
        yield active


def assert_envelope(event: dict, detail_type: str, *, account: str = SOURCE, region: str = "us-east-1",
                    source: str = "aws.ecr") -> None:
    assert set(event) == ENVELOPE
    assert event["version"] == "0" and str(uuid.UUID(event["id"])) == event["id"]
    assert (event["detail-type"], event["source"], event["account"], event["region"]) == (
        detail_type, source, account, region)
    assert TIME.match(event["time"])


def test_a_push_and_a_delete_raise_image_actions_as_aws_documents_them(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="app")
    image = mock.push("app", "v1", files={"a.txt": b"one"})
    (push,) = mock.events.list("ECR Image Action")
    assert_envelope(push, "ECR Image Action")
    assert push["resources"] == []
    assert push["time"] == mock.emulator.backend.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert push["detail"] == {"result": "SUCCESS", "repository-name": "app", "image-digest": image.digest,
                              "action-type": "PUSH", "image-tag": "v1"}

    ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    delete = mock.events.list("ECR Image Action")[-1]
    assert delete["detail"] == {"result": "SUCCESS", "repository-name": "app", "image-digest": image.digest,
                                "action-type": "DELETE", "image-tag": "v1"}

    other = mock.push("app", "v2", files={"a.txt": b"deleted through the registry"})
    registry = Registry(mock.registry_url, authorization_token(ecr))
    assert registry.delete(f"/v2/app/manifests/{other.digest}").status_code == 202
    assert mock.events.list("ECR Image Action")[-1]["detail"] == {
        "result": "SUCCESS", "repository-name": "app", "image-digest": other.digest, "action-type": "DELETE",
        "image-tag": "v2"}


def test_put_image_and_untagging_raise_events_too_and_the_clock_is_the_emulators(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="app")
    image = mock.push("app", "v1", files={"a.txt": b"two"})
    later = mock.advance_clock(days=3)
    ecr.put_image(repositoryName="app", imageManifest=image.manifest.decode(), imageTag="v2")
    retag = mock.events.list("ECR Image Action")[-1]
    assert retag["time"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert retag["detail"]["action-type"] == "PUSH" and retag["detail"]["image-tag"] == "v2"
    ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])  # v2 keeps the image
    untag = mock.events.list("ECR Image Action")[-1]["detail"]
    assert (untag["action-type"], untag["image-tag"]) == ("DELETE", "v1")
    assert mock.events.list(since=later.strftime("%Y-%m-%dT%H:%M:%SZ"), detail_type="ECR Image Action") == \
        mock.events.list("ECR Image Action")[1:]


def test_a_refused_push_and_a_lifecycle_expiration_raise_no_image_event(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="app", imageTagMutability="IMMUTABLE")
    image = mock.push("app", "v1", files={"a.txt": b"three"})
    with pytest.raises(ClientError):
        ecr.put_image(repositoryName="app", imageManifest=mock.push("app", None, files={"b": b"x"}).manifest.decode(),
                      imageTag="v1")
    ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=(
        '{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", '
        '"countNumber": 1}, "action": {"type": "expire"}}]}'))
    mock.advance_clock(days=1)
    mock.emulator.flask.test_client().post("/_emulator/lifecycle/run")
    actions = [(e["detail"]["action-type"], e["detail"]["image-digest"]) for e in mock.events.list("ECR Image Action")]
    assert actions[0] == ("PUSH", image.digest)
    assert all(action == "PUSH" for action, _ in actions), actions


def test_scan_on_push_raises_an_image_scan_event_with_the_findings_counts(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="os", imageScanningConfiguration={"scanOnPush": True})
    image = mock.push("os", "v1", image=debian_image())
    event = mock.events.wait_for("ECR Image Scan", detail={"image-digest": image.digest})
    assert_envelope(event, "ECR Image Scan")
    assert event["resources"] == ["arn:aws:ecr:us-east-1:123456789012:repository/os"]
    findings = ecr.describe_image_scan_findings(repositoryName="os", imageId={"imageDigest": image.digest})
    assert findings["imageScanStatus"]["status"] == "COMPLETE"
    counts = findings["imageScanFindings"]["findingSeverityCounts"]
    assert counts and counts.get("HIGH")
    assert event["detail"] == {"scan-status": "COMPLETE", "repository-name": "os", "finding-severity-counts": counts,
                               "image-digest": image.digest, "image-tags": ["v1"]}


def test_enhanced_scanning_raises_the_scan_resource_change_and_inspectors_scan_event(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="prod-api")
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "prod*", "filterType": "WILDCARD"}]}])
    (change,) = mock.events.list("ECR Scan Resource Change")
    assert_envelope(change, "ECR Scan Resource Change")
    assert change["detail"] == {"action-type": "SCAN_FREQUENCY_CHANGE", "resource-type": "REPOSITORY",
                                "scan-type": "ENHANCED", "repositories": [{
                                    "repository-name": "prod-api",
                                    "repository-arn": "arn:aws:ecr:us-east-1:123456789012:repository/prod-api",
                                    "scan-frequency": "SCAN_ON_PUSH", "previous-scan-frequency": "MANUAL"}]}
    image = mock.push("prod-api", "v1", image=debian_image())
    event = mock.events.wait_for("Inspector2 Scan", source="aws.inspector2")
    assert_envelope(event, "Inspector2 Scan", source="aws.inspector2")
    arn = "arn:aws:ecr:us-east-1:123456789012:repository/prod-api"
    assert event["resources"] == [arn]
    detail = event["detail"]
    assert (detail["scan-status"], detail["repository-name"], detail["image-digest"], detail["image-tags"]) == (
        "INITIAL_SCAN_COMPLETE", arn, image.digest, ["v1"])
    total = detail["finding-severity-counts"].pop("TOTAL")
    assert total == sum(detail["finding-severity-counts"].values()) > 0
    assert not mock.events.list("ECR Image Scan")  # basic scanning's event is not sent for enhanced scans
    findings = mock.events.list("Inspector2 Finding")
    assert len(findings) == total
    described = ecr.describe_image_scan_findings(repositoryName="prod-api", imageId={"imageDigest": image.digest})[
        "imageScanFindings"]["enhancedFindings"]
    assert sorted(f["detail"]["findingArn"] for f in findings) == sorted(f["findingArn"] for f in described)
    first = findings[0]
    assert_envelope(first, "Inspector2 Finding", source="aws.inspector2")
    assert first["resources"] == [f"{arn}/{image.digest}"]
    detail = first["detail"]
    assert detail["type"] == "PACKAGE_VULNERABILITY" and detail["status"] == "ACTIVE"
    assert detail["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"] == image.digest
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M", detail["firstObservedAt"])
    assert detail["inspectorScore"] == detail["inspectorScoreDetails"]["adjustedCvss"]["score"]


def test_replication_raises_a_replication_action_in_the_destination(mock):
    source = mock.client()
    mock.client(account=OTHER, region="eu-west-1").put_registry_policy(
        policyText=replication_policy(SOURCE, OTHER, "eu-west-1"))
    source.put_replication_configuration(replicationConfiguration={"rules": [{"destinations": [
        {"region": "eu-west-1", "registryId": OTHER}]}]})
    source.create_repository(repositoryName="shared")
    image = mock.push("shared", "v1", files={"a.txt": b"replicate me"})
    event = mock.events.wait_for("ECR Replication Action")
    assert_envelope(event, "ECR Replication Action", account=OTHER, region="eu-west-1")
    assert event["resources"] == [f"arn:aws:ecr:eu-west-1:{OTHER}:repository/shared"]
    assert event["detail"] == {"result": "SUCCESS", "repository-name": "shared", "image-digest": image.digest,
                               "source-account": SOURCE, "action-type": "REPLICATE", "source-region": "us-east-1",
                               "image-tag": "v1"}
    # the replica is not a push of the destination's
    assert [e["account"] for e in mock.events.list("ECR Image Action")] == [SOURCE]


def test_a_replication_the_destination_refuses_raises_a_failed_replication_action(mock):
    source = mock.client()
    source.put_replication_configuration(replicationConfiguration={"rules": [{"destinations": [
        {"region": "eu-west-1", "registryId": OTHER}]}]})
    source.create_repository(repositoryName="shared")
    mock.push("shared", "v1", files={"a.txt": b"refused"})
    event = mock.events.wait_for("ECR Replication Action")
    assert event["detail"]["result"] == "FAILED" and event["account"] == OTHER


def test_archiving_raises_an_update_storage_class_image_action(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="app")
    image = mock.push("app", "v1", files={"a.txt": b"archive me"})
    ecr.update_image_storage_class(repositoryName="app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
    event = mock.events.list("ECR Image Action")[-1]
    assert event["detail"] == {"action-type": "UPDATE_STORAGE_CLASS", "target-storage-class": "ARCHIVE",
                               "image-digest": image.digest, "repository-name": "app", "result": "SUCCESS",
                               "manifest-media-type": "application/vnd.oci.image.manifest.v1+json",
                               "artifact-media-type": "application/vnd.oci.image.config.v1+json"}


def test_a_referrer_moving_with_its_subject_raises_a_referrer_action(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="app")
    subject = mock.push("app", "v1", image=make_image("subject", layers=1))
    signature = mock.push("app", None, image=make_image("sig", layers=1, subject=subject.descriptor(),
                                                         artifact_type="application/vnd.cncf.notary.signature"))
    ecr.update_image_storage_class(repositoryName="app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
    (referrer,) = mock.events.list("ECR Referrer Action")
    assert_envelope(referrer, "ECR Referrer Action")
    assert referrer["detail"]["image-digest"] == signature.digest
    assert referrer["detail"]["artifact-media-type"] == "application/vnd.cncf.notary.signature"
    assert referrer["detail"]["target-storage-class"] == "ARCHIVE"
    mock.advance_clock(days=1)
    ecr.update_image_storage_class(repositoryName="app", imageId={"imageTag": "v1"}, targetStorageClass="STANDARD")
    restored = mock.events.list("ECR Image Action")[-1]["detail"]
    assert (restored["target-storage-class"], restored["image-digest"]) == ("STANDARD", subject.digest)
    assert restored["last-activated-at"].endswith("Z")


def test_write_calls_raise_cloudtrail_events_and_read_calls_do_not(mock):
    ecr = mock.client()
    ecr.create_repository(repositoryName="app")
    ecr.describe_repositories()
    (event,) = mock.events.list("AWS API Call via CloudTrail")
    assert_envelope(event, "AWS API Call via CloudTrail")
    assert event["detail"]["eventName"] == "CreateRepository"
    assert event["detail"]["eventSource"] == "ecr.amazonaws.com"
    assert event["detail"] == mock.calls.list("CreateRepository")[0]


def test_ecr_public_raises_no_ecr_event(mock):
    mock.client("ecr-public").create_repository(repositoryName="pub")
    assert mock.events.list() == []
    assert [c["eventSource"] for c in mock.calls.list()] == ["ecr-public.amazonaws.com"]


def test_reset_clears_the_events_and_bad_filters_are_refused(mock):
    mock.client().create_repository(repositoryName="app")
    assert mock.events.list()
    mock.reset()
    assert mock.events.list() == []
    answer = mock.emulator.flask.test_client().get("/_emulator/events?since=yesterday")
    assert answer.status_code == 400 and "since" in answer.get_json()["error"]


def test_wait_for_names_what_was_raised_when_nothing_matches(mock):
    mock.client().create_repository(repositoryName="app")
    with pytest.raises(AssertionError, match="CreateRepository"):
        mock.events.wait_for("ECR Image Scan", timeout=0.2)



def test_a_pull_through_fetch_raises_a_pull_through_cache_action_success_or_failed():
    with ServerProcess("--no-access-log", "--no-registry-auth") as upstream:
        checked_client("ecr", upstream.url).create_repository(repositoryName="library/alpine")
        image = make_image("upstream")
        Registry(upstream.url).push_image("library/alpine", image, "3.20")
        with mock_ecr(registry=True, upstream_url=(f"public.ecr.aws={upstream.url}",)) as mock:
            mock.client().create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public",
                                                         upstreamRegistryUrl="public.ecr.aws")
            registry = Registry(mock.registry_url, authorization_token(mock.client()))
            accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
            assert registry.get("/v2/ecr-public/library/alpine/manifests/3.20", headers=accept).status_code == 200
            assert registry.get("/v2/ecr-public/library/alpine/manifests/9.9", headers=accept).status_code == 404
            ok, failed = mock.events.list("ECR Pull Through Cache Action")
    arn = f"arn:aws:ecr:us-east-1:{SOURCE}:repository/ecr-public/library/alpine"
    assert_envelope(ok, "ECR Pull Through Cache Action")
    assert ok["resources"] == [arn] == failed["resources"]
    assert ok["detail"] == {"rule-version": "1", "sync-status": "SUCCESS", "ecr-repository-prefix": "ecr-public",
                            "repository-name": "ecr-public/library/alpine", "upstream-registry-url": "public.ecr.aws",
                            "image-tag": "3.20", "image-digest": image.digest}
    assert (failed["detail"]["sync-status"], failed["detail"]["image-tag"], failed["detail"]["failure-code"]) == (
        "FAILED", "9.9", "ImageNotFound")
    assert failed["detail"]["failure-reason"]


def test_the_plugin_fixtures_see_a_push_to_the_session_server(ecr_emulator_ecr, ecr_emulator_push_image, ecr_events,
                                                              ecr_calls):
    ecr_emulator_ecr.create_repository(repositoryName="fixtures")
    image = ecr_emulator_push_image("fixtures", "v1", files={"a.txt": b"fixture"})
    event = ecr_events.wait_for("ECR Image Action", detail={"action-type": "PUSH", "image-tag": "v1"})
    assert event["detail"]["image-digest"] == image.digest
    assert ecr_events.delivery() is None  # no --eventbridge-endpoint
    put = ecr_calls.wait_for("PutImage", parameters={"repositoryName": "fixtures", "imageTag": "v1"})
    assert put["eventSource"] == "ecr.amazonaws.com" and put["readOnly"] is False
    assert ecr_calls.names()[:2] == ["CreateRepository", "GetAuthorizationToken"]
