"""The whole emulated world: every registry, the shared blob store, uploads and the clock.

``Backend.private(account, region)`` and ``Backend.public(account)`` create registries on
first use. Metadata changes happen under ``Backend.lock`` (they are quick and in memory);
blob bytes stream in outside it and are committed under it.

``Backend.put_image`` is the one door every image comes through (a manifest PUT, PutImage,
replication, pull-through); it emits :class:`ImagePushed` so features (scan on push,
replication, signing) see every image whichever way it came. ``delete_image`` and
``remove_tag`` emit :class:`ImageDeleted` when an image goes (:class:`TagRemoved` when only
a tag does).
"""

from __future__ import annotations

from datetime import datetime

from . import gc, image_door
from .blobs import BlobStore, UploadSessions
from .clock import Clock
from .events import Door, Events, ImageDeleted, ImagePushed, StateReset, TagRemoved
from .locking import CountingLock
from .model import PRIVATE, PUBLIC, Image, RegistryState, Repository
from .tasks import Tasks
from .upstreams import Upstreams

#: ECR Public lives in one region.
PUBLIC_REGION = "us-east-1"


class Backend:
    def __init__(self, clock: Clock | None = None, *, lenient_manifests: bool = False) -> None:
        self.clock = clock or Clock()
        #: ``--lenient-manifests``: images may name blobs never uploaded (:func:`image_door.put_image`)
        self.lenient_manifests = lenient_manifests
        self.lock = CountingLock()
        self.blobs = BlobStore()
        self.uploads = UploadSessions(self.blobs)
        self._registries: dict[tuple[str, str, str], RegistryState] = {}
        self.events = Events()
        self.tasks = Tasks()
        #: what fetches missing images from pull-through upstreams (the feature installs it)
        self.upstreams: Upstreams = Upstreams()

    # -- the one door for images (call with ``lock`` held) ----------------------------------
    def put_image(self, repo: Repository, manifest: bytes, *, door: Door, media_type: str | None = None,
                  tag: str | None = None, digest: str | None = None, now: datetime | None = None) -> Image:
        """Store ``manifest`` in ``repo`` with ECR's rules (:func:`image_door.put_image`) and tell
        the features. ``door``: who is pushing (:class:`~.events.Door`)."""
        new = image_door.digest_is_new(repo, manifest)
        image = image_door.put_image(repo, self.blobs, manifest, media_type=media_type, tag=tag, digest=digest,
                                 now=now or self.clock.now(), lenient=self.lenient_manifests)
        self.events.emit(ImagePushed(repo, image, tag, new, door))
        return image

    def delete_image(self, repo: Repository, digest: str, *, door: Door = Door.USER) -> Image:
        image = image_door.delete_image(repo, digest)
        self.events.emit(ImageDeleted(repo, image, door))
        return image

    def remove_tag(self, repo: Repository, tag: str, *, door: Door = Door.USER) -> Image:
        image = image_door.remove_tag(repo, tag)
        if image.digest not in repo.images:
            self.events.emit(ImageDeleted(repo, image, door))
        else:
            self.events.emit(TagRemoved(repo, image, tag, door))
        return image

    def private(self, account: str, region: str) -> RegistryState:
        return self._registry(account, region, PRIVATE)

    def public(self, account: str) -> RegistryState:
        return self._registry(account, PUBLIC_REGION, PUBLIC)

    def registry(self, account: str, region: str, kind: str) -> RegistryState:
        return self.public(account) if kind == PUBLIC else self.private(account, region)

    def _registry(self, account: str, region: str, kind: str) -> RegistryState:
        key = (kind, account, region)
        state = self._registries.get(key)
        if state is None:
            with self.lock:
                state = self._registries.setdefault(key, RegistryState(account, region, kind))
        return state

    def registries(self) -> list[RegistryState]:
        return list(self._registries.values())

    def all_repositories(self) -> list[Repository]:
        return [repo for state in self.registries() for repo in state.repositories.values()]

    def collect_garbage(self) -> tuple[int, int]:
        """Free blobs no repository links any more (after deletes and unlinks); returns how
        many and their bytes. Unreferenced links and expired uploads: ``store/gc.py``."""
        with self.lock:
            linked = {d for repo in self.all_repositories() for d in repo.blobs}
            freed = self.blobs.discard_unreferenced(linked)
        if freed[0]:
            gc.return_memory()
        return freed

    def restore(self, registries: list[RegistryState], blobs: dict, clock_offset) -> None:
        """Replace everything with a snapshot's content (store/snapshot.py)."""
        with self.lock:
            self.tasks.forget()
            self.uploads.clear()
            self._registries = {(s.kind, s.account, s.region): s for s in registries}
            self.blobs.replace(blobs)
            self.clock.set_offset(clock_offset)

    def reset(self) -> None:
        """Forget everything: what ``POST /_emulator/reset`` does."""
        with self.lock:
            self.tasks.forget()
            self._registries.clear()
            self.blobs.clear()
            self.uploads.clear()
            self.clock.reset()
            self.events.emit(StateReset())
