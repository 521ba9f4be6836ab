"""Replication: every image pushed to a private repository (any door but replication itself:
one hop, no chaining) is copied in the background to each destination of the registry's
matching replication rules, in another region and/or another account of this emulator.

A copy links the source's blobs into the destination repository (the blob store is shared:
no bytes are copied), then puts the manifests through ``Backend.put_image(door=Door.REPLICATION)``:
an index's children first, then the image with its tag, then its OCI referrers (signatures,
SBOMs...), as ECR replicates them. Scan findings, policies and repository settings are not
copied. A destination repository that does not exist is created through ``create_for_ecr``
(creation templates of the REPLICATION prefix apply there). A destination whose immutable tag
already names another image keeps its tag: the image replicates untagged.

Cross-account destinations need the destination registry's policy to allow the source
account ``ecr:ReplicateImage`` (and ``ecr:CreateRepository`` when the repository must be
created) on the destination repository's ARN, as on AWS; otherwise the image's status for that
destination is FAILED. ECR does not document its failure codes; the emulator's are the error
names ECR uses elsewhere (``AccessDenied``, or the failing store error without
``Exception``, e.g. ``LayersNotFound``).

Rules with ``deleteReplication`` enabled also replicate image deletions and tag removals to
their destinations (where the image is still the one replicated: same digest; an image an
index of the destination still references stays), with the same permission check.

Backfills (StartReplicationBackfill, announced by the control plane as ``BackfillStarted``)
replicate the images that were there before the rule, one image-and-tag at a time, through the
same :func:`replicate`.
"""

from __future__ import annotations

import logging

from ..errors import AwsError, ImageAlreadyExistsException
from ..identity.iam import AccessRequest, Principal, authorized
from ..store import PRIVATE, Door, ImageDeleted, ImagePushed, TagRemoved
from ..store import backfills as bf
from ..store.events import BackfillStarted, ImageReplicated
from ..store.image_door import link_blob, parents_of, referrers_of
from ..store.model import Image, RegistryState, Repository, repository_arn
from ..store.replication import COMPLETE, FAILED, IN_PROGRESS, destinations_for, rule_matches, set_status
from ..store.repositories import REPLICATION, create_for_ecr

log = logging.getLogger(__name__)

ACCESS_DENIED = "AccessDenied"
REPLICATE_IMAGE = "ecr:ReplicateImage"
CREATE_REPOSITORY = "ecr:CreateRepository"


