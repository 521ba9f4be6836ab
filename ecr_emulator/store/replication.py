"""Replication rules and per-image replication statuses, as plain data.

A registry's ``replication_rules`` are the ``ReplicationRule`` shapes PutReplicationConfiguration
stored; an image's ``replication_statuses`` are ``ImageReplicationStatus`` shapes, one per
destination (``IN_PROGRESS`` when the push is seen, then ``COMPLETE`` or ``FAILED``).
"""

from __future__ import annotations

from .model import Image

IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"


def rule_matches(rule: dict, repository_name: str) -> bool:
    """No filters: every repository; PREFIX_MATCH: names that start with the filter."""
    filters = rule.get("repositoryFilters") or []
    return not filters or any(repository_name.startswith(f["filter"]) for f in filters)


def destinations_for(rules: list[dict], repository_name: str) -> list[dict[str, str]]:
    """Every distinct destination (``{region, registryId}``) of the rules that match the name."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for rule in rules:
        if rule_matches(rule, repository_name):
            for d in rule.get("destinations") or []:
                seen.setdefault((d["region"], d["registryId"]), {"region": d["region"], "registryId": d["registryId"]})
    return list(seen.values())


def configured(rules: list[dict], destination: dict[str, str]) -> bool:
    return any((d["region"], d["registryId"]) == (destination["region"], destination["registryId"])
               for rule in rules for d in rule.get("destinations") or [])


def set_status(image: Image, destination: dict[str, str], status: str, failure_code: str | None = None) -> None:
    """Record the image's status for one destination (replacing the previous one)."""
    entry = {"region": destination["region"], "registryId": destination["registryId"], "status": status}
    if failure_code:
        entry["failureCode"] = failure_code
    for i, current in enumerate(image.replication_statuses):
        if (current["region"], current["registryId"]) == (entry["region"], entry["registryId"]):
            image.replication_statuses[i] = entry
            return
    image.replication_statuses.append(entry)
