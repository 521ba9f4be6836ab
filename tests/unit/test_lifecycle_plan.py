"""The lifecycle plan on in-memory repositories: ECR's documented evaluation examples, counts,
ages, storage classes, and what goes with an image (referrers, index children)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ecr_emulator.lifecycle.plan import EXPIRE, TRANSITION, plan
from ecr_emulator.lifecycle.policy import parse
from ecr_emulator.store.archive import archive
from ecr_emulator.store.model import Image, Repository

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def _repo(*images: Image) -> Repository:
    repo = Repository("app", "123456789012", "us-east-1", "private", NOW)
    for image in images:
        repo.images[image.digest] = image
        for tag in image.tags:
            repo.tag_index[tag] = image.digest
    return repo


def _image(name: str, *tags: str, age: timedelta, pulled: timedelta | None = None, **kw) -> Image:
    return Image(digest=f"sha256:{name}", manifest=b"{}", media_type="application/vnd.oci.image.manifest.v1+json",
                 pushed_at=NOW - age, size=1, tags=list(tags),
                 last_pulled_at=NOW - pulled if pulled is not None else None, **kw)


def _policy(*rules: dict) -> list:
    full = []
    for priority, (selection, action) in enumerate(rules, start=1):
        full.append({"rulePriority": priority, "selection": selection, "action": action})
    return parse(json.dumps({"rules": full}))


def _acted(repo, rules, now=NOW) -> dict[str, tuple[str, int]]:
    return {d.image.digest.split(":")[1]: (d.action, d.rule.priority) for d in plan(repo, rules, now)}


EXPIRE_ACTION = {"type": "expire"}


def _count(tag_status: str, n: int, **extra) -> dict:
    return {"tagStatus": tag_status, "countType": "imageCountMoreThan", "countNumber": n, **extra}


def _days(tag_status: str, n: int, count_type: str = "sinceImagePushed", **extra) -> dict:
    return {"tagStatus": tag_status, "countType": count_type, "countUnit": "days", "countNumber": n, **extra}


def test_user_guide_example_a_higher_rule_protects_what_its_tags_match():
    # ECR user guide, "Filtering on multiple rules", example A: only image A expires
    a = _image("a", "beta-1", "prod-1", age=timedelta(minutes=10))
    b = _image("b", "beta-2", "prod-2", age=timedelta(minutes=9))
    c = _image("c", "beta-3", age=timedelta(minutes=8))
    rules = _policy((_count("tagged", 1, tagPrefixList=["prod"]), EXPIRE_ACTION),
                    (_count("tagged", 1, tagPrefixList=["beta"]), EXPIRE_ACTION))
    assert _acted(_repo(a, b, c), rules) == {"a": (EXPIRE, 1)}


def test_user_guide_example_b_every_prefix_must_match_a_tag():
    a = _image("a", "beta-1", "prod-1", age=timedelta(minutes=10))
    b = _image("b", "beta-2", "prod-2", age=timedelta(minutes=9))
    c = _image("c", "beta-3", "prod-3", age=timedelta(minutes=8))
    rules = _policy((_count("tagged", 1, tagPrefixList=["beta", "prod"]), EXPIRE_ACTION),
                    (_count("tagged", 1, tagPrefixList=["beta"]), EXPIRE_ACTION))
    assert _acted(_repo(a, b, c), rules) == {"a": (EXPIRE, 1), "b": (EXPIRE, 1)}


def test_patterns_match_whole_tags_with_wildcards():
    images = [_image(f"i{n}", tag, age=timedelta(days=n)) for n, tag in
              enumerate(["prod-1", "prod-2-rc", "production", "preprod-1", "dev"], start=1)]
    rules = _policy((_days("tagged", 0 + 1, tagPatternList=["prod-*"]), EXPIRE_ACTION))
    # pushed more than one day ago and a tag matching prod-* entirely: i2 (prod-2-rc) only;
    # i1 is exactly one day old (not more)
    assert _acted(_repo(*images), rules) == {"i2": (EXPIRE, 1)}


def test_untagged_and_any_rules_with_ages_and_counts():
    keep = _image("keep", "release-1", age=timedelta(days=40))
    old_untagged = _image("u1", age=timedelta(days=20))
    new_untagged = _image("u2", age=timedelta(days=2))
    old_tagged = _image("t1", "feature-x", age=timedelta(days=31))
    new_tagged = _image("t2", "feature-y", age=timedelta(days=3))
    rules = _policy((_count("tagged", 5, tagPatternList=["release-*"]), EXPIRE_ACTION),
                    (_days("untagged", 7), EXPIRE_ACTION),
                    (_days("any", 30), EXPIRE_ACTION))
    repo = _repo(keep, old_untagged, new_untagged, old_tagged, new_tagged)
    # "keep" is older than 30 days but the release rule (priority 1) matched it
    assert _acted(repo, rules) == {"u1": (EXPIRE, 2), "t1": (EXPIRE, 3)}


def test_image_count_keeps_the_newest_and_counts_images_a_higher_rule_took():
    images = [_image(f"v{n}", f"v{n}", age=timedelta(hours=10 - n)) for n in range(6)]
    rules = _policy((_count("tagged", 1, tagPatternList=["v0"]), EXPIRE_ACTION),
                    (_count("tagged", 3, tagPrefixList=["v"]), EXPIRE_ACTION))
    # rule 2 sees v5..v0 newest first, keeps v5 v4 v3, would take v2 v1 v0; v0 is rule 1's
    assert _acted(_repo(*images), rules) == {"v2": (EXPIRE, 2), "v1": (EXPIRE, 2)}


def test_since_image_pulled_falls_back_to_the_push_time():
    pulled_lately = _image("a", "a", age=timedelta(days=100), pulled=timedelta(days=1))
    pulled_long_ago = _image("b", "b", age=timedelta(days=100), pulled=timedelta(days=50))
    never_pulled = _image("c", "c", age=timedelta(days=45))
    fresh = _image("d", "d", age=timedelta(days=2))
    rules = _policy((_days("any", 30, "sinceImagePulled"), EXPIRE_ACTION))
    assert _acted(_repo(pulled_lately, pulled_long_ago, never_pulled, fresh), rules) == {
        "b": (EXPIRE, 1), "c": (EXPIRE, 1)}


def test_transition_archives_and_archive_rules_expire_after_their_days():
    old = _image("old", "old", age=timedelta(days=60))
    new = _image("new", "new", age=timedelta(days=1))
    long_archived = _image("la", "la", age=timedelta(days=400))
    recently_archived = _image("ra", "ra", age=timedelta(days=400))
    repo = _repo(old, new, long_archived, recently_archived)
    archive(repo, long_archived, NOW - timedelta(days=200))
    archive(repo, recently_archived, NOW - timedelta(days=10))
    rules = _policy((_days("any", 30), {"type": "transition", "targetStorageClass": "archive"}),
                    (_days("any", 180, "sinceImageTransitioned", storageClass="archive"), EXPIRE_ACTION))
    assert _acted(repo, rules) == {"old": (TRANSITION, 1), "la": (EXPIRE, 2)}


def test_referrers_go_with_their_subject():
    subject = _image("s", "old", age=timedelta(days=60))
    signature = _image("sig", age=timedelta(days=1), subject="sha256:s")
    signature_of_signature = _image("sig2", age=timedelta(days=1), subject="sha256:sig")
    other = _image("o", "new", age=timedelta(days=1))
    rules = _policy((_days("tagged", 30, tagPatternList=["*"]), EXPIRE_ACTION))
    assert _acted(_repo(subject, signature, signature_of_signature, other), rules) == {
        "s": (EXPIRE, 1), "sig": (EXPIRE, 1), "sig2": (EXPIRE, 1)}


def test_a_manifest_an_index_still_uses_is_left_alone():
    child = _image("child", age=timedelta(days=60))
    index = _image("index", "multi", age=timedelta(days=59), children=("sha256:child",))
    rules = _policy((_days("untagged", 7), EXPIRE_ACTION))
    assert _acted(_repo(child, index), rules) == {}
    # once the index goes too, its manifest may go
    rules = _policy((_days("any", 7), EXPIRE_ACTION))
    assert _acted(_repo(child, index), rules) == {"child": (EXPIRE, 1), "index": (EXPIRE, 1)}


def test_archiving_an_index_takes_its_manifests():
    child = _image("child", age=timedelta(days=1))
    index = _image("index", "multi", age=timedelta(days=60), children=("sha256:child",))
    rules = _policy((_days("tagged", 30, tagPatternList=["multi"]), {"type": "transition",
                                                                      "targetStorageClass": "archive"}))
    assert _acted(_repo(child, index), rules) == {"child": (TRANSITION, 1), "index": (TRANSITION, 1)}
