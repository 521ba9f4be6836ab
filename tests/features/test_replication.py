"""Replication with boto3 and the registry API: PutReplicationConfiguration's validation,
DescribeRegistry, images copied cross-region and cross-account (registry policy checked),
repository filters, immutable destinations, indexes and referrers, no chaining."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.testing.synthetic import make_image, make_index

from ..registry.client import Registry, authorization_token
from .helpers import OTHER, SOURCE, push, replication_policy, settled_statuses, wait_for

WEST = {"region": "us-west-2", "registryId": SOURCE}
OTHER_ACCOUNT = {"region": "us-east-1", "registryId": OTHER}


def _configure(ecr, *destinations, filters=None):
    rule = {"destinations": list(destinations)}
    if filters is not None:
        rule["repositoryFilters"] = [{"filter": f, "filterType": "PREFIX_MATCH"} for f in filters]
    return ecr.put_replication_configuration(replicationConfiguration={"rules": [rule]})


def _error(excinfo) -> tuple[str, str]:
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


# -- configuration -------------------------------------------------------------------------

def test_configuration_is_stored_and_shown_by_describe_registry(ecr):
    assert ecr.describe_registry()["replicationConfiguration"] == {"rules": []}
    answer = _configure(ecr, WEST, OTHER_ACCOUNT, filters=["team"])
    rule = {"destinations": [WEST, OTHER_ACCOUNT],
            "repositoryFilters": [{"filter": "team", "filterType": "PREFIX_MATCH"}]}
    assert answer["replicationConfiguration"] == {"rules": [rule]}
    registry = ecr.describe_registry()
    assert registry["registryId"] == SOURCE
    assert registry["replicationConfiguration"] == {"rules": [rule]}
    ecr.put_replication_configuration(replicationConfiguration={"rules": []})
    assert ecr.describe_registry()["replicationConfiguration"] == {"rules": []}


def test_a_destination_equal_to_the_source_is_refused(ecr):
    with pytest.raises(ClientError) as excinfo:
        _configure(ecr, WEST, {"region": "us-east-1", "registryId": SOURCE})
    assert _error(excinfo) == (
        "InvalidParameterException",
        "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
        "'Replication destination cannot be the same as the source registry'")
    assert ecr.describe_registry()["replicationConfiguration"] == {"rules": []}


def test_limits_on_rules_and_destinations(ecr):
    rules = [{"destinations": [WEST]} for _ in range(11)]
    with pytest.raises(ClientError) as excinfo:
        ecr.put_replication_configuration(replicationConfiguration={"rules": rules})
    assert _error(excinfo)[0] == "InvalidParameterException"
    destinations = [{"region": "us-west-2", "registryId": f"{n:012d}"} for n in range(1, 27)]
    with pytest.raises(ClientError) as excinfo:
        ecr.put_replication_configuration(replicationConfiguration={"rules": [{"destinations": destinations}]})
    assert _error(excinfo)[0] == "InvalidParameterException"
    assert "25 unique destinations" in _error(excinfo)[1]


@pytest.mark.parametrize("bad", [
    {"rules": [{"destinations": [{"region": "us_west_2", "registryId": SOURCE}]}]},
    {"rules": [{"destinations": [{"region": "us-west-2", "registryId": "12345"}]}]},
    {"rules": [{"destinations": [WEST], "repositoryFilters": [{"filter": "Team", "filterType": "PREFIX_MATCH"}]}]},
    {"rules": [{"destinations": [WEST], "repositoryFilters": [{"filter": "team", "filterType": "WILDCARD"}]}]},
])
def test_malformed_rules_are_refused_naming_the_member(ecr, bad):
    with pytest.raises(ClientError) as excinfo:
        ecr.put_replication_configuration(replicationConfiguration=bad)
    code, message = _error(excinfo)
    assert code == "InvalidParameterException"
    assert message.startswith("Invalid parameter at 'replicationConfiguration.rules"), message


# -- replication -----------------------------------------------------------------------------

def test_push_replicates_cross_region_and_cross_account(url, ecr, make_client):
    other = make_client("ecr", account=OTHER)
    other.put_registry_policy(policyText=replication_policy(SOURCE, OTHER, "us-east-1"))
    west = make_client("ecr", region="us-west-2")
    ecr.create_repository(repositoryName="team/app", imageTagMutability="IMMUTABLE", imageScanningConfiguration={"scanOnPush": True})
    _configure(ecr, WEST, OTHER_ACCOUNT)

    image = push(url, ecr, "team/app", "replicated")
    statuses = settled_statuses(ecr, "team/app", {"imageTag": "v1"})
    assert sorted(statuses, key=lambda s: s["region"]) == [
        {"region": "us-east-1", "registryId": OTHER, "status": "COMPLETE"},
        {"region": "us-west-2", "registryId": SOURCE, "status": "COMPLETE"},
    ]
    for client in (west, other):
        repo = client.describe_repositories(repositoryNames=["team/app"])["repositories"][0]
        # created by ECR with its defaults (settings of the source are not replicated)
        assert repo["imageTagMutability"] == "MUTABLE"
        assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
        (got,) = client.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])["images"]
        assert got["imageId"]["imageDigest"] == image.digest
        assert got["imageManifest"].encode() == image.manifest
        # the layers are there too: the registry serves them to the destination's own token
        registry = Registry(url, authorization_token(client))
        for digest, data in image.blobs.items():
            assert registry.get(f"/v2/team/app/blobs/{digest}").content == data
    # a replica does not replicate again, and reports no statuses of its own
    assert west.describe_image_replication_status(
        repositoryName="team/app", imageId={"imageTag": "v1"})["replicationStatuses"] == []


def test_cross_account_without_the_destination_policy_fails(url, ecr, make_client):
    other = make_client("ecr", account=OTHER)
    ecr.create_repository(repositoryName="team/app")
    _configure(ecr, OTHER_ACCOUNT)
    push(url, ecr, "team/app", "denied")
    (status,) = settled_statuses(ecr, "team/app", {"imageTag": "v1"})
    assert status == {"region": "us-east-1", "registryId": OTHER, "status": "FAILED", "failureCode": "AccessDenied"}
    assert other.describe_repositories()["repositories"] == []


def test_cross_account_needs_create_repository_only_when_the_repository_is_missing(url, ecr, make_client):
    other = make_client("ecr", account=OTHER)
    other.put_registry_policy(policyText=replication_policy(SOURCE, OTHER, "us-east-1", ["ecr:ReplicateImage"]))
    ecr.create_repository(repositoryName="team/app")
    ecr.create_repository(repositoryName="team/ready")
    other.create_repository(repositoryName="team/ready")
    _configure(ecr, OTHER_ACCOUNT)
    push(url, ecr, "team/app", "missing-repo")
    image = push(url, ecr, "team/ready", "existing-repo")
    assert settled_statuses(ecr, "team/app", {"imageTag": "v1"})[0]["failureCode"] == "AccessDenied"
    assert settled_statuses(ecr, "team/ready", {"imageTag": "v1"})[0]["status"] == "COMPLETE"
    ids = other.list_images(repositoryName="team/ready")["imageIds"]
    assert ids == [{"imageDigest": image.digest, "imageTag": "v1"}]


def test_repository_filters_choose_what_replicates(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    for name in ("team/app", "teammate", "other/app"):
        ecr.create_repository(repositoryName=name)
    _configure(ecr, WEST, filters=["team"])
    for name in ("team/app", "teammate", "other/app"):
        push(url, ecr, name, name)
    settled_statuses(ecr, "team/app", {"imageTag": "v1"})
    settled_statuses(ecr, "teammate", {"imageTag": "v1"})
    assert ecr.describe_image_replication_status(
        repositoryName="other/app", imageId={"imageTag": "v1"})["replicationStatuses"] == []
    names = sorted(r["repositoryName"] for r in west.describe_repositories()["repositories"])
    assert names == ["team/app", "teammate"]  # a prefix of the name, not of a path segment


def test_an_immutable_destination_keeps_its_tag(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    west.create_repository(repositoryName="team/app", imageTagMutability="IMMUTABLE")
    theirs = push(url, west, "team/app", "theirs")
    ecr.create_repository(repositoryName="team/app")
    _configure(ecr, WEST)
    ours = push(url, ecr, "team/app", "ours")
    assert settled_statuses(ecr, "team/app", {"imageTag": "v1"})[0]["status"] == "COMPLETE"
    images = {i["imageDigest"]: i.get("imageTags") for i in west.describe_images(repositoryName="team/app")["imageDetails"]}
    assert images == {theirs.digest: ["v1"], ours.digest: None}


def test_a_moved_tag_moves_in_the_destination(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    ecr.create_repository(repositoryName="team/app")
    _configure(ecr, WEST)
    push(url, ecr, "team/app", "first")
    settled_statuses(ecr, "team/app", {"imageTag": "v1"})
    second = push(url, ecr, "team/app", "second")
    settled_statuses(ecr, "team/app", {"imageTag": "v1"})
    (got,) = west.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])["images"]
    assert got["imageId"]["imageDigest"] == second.digest


def test_an_index_replicates_with_its_children_and_referrers(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    ecr.create_repository(repositoryName="team/multi")
    _configure(ecr, WEST)
    amd, arm = make_image("idx-amd"), make_image("idx-arm")
    index = make_index([amd, arm], [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}])
    registry = Registry(url, authorization_token(ecr))
    registry.push_image("team/multi", index, tag="v1")
    sbom = make_image("sbom", layers=1)
    manifest = json.loads(sbom.manifest)
    manifest.update(artifactType="application/spdx+json",
                    subject={"mediaType": index.media_type, "digest": index.digest, "size": len(index.manifest)})
    referrer = json.dumps(manifest).encode()
    for data in sbom.blobs.values():
        registry.push_blob("team/multi", data)
    assert registry.put_manifest("team/multi", "sha256:" + __import__("hashlib").sha256(referrer).hexdigest(),
                                 referrer, sbom.media_type).status_code == 201
    assert settled_statuses(ecr, "team/multi", {"imageTag": "v1"})[0]["status"] == "COMPLETE"

    def replicated():
        digests = {i["imageDigest"] for i in west.list_images(repositoryName="team/multi")["imageIds"]}
        return digests if len(digests) == 4 else None

    assert wait_for(replicated) == {index.digest, amd.digest, arm.digest,
                                   "sha256:" + __import__("hashlib").sha256(referrer).hexdigest()}
    referrers = west.list_image_referrers(repositoryName="team/multi", subjectId={"imageDigest": index.digest})
    assert [r["artifactType"] for r in referrers["referrers"]] == ["application/spdx+json"]


def test_replicas_do_not_chain(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    west.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": [{"region": "eu-west-1", "registryId": SOURCE}]}]})
    ecr.create_repository(repositoryName="team/app")
    _configure(ecr, WEST)
    push(url, ecr, "team/app", "one-hop")
    settled_statuses(ecr, "team/app", {"imageTag": "v1"})
    assert make_client("ecr", region="eu-west-1").describe_repositories()["repositories"] == []


def test_replication_status_errors(ecr):
    ecr.create_repository(repositoryName="team/app")
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_image_replication_status(repositoryName="team/app", imageId={"imageTag": "nope"})
    assert _error(excinfo)[0] == "ImageNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_image_replication_status(repositoryName="team/none", imageId={"imageTag": "v1"})
    assert _error(excinfo)[0] == "RepositoryNotFoundException"


def test_delete_replication_removes_tags_and_images_in_the_destination(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    ecr.create_repository(repositoryName="team/app")
    ecr.create_repository(repositoryName="team/keep")
    ecr.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": [WEST], "repositoryFilters": [{"filter": "team/app", "filterType": "PREFIX_MATCH"}],
         "deleteReplication": {"enabled": True}},
        {"destinations": [WEST], "repositoryFilters": [{"filter": "team/keep", "filterType": "PREFIX_MATCH"}]},
    ]})
    assert ecr.describe_registry()["replicationConfiguration"]["rules"][0]["deleteReplication"] == {"enabled": True}
    image = push(url, ecr, "team/app", "deleted")
    ecr.put_image(repositoryName="team/app", imageManifest=image.manifest.decode(), imageTag="v2")
    kept = push(url, ecr, "team/keep", "kept")
    settled_statuses(ecr, "team/app", {"imageTag": "v2"})
    settled_statuses(ecr, "team/keep", {"imageTag": "v1"})

    def west_ids(name):
        return west.list_images(repositoryName=name)["imageIds"]

    wait_for(lambda: len(west_ids("team/app")) == 2)
    ecr.batch_delete_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])  # a tag removal
    assert wait_for(lambda: (ids := west_ids("team/app")) == [{"imageDigest": image.digest, "imageTag": "v2"}] and ids)
    ecr.batch_delete_image(repositoryName="team/app", imageIds=[{"imageDigest": image.digest}])  # a deletion
    wait_for(lambda: west_ids("team/app") == [])
    ecr.batch_delete_image(repositoryName="team/keep", imageIds=[{"imageDigest": kept.digest}])
    # without deleteReplication the replica stays (the deletion left nothing queued for it)
    assert west_ids("team/keep") == [{"imageDigest": kept.digest, "imageTag": "v1"}]


def test_a_destination_repository_is_created_with_the_replication_template(url, ecr, make_client):
    """The destination region's REPLICATION creation template shapes the repository ECR creates;
    a PULL_THROUGH_CACHE-only template does not."""
    west = make_client("ecr", region="us-west-2")
    west.create_repository_creation_template(
        prefix="team", appliedFor=["REPLICATION"], imageTagMutability="IMMUTABLE",
        resourceTags=[{"Key": "origin", "Value": "replica"}],
        customRoleArn=f"arn:aws:iam::{SOURCE}:role/ecr-templates")
    west.create_repository_creation_template(prefix="ROOT", appliedFor=["PULL_THROUGH_CACHE"],
                                             imageTagMutability="IMMUTABLE")
    ecr.create_repository(repositoryName="team/app")
    ecr.create_repository(repositoryName="other/app")
    _configure(ecr, WEST)
    push(url, ecr, "team/app", "templated")
    push(url, ecr, "other/app", "untemplated")
    settled_statuses(ecr, "team/app", {"imageTag": "v1"})
    settled_statuses(ecr, "other/app", {"imageTag": "v1"})
    repos = {r["repositoryName"]: r for r in west.describe_repositories()["repositories"]}
    assert repos["team/app"]["imageTagMutability"] == "IMMUTABLE"
    assert west.list_tags_for_resource(resourceArn=repos["team/app"]["repositoryArn"])["tags"] == [
        {"Key": "origin", "Value": "replica"}]
    assert repos["other/app"]["imageTagMutability"] == "MUTABLE"
