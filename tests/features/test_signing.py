"""Managed signing: the configuration's validation, the offline signer signing what a rule
matches, the signature as an OCI referrer (ListImageReferrers and the referrers API), and
DescribeImageSigningStatus."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.features.signing.signer import NOTATION_SIGNATURE, PROFILE_ANNOTATION, verify

from ..registry.client import Registry, authorization_token
from .helpers import push, settled_statuses

PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/ci_profile"
OTHER_PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release_profile"


def _configure(ecr, *rules):
    return ecr.put_signing_configuration(signingConfiguration={"rules": list(rules)})


def test_configuration_put_get_delete(ecr):
    with pytest.raises(ClientError) as excinfo:
        ecr.get_signing_configuration()
    assert excinfo.value.response["Error"]["Code"] == "SigningConfigurationNotFoundException"
    rule = {"signingProfileArn": PROFILE, "repositoryFilters": [{"filter": "team/*", "filterType": "WILDCARD_MATCH"}]}
    assert _configure(ecr, rule)["signingConfiguration"] == {"rules": [rule]}
    got = ecr.get_signing_configuration()
    assert (got["registryId"], got["signingConfiguration"]) == ("123456789012", {"rules": [rule]})
    deleted = ecr.delete_signing_configuration()
    assert deleted["signingConfiguration"] == {"rules": [rule]}
    with pytest.raises(ClientError) as excinfo:
        ecr.delete_signing_configuration()
    assert excinfo.value.response["Error"]["Code"] == "SigningConfigurationNotFoundException"


@pytest.mark.parametrize("rule", [
    {"signingProfileArn": "arn:aws:signer:us-east-1:123456789012:signing-profiles/x"},
    {"signingProfileArn": "arn:aws:kms:us-east-1:123456789012:/signing-profiles/ci_profile"},
    {"signingProfileArn": PROFILE, "repositoryFilters": [{"filter": "Team/*", "filterType": "WILDCARD_MATCH"}]},
    {"signingProfileArn": PROFILE, "repositoryFilters": [{"filter": "team", "filterType": "PREFIX_MATCH"}]},
])
def test_invalid_rules_are_refused(ecr, rule):
    with pytest.raises(ClientError) as excinfo:
        _configure(ecr, rule)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "signingConfiguration.rules" in excinfo.value.response["Error"]["Message"]


def test_too_many_rules(ecr):
    with pytest.raises(ClientError) as excinfo:
        _configure(ecr, *[{"signingProfileArn": PROFILE}] * 11)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_matching_push_is_signed_and_the_signature_is_a_referrer(url, ecr):
    ecr.create_repository(repositoryName="team/app")
    ecr.create_repository(repositoryName="other/app")
    _configure(ecr, {"signingProfileArn": PROFILE, "repositoryFilters": [{"filter": "team/*", "filterType": "WILDCARD_MATCH"}]},
               {"signingProfileArn": OTHER_PROFILE})
    image = push(url, ecr, "team/app", "signed")
    statuses = settled_statuses(ecr, "team/app", {"imageTag": "v1"}, key="signingStatuses")
    assert sorted(statuses, key=lambda s: s["signingProfileArn"]) == [
        {"signingProfileArn": PROFILE, "status": "COMPLETE"},
        {"signingProfileArn": OTHER_PROFILE, "status": "COMPLETE"},
    ]
    # only the rule without filters matches other/app
    push(url, ecr, "other/app", "signed-once")
    assert [s["signingProfileArn"] for s in settled_statuses(
        ecr, "other/app", {"imageTag": "v1"}, key="signingStatuses")] == [OTHER_PROFILE]

    referrers = ecr.list_image_referrers(repositoryName="team/app", subjectId={"imageDigest": image.digest})["referrers"]
    assert len(referrers) == 2
    assert {r["artifactType"] for r in referrers} == {NOTATION_SIGNATURE}
    registry = Registry(url, authorization_token(ecr))
    index = registry.get(f"/v2/team/app/referrers/{image.digest}?artifactType={NOTATION_SIGNATURE}").json()
    assert {m["digest"] for m in index["manifests"]} == {r["digest"] for r in referrers}
    profiles = set()
    for descriptor in index["manifests"]:
        manifest = registry.get(f"/v2/team/app/manifests/{descriptor['digest']}",
                                headers={"Accept": descriptor["mediaType"]}).json()
        assert manifest["subject"]["digest"] == image.digest
        profiles.add(manifest["annotations"][PROFILE_ANNOTATION])
        (layer,) = manifest["layers"]
        assert layer["mediaType"] == "application/jose+json"
        envelope = registry.get(f"/v2/team/app/blobs/{layer['digest']}").content
        payload = verify(envelope)  # the JWS verifies against the certificate it carries
        assert payload["targetArtifact"]["digest"] == image.digest
        tampered = json.loads(envelope)
        tampered["payload"] = base64.urlsafe_b64encode(b'{"targetArtifact":{}}').rstrip(b"=").decode()
        with pytest.raises(ValueError):
            verify(json.dumps(tampered).encode())
    assert profiles == {PROFILE, OTHER_PROFILE}
    # signatures are not signed in turn
    for referrer in referrers:
        assert ecr.describe_image_signing_status(
            repositoryName="team/app", imageId={"imageDigest": referrer["digest"]})["signingStatuses"] == []


def test_unmatched_and_unconfigured_images_have_no_status(url, ecr):
    ecr.create_repository(repositoryName="team/app")
    push(url, ecr, "team/app", "unsigned")
    answer = ecr.describe_image_signing_status(repositoryName="team/app", imageId={"imageTag": "v1"})
    assert answer["signingStatuses"] == [] and answer["registryId"] == "123456789012"
    assert ecr.list_image_referrers(repositoryName="team/app",
                                    subjectId={"imageDigest": answer["imageId"]["imageDigest"]})["referrers"] == []
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_image_signing_status(repositoryName="team/app", imageId={"imageTag": "v2"})
    assert excinfo.value.response["Error"]["Code"] == "ImageNotFoundException"


def test_signatures_replicate_with_their_image(url, ecr, make_client):
    west = make_client("ecr", region="us-west-2")
    ecr.create_repository(repositoryName="team/app")
    _configure(ecr, {"signingProfileArn": PROFILE})
    ecr.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": [{"region": "us-west-2", "registryId": "123456789012"}]}]})
    image = push(url, ecr, "team/app", "signed-and-replicated")
    settled_statuses(ecr, "team/app", {"imageTag": "v1"}, key="signingStatuses")
    (signature,) = ecr.list_image_referrers(repositoryName="team/app",
                                            subjectId={"imageDigest": image.digest})["referrers"]
    assert settled_statuses(ecr, "team/app", {"imageDigest": signature["digest"]})[0]["status"] == "COMPLETE"
    replicated = west.list_image_referrers(repositoryName="team/app", subjectId={"imageDigest": image.digest})
    assert [r["digest"] for r in replicated["referrers"]] == [signature["digest"]]
    # the replica is not signed again in the destination
    assert west.describe_image_signing_status(repositoryName="team/app",
                                              imageId={"imageTag": "v1"})["signingStatuses"] == []
