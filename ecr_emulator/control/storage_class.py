"""UpdateImageStorageClass: archive an image, or restore it (``store/archive.py``).

A restore is not instant on ECR (up to 20 minutes): the image is ACTIVATING, and not
pullable, until ``--archive-restore-minutes`` of the emulator's clock have passed (advance
the clock to get there at once; 0 makes restores complete immediately).
"""

from __future__ import annotations

from datetime import timedelta

from ..errors import (
    ImageNotFoundException,
    ImageStorageClassUpdateNotSupportedException,
)
from ..store import archive
from ..store.events import StorageClassChanged
from .images import resolve
from .tables import ecr
from .validation import check_image_id


@ecr("UpdateImageStorageClass")
def update_image_storage_class(ctx, repository_name, image_id, target_storage_class, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "UpdateImageStorageClass")
    check_image_id(image_id)
    image, _ = resolve(repo, image_id)
    if image is None:
        raise ImageNotFoundException.for_id(image_id, repo.name, repo.account)
    now = ctx.now
    current = archive.status(image, now)
    if target_storage_class == archive.ARCHIVE:
        archive.check_archive(repo, image, now)
        _tell(ctx, repo, archive.archive(repo, image, now), archive.ARCHIVE)
    elif current == archive.ACTIVE:
        raise ImageStorageClassUpdateNotSupportedException(
            f"The image with digest '{image.digest}' in the repository with name '{repo.name}' is already "
            "in the STANDARD storage class.")
    elif current == archive.ARCHIVED:
        delay = timedelta(minutes=ctx.settings.archive_restore_minutes)
        _tell(ctx, repo, archive.restore(repo, image, completes_at=now + delay), archive.STANDARD)
    image_id = {"imageDigest": image.digest, **({"imageTag": image_id["imageTag"]} if image_id.get("imageTag") else {})}
    return {"registryId": repo.account, "repositoryName": repo.name, "imageId": image_id,
            "imageStatus": archive.status(image, now)}


def _tell(ctx, repo, moved, storage_class: str) -> None:
    """Tell the features (EventBridge's UPDATE_STORAGE_CLASS events) which images moved."""
    for image in moved:
        ctx.backend.events.emit(StorageClassChanged(repo, image, storage_class))
