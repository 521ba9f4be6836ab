"""Memory that comes back: the collector of ``store/gc.py`` run periodically, soon after
deletes, and on demand.

- every ``gc_interval`` real seconds (``Backend.tasks.every``);
- after every image delete at once (so a grace period of 0 frees at once), and again every
  :data:`FOLLOW_UP` seconds while links left by deleted images wait for their short grace
  (``deleted_blob_grace_seconds``): the bytes of a push-then-delete churn come back seconds
  after the deletes, not at the next long interval;
- ``POST /_emulator/gc`` runs it now and answers what it freed (tests advance the clock,
  then call it instead of waiting for the next run);
- ``GET /_emulator/stats`` answers what is stored (blobs and their bytes, open uploads and
  theirs): what the soak script compares RSS with.
"""

from __future__ import annotations

import threading
import weakref
from datetime import timedelta

from ..store import ImageDeleted
from ..store.gc import Graces, collect, restart_grace
from .endpoints import Call, Endpoint

#: seconds between the collections that follow deletes while released links wait
FOLLOW_UP = 0.5


def _graces(settings) -> Graces:
    return Graces(linked=timedelta(seconds=settings.blob_grace_seconds),
                  released=timedelta(seconds=settings.deleted_blob_grace_seconds))


class Collector:
    """Runs the collection, and keeps running it every :data:`FOLLOW_UP` seconds while links
    left by deleted images are waiting (one flag, checked by one periodic job)."""

    def __init__(self, emulator_) -> None:
        self.emulator = emulator_
        self._waiting = threading.Event()
        self._lock = threading.Lock()
        #: deletes seen: a run that started before the last one must not clear the flag
        self._deletes = 0

    def run(self, released_only: bool = False) -> dict[str, int]:
        with self._lock:
            deletes = self._deletes
        collected = collect(self.emulator.backend, _graces(self.emulator.settings), released_only=released_only)
        with self._lock:
            if collected.waiting:
                self._waiting.set()
            elif deletes == self._deletes:
                self._waiting.clear()
        return collected.as_dict()

    def follow_up(self) -> None:
        if self._waiting.is_set():
            self.run(released_only=True)

    def on_delete(self, event: ImageDeleted) -> None:
        backend = self.emulator.backend
        restart_grace(event.repo, event.image, backend.clock.now())
        with self._lock:
            self._deletes += 1
            self._waiting.set()
        backend.tasks.submit(lambda: self.run(released_only=True), name="collect after delete")


_COLLECTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def run(emulator_) -> dict[str, int]:
    collector = _COLLECTORS.get(emulator_)
    return collector.run() if collector else collect(emulator_.backend, _graces(emulator_.settings)).as_dict()


def install(emulator_) -> None:
    backend, settings = emulator_.backend, emulator_.settings
    backend.uploads.max_age = timedelta(seconds=settings.upload_expiry_seconds)
    collector = _COLLECTORS[emulator_] = Collector(emulator_)
    backend.events.subscribe(ImageDeleted, collector.on_delete)
    backend.tasks.every(settings.gc_interval, collector.run)
    backend.tasks.every(FOLLOW_UP, collector.follow_up)


def collect_now(emulator_, call: Call) -> dict:
    """Run the collector now (on the emulator's clock) and say what it freed."""
    return run(emulator_)


def stats(emulator_, call: Call) -> dict:
    backend = emulator_.backend
    with backend.lock:
        repos = backend.all_repositories()
        images = sum(len(repo.images) for repo in repos)
    blobs, blob_bytes = backend.blobs.stats()
    uploads, upload_bytes = backend.uploads.stats()
    return {"repositories": len(repos), "images": images, "blobs": blobs, "blobBytes": blob_bytes,
            "uploads": uploads, "uploadBytes": upload_bytes}


ENDPOINTS = (Endpoint("/gc", ("POST",), collect_now), Endpoint("/stats", ("GET",), stats))
