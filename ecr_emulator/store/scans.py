"""Scan state, as plain data: the registry's scanning configuration, each image's last scan
and its findings, and canned findings set through the emulator endpoint.

The scanner (``features/scanning``) fills these in; the control plane (``control/scanning.py``)
reads them. Nothing here knows how a scan is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from ..identity.conditions import wildcard
from .wireshape import WireShape

BASIC = "BASIC"
ENHANCED = "ENHANCED"

#: ``ScanStatus`` values the emulator reports
IN_PROGRESS = "IN_PROGRESS"
PENDING = "PENDING"
COMPLETE = "COMPLETE"
ACTIVE = "ACTIVE"
FAILED = "FAILED"
UNSUPPORTED_IMAGE = "UNSUPPORTED_IMAGE"
#: the image is past one of the scanner's budgets (``features/scanning/layers.py``)
IMAGE_SIZE_EXCEEDED = "IMAGE_SIZE_EXCEEDED"

RUNNING = (IN_PROGRESS, PENDING)

COMPLETE_DESCRIPTION = "The scan was completed successfully."
UNSUPPORTED_DESCRIPTION = "The operating system and/or package manager are not supported."
IMAGE_SIZE_EXCEEDED_DESCRIPTION = "The image is larger than the scanner supports"


@dataclass
class ScanningConfiguration:
    """``PutRegistryScanningConfiguration``: BASIC with no rules until a user sets one."""

    scan_type: str = BASIC
    #: ``[{"scanFrequency": ..., "repositoryFilters": [{"filter": ..., "filterType": "WILDCARD"}]}]``
    rules: list[Annotated[dict, WireShape("ecr", "RegistryScanningRule")]] = field(default_factory=list)


@dataclass
class Cvss:
    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    score: float | None
    source: str = ""


@dataclass
class Finding:
    """One vulnerability in one package of one image."""

    vulnerability_id: str
    severity: str  # ECR's FindingSeverity: INFORMATIONAL LOW MEDIUM HIGH CRITICAL UNDEFINED
    package_name: str
    package_version: str
    #: ECR/Inspector ``packageManager``: OS (dpkg/apk/rpm) or PYTHONPKG, NODEPKG ...
    package_manager: str
    description: str = ""
    title: str = ""
    uri: str = ""
    references: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    cvss: list[Cvss] = field(default_factory=list)
    fixed_version: str | None = None
    #: where the package's record lives in the image, and the layer that brought it in
    file_path: str = ""
    layer_digest: str = ""
    source: str = ""  # the feed's name for where the record came from (``DEBIAN``, ``GHSA`` ...)
    published: datetime | None = None
    modified: datetime | None = None
    epoch: int | None = None
    release: str | None = None
    arch: str | None = None


@dataclass
class ImageScan:
    """The last scan of an image: started by a push or StartImageScan, finished by the scanner."""

    id: str
    scan_type: str
    status: str
    started_at: datetime
    description: str = ""
    completed_at: datetime | None = None
    vulnerability_source_updated_at: datetime | None = None
    findings: list[Finding] = field(default_factory=list)
    #: ENHANCED: the registry rule's frequency that made it (``CONTINUOUS_SCAN`` -> ACTIVE)
    frequency: str = ""
    architecture: str = ""
    platform: str = ""
    author: str = ""


@dataclass
class CannedScan:
    """What a scan of a given digest reports instead of running the scanner."""

    status: str = COMPLETE
    description: str = ""
    findings: list[Finding] = field(default_factory=list)


# -- which repositories are scanned, and how ----------------------------------------------

SCAN_ON_PUSH = "SCAN_ON_PUSH"
CONTINUOUS_SCAN = "CONTINUOUS_SCAN"
MANUAL = "MANUAL"

#: config media types of container images (anything else is an artifact ECR does not scan)
IMAGE_CONFIG_TYPES = (
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
)


def applied_frequency(config: ScanningConfiguration, repo) -> tuple[str, list[dict]]:
    """``(scanFrequency, appliedScanFilters)`` of ``repo`` under the registry's rules.

    A rule applies when one of its WILDCARD filters matches the repository name; when both
    a CONTINUOUS_SCAN and a SCAN_ON_PUSH rule apply, continuous wins (ENHANCED). With BASIC
    scanning the repository's own (deprecated) ``scanOnPush`` flag also turns scan on push on.
    """
    matched: dict[str, list[dict]] = {}
    for rule in config.rules:
        filters = [f for f in rule.get("repositoryFilters", ()) if wildcard(f["filter"], any_char=False).fullmatch(repo.name)]
        if filters:
            matched.setdefault(rule["scanFrequency"], []).extend(filters)
    for frequency in (CONTINUOUS_SCAN, SCAN_ON_PUSH):
        if frequency in matched:
            return frequency, matched[frequency]
    if config.scan_type == BASIC and repo.scan_on_push:
        return SCAN_ON_PUSH, []
    return MANUAL, []


def is_scannable(image) -> bool:
    """A container image (not an index, not a signature or other artifact)."""
    return not image.children and image.artifact_media_type in IMAGE_CONFIG_TYPES
