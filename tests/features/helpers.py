"""Shared helpers of the feature tests: bounded waits for background work, small pushes."""

from __future__ import annotations

import json
import time

from ecr_emulator.testing.scan_images import dpkg_status, image_of, layer, os_release
from ecr_emulator.testing.synthetic import make_image

from ..registry.client import Registry, authorization_token

SOURCE = "123456789012"
OTHER = "210987654321"


def wait_for(probe, timeout: float = 20.0, interval: float = 0.05):
    """Poll ``probe()`` until it returns something truthy (background tasks are real threads);
    fails after ``timeout`` seconds of real time."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, "background work did not finish in time"
        time.sleep(interval)


def settled_statuses(ecr, repository: str, image_id: dict, key: str = "replicationStatuses") -> list[dict]:
    """The image's replication (or signing) statuses once none is IN_PROGRESS."""
    describe = (ecr.describe_image_replication_status if key == "replicationStatuses"
                else ecr.describe_image_signing_status)

    def probe():
        statuses = describe(repositoryName=repository, imageId=image_id)[key]
        return statuses if statuses and all(s["status"] != "IN_PROGRESS" for s in statuses) else None

    return wait_for(probe)


def push(url: str, ecr, repository: str, seed: str, tag: str | None = "v1"):
    """Push a small image with the registry API; returns the built image."""
    image = make_image(seed, layers=2, layer_bytes=2048)
    Registry(url, authorization_token(ecr)).push_image(repository, image, tag=tag)
    return image


def replication_policy(source: str, destination: str, region: str, actions=("ecr:ReplicateImage",
                                                                           "ecr:CreateRepository")) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "ReplicationFromSource", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{source}:root"}, "Action": list(actions),
        "Resource": f"arn:aws:ecr:{region}:{destination}:repository/*",
    }]})


def debian_image(seed: str = "bash"):
    """Debian 12 with a glibc the demo feed knows a HIGH vulnerability of (``seed``: another
    package, so that two calls can make two images)."""
    return image_of([layer({"etc/os-release": os_release("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
                            "var/lib/dpkg/status": dpkg_status([("libc6", "2.36-9+deb12u1", "glibc"),
                                                                (seed, "1.0-1")])})])
