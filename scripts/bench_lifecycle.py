"""How long a lifecycle plan and a run take on a large repository (in process, no HTTP).

    .venv/bin/python scripts/bench_lifecycle.py [--images 10000]

The repository holds ``--images`` images pushed every ten minutes: a quarter tagged prod-N, a
quarter feature-N, a quarter untagged, and a quarter signatures (untagged referrers of the
prod and feature images). The policy has four rules (count, age with a transition to the
archive, untagged count, any age); the plan runs twice (the preview's work), then a run
applies it through ``Backend.delete_image`` and ``store.archive``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta

from ecr_emulator.features.lifecycle_runs import apply
from ecr_emulator.lifecycle.plan import plan
from ecr_emulator.lifecycle.policy import parse
from ecr_emulator.store import Backend
from ecr_emulator.store.model import Image, Repository

POLICY = json.dumps({"rules": [
    {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["prod-*"],
                                      "countType": "imageCountMoreThan", "countNumber": 100},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "selection": {"tagStatus": "tagged", "tagPrefixList": ["feature"],
                                      "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 2},
     "action": {"type": "transition", "targetStorageClass": "archive"}},
    {"rulePriority": 3, "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 500},
     "action": {"type": "expire"}},
    {"rulePriority": 4, "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days",
                                      "countNumber": 5}, "action": {"type": "expire"}},
]})


def build(backend: Backend, count: int) -> Repository:
    now = backend.clock.now()
    repo = Repository("bench", "123456789012", "us-east-1", "private", now)
    backend.private(repo.account, repo.region).repositories[repo.name] = repo
    for n in range(count):
        kind = n % 4
        digest = f"sha256:{n:064x}"
        tags = [f"prod-{n}"] if kind == 0 else [f"feature-{n}"] if kind == 1 else []
        subject = f"sha256:{n - 3:064x}" if kind == 3 and n >= 3 else None
        image = Image(digest=digest, manifest=b"{}", media_type="application/vnd.oci.image.manifest.v1+json",
                      pushed_at=now - timedelta(minutes=10 * (count - n)), size=1, tags=tags, subject=subject)
        repo.images[digest] = image
        for tag in tags:
            repo.tag_index[tag] = digest
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10000)
    args = parser.parse_args()
    backend = Backend()
    repo = build(backend, args.images)
    repo.lifecycle_policy_text = POLICY
    rules = parse(POLICY)
    now = backend.clock.now()
    started = time.perf_counter()
    decisions = plan(repo, rules, now)
    planned = time.perf_counter() - started
    started = time.perf_counter()
    with backend.lock:
        done = apply(backend, repo, now)
    applied = time.perf_counter() - started
    print(f"{args.images} images: plan {planned:.3f} s ({len(decisions)} decisions); run {applied:.3f} s "
          f"({len(done['expired'])} expired, {len(done['transitioned'])} archived, {len(repo.images)} left)")


if __name__ == "__main__":
    main()
