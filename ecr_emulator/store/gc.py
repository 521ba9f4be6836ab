"""Giving memory back: unreferenced blob links, expired uploads, unlinked blobs.

ECR purges layers no image references; Distribution expires upload sessions after 7 days.
Here, on the emulator's clock (which runs with the wall clock unless a test advances it):

- a repository's link to a blob that no image of it references is removed after a grace
  period that depends on why it is unreferenced:

  * a blob uploaded or mounted and not yet named by a manifest (a push in progress, the layer
    API's uploads awaiting PutImage): ``blob_grace_seconds`` (an hour) from its last link;
  * a blob a deleted image left behind (``Repository.released_blobs``): the short
    ``deleted_blob_grace_seconds`` (seconds), so a push-then-delete churn does not pile up an
    hour of garbage -- but not while a push that may still name it is in flight: an upload
    session of that repository started before the delete (or within the grace after it) and
    active within the grace (``blobs.pushing`` over ``UploadSessions.activity``). A client that re-uploads it,
    mounts it or is told it exists (``HEAD``, BatchCheckLayerAvailability) links it afresh
    (``images.link_blob`` / ``touch_blob``): the long grace again;
- an upload session older than its expiry is dropped with the bytes it held;
- a blob no repository links is freed, and glibc is asked to return freed heap to the system.

Everything runs under ``Backend.lock`` (metadata only, quick); the bytes are released when
the last reference to their buffers goes (a GET streaming one keeps it until it finishes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Image, Repository
from .uploads import pushing


@dataclass
class Collected:
    """What one collection freed."""

    links: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    uploads: int = 0
    upload_bytes: int = 0
    #: links left by deleted images still within their grace (or kept by a push in flight)
    waiting: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"unlinked": self.links, "blobsFreed": self.blobs, "blobBytesFreed": self.blob_bytes,
                "uploadsExpired": self.uploads, "uploadBytesFreed": self.upload_bytes,
                "releasedWaiting": self.waiting}


def referenced(repo: Repository) -> set[str]:
    """Blob digests some image of ``repo`` references (config and layers)."""
    return {digest for image in repo.images.values() for digest in image.blobs}


def restart_grace(repo: Repository, image: Image, now: datetime) -> None:
    """``image`` left ``repo``: its blobs that no remaining image uses are released from
    ``now`` on, for the short grace (call with ``Backend.lock`` held)."""
    still = referenced(repo)
    for digest in image.blobs:
        if digest in repo.blobs and digest not in still:
            repo.blobs[digest] = now
            repo.released_blobs[digest] = now


@dataclass
class Graces:
    """How long unreferenced links stay: ``linked`` (uploaded or mounted, awaiting a manifest)
    and ``released`` (left by a deleted image)."""

    linked: timedelta
    released: timedelta


def unlink_expired(repos: list[Repository], now: datetime, graces: Graces, pushing=None) -> tuple[int, int]:
    """Remove links past their grace; returns how many went and how many released links are
    still waiting (a collection is due again soon). ``pushing(repo, since)``: whether an upload
    that may still name a blob released at ``since`` is in flight in ``repo``."""
    count = waiting = 0
    for repo in repos:
        if not repo.blobs:
            continue
        still = referenced(repo)
        for digest in [d for d in repo.released_blobs if d in still or d not in repo.blobs]:
            del repo.released_blobs[digest]  # named by an image again (or unlinked)
        for digest, since in list(repo.blobs.items()):
            if digest in still:
                continue
            released = repo.released_blobs.get(digest)
            if released is None:
                expired = now - since >= graces.linked
            else:
                expired = now - released >= graces.released and not (pushing and pushing(repo, released))
                waiting += not expired
            if expired:
                del repo.blobs[digest]
                repo.released_blobs.pop(digest, None)
                count += 1
    return count, waiting


def collect(backend, graces: Graces, *, released_only: bool = False) -> Collected:
    """One collection (links, uploads, blobs) at the backend clock's now; ``released_only``:
    look only at repositories holding links deleted images left (the quick follow-ups)."""
    now = backend.clock.now()
    activity = backend.uploads.activity(now, graces.released)

    def in_flight(repo: Repository, since: datetime) -> bool:
        records = activity.get((repo.account, repo.region, repo.name))
        return bool(records) and pushing(records, since, now, graces.released)

    with backend.lock:
        repos = backend.all_repositories()
        if released_only:
            repos = [repo for repo in repos if repo.released_blobs]
        links, waiting = unlink_expired(repos, now, graces, in_flight)
    uploads, upload_bytes = backend.uploads.expire(now)
    blobs, blob_bytes = backend.collect_garbage()
    if uploads and not blobs:
        return_memory()
    return Collected(links, blobs, blob_bytes, uploads, upload_bytes, waiting)


def return_memory() -> None:
    """Ask glibc to give freed heap pages back to the system (``malloc_trim``); blob pieces of
    1 MiB and more are separate mappings already (``registry/bodies.py``), smaller ones are
    not. No-op where there is no glibc."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
