"""Managed signing rules and per-image signing statuses, as plain data.

``RegistryState.signing_rules`` holds PutSigningConfiguration's ``SigningRule`` shapes; an
image's ``signing_statuses`` are ``ImageSigningStatus`` shapes, one per signing profile whose
rule matched the image when it was pushed.
"""

from __future__ import annotations

from ..identity.conditions import wildcard
from .model import Image

IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"


def profiles_for(rules: list[dict] | None, repository_name: str) -> list[str]:
    """The distinct signing profiles of the rules whose filters match (no filters: all)."""
    profiles: dict[str, None] = {}
    for rule in rules or []:
        filters = rule.get("repositoryFilters") or []
        if not filters or any(wildcard(f["filter"], any_char=False).fullmatch(repository_name) for f in filters):
            profiles[rule["signingProfileArn"]] = None
    return list(profiles)


def set_status(image: Image, profile_arn: str, status: str, failure_code: str | None = None,
               failure_reason: str | None = None) -> None:
    entry = {"signingProfileArn": profile_arn, "status": status}
    if failure_code:
        entry.update(failureCode=failure_code, failureReason=failure_reason or "")
    for i, current in enumerate(image.signing_statuses):
        if current["signingProfileArn"] == profile_arn:
            image.signing_statuses[i] = entry
            return
    image.signing_statuses.append(entry)
