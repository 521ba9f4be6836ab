"""Lifecycle policies end to end with checked boto3 clients: the policy operations and their
errors, previews (and botocore's waiter and paginator), and runs that really expire and
archive, with the emulator's clock advanced for day-based rules."""

from __future__ import annotations

import json
import time

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image

from .test_layers import error_of, push_image

ACCOUNT = "123456789012"
DAY = 86400
SIGNATURE = "application/vnd.example.signature.v1+json"
FAST_WAITER = {"Delay": 1, "MaxAttempts": 20}


@pytest.fixture
def repo(ecr):
    ecr.create_repository(repositoryName="team/app")
    return "team/app"


def _advance(url: str, seconds: float) -> None:
    # no Content-Type on purpose: the clock endpoints read JSON whatever the type
    response = requests.post(url + "/_emulator/clock/advance", data=json.dumps({"seconds": seconds}), timeout=10)
    assert response.status_code == 200, response.text


def _run(url: str) -> list[dict]:
    response = requests.post(url + "/_emulator/lifecycle/run", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["repositories"]


def _policy(*rules: dict) -> str:
    return json.dumps({"rules": [{"rulePriority": n, **rule} for n, rule in enumerate(rules, start=1)]})


def _push(ecr, repo, seed: str, *tags: str, subject=None, artifact_type=None):
    image = make_image(seed, layers=1, layer_bytes=64, subject=subject, artifact_type=artifact_type)
    push_image(ecr, repo, image, tags[0] if tags else None)
    for tag in tags[1:]:
        ecr.put_image(repositoryName=repo, imageManifest=image.manifest.decode(), imageTag=tag)
    return image


def _remaining(ecr, repo, status: str = "ANY") -> dict[str, tuple[str, list[str]]]:
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repo, filter={"imageStatus": status})
    return {d["imageDigest"]: (d["imageStatus"], sorted(d.get("imageTags", [])))
            for page in pages for d in page["imageDetails"]}


def _preview(ecr, repo, **kwargs) -> dict:
    ecr.start_lifecycle_policy_preview(repositoryName=repo, **kwargs)
    ecr.get_waiter("lifecycle_policy_preview_complete").wait(repositoryName=repo, WaiterConfig=FAST_WAITER)
    pages = list(ecr.get_paginator("get_lifecycle_policy_preview").paginate(
        repositoryName=repo, PaginationConfig={"PageSize": 3}))
    results = [r for page in pages for r in page["previewResults"]]
    return {"status": pages[0]["status"], "summary": pages[0]["summary"], "results": results}


# -- the policy itself ------------------------------------------------------------------------

