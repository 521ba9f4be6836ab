"""Lifecycle policies, applied: every ``--lifecycle-interval`` seconds and on
``POST /_emulator/lifecycle/run``, each repository's policy expires or archives what
:func:`lifecycle.plan.plan` says (the same computation the preview shows), through the
store's doors: ``Backend.delete_image`` (so features hear ``ImageDeleted``) and
``store.archive``. Day-based rules read the emulator's clock, so a test advances the clock
(``POST /_emulator/clock/advance``) and then asks for a run.
"""

from __future__ import annotations

import logging

from ..errors import InvalidParameterException
from ..lifecycle.plan import EXPIRE, plan
from ..lifecycle.policy import parse
from ..store import archive
from ..store.events import Door, StorageClassChanged
from .endpoints import Call, Endpoint

log = logging.getLogger(__name__)


def apply(backend, repo, now) -> dict[str, list[str]]:
    """Run ``repo``'s policy now (``Backend.lock`` held); the digests expired and archived."""
    done: dict[str, list[str]] = {"expired": [], "transitioned": []}
    if repo.lifecycle_policy_text is None:
        return done
    try:
        rules = parse(repo.lifecycle_policy_text)
    except InvalidParameterException:  # stored policies were checked when put; never fail a whole run
        log.exception("lifecycle policy of %s does not parse", repo.arn)
        return done
    linked = archive.links(repo)
    for decision in plan(repo, rules, now):
        image = repo.images.get(decision.image.digest)
        if image is None:
            continue
        if decision.action == EXPIRE:
            backend.delete_image(repo, image.digest, door=Door.LIFECYCLE)
            done["expired"].append(image.digest)
        else:  # an image that went with an earlier one (a referrer, an index's manifest) is counted too
            if not archive.is_archived(image):
                for moved in archive.archive(repo, image, now, linked):
                    backend.events.emit(StorageClassChanged(repo, moved, archive.ARCHIVE))
            done["transitioned"].append(image.digest)
    repo.lifecycle_evaluated_at = now
    return done


def run_all(backend) -> list[dict]:
    """Apply every repository's policy now; one summary per repository that has a policy."""
    summaries = []
    with backend.lock:
        now = backend.clock.now()
        for repo in backend.all_repositories():
            if repo.lifecycle_policy_text is None:
                continue
            done = apply(backend, repo, now)
            summaries.append({"registryId": repo.account, "region": repo.region,
                              "repositoryName": repo.name, **done})
    return summaries


def run_now(emulator_, call: Call) -> dict:
    """Apply every lifecycle policy now (what ECR does within 24 hours of an image qualifying)."""
    return {"repositories": run_all(emulator_.backend)}


ENDPOINTS = (Endpoint("/lifecycle/run", ("POST",), run_now),)


def install(emulator) -> None:
    backend = emulator.backend
    backend.tasks.every(emulator.settings.lifecycle_interval, lambda: run_all(backend))
