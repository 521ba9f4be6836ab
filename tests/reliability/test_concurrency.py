"""Concurrency: 8 client threads push, pull, tag and delete over real HTTP in two shared
repositories; afterwards every remaining image pulls back with verified digests, DescribeImages
agrees with the data plane, and the layers only deleted images used are gone once the grace
period has passed on the emulator's clock."""

from __future__ import annotations

import json
import random
import threading

import requests

from ecr_emulator.testing import checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image

from ..registry.client import Registry, authorization_token, expect_error

THREADS = 8
ROUNDS = 10
REPOS = ("conc/one", "conc/two")
GRACE = 3600


def _blobs_of(manifest: bytes) -> list[str]:
    doc = json.loads(manifest)
    return [doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])]


def _worker(url: str, index: int, kept: dict, deleted: dict, errors: list) -> None:
    """Own tags ``w<index>-*`` in both repositories; records what it expects to remain."""
    rng = random.Random(index)
    ecr = checked_client("ecr", url)
    registry = Registry(url, authorization_token(ecr))
    mine: list[tuple[str, str, object]] = []  # (repo, tag, image)
    try:
        for round_ in range(ROUNDS):
            repo = REPOS[rng.randrange(2)]
            tag = f"w{index}-{round_}"
            if round_ % 3 == 0:  # layers shared by every thread's images, a config of its own
                image = make_image("base", layers=2, layer_bytes=4096,
                                   config=json.dumps({"worker": index, "round": round_}).encode())
            else:
                image = make_image(f"w{index}-{round_}", layers=2, layer_bytes=2048 + round_)
            registry.push_image(repo, image, tag)
            mine.append((repo, tag, image))
            action = rng.choice(["pull", "tag", "delete", "pull"])
            if action == "pull" and mine:
                repo_, tag_, image_ = rng.choice(mine)
                got = registry.get(f"/v2/{repo_}/manifests/{tag_}", headers={"Accept": image_.media_type})
                assert got.status_code == 200 and digest_of(got.content) == image_.digest, got.text
                for digest in _blobs_of(got.content):
                    blob = registry.get(f"/v2/{repo_}/blobs/{digest}")
                    assert blob.status_code == 200 and digest_of(blob.content) == digest
            elif action == "tag":  # a second tag through the API door
                taken = {(r, t) for r, t, _ in mine}
                candidates = [m for m in mine if (m[0], m[1] + "-again") not in taken and "-again" not in m[1]]
                if not candidates:
                    continue
                repo_, tag_, image_ = rng.choice(candidates)
                ecr.put_image(repositoryName=repo_, imageManifest=image_.manifest.decode(),
                              imageTag=tag_ + "-again")
                mine.append((repo_, tag_ + "-again", image_))
            elif action == "delete":
                repo_, tag_, image_ = rng.choice(mine)
                if rng.random() < 0.5:
                    response = registry.delete(f"/v2/{repo_}/manifests/{image_.digest}")
                    assert response.status_code == 202, response.text
                else:
                    # every tag of it (the last one deletes the image, as BatchDeleteImage does)
                    tags = [{"imageTag": t} for r, t, i in mine if r == repo_ and i.digest == image_.digest]
                    result = ecr.batch_delete_image(repositoryName=repo_, imageIds=tags)
                    assert not result["failures"], result
                for entry in [m for m in mine if m[0] == repo_ and m[2].digest == image_.digest]:
                    mine.remove(entry)
                deleted.setdefault(repo_, {})[image_.digest] = image_
        for repo, tag, image in mine:
            kept.setdefault(repo, {}).setdefault(image.digest, (image, set()))[1].add(tag)
    except BaseException as error:  # noqa: BLE001 -- reported by the main thread
        errors.append(error)


def test_concurrent_push_pull_tag_delete(url, ecr):
    for name in REPOS:
        ecr.create_repository(repositoryName=name)
    kept: dict = {}
    deleted: dict = {}
    errors: list = []
    per_thread = [({}, {}) for _ in range(THREADS)]  # each thread's (kept, deleted), merged below
    threads = [threading.Thread(target=_worker, args=(url, i, kept_i, deleted_i, errors))
               for i, (kept_i, deleted_i) in enumerate(per_thread)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a client thread did not finish"
    assert not errors, errors
    for kept_i, deleted_i in per_thread:
        for repo, images in kept_i.items():
            for digest, (image, tags) in images.items():
                kept.setdefault(repo, {}).setdefault(digest, (image, set()))[1].update(tags)
        for repo, images in deleted_i.items():
            deleted.setdefault(repo, {}).update(images)
    assert sum(len(images) for images in deleted.values()) > 0

    registry = Registry(url, authorization_token(ecr))
    for repo in REPOS:
        expected = {digest: tags for digest, (image, tags) in kept.get(repo, {}).items()}
        # DescribeImages (all pages) agrees with what the clients expect...
        described = {}
        for page in ecr.get_paginator("describe_images").paginate(repositoryName=repo, PaginationConfig={"PageSize": 7}):
            for detail in page["imageDetails"]:
                described[detail["imageDigest"]] = set(detail.get("imageTags", []))
        assert described == expected
        # ...and with the data plane: tags/list and what each tag resolves to
        assert registry.tags(repo) == {tag: digest for digest, tags in expected.items() for tag in tags}
        # every remaining image pulls back, every byte verified
        for digest, (image, _) in kept.get(repo, {}).items():
            manifest = registry.get(f"/v2/{repo}/manifests/{digest}", headers={"Accept": image.media_type})
            assert manifest.status_code == 200 and digest_of(manifest.content) == digest
            for blob_digest in _blobs_of(manifest.content):
                blob = registry.get(f"/v2/{repo}/blobs/{blob_digest}")
                assert blob.status_code == 200 and digest_of(blob.content) == blob_digest

    # the grace period passes: layers only deleted images used are gone, the rest stay
    assert requests.post(url + "/_emulator/clock/advance", json={"seconds": GRACE + 1}, timeout=10).ok
    registry = Registry(url, authorization_token(checked_client("ecr", url)))  # a fresh token
    assert requests.post(url + "/_emulator/gc", timeout=30).ok
    freed = shared = 0
    for repo in REPOS:
        live = {b for image, _ in kept.get(repo, {}).values() for b in image.blobs}
        used_by_deleted = {b for image in deleted.get(repo, {}).values() for b in image.blobs}
        gone = used_by_deleted - live
        freed, shared = freed + len(gone), shared + len(used_by_deleted & live)
        for digest in gone:
            expect_error(registry.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
        for digest in live:
            assert registry.head(f"/v2/{repo}/blobs/{digest}").status_code == 200
    assert freed and shared  # both cases happened: layers freed, and layers kept for a remaining image
