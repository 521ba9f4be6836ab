"""Image scanning: scan on push (whichever door the image came through) and StartImageScan,
run in the background against the vulnerability feed (``--vuln-db``, else the demo feed
shipped in ``demo_feed/``), and canned findings for users who want fixed results.

Engine: ``layers`` (streamed layers, whiteouts), ``inventory`` (OS and packages per package
manager), ``versions`` (ordering per ecosystem), ``osv`` (the feed and matching), ``cvss``,
``scanner`` (one scan, and recording its outcome), ``canned`` (the endpoints, listed in ``features/__init__.py``). The
API's finding shapes are ``store/scan_shapes.py`` (the control plane renders them too).
"""

from __future__ import annotations

import logging
import os
import threading

from ...store import PRIVATE, ImagePushed, image_door, scans
from ...store.events import ScanFinished, ScanStarted
from .layers import Budget
from .osv import VulnDb
from .scanner import ScanOutcome, finish, scan_image

log = logging.getLogger(__name__)

DEMO_FEED = os.path.join(os.path.dirname(__file__), "demo_feed")


class Feed:
    """The vulnerability database, loaded on first use and again when the directory's own
    modification time changes (a file added, removed or renamed at its top level)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory or DEMO_FEED
        self._lock = threading.Lock()
        self._db: VulnDb | None = None
        self._stamp: float | None = None

    def get(self) -> VulnDb:
        try:
            stamp = os.stat(self.directory).st_mtime
        except OSError:
            stamp = None
        with self._lock:
            if self._db is None or stamp != self._stamp:
                if stamp is None:
                    log.warning("vulnerability feed %s does not exist: scans find nothing", self.directory)
                    self._db = VulnDb([])
                else:
                    self._db = VulnDb.load(self.directory)
                    log.info("vulnerability feed %s: %d records", self.directory, self._db.count)
                self._stamp = stamp
            return self._db


class Scanning:
    def __init__(self, emulator) -> None:
        self.backend = emulator.backend
        self.feed = Feed(emulator.settings.vuln_db)
        self.budget = Budget.of(emulator.settings)

    def on_push(self, event: ImagePushed) -> None:
        """Scan on push: a new image in a repository a rule (or its scanOnPush flag) selects."""
        if not event.new or event.repo.kind != PRIVATE or event.image.children:
            return
        state = self.backend.private(event.repo.account, event.repo.region)
        frequency, _ = scans.applied_frequency(state.scanning, event.repo)
        if frequency == scans.MANUAL:
            return
        image_door.start_scan(self.backend, event.repo, event.image, scan_type=state.scanning.scan_type,
                         frequency=frequency)

    def on_scan_started(self, event: ScanStarted) -> None:
        repo, image, scan = event.repo, event.image, event.scan
        self.backend.tasks.submit(lambda: self.run(repo, image, scan), name=f"scan {image.digest}")

    def run(self, repo, image, scan: scans.ImageScan) -> None:
        state = self.backend.private(repo.account, repo.region)
        preset = state.canned_findings.get(image.digest)
        db = self.feed.get()
        if preset is not None:
            outcome = ScanOutcome(preset.status, preset.description, list(preset.findings))
        elif not scans.is_scannable(image):
            outcome = ScanOutcome(scans.UNSUPPORTED_IMAGE, scans.UNSUPPORTED_DESCRIPTION)
        else:
            try:
                outcome = scan_image(self.backend.blobs, image.manifest, scan.scan_type, db, self.budget)
            except Exception as error:  # noqa: BLE001 -- a scanner bug fails the scan, not the server
                log.exception("scan of %s failed", image.digest)
                outcome = ScanOutcome(scans.FAILED, f"UnableToScan: internal error: {error}")
        with self.backend.lock:
            if finish(self.backend, image, scan, outcome, db.updated_at):
                self.backend.events.emit(ScanFinished(repo, image, scan))


def install(emulator) -> None:
    scanning = Scanning(emulator)
    emulator.scanning = scanning
    emulator.backend.events.subscribe(ImagePushed, scanning.on_push)
    emulator.backend.events.subscribe(ScanStarted, scanning.on_scan_started)
