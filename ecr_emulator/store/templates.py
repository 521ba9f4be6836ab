"""Repository creation templates: the settings ECR gives the repositories it creates itself.

A template's ``prefix`` is a repository namespace (an implied trailing ``/``) or ``ROOT``, the
fallback for names no other template matches. Only templates whose ``applied_for`` names the
purpose (REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH) take part, and the longest matching
prefix wins (``prod/team`` beats ``prod``). Existing repositories are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ROOT = "ROOT"


@dataclass
class CreationTemplate:
    prefix: str
    applied_for: list[str]
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    #: ``{"encryptionType": ..., "kmsKey"?: ...}`` as given (no kmsKey: the AWS managed key)
    encryption: dict[str, str] = field(default_factory=lambda: {"encryptionType": "AES256"})
    resource_tags: dict[str, str] = field(default_factory=dict)
    image_tag_mutability: str = "MUTABLE"
    mutability_exclusions: list[dict[str, str]] = field(default_factory=list)
    repository_policy: str | None = None
    lifecycle_policy: str | None = None
    custom_role_arn: str | None = None


def normalize_prefix(prefix: str) -> str:
    """``prod/`` and ``prod`` are the same namespace (ECR always assumes the trailing ``/``)."""
    return prefix if prefix == ROOT else prefix.rstrip("/")


def namespace_match(prefix: str, name: str) -> bool:
    """Whether repository ``name`` lies in the namespace ``prefix`` (``ROOT``: every name)."""
    prefix = normalize_prefix(prefix)
    return prefix == ROOT or name.startswith(prefix + "/")


def longest_match(prefixes, name: str):
    """The longest of ``prefixes`` whose namespace holds ``name`` (``ROOT`` last), or None."""
    best = None
    for prefix in prefixes:
        if not namespace_match(prefix, name):
            continue
        if best is None or best == ROOT or (prefix != ROOT and len(normalize_prefix(prefix)) >
                                            len(normalize_prefix(best))):
            best = prefix
    return best