UNTAGGED_TWO = _policy({"description": "two untagged at most", "selection": {
    "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 2}, "action": {"type": "expire"}})


def test_get_and_delete_answer_last_evaluated_at_epoch_zero_before_any_run(ecr, repo):
    """As the AWS CLI's example for delete-lifecycle-policy shows ("lastEvaluatedAt": 0.0)."""
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=UNTAGGED_TWO)
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"].timestamp() == 0
    assert ecr.delete_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"].timestamp() == 0


def test_put_get_delete_lifecycle_policy(ecr, repo, url):
    put = ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=UNTAGGED_TWO)
    put.pop("ResponseMetadata")
    assert put == {"registryId": ACCOUNT, "repositoryName": repo, "lifecyclePolicyText": UNTAGGED_TWO}
    got = ecr.get_lifecycle_policy(repositoryName=repo)
    # AWS answers lastEvaluatedAt always: epoch 0 before the first evaluation
    assert got["lifecyclePolicyText"] == UNTAGGED_TWO and got["lastEvaluatedAt"].timestamp() == 0
    _run(url)
    evaluated = ecr.get_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"]
    deleted = ecr.delete_lifecycle_policy(repositoryName=repo)
    assert deleted["lifecyclePolicyText"] == UNTAGGED_TWO and deleted["lastEvaluatedAt"] == evaluated
    for call in (ecr.get_lifecycle_policy, ecr.delete_lifecycle_policy, ecr.start_lifecycle_policy_preview):
        with pytest.raises(ClientError) as info:
            call(repositoryName=repo)
        assert error_of(info) == {
            "Code": "LifecyclePolicyNotFoundException",
            "Message": f"Lifecycle policy does not exist for the repository with name '{repo}' in the registry "
                       f"with id '{ACCOUNT}'"}


def test_lifecycle_operations_on_a_missing_repository(ecr):
    with pytest.raises(ClientError) as info:
        ecr.put_lifecycle_policy(repositoryName="nope", lifecyclePolicyText=UNTAGGED_TWO)
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


@pytest.mark.parametrize("text, detail", [
    ('{"rules": [' + " " * 100 + "]", "Could not map policyString into LifecyclePolicy."),
    (_policy({"selection": {"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1},
              "action": {"type": "expire"}}),
     "The rule with rulePriority 1 has tagStatus 'tagged' and must specify tagPrefixList or tagPatternList"),
    (_policy({"selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 14},
              "action": {"type": "expire"}}),
     "instance failed to match exactly one schema (matched 0 out of 2)"),
    (_policy({"selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
              "action": {"type": "expire"}},
             {"selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
              "action": {"type": "expire"}}),
     "The rule with rulePriority 1 has tagStatus 'any' and must have the highest rulePriority of the rules for the "
     "standard storage class"),
])
def test_a_bad_policy_is_refused_with_ecrs_error(ecr, repo, text, detail):
    for call in (ecr.put_lifecycle_policy, ecr.start_lifecycle_policy_preview):
        with pytest.raises(ClientError) as info:
            call(repositoryName=repo, lifecyclePolicyText=text)
        assert error_of(info) == {
            "Code": "InvalidParameterException",
            "Message": "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                       f"'Lifecycle policy validation failure: {detail}'"}
    with pytest.raises(ClientError):
        ecr.get_lifecycle_policy(repositoryName=repo)


def test_no_preview_yet(ecr, repo):
    with pytest.raises(ClientError) as info:
        ecr.get_lifecycle_policy_preview(repositoryName=repo)
    assert error_of(info)["Code"] == "LifecyclePolicyPreviewNotFoundException"


# -- several rules over many images: preview, then a run ----------------------------------------

def test_preview_then_run_with_several_rules_and_the_clock(ecr, repo, url):
    """Ten days of pushes, then a policy of four rules; the preview predicts, the run does."""
    pushed = {}
    for day in range(10):
        pushed[f"prod-{day}"] = _push(ecr, repo, f"prod-{day}", f"prod-{day}", *(["latest"] if day == 9 else []))
        pushed[f"feature-{day}"] = _push(ecr, repo, f"feature-{day}", f"feature-x-{day}")
        pushed[f"scratch-{day}"] = _push(ecr, repo, f"scratch-{day}")  # untagged
        if day in (0, 9):
            pushed[f"misc-{day}"] = _push(ecr, repo, f"misc-{day}", f"misc-{day}")
        _advance(url, DAY)
    signature = _push(ecr, repo, "sig-feature-0", subject=pushed["feature-0"].descriptor(),
                      artifact_type=SIGNATURE)
    _advance(url, DAY / 2)  # now: day 10.5, so no image is exactly N days old
    policy = _policy(
        {"description": "keep the three newest prod images",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["prod-*"], "countType": "imageCountMoreThan",
                       "countNumber": 3}, "action": {"type": "expire"}},
        {"description": "archive feature builds after a week",
         "selection": {"tagStatus": "tagged", "tagPrefixList": ["feature"], "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": 7},
         "action": {"type": "transition", "targetStorageClass": "archive"}},
        {"description": "untagged: five at most",
         "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
         "action": {"type": "expire"}},
        {"description": "anything else older than 8 days",
         "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 8},
         "action": {"type": "expire"}},
    )
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=policy)
    preview = _preview(ecr, repo)

    expire = {pushed[f"prod-{d}"].digest: 1 for d in range(7)}  # keeps prod-7..9
    archive = {pushed[f"feature-{d}"].digest: 2 for d in range(4)}  # 10.5..7.5 days old
    archive[signature.digest] = 2  # goes to the archive with its subject
    # the signature is the newest untagged image: it and scratch-9..6 are the five kept
    expire.update({pushed[f"scratch-{d}"].digest: 3 for d in range(6)})
    # rule 4 would take every image older than 8 days, but rules 1-3 matched all of them
    # except misc-0
    expire[pushed["misc-0"].digest] = 4
    assert preview["status"] == "COMPLETE"
    got = {r["imageDigest"]: (r["action"], r["appliedRulePriority"], r["storageClass"]) for r in preview["results"]}
    assert got == {
        **{d: ({"type": "EXPIRE"}, p, "STANDARD") for d, p in expire.items()},
        **{d: ({"type": "TRANSITION", "targetStorageClass": "ARCHIVE"}, p, "STANDARD") for d, p in archive.items()},
    }
    assert preview["summary"] == {"expiringImageTotalCount": 14,
                                  "transitioningImageTotalCounts": [{"targetStorageClass": "ARCHIVE",
                                                                     "imageTotalCount": 5}]}
    oldest_first = [r["imagePushedAt"] for r in preview["results"]]
    assert oldest_first == sorted(oldest_first)
    feature_0 = next(r for r in preview["results"] if r["imageDigest"] == pushed["feature-0"].digest)
    assert feature_0["imageTags"] == ["feature-x-0"]
    # the filters of GetLifecyclePolicyPreview
    only = ecr.get_lifecycle_policy_preview(repositoryName=repo, imageIds=[{"imageTag": "prod-0"}])
    assert [r["imageDigest"] for r in only["previewResults"]] == [pushed["prod-0"].digest]
    untagged = ecr.get_lifecycle_policy_preview(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})
    assert {r["imageDigest"] for r in untagged["previewResults"]} == {
        *(pushed[f"scratch-{d}"].digest for d in range(6)), signature.digest}

    # a run does what the preview said, and nothing else
    before = _remaining(ecr, repo)
    summary = _run(url)
    assert summary == [{"registryId": ACCOUNT, "region": "us-east-1", "repositoryName": repo,
                        "expired": [d for d in got if d in expire], "transitioned": [d for d in got if d in archive]}]
    after = _remaining(ecr, repo)
    assert set(after) == set(before) - set(expire)
    assert {d for d, (status, _) in after.items() if status == "ARCHIVED"} == set(archive)
    assert set(_remaining(ecr, repo, "ACTIVE")) == set(after) - set(archive)
    assert set(_remaining(ecr, repo, "ARCHIVED")) == set(archive)
    assert ecr.get_lifecycle_policy(repositoryName=repo)["lastEvaluatedAt"]

    # two days later rule 2 archives the feature builds that are now older than a week
    _advance(url, 2 * DAY)
    _run(url)
    left = _remaining(ecr, repo)
    assert set(left) == set(after)
    assert {d for d, (status, _) in left.items() if status == "ARCHIVED"} == {
        *archive, pushed["feature-4"].digest, pushed["feature-5"].digest}


