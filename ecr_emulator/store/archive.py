"""ECR's archive storage class: moving images between STANDARD and ARCHIVE, and their status.

An image's state is three plain fields of :class:`Image`: ``storage_class``, ``archived_at``
and ``activated_at``. Its status follows from them and the clock:

- ``ARCHIVED``: in the ARCHIVE class. Listed and described, never pulled (either door).
- ``ACTIVATING``: back in STANDARD, but its restore completes at ``activated_at``, which is
  still in the future on the emulator's clock (``UpdateImageStorageClass`` to STANDARD
  takes ``--archive-restore-minutes``; advance the clock instead of waiting).
- ``ACTIVE``: everything else.

What goes with an image: its OCI referrers (signatures, SBOMs) follow their subject into and
out of the archive, and an image index takes the manifests it references with it (those no
other non-archived index still uses). A manifest that a non-archived index references cannot
be archived on its own, as it still has to be pullable through that index.

Every function here is called with ``Backend.lock`` held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..errors import ImageStorageClassUpdateNotSupportedException
from .model import Image, Repository

STANDARD = "STANDARD"
ARCHIVE = "ARCHIVE"
ACTIVE = "ACTIVE"
ARCHIVED = "ARCHIVED"
ACTIVATING = "ACTIVATING"


def is_archived(image: Image) -> bool:
    """Whether ``image`` is in the archive (what StartImageScan refuses, as ECR does)."""
    return image.storage_class == ARCHIVE


def status(image: Image, now: datetime) -> str:
    """``ACTIVE``, ``ARCHIVED`` or ``ACTIVATING`` (the model's ``ImageStatus``)."""
    if image.storage_class == ARCHIVE:
        return ARCHIVED
    if image.activated_at is not None and image.activated_at > now:
        return ACTIVATING
    return ACTIVE


def is_pullable(image: Image, now: datetime) -> bool:
    return status(image, now) == ACTIVE


def last_activated_at(image: Image, now: datetime) -> datetime | None:
    """``lastActivatedAt``: when the last completed restore finished."""
    if image.activated_at is not None and image.activated_at <= now:
        return image.activated_at
    return None


def blob_archived(repo: Repository, digest: str) -> bool:
    """Whether every image of ``repo`` that uses the blob ``digest`` is archived (and one does):
    the layer is ``ARCHIVED`` for BatchCheckLayerAvailability and cannot be downloaded."""
    users = [image for image in repo.images.values() if digest in image.blobs]
    return bool(users) and all(image.storage_class == ARCHIVE for image in users)


def matches(image: Image, wanted: str | None, now: datetime) -> bool:
    """The ``imageStatus`` / ``artifactStatus`` filters: ACTIVE when not given, or ANY."""
    wanted = wanted or ACTIVE
    return wanted == "ANY" or status(image, now) == wanted


def _not_supported(message: str) -> ImageStorageClassUpdateNotSupportedException:
    return ImageStorageClassUpdateNotSupportedException(message)


def _describe(repo: Repository, image: Image) -> str:
    return f"The image with digest '{image.digest}' in the repository with name '{repo.name}'"


@dataclass
class Links:
    """Who points at whom in a repository, looked up once for many images (not stored)."""

    #: subject digest -> images whose OCI ``subject`` it is
    referrers: dict[str, list[Image]] = field(default_factory=dict)
    #: manifest digest -> image indexes that reference it
    parents: dict[str, list[Image]] = field(default_factory=dict)


def links(repo: Repository) -> Links:
    found = Links()
    for image in repo.images.values():
        if image.subject is not None:
            found.referrers.setdefault(image.subject, []).append(image)
        for child in image.children:
            found.parents.setdefault(child, []).append(image)
    return found


def _active_parents(repo: Repository, image: Image, linked: Links) -> list[str]:
    return sorted(p.digest for p in linked.parents.get(image.digest, ())
                  if p.storage_class != ARCHIVE and p.digest in repo.images)


def companions(repo: Repository, image: Image, target: str, linked: Links | None = None) -> list[Image]:
    """``image`` and what moves with it to ``target`` (referrers; an index's manifests)."""
    linked = linked or links(repo)
    moving: dict[str, Image] = {}
    pending = [image]
    while pending:
        current = pending.pop()
        if current.digest in moving or current.digest not in repo.images:
            continue
        moving[current.digest] = current
        pending.extend(linked.referrers.get(current.digest, ()))
        for child in current.children:
            found = repo.images.get(child)
            if found is None:
                continue
            if target == ARCHIVE and any(p not in moving for p in _active_parents(repo, found, linked)):
                continue  # another index still serves it
            pending.append(found)
    return list(moving.values())


def check_archive(repo: Repository, image: Image, now: datetime) -> None:
    """Raise ImageStorageClassUpdateNotSupported when ``image`` cannot go to the archive."""
    current = status(image, now)
    if current == ARCHIVED:
        raise _not_supported(f"{_describe(repo, image)} is already in the ARCHIVE storage class.")
    if current == ACTIVATING:
        raise _not_supported(f"{_describe(repo, image)} is being restored from the archive; it can be "
                             "archived again once its status is ACTIVE.")
    parents = _active_parents(repo, image, links(repo))
    if parents:
        raise _not_supported(f"{_describe(repo, image)} is referenced by the image index(es) {parents}; "
                             "archive the image index instead.")


def archive(repo: Repository, image: Image, now: datetime, linked: Links | None = None) -> list[Image]:
    """Move ``image`` (with its companions) to the archive; returns every image moved."""
    moved = [i for i in companions(repo, image, ARCHIVE, linked) if i.storage_class != ARCHIVE]
    for item in moved:
        item.storage_class = ARCHIVE
        item.archived_at = now
    repo.images_changes += 1
    return moved


def restore(repo: Repository, image: Image, completes_at: datetime) -> list[Image]:
    """Bring ``image`` (with its companions) back to STANDARD; ACTIVE from ``completes_at``."""
    moved = [i for i in companions(repo, image, STANDARD) if i.storage_class == ARCHIVE]
    for item in moved:
        item.storage_class = STANDARD
        item.activated_at = completes_at
    repo.images_changes += 1
    return moved
