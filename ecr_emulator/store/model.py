"""What a registry holds: repositories, their images and tags, and their blob links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from ..addressing.partitions import arn
from ..identity.conditions import wildcard
from .backfills import ReplicationBackfill
from .pull_through import PullThroughRule
from .scans import CannedScan, ImageScan, ScanningConfiguration
from .templates import CreationTemplate
from .wireshape import WireShape

PRIVATE = "private"
PUBLIC = "public"


def repository_arn(kind: str, account: str, region: str, name: str) -> str:
    """A repository's ARN: ``arn:<partition>:ecr:<region>:...`` (ECR Public's has no region and
    lives in ``aws``, its only partition)."""
    if kind == PUBLIC:
        return arn("ecr-public", "", account, f"repository/{name}")
    return arn("ecr", region, account, f"repository/{name}")


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
    #: the last scan of this image (``store/scans.py``), None until one is started
    scan: ImageScan | None = None
    #: ``STANDARD`` or ``ARCHIVE`` (``store/archive.py`` moves images between them)
    storage_class: str = "STANDARD"
    #: when the image last went to the archive
    archived_at: datetime | None = None
    #: when the image's last restore from the archive completes (in the future: ACTIVATING)
    activated_at: datetime | None = None
    #: one ``ImageReplicationStatus`` (wire shape) per destination this image was sent to
    replication_statuses: list[dict[str, str]] = field(default_factory=list)
    #: one ``ImageSigningStatus`` (wire shape) per signing profile whose rule matched the image
    signing_statuses: list[dict[str, str]] = field(default_factory=list)


@dataclass
class LifecyclePreview:
    """The last StartLifecyclePolicyPreview of a repository and, once COMPLETE, its results.

    ``results`` are plain ``LifecyclePolicyPreviewResult`` dicts (``lifecycle/plan.py``)."""

    policy_text: str
    status: str = "IN_PROGRESS"
    results: list[Annotated[dict, WireShape("ecr", "LifecyclePolicyPreviewResult")]] = field(default_factory=list)


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
    catalog_data: Annotated[dict, WireShape("ecr-public", "RepositoryCatalogDataInput")] | None = None
    images: dict[str, Image] = field(default_factory=dict)
    tag_index: dict[str, str] = field(default_factory=dict)
    #: when each tag was last pointed at its image
    tagged_at: dict[str, datetime] = field(default_factory=dict)
    #: digests of the blobs this repository links (uploaded to it, mounted, or pushed with an
    #: image), each with when it was linked -- or, once the last image of it went, unreferenced
    #: since: the collector (``store/gc.py``) unlinks it a grace period after that
    blobs: dict[str, datetime] = field(default_factory=dict)
    #: of those, the ones a deleted image left unreferenced, with when: collected after the short
    #: ``deleted_blob_grace_seconds`` (``store/gc.py``), unless a push touches them again
    released_blobs: dict[str, datetime] = field(default_factory=dict)
    lifecycle_policy_text: str | None = None
    #: when a lifecycle run last evaluated ``lifecycle_policy_text``
    lifecycle_evaluated_at: datetime | None = None
    lifecycle_preview: LifecyclePreview | None = None
    #: pull-through cache: when each tag was last checked against the upstream
    upstream_checked_at: dict[str, datetime] = field(default_factory=dict)
    #: ECR Public: the downloads the gallery shows (``store.image_door.record_download`` says what counts)
    download_count: int = 0
    #: bumped by every change to ``images``, their tags or storage class (``store/image_door.py``,
    #: ``store/archive.py``): the paging index (``store/listing.py``) is rebuilt when it moves
    images_changes: int = field(default=0, compare=False, repr=False)

    @property
    def arn(self) -> str:
        return repository_arn(self.kind, self.account, self.region, self.name)

    def tag_is_immutable(self, tag: str) -> bool:
        """ECR's rule, including the ``*_WITH_EXCLUSION`` variants (a matching tag flips)."""
        mode = self.image_tag_mutability
        base_immutable = mode.startswith("IMMUTABLE")
        if mode.endswith("_WITH_EXCLUSION") and any(
            wildcard(f["filter"], any_char=False).fullmatch(tag) for f in self.mutability_exclusions
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
    replication_rules: list[Annotated[dict, WireShape("ecr", "ReplicationRule")]] = field(default_factory=list)
    catalog_display_name: str = ""
    #: PutAccountSetting values by name; read them with ``store.account_settings.value``
    #: (which knows the defaults) -- absent means never set
    account_settings: dict[str, str] = field(default_factory=dict)
    #: PutRegistryScanningConfiguration: ``scanType`` and ``rules`` as the API gives them
    scanning: ScanningConfiguration = field(default_factory=lambda: ScanningConfiguration())
    #: canned findings by image digest (``POST /_emulator/scan-findings``), used instead of
    #: the scanner for images with that digest
    canned_findings: dict[str, CannedScan] = field(default_factory=dict)

    def repository_arn(self, name: str) -> str:
        """The ARN repository ``name`` has (or would have) in this registry; ``*`` for all."""
        return repository_arn(self.kind, self.account, self.region, name)

    def policies_governing(self, repo: "Repository | None") -> list[str | None]:
        """The resource policies that decide access to ``repo``: its own and (private ECR, whose
        registry policies of scope V2 cover every action) the registry's."""
        return [repo.policy_text if repo is not None else None,
                self.policy_text if self.kind == PRIVATE else None]

    #: repository creation templates by prefix (``store.templates.CreationTemplate``)
    creation_templates: dict[str, CreationTemplate] = field(default_factory=dict)
    #: pull-through cache rules by ECR repository prefix (``store.pull_through.PullThroughRule``)
    pull_through_rules: dict[str, PullThroughRule] = field(default_factory=dict)

    #: StartReplicationBackfill runs, by id
    replication_backfills: dict[str, ReplicationBackfill] = field(default_factory=dict)
    #: PutSigningConfiguration's rules; None until a configuration is put
    signing_rules: list[Annotated[dict, WireShape("ecr", "SigningRule")]] | None = None
    #: RegisterPullTimeUpdateExclusion: principal ARN -> when it was registered
    pull_time_exclusions: dict[str, datetime] = field(default_factory=dict)