def test_a_run_expires_referrers_with_their_subject_and_pulls_reset_the_age(ecr, repo, url):
    old = _push(ecr, repo, "old", "old")
    pulled = _push(ecr, repo, "pulled", "pulled")
    sbom = _push(ecr, repo, "sbom", subject=old.descriptor(), artifact_type="application/spdx+json")
    _advance(url, 20 * DAY)
    ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "pulled"}])
    _advance(url, 20 * DAY)
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=_policy(
        {"selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "sinceImagePulled",
                       "countUnit": "days", "countNumber": 30}, "action": {"type": "expire"}}))
    _run(url)
    assert set(_remaining(ecr, repo)) == {pulled.digest}
    assert sbom.digest not in _remaining(ecr, repo)


def test_archived_images_expire_by_time_in_the_archive(ecr, repo, url):
    image = _push(ecr, repo, "a", "a")
    ecr.update_image_storage_class(repositoryName=repo, imageId={"imageTag": "a"}, targetStorageClass="ARCHIVE")
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=_policy(
        {"selection": {"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned",
                       "countUnit": "days", "countNumber": 90}, "action": {"type": "expire"}}))
    _advance(url, 89 * DAY)
    assert _preview(ecr, repo)["results"] == []
    _run(url)
    assert set(_remaining(ecr, repo)) == {image.digest}
    _advance(url, 2 * DAY)
    preview = _preview(ecr, repo)
    assert [(r["imageDigest"], r["storageClass"]) for r in preview["results"]] == [(image.digest, "ARCHIVE")]
    _run(url)
    assert _remaining(ecr, repo) == {}


def test_preview_of_a_text_not_yet_put_leaves_the_policy_alone(ecr, repo):
    _push(ecr, repo, "one")
    _push(ecr, repo, "two")
    _push(ecr, repo, "three")
    preview = _preview(ecr, repo, lifecyclePolicyText=_policy(
        {"selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
         "action": {"type": "expire"}}))
    assert preview["summary"]["expiringImageTotalCount"] == 2
    assert "transitioningImageTotalCounts" not in preview["summary"]
    with pytest.raises(ClientError):
        ecr.get_lifecycle_policy(repositoryName=repo)
    assert len(_remaining(ecr, repo)) == 3


# -- periodic runs -----------------------------------------------------------------------------

def test_policies_run_every_lifecycle_interval():
    with ServerProcess("--no-access-log", "--lifecycle-interval", "0.5") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName="tick")
        for seed in ("a", "b", "c"):
            _push(ecr, "tick", seed)
        ecr.put_lifecycle_policy(repositoryName="tick", lifecyclePolicyText=UNTAGGED_TWO)
        deadline = time.monotonic() + 20
        while len(_remaining(ecr, "tick")) > 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_remaining(ecr, "tick")) == 2
        assert ecr.get_lifecycle_policy(repositoryName="tick")["lastEvaluatedAt"]
