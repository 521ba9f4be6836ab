"""What a registry holds: repositories, their images and tags, and their blob links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

PRIVATE = "private"
PUBLIC = "public"


@dataclass
class Image:
    """One manifest stored in one repository; its identity is the manifest digest."""

    digest: str
    manifest: bytes = field(repr=False)
    media_type: str
    pushed_at: datetime
    size: int
    #: the config media type or ``artifactType`` (absent for indexes)
    artifact_media_type: str | None = None
    artifact_type: str | None = None
    subject: str | None = None
    blobs: tuple[str, ...] = ()
    #: media type the manifest gives each of ``blobs`` (config and layers)
    blob_media_types: dict[str, str] = field(default_factory=dict)
    children: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)
    last_pulled_at: datetime | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Repository:
    name: str
    account: str
    region: str
    kind: str
    created_at: datetime
    image_tag_mutability: str = "MUTABLE"
    mutability_exclusions: list[dict[str, str]] = field(default_factory=list)
    scan_on_push: bool = False
    encryption: dict[str, str] = field(default_factory=lambda: {"encryptionType": "AES256"})
    policy_text: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    catalog_data: dict[str, Any] | None = None
    images: dict[str, Image] = field(default_factory=dict)
    tag_index: dict[str, str] = field(default_factory=dict)
    #: when each tag was last pointed at its image
    tagged_at: dict[str, datetime] = field(default_factory=dict)
    #: digests of the blobs this repository links (uploaded to it, mounted, or pushed with an
    #: image), each with when it was linked -- or, once the last image of it went, unreferenced
    #: since: the collector (``store/gc.py``) unlinks it a grace period after that
    blobs: dict[str, datetime] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        if self.kind == PUBLIC:
            return f"arn:aws:ecr-public::{self.account}:repository/{self.name}"
        return f"arn:aws:ecr:{self.region}:{self.account}:repository/{self.name}"

    def tag_is_immutable(self, tag: str) -> bool:
        """ECR's rule, including the ``*_WITH_EXCLUSION`` variants (a matching tag flips)."""
        mode = self.image_tag_mutability
        base_immutable = mode.startswith("IMMUTABLE")
        if mode.endswith("_WITH_EXCLUSION") and any(
            _wildcard(f["filter"]).fullmatch(tag) for f in self.mutability_exclusions
        ):
            return not base_immutable
        return base_immutable

    def image_for(self, tag: str | None = None, digest: str | None = None) -> Image | None:
        if digest is not None:
            image = self.images.get(digest)
            if image is None or (tag is not None and self.tag_index.get(tag) != digest):
                return None
            return image
        if tag is not None:
            found = self.tag_index.get(tag)
            return self.images.get(found) if found else None
        return None


@dataclass
class RegistryState:
    """One registry: ``state[account][region]`` for ECR, one per account for ECR Public."""

    account: str
    region: str
    kind: str
    repositories: dict[str, Repository] = field(default_factory=dict)
    policy_text: str | None = None
    replication_rules: list[dict[str, Any]] = field(default_factory=list)
    catalog_display_name: str = ""


@lru_cache(maxsize=1024)
def _wildcard(pattern: str) -> re.Pattern:
    """ECR wildcard filter: ``*`` matches any run of characters, everything else is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.S)
