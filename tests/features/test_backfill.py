"""Replication backfills: images pushed before the rule are replicated, with status, progress
and per-image results, listed and paginated as the model says."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import OTHER, SOURCE, push, replication_policy, wait_for

WEST = {"region": "us-west-2", "registryId": SOURCE}
OTHER_ACCOUNT = {"region": "us-east-1", "registryId": OTHER}


def _ended(ecr, backfill_id: str) -> dict:
    def probe():
        answer = ecr.describe_replication_backfill_results(replicationBackfillId=backfill_id)
        return answer if answer["status"] not in ("PREPARING", "IN_PROGRESS", "STOPPING") else None

    return wait_for(probe)


def _configure(ecr, *destinations):
    ecr.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": list(destinations), "repositoryFilters": [{"filter": "team", "filterType": "PREFIX_MATCH"}]}]})


def test_backfill_replicates_images_pushed_before_the_rule(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    ecr.create_repository(repositoryName="team/app")
    ecr.create_repository(repositoryName="other/app")
    old = push(url, ecr, "team/app", "before-the-rule", tag="v1")
    ecr.put_image(repositoryName="team/app", imageManifest=old.manifest.decode(), imageTag="stable")
    untagged = push(url, ecr, "team/app", "untagged", tag=None)
    push(url, ecr, "other/app", "filtered-out")
    _configure(ecr, WEST)
    assert west.describe_repositories()["repositories"] == []  # the rule alone copies nothing

    started = ecr.start_replication_backfill(destination=WEST)
    assert started["status"] == "PREPARING" and started["registryId"] == SOURCE
    assert started["destination"] == WEST
    done = _ended(ecr, started["replicationBackfillId"])
    assert done["status"] == "COMPLETE" and done["endedAt"] >= done["startedAt"]
    assert done["progress"] == {"totalReplicationCount": 3, "completedReplicationCount": 3,
                                "failedReplicationCount": 0, "failureCodes": []}
    results = {(r["imageId"].get("imageTag"), r["imageId"]["imageDigest"], r["status"]) for r in done["results"]}
    assert results == {("v1", old.digest, "COMPLETE"), ("stable", old.digest, "COMPLETE"),
                       (None, untagged.digest, "COMPLETE")}
    tags = {i["imageDigest"]: sorted(i.get("imageTags", [])) for i in west.describe_images(repositoryName="team/app")["imageDetails"]}
    assert tags == {old.digest: ["stable", "v1"], untagged.digest: []}
    assert [r["repositoryName"] for r in west.describe_repositories()["repositories"]] == ["team/app"]
    statuses = ecr.describe_image_replication_status(repositoryName="team/app", imageId={"imageTag": "v1"})
    assert statuses["replicationStatuses"] == [{**WEST, "status": "COMPLETE"}]

    listed = ecr.list_replication_backfills()
    assert listed["registryId"] == SOURCE
    (summary,) = listed["backfills"]
    assert summary["replicationBackfillId"] == started["replicationBackfillId"]
    assert summary["status"] == "COMPLETE" and summary["progress"]["totalReplicationCount"] == 3

    with pytest.raises(ClientError) as excinfo:
        ecr.stop_replication_backfill(replicationBackfillId=started["replicationBackfillId"])
    assert excinfo.value.response["Error"]["Code"] == "ReplicationBackfillInvalidStatusException"


def test_backfill_failures_are_counted_with_their_codes(url, ecr):
    ecr.create_repository(repositoryName="team/app")
    push(url, ecr, "team/app", "one", tag="a")
    push(url, ecr, "team/app", "two", tag="b")
    _configure(ecr, OTHER_ACCOUNT)  # no registry policy in the other account
    backfill_id = ecr.start_replication_backfill(destination=OTHER_ACCOUNT)["replicationBackfillId"]
    done = _ended(ecr, backfill_id)
    assert done["status"] == "COMPLETE"
    assert done["progress"] == {"totalReplicationCount": 2, "completedReplicationCount": 0,
                                "failedReplicationCount": 2, "failureCodes": ["AccessDenied"]}
    failed = ecr.describe_replication_backfill_results(replicationBackfillId=backfill_id, resultStatusFilter="FAILED")
    assert {r["failureCode"] for r in failed["results"]} == {"AccessDenied"}
    assert ecr.describe_replication_backfill_results(
        replicationBackfillId=backfill_id, resultStatusFilter="COMPLETE")["results"] == []


def test_results_and_backfills_paginate(url, ecr, make_client):
    make_client("ecr", account=OTHER).put_registry_policy(policyText=replication_policy(SOURCE, OTHER, "us-east-1"))
    ecr.create_repository(repositoryName="team/app")
    for n in range(3):
        push(url, ecr, "team/app", f"page-{n}", tag=f"t{n}")
    _configure(ecr, WEST, OTHER_ACCOUNT)
    first = ecr.start_replication_backfill(destination=WEST)["replicationBackfillId"]
    second = ecr.start_replication_backfill(destination=OTHER_ACCOUNT)["replicationBackfillId"]
    _ended(ecr, first), _ended(ecr, second)
    pages = ecr.get_paginator("describe_replication_backfill_results").paginate(
        replicationBackfillId=second, PaginationConfig={"PageSize": 2})
    assert sorted(r["imageId"]["imageTag"] for page in pages for r in page["results"]) == ["t0", "t1", "t2"]
    pages = list(ecr.get_paginator("list_replication_backfills").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) == 2
    assert {b["replicationBackfillId"] for p in pages for b in p["backfills"]} == {first, second}


def test_backfill_errors(ecr):
    with pytest.raises(ClientError) as excinfo:
        ecr.start_replication_backfill(destination=WEST)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    unknown = "00000000-0000-0000-0000-000000000000"
    for call in (ecr.describe_replication_backfill_results, ecr.stop_replication_backfill):
        with pytest.raises(ClientError) as excinfo:
            call(replicationBackfillId=unknown)
        assert excinfo.value.response["Error"]["Code"] == "ReplicationBackfillNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_replication_backfill_results(replicationBackfillId="not-a-uuid")
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
