"""Replication: DescribeRegistry (the registry and its replication rules), PutReplicationConfiguration,
DescribeImageReplicationStatus, and replication backfills.

The copying itself is the replication feature (``features/replication.py``); this module
validates and stores the rules, records a backfill and announces it (``BackfillStarted``, which
the feature runs), and reports what the feature recorded.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from ..addressing.partitions import partition_of
from ..errors import (
    ImageNotFoundException,
    InvalidParameterException,
    LimitExceededException,
    ReplicationBackfillInProgressException,
    ReplicationBackfillInvalidStatusException,
    ReplicationBackfillNotFoundException,
)
from ..store import backfills as bf
from ..store.events import BackfillStarted
from ..store.replication import configured
from .images import resolve
from .pagination import paginate
from .tables import ecr
from .validation import check_image_id, invalid

MAX_RULES = 10
MAX_DESTINATIONS = 25
MAX_RUNNING_BACKFILLS = 10
#: ended backfills are listed for 90 days
BACKFILL_RETENTION = timedelta(days=90)


@ecr("DescribeRegistry")
def describe_registry(ctx):
    state = ctx.registry(None, "DescribeRegistry")
    return {"registryId": state.account, "replicationConfiguration": {"rules": state.replication_rules}}


@ecr("PutReplicationConfiguration")
def put_replication_configuration(ctx, replication_configuration):
    state = ctx.registry(None, "PutReplicationConfiguration")
    rules = [_rule(rule) for rule in replication_configuration["rules"]]
    _check_regions(ctx, rules)
    if len(rules) > MAX_RULES:
        raise invalid("replicationConfiguration.rules", f"Member must have length less than or equal to {MAX_RULES}")
    destinations = {(d["region"], d["registryId"]) for rule in rules for d in rule["destinations"]}
    if (ctx.caller.region, state.account) in destinations:
        raise InvalidParameterException(
            "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: "
            "'Replication destination cannot be the same as the source registry'")
    if len(destinations) > MAX_DESTINATIONS:
        raise invalid("replicationConfiguration",
                      f"A replication configuration can have at most {MAX_DESTINATIONS} unique destinations")
    state.replication_rules = rules
    return {"replicationConfiguration": {"rules": rules}}


def _check_regions(ctx, rules: list[dict]) -> None:
    """Destinations are regions this server answers for, in the source's partition (ECR replicates
    within a partition only). The wording is the emulator's own; ECR's is not public."""
    source = partition_of(ctx.caller.region).name
    for i, rule in enumerate(rules, 1):
        for j, destination in enumerate(rule["destinations"], 1):
            region = destination["region"]
            where = f"replicationConfiguration.rules.{i}.member.destinations.{j}.member.region"
            if not ctx.settings.accepts_region(region):
                raise invalid(where, f"'{region}' is not a region (AWS's, --region or --extra-region)")
            if partition_of(region).name != source:
                raise invalid(where, f"replication stays within a partition: '{region}' is in "
                                     f"{partition_of(region).name}, the source registry in {source}")


def _rule(rule: dict) -> dict:
    """A rule as stored (and returned by DescribeRegistry): destinations, filters when given."""
    stored = {"destinations": [{"region": d["region"], "registryId": d["registryId"]} for d in rule["destinations"]]}
    filters = rule.get("repositoryFilters")
    if filters is not None:
        stored["repositoryFilters"] = [{"filter": f["filter"], "filterType": f["filterType"]} for f in filters]
    if rule.get("deleteReplication") is not None:
        stored["deleteReplication"] = {"enabled": rule["deleteReplication"]["enabled"]}
    return stored


@ecr("DescribeImageReplicationStatus")
def describe_image_replication_status(ctx, repository_name, image_id, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "DescribeImageReplicationStatus")
    check_image_id(image_id)
    image, problem = resolve(repo, image_id)
    if image is None:
        raise ImageNotFoundException.for_id(image_id, repo.name, repo.account)
    return {"repositoryName": repo.name, "imageId": {"imageDigest": image.digest, **_tag(image_id)},
            "replicationStatuses": [dict(s) for s in image.replication_statuses]}


def _tag(image_id: dict) -> dict:
    return {"imageTag": image_id["imageTag"]} if image_id.get("imageTag") else {}


# -- backfills ------------------------------------------------------------------------------

@ecr("StartReplicationBackfill")
def start_replication_backfill(ctx, destination, registry_id=None):
    state = ctx.registry(registry_id, "StartReplicationBackfill")
    if not configured(state.replication_rules, destination):
        raise invalid("destination", "The destination must be configured in the registry's replication "
                                     "configuration")
    running = [b for b in state.replication_backfills.values() if b.running]
    if any(b.region == destination["region"] for b in running):
        raise ReplicationBackfillInProgressException(
            f"A replication backfill is already in progress for the destination Region '{destination['region']}' "
            f"in the registry with id '{state.account}'")
    if len(running) >= MAX_RUNNING_BACKFILLS:
        raise LimitExceededException(
            f"The registry with id '{state.account}' already has {MAX_RUNNING_BACKFILLS} replication backfills "
            "in progress, the most allowed")
    backfill = bf.ReplicationBackfill(id=str(uuid.uuid4()), region=destination["region"],
                                      registry_id=destination["registryId"], started_at=ctx.now)
    state.replication_backfills[backfill.id] = backfill
    ctx.backend.events.emit(BackfillStarted(state, backfill))  # the replication feature runs it
    return {"replicationBackfillId": backfill.id, "registryId": state.account, "destination": backfill.destination(),
            "status": bf.PREPARING, "startedAt": backfill.started_at}


def _backfill(ctx, registry_id, backfill_id, action):
    state = ctx.registry(registry_id, action)
    backfill = state.replication_backfills.get(backfill_id)
    if backfill is None or _expired(ctx, backfill):
        raise ReplicationBackfillNotFoundException.named(backfill_id, state.account)
    return state, backfill


def _expired(ctx, backfill) -> bool:
    return backfill.ended_at is not None and ctx.now - backfill.ended_at > BACKFILL_RETENTION


@ecr("StopReplicationBackfill")
def stop_replication_backfill(ctx, replication_backfill_id, registry_id=None):
    state, backfill = _backfill(ctx, registry_id, replication_backfill_id, "StopReplicationBackfill")
    if backfill.status == bf.PREPARING:
        backfill.end(bf.STOPPED, ctx.now)  # nothing replicated yet: stopped at once, no progress
    elif backfill.status == bf.IN_PROGRESS:
        backfill.status = bf.STOPPING  # the running replication finishes, then it stops
    else:
        raise ReplicationBackfillInvalidStatusException(
            f"The replication backfill with id '{backfill.id}' cannot be stopped because its status is "
            f"{backfill.status}")
    return {"registryId": state.account, "replicationBackfillId": backfill.id, "destination": backfill.destination(),
            "status": backfill.status, "startedAt": backfill.started_at}


@ecr("ListReplicationBackfills")
def list_replication_backfills(ctx, registry_id=None, max_results=None, next_token=None):
    state = ctx.registry(registry_id, "ListReplicationBackfills")
    backfills = sorted((b for b in state.replication_backfills.values() if not _expired(ctx, b)),
                       key=lambda b: (b.started_at, b.id), reverse=True)
    page, token = paginate(backfills, next_token, max_results, default=25,
                           scope=f"ecr:ListReplicationBackfills:{state.account}:{state.region}")
    return {"registryId": state.account, "backfills": [b.summary() for b in page], "nextToken": token}


@ecr("DescribeReplicationBackfillResults")
def describe_replication_backfill_results(ctx, replication_backfill_id, registry_id=None, result_status_filter=None,
                                          max_results=None, next_token=None):
    state, backfill = _backfill(ctx, registry_id, replication_backfill_id, "DescribeReplicationBackfillResults")
    results = []
    if not backfill.running:  # per-image results exist once the backfill has ended
        results = [r for r in backfill.results if result_status_filter in (None, r["status"])]
    page, token = paginate(results, next_token, max_results,
                           scope=f"ecr:DescribeReplicationBackfillResults:{backfill.id}:{result_status_filter}")
    return {**backfill.summary(), "registryId": state.account, "results": page, "nextToken": token}
