"""Images in a repository: the one ``put_image`` both doors end in, tags, deletes, links, and
the start of a scan (on push or StartImageScan).

Every function here is called with ``Backend.lock`` held by the caller.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ..errors import (
    ImageAlreadyExistsException,
    ImageDigestDoesNotMatchException,
    ImageTagAlreadyExistsException,
    LayersNotFoundException,
    ReferencedImagesNotFoundException,
)
from . import archive, pull_times, scans
from .archive import ARCHIVE
from .blobs import Blob, BlobStore
from .digests import sha256_digest
from .events import ScanStarted
from .manifests import ParsedManifest, manifest_error, parse_manifest
from .model import Image, RegistryState, Repository


def link_blob(repo: Repository, blob: Blob, now: datetime) -> None:
    """Make ``blob`` part of ``repo`` (after an upload, a mount, or a layer-API upload); the
    grace period before an unreferenced link is collected starts again at ``now``, the long one
    of a blob a push is about to reference (``store/gc.py``)."""
    repo.blobs[blob.digest] = now
    repo.released_blobs.pop(blob.digest, None)


def touch_blob(repo: Repository, digest: str, now: datetime) -> None:
    """A pushing client was just told ``repo`` has ``digest`` (a ``HEAD`` of the blob,
    BatchCheckLayerAvailability): it may name it in a manifest instead of uploading it, so a
    link a deleted image left behind is kept as a fresh link again (the long grace)."""
    if digest in repo.released_blobs:
        del repo.released_blobs[digest]
        repo.blobs[digest] = now


def unlink_blob(repo: Repository, digest: str) -> bool:
    """Take ``digest`` out of ``repo`` (the bytes go at the next garbage collection if no
    repository links them); False if ``repo`` did not link it."""
    repo.released_blobs.pop(digest, None)
    return repo.blobs.pop(digest, None) is not None


def linked_blob(repo: Repository, blobs: BlobStore, digest: str) -> Blob | None:
    """The blob ``digest`` if ``repo`` links it."""
    return blobs.get(digest) if digest in repo.blobs else None


def digest_is_new(repo: Repository, manifest: bytes) -> bool:
    return sha256_digest(manifest) not in repo.images


def put_image(repo: Repository, blobs: BlobStore, manifest: bytes, *, media_type: str | None = None,
              tag: str | None = None, digest: str | None = None, now: datetime,
              lenient: bool = False) -> Image:
    """Store ``manifest`` (tagged ``tag``) in ``repo`` with ECR's rules; returns the image.

    Raises ImageDigestDoesNotMatch, InvalidParameter (manifest), LayersNotFound,
    ReferencedImagesNotFound, ImageTagAlreadyExists (immutable tag), ImageAlreadyExists
    (same manifest and same or no tag). Nothing changes unless it returns.

    ``lenient`` (``--lenient-manifests``): blobs (layers, config) the repository does not have
    are accepted instead of raising LayersNotFound, and an index's child manifests that were
    never pushed instead of raising ReferencedImagesNotFound, as moto does, so suites that
    PutImage hand-made manifests and indexes run unchanged; layer sizes come from the manifest's
    descriptors, and what was never pushed stays unknown (a pull of it answers BLOB_UNKNOWN /
    MANIFEST_UNKNOWN). Everything else (digest, manifest form, sizes of stored blobs, tag
    immutability) stays strict.
    """
    actual = sha256_digest(manifest)
    if digest is not None and digest != actual:
        raise ImageDigestDoesNotMatchException(
            f"The image digest '{digest}' does not match the digest '{actual}' of the manifest."
        )
    parsed = parse_manifest(manifest, media_type)
    _check_references(repo, blobs, parsed, lenient)
    existing = repo.images.get(actual)
    if tag is not None:
        current = repo.tag_index.get(tag)
        if current is not None and current != actual and repo.tag_is_immutable(tag):
            # ECR's text, as docker/podman print it from real pushes ("The image tag 'latest'
            # already exists in the '<repo>' repository and cannot be overwritten because the tag
            # is immutable.")
            raise ImageTagAlreadyExistsException(
                f"The image tag '{tag}' already exists in the '{repo.name}' repository and cannot be "
                "overwritten because the tag is immutable."
            )
    archived = existing is not None and existing.storage_class == ARCHIVE
    if existing is not None and not archived and (tag is None or repo.tag_index.get(tag) == actual):
        raise ImageAlreadyExistsException(
            f"Image with digest '{actual}'" + (f" and tag '{tag}'" if tag else "")
            + f" already exists in the repository with name '{repo.name}' in registry with id '{repo.account}'"
        )
    image = existing or _new_image(repo, blobs, parsed, actual, manifest, now)
    repo.images[actual] = image
    repo.images_changes += 1
    if archived:
        # pushing an archived image again restores it at once (ECR's user guide)
        archive.restore(repo, image, completes_at=now)
    if tag is not None:
        _move_tag(repo, tag, image, now)
    return image


def _new_image(repo, blobs, parsed: ParsedManifest, digest: str, manifest: bytes, now) -> Image:
    if parsed.is_index:
        sizes = [repo.images[c.digest].size for c in parsed.children if c.digest in repo.images]
        size = max(sizes, default=0)
    else:
        size = sum(_blob_size(blobs, layer) for layer in parsed.layers)
    return Image(
        digest=digest, manifest=manifest, media_type=parsed.media_type, pushed_at=now, size=size,
        artifact_media_type=parsed.artifact_media_type, artifact_type=parsed.artifact_type,
        subject=parsed.subject.digest if parsed.subject else None,
        blobs=tuple(d.digest for d in parsed.blobs if not d.foreign),
        blob_media_types={d.digest: d.media_type for d in parsed.blobs},
        children=tuple(c.digest for c in parsed.children), annotations=dict(parsed.annotations),
    )


def _blob_size(blobs: BlobStore, descriptor) -> int:
    blob = blobs.get(descriptor.digest)
    return blob.size if blob else descriptor.size


def _check_references(repo: Repository, blobs: BlobStore, parsed: ParsedManifest, lenient: bool) -> None:
    missing = [d.digest for d in parsed.blobs if not d.foreign and linked_blob(repo, blobs, d.digest) is None]
    if missing and not lenient:
        raise LayersNotFoundException(
            f"Layers with digests {missing} required for pushing image into repository with name "
            f"'{repo.name}' in the registry with id '{repo.account}' do not exist"
        )
    for d in parsed.blobs:
        blob = blobs.get(d.digest)
        if blob is not None and not d.foreign and blob.size != d.size:
            raise manifest_error(f"size {d.size} of {d.digest} does not match the stored blob ({blob.size})")
    missing = [c.digest for c in parsed.children if c.digest not in repo.images]
    if missing and not lenient:
        raise ReferencedImagesNotFoundException(
            f"Manifests with digests {missing} referenced by the manifest list do not exist in the "
            f"repository with name '{repo.name}' in the registry with id '{repo.account}'"
        )


def _move_tag(repo: Repository, tag: str, image: Image, now: datetime) -> None:
    previous = repo.tag_index.get(tag)
    if previous == image.digest:
        return
    if previous is not None and previous in repo.images:
        repo.images[previous].tags.remove(tag)
    repo.tag_index[tag] = image.digest
    repo.tagged_at[tag] = now
    image.tags.append(tag)
    repo.images_changes += 1


def parents_of(repo: Repository, digest: str) -> list[Image]:
    """Indexes in ``repo`` that reference the manifest ``digest``."""
    return [image for image in repo.images.values() if digest in image.children]


def referrers_of(repo: Repository, digest: str) -> list[Image]:
    """Images in ``repo`` whose OCI ``subject`` is ``digest``."""
    return [image for image in repo.images.values() if image.subject == digest]


def delete_image(repo: Repository, digest: str) -> Image:
    """Remove the image and all its tags (callers check :func:`parents_of` first)."""
    image = repo.images.pop(digest)
    repo.images_changes += 1
    for tag in image.tags:
        repo.tag_index.pop(tag, None)
        repo.tagged_at.pop(tag, None)
    return image


def remove_tag(repo: Repository, tag: str) -> Image:
    """Untag; an image left without tags is deleted, as BatchDeleteImage does."""
    image = repo.images[repo.tag_index.pop(tag)]
    repo.images_changes += 1
    repo.tagged_at.pop(tag, None)
    image.tags.remove(tag)
    if not image.tags:
        repo.images.pop(image.digest, None)
    return image


def record_pull(state: RegistryState, image: Image, now: datetime, principal_arn: str) -> None:
    """A pull moves ``lastRecordedPullTime``, unless the puller is in the registry's pull-time
    update exclusions (:func:`pull_times.excluded`)."""
    if not pull_times.excluded(state.pull_time_exclusions, principal_arn):
        image.last_pulled_at = now


def record_download(repo: Repository, image: Image) -> None:
    """Count a download of a public repository (the gallery's "N downloads").

    AWS does not document what the ECR Public Gallery counts; the emulator counts image pulls:
    each ``GET`` of a manifest (by tag or digest) from the public registry, by anyone, anonymous
    or authenticated -- except the ``GET`` of a manifest that an image index of the repository
    lists, the second step of a multi-platform pull (its index was counted). ``HEAD`` requests
    (a client checking for an update) and blob fetches do not count.
    """
    if not parents_of(repo, image.digest):
        repo.download_count += 1


def complete_upload(backend, repo: Repository, session, digest: str) -> Blob:
    """Finish an upload whose bytes are all in: verify ``digest``, store once (the session's
    file is renamed into the store, or dropped when the digest is stored already), link to
    ``repo``. Call without ``Backend.lock``.

    Raises ``DigestMismatch`` (the session stays open so the client may retry).
    """
    staged = session.verified(digest)
    with backend.lock:
        stored = backend.blobs.commit(staged)
        link_blob(repo, stored, backend.clock.now())
        backend.uploads.finish(session.id)
    return stored


def start_scan(backend, repo, image, *, scan_type: str, frequency: str = "") -> scans.ImageScan:
    """Record a new scan of ``image`` (IN_PROGRESS, or PENDING for ENHANCED) and tell the
    scanner (``ScanStarted``). Call with ``Backend.lock`` held."""
    scan = scans.ImageScan(id=str(uuid.uuid4()), scan_type=scan_type,
                           status=scans.PENDING if scan_type == scans.ENHANCED else scans.IN_PROGRESS,
                           started_at=backend.clock.now(), frequency=frequency)
    image.scan = scan
    backend.events.emit(ScanStarted(repo, image, scan))
    return scan
