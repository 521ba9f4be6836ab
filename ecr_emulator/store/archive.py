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


def _active_parents(repo: Repository, image: Image) -> list[str]:
    return sorted(p.digest for p in repo.images.values()
                  if image.digest in p.children and p.storage_class != ARCHIVE)


def companions(repo: Repository, image: Image, target: str) -> list[Image]:
    """``image`` and what moves with it to ``target`` (referrers; an index's manifests)."""
    moving: dict[str, Image] = {}
    pending = [image]
    while pending:
        current = pending.pop()
        if current.digest in moving:
            continue
        moving[current.digest] = current
        pending.extend(i for i in repo.images.values() if i.subject == current.digest)
        for child in current.children:
            found = repo.images.get(child)
            if found is None:
                continue
            if target == ARCHIVE and any(p not in moving and p != current.digest
                                         for p in _active_parents(repo, found)):
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
    parents = _active_parents(repo, image)
    if parents:
        raise _not_supported(f"{_describe(repo, image)} is referenced by the image index(es) {parents}; "
                             "archive the image index instead.")


def archive(repo: Repository, image: Image, now: datetime) -> list[Image]:
    """Move ``image`` (with its companions) to the archive; returns every image moved."""
    moved = [i for i in companions(repo, image, ARCHIVE) if i.storage_class != ARCHIVE]
    for item in moved:
        item.storage_class = ARCHIVE
        item.archived_at = now
    return moved


def restore(repo: Repository, image: Image, completes_at: datetime) -> list[Image]:
    """Bring ``image`` (with its companions) back to STANDARD; ACTIVE from ``completes_at``."""
    moved = [i for i in companions(repo, image, STANDARD) if i.storage_class == ARCHIVE]
    for item in moved:
        item.storage_class = STANDARD
        item.activated_at = completes_at
    return moved
