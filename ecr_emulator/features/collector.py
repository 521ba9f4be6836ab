"""Memory that comes back: the collector of ``store/gc.py`` run periodically, after deletes,
and on demand.

- every ``gc_interval`` real seconds (``Backend.tasks.every``), and as a task after every
  image delete (so a grace period of 0 frees at once);
- ``POST /_emulator/gc`` runs it now and answers what it freed (tests advance the clock,
  then call it instead of waiting for the next run);
- ``GET /_emulator/stats`` answers what is stored (blobs and their bytes, open uploads and
  theirs): what the soak script compares RSS with.
"""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from ..admin import admin_route, emulator
from ..store import ImageDeleted
from ..store.gc import collect, restart_grace


def _grace(settings) -> timedelta:
    return timedelta(seconds=settings.blob_grace_seconds)


def run(emulator_) -> dict[str, int]:
    return collect(emulator_.backend, _grace(emulator_.settings)).as_dict()


def install(emulator_) -> None:
    backend, settings = emulator_.backend, emulator_.settings
    backend.uploads.max_age = timedelta(seconds=settings.upload_expiry_seconds)

    def on_delete(event: ImageDeleted) -> None:
        restart_grace(event.repo, event.image, backend.clock.now())
        backend.tasks.submit(lambda: run(emulator_), name="collect after delete")

    backend.events.subscribe(ImageDeleted, on_delete)
    backend.tasks.every(settings.gc_interval, lambda: run(emulator_))


@admin_route("/gc", methods=["POST"])
def collect_now():
    """Run the collector now (on the emulator's clock) and say what it freed."""
    return jsonify(run(emulator()))


@admin_route("/stats", methods=["GET"])
def stats():
    backend = emulator().backend
    with backend.lock:
        repos = backend.all_repositories()
        images = sum(len(repo.images) for repo in repos)
    blobs, blob_bytes = backend.blobs.stats()
    uploads, upload_bytes = backend.uploads.stats()
    return jsonify(repositories=len(repos), images=images, blobs=blobs, blobBytes=blob_bytes,
                   uploads=uploads, uploadBytes=upload_bytes)