class ReplicationFailed(Exception):
    def __init__(self, code: str, reason: str, sub_codes: list[str] | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.sub_codes = sub_codes or []


def install(emulator) -> None:
    backend = emulator.backend
    backend.events.subscribe(ImagePushed, lambda event: _on_push(backend, event))
    backend.events.subscribe(ImageDeleted, lambda event: _on_delete(backend, event, None))
    backend.events.subscribe(TagRemoved, lambda event: _on_delete(backend, event, event.tag))
    backend.events.subscribe(BackfillStarted, lambda event: start_backfill(backend, event.state, event.backfill))


def _on_push(backend, event: ImagePushed) -> None:
    repo = event.repo
    if event.door == Door.REPLICATION or repo.kind != PRIVATE:
        return
    state = backend.private(repo.account, repo.region)
    destinations = destinations_for(state.replication_rules, repo.name)
    if not destinations:
        return
    for destination in destinations:
        set_status(event.image, destination, IN_PROGRESS)
    account, region, name, digest, tag = repo.account, repo.region, repo.name, event.image.digest, event.tag

    def work() -> None:
        with backend.lock:
            source = backend.private(account, region).repositories.get(name)
            image = source.images.get(digest) if source else None
            if image is None:
                return  # deleted before it could replicate
            for destination in destinations:
                replicate(backend, source, image, tag, destination)

    backend.tasks.submit(work, name=f"replicate {name}@{digest}")


def _on_delete(backend, event, tag: str | None) -> None:
    repo = event.repo
    if event.door == Door.REPLICATION or repo.kind != PRIVATE:
        return
    rules = [rule for rule in backend.private(repo.account, repo.region).replication_rules
             if (rule.get("deleteReplication") or {}).get("enabled")]
    destinations = destinations_for(rules, repo.name)
    if not destinations:
        return
    account, name, digest = repo.account, repo.name, event.image.digest

    def work() -> None:
        with backend.lock:
            for destination in destinations:
                _replicate_deletion(backend, account, name, digest, tag, destination)

    backend.tasks.submit(work, name=f"replicate deletion {name}@{digest}")


def _replicate_deletion(backend, source_account: str, name: str, digest: str, tag: str | None,
                        destination: dict) -> None:
    account, region = destination["registryId"], destination["region"]
    target_state = backend.private(account, region)
    target = target_state.repositories.get(name)
    if target is None or digest not in target.images:
        return
    try:
        _require(source_account, REPLICATE_IMAGE, repository_arn(PRIVATE, account, region, name), target_state)
    except ReplicationFailed as failure:
        log.info("deletion of %s@%s not replicated to %s: %s", name, digest, destination, failure)
        return
    if tag is not None:
        if target.tag_index.get(tag) == digest:
            backend.remove_tag(target, tag, door=Door.REPLICATION)
    elif not parents_of(target, digest):
        backend.delete_image(target, digest, door=Door.REPLICATION)


# -- one image to one destination ---------------------------------------------------------

def replicate(backend, source: Repository, image: Image, tag: str | None, destination: dict) -> dict:
    """Copy ``image`` (tagged ``tag``) of ``source`` to ``destination`` now (``Backend.lock``
    held), record the image's status for it, and return a ReplicationBackfillResult."""
    result = {"repositoryName": source.name, "imageId": {"imageDigest": image.digest}, "status": COMPLETE}
    if tag is not None:
        result["imageId"]["imageTag"] = tag
    try:
        _replicate(backend, source, image, tag, destination)
    except ReplicationFailed as failure:
        log.info("replication of %s@%s to %s failed: %s", source.name, image.digest, destination, failure)
        set_status(image, destination, FAILED, failure.code)
        backend.events.emit(ImageReplicated(source, image, tag, destination["registryId"], destination["region"],
                                            failure.code))
        result.update(status=FAILED, failureCode=failure.code)
        if image.children:
            result["subImageFailureCodes"] = failure.sub_codes
        return result
    set_status(image, destination, COMPLETE)
    backend.events.emit(ImageReplicated(source, image, tag, destination["registryId"], destination["region"]))
    if image.children:
        result["subImageFailureCodes"] = []
    return result


def _replicate(backend, source: Repository, image: Image, tag: str | None, destination: dict) -> None:
    account, region = destination["registryId"], destination["region"]
    target_state = backend.private(account, region)
    target = target_state.repositories.get(source.name)
    arn = repository_arn(PRIVATE, account, region, source.name)
    _require(source.account, REPLICATE_IMAGE, arn, target_state)
    if target is None:
        _require(source.account, CREATE_REPOSITORY, arn, target_state)
        target = create_for_ecr(target_state, source.name, REPLICATION, backend.clock.now())
    _copy(backend, source, target, image, tag, set())


def _require(source_account: str, action: str, arn: str, target: RegistryState) -> None:
    request = AccessRequest(Principal(source_account), action, arn, {"aws:SourceAccount": source_account})
    if not authorized(request, target.account, [target.policy_text]):
        raise ReplicationFailed(
            ACCESS_DENIED, f"the registry policy of {target.account} in {target.region} does not allow "
                           f"account {source_account} to perform {action} on {arn}")


def _copy(backend, source: Repository, target: Repository, image: Image, tag: str | None, seen: set) -> None:
    if image.digest in seen:
        return
    seen.add(image.digest)
    sub_codes: list[str] = []
    for digest in image.children:
        child = source.images.get(digest)
        if child is None:
            continue  # the put below reports ReferencedImagesNotFound
        try:
            _copy(backend, source, target, child, None, seen)
        except ReplicationFailed as failure:
            if failure.code not in sub_codes:
                sub_codes.append(failure.code)
    for digest in image.blobs:
        blob = backend.blobs.get(digest)
        if blob is not None:
            link_blob(target, blob, backend.clock.now())
    if tag is not None and target.tag_is_immutable(tag) and target.tag_index.get(tag) not in (None, image.digest):
        tag = None  # an immutable destination keeps its tag; the image arrives untagged
    try:
        backend.put_image(target, image.manifest, door=Door.REPLICATION, media_type=image.media_type, tag=tag,
                          now=backend.clock.now())
    except ImageAlreadyExistsException:
        pass  # already there (and tagged so)
    except AwsError as error:
        raise ReplicationFailed(error.error_code.removesuffix("Exception"), error.message, sub_codes) from None
    for referrer in referrers_of(source, image.digest):
        _copy(backend, source, target, referrer, None, seen)


# -- backfills ------------------------------------------------------------------------------

def backfill_plan(state: RegistryState, destination: dict) -> list[tuple[str, str, str | None]]:
    """``(repository, digest, tag)`` for every image-and-tag a backfill to ``destination``
    replicates: images of repositories matching a rule that names the destination. An index's
    children and an image's referrers travel with their parent, so they are not counted apart."""
    rules = [rule for rule in state.replication_rules
             if any((d["region"], d["registryId"]) == (destination["region"], destination["registryId"])
                    for d in rule.get("destinations") or [])]
    plan = []
    for name in sorted(state.repositories):
        repo = state.repositories[name]
        if not any(rule_matches(rule, name) for rule in rules):
            continue
        carried = {child for image in repo.images.values() for child in image.children}
        for image in sorted(repo.images.values(), key=lambda i: (i.pushed_at, i.digest)):
            if image.digest in carried or image.subject is not None:
                continue
            plan.extend((name, image.digest, tag) for tag in (image.tags or [None]))
    return plan


def start_backfill(backend, state: RegistryState, backfill: bf.ReplicationBackfill) -> None:
    """Run ``backfill`` (just added to ``state``, status PREPARING) in the background."""
    account, region, backfill_id = state.account, state.region, backfill.id

    def run() -> None:
        with backend.lock:
            current = backend.private(account, region).replication_backfills.get(backfill_id)
            if current is None or current.status != bf.PREPARING:
                return  # stopped while preparing
            plan = backfill_plan(backend.private(account, region), current.destination())
            current.total, current.status = len(plan), bf.IN_PROGRESS
        for name, digest, tag in plan:
            with backend.lock:
                if current.status == bf.STOPPING:
                    break
                _backfill_one(backend, account, region, current, name, digest, tag)
        with backend.lock:
            current.end(bf.STOPPED if current.status == bf.STOPPING else bf.COMPLETE, backend.clock.now())

    backend.tasks.submit(run, name=f"replication backfill {backfill_id}")


def _backfill_one(backend, account, region, backfill, name, digest, tag) -> None:
    source = backend.private(account, region).repositories.get(name)
    image = source.images.get(digest) if source else None
    if image is None or (tag is not None and source.tag_index.get(tag) != digest):
        image_id = {"imageDigest": digest, **({"imageTag": tag} if tag else {})}
        backfill.record({"repositoryName": name, "imageId": image_id, "status": FAILED,
                         "failureCode": "ImageNotFound"})
        return
    backfill.record(replicate(backend, source, image, tag, backfill.destination()))
