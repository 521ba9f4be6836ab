"""Giving memory back: unreferenced blob links, expired uploads, unlinked blobs.

ECR purges layers no image references; Distribution expires upload sessions after 7 days.
Here, on the emulator's clock:

- a repository's link to a blob that no image of that repository references (uploaded and
  never pushed with a manifest, or left by a deleted image) is removed once it has been
  unreferenced for the grace period -- the link time restarts when the last image using the
  blob goes (:func:`restart_grace`), so a deleted image's layers stay pullable for the grace
  period and then answer BLOB_UNKNOWN;
- an upload session older than its expiry is dropped with the bytes it held;
- a blob no repository links is freed, and glibc is asked to return freed heap to the system.

Everything runs under ``Backend.lock`` (metadata only, quick); the bytes are released when
the last reference to their buffers goes (a GET streaming one keeps it until it finishes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Image, Repository


@dataclass
class Collected:
    """What one collection freed."""

    links: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    uploads: int = 0
    upload_bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"unlinked": self.links, "blobsFreed": self.blobs, "blobBytesFreed": self.blob_bytes,
                "uploadsExpired": self.uploads, "uploadBytesFreed": self.upload_bytes}


def referenced(repo: Repository) -> set[str]:
    """Blob digests some image of ``repo`` references (config and layers)."""
    return {digest for image in repo.images.values() for digest in image.blobs}


def restart_grace(repo: Repository, image: Image, now: datetime) -> None:
    """``image`` left ``repo``: its blobs that no remaining image uses are unreferenced from
    ``now`` on (call with ``Backend.lock`` held)."""
    still = referenced(repo)
    for digest in image.blobs:
        if digest in repo.blobs and digest not in still:
            repo.blobs[digest] = now


def unlink_expired(repos: list[Repository], now: datetime, grace: timedelta) -> int:
    """Remove links unreferenced for at least ``grace``; returns how many went."""
    count = 0
    for repo in repos:
        still = referenced(repo)
        for digest, since in list(repo.blobs.items()):
            if digest not in still and now - since >= grace:
                del repo.blobs[digest]
                count += 1
    return count


def collect(backend, grace: timedelta) -> Collected:
    """One full collection (links, uploads, blobs) at the backend clock's now."""
    now = backend.clock.now()
    with backend.lock:
        links = unlink_expired(backend.all_repositories(), now, grace)
    uploads, upload_bytes = backend.uploads.expire(now)
    blobs, blob_bytes = backend.collect_garbage()
    if uploads and not blobs:
        return_memory()
    return Collected(links, blobs, blob_bytes, uploads, upload_bytes)


def return_memory() -> None:
    """Ask glibc to give freed heap pages back to the system (``malloc_trim``); blob pieces of
    1 MiB and more are separate mappings already (``registry/bodies.py``), smaller ones are
    not. No-op where there is no glibc."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
