"""One scan of one image: walk its layers from the blob store, inventory it, match the feed;
and :func:`finish`, which records an outcome (the scanner's or canned findings) on the image.

Returns a :class:`ScanOutcome`; never raises for a bad image (a corrupt layer is FAILED with
the reason, an unknown OS is UNSUPPORTED_IMAGE), so a scan cannot take the server down.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from ...store import scans
from ...store.scans import Finding
from .inventory import UnsupportedImage, inventory, wanted
from .layers import Budget, BudgetExceeded, LayerError, walk
from .osv import VulnDb

log = logging.getLogger(__name__)


@dataclass
class ScanOutcome:
    status: str
    description: str
    findings: list[Finding] = field(default_factory=list)
    architecture: str = ""
    platform: str = ""
    author: str = ""


def finish(backend, image, scan: scans.ImageScan, outcome: ScanOutcome, feed_updated_at) -> bool:
    """Record ``outcome`` as the result of ``scan`` unless a newer scan replaced it (lock held);
    whether it was recorded."""
    if image.scan is not scan:
        return False
    scan.status = outcome.status
    scan.description = outcome.description
    scan.architecture, scan.platform, scan.author = outcome.architecture, outcome.platform, outcome.author
    if outcome.status == scans.COMPLETE:
        now = backend.clock.now()
        scan.completed_at = now
        scan.vulnerability_source_updated_at = feed_updated_at or now
        scan.findings = outcome.findings
        if scan.scan_type == scans.ENHANCED and scan.frequency == scans.CONTINUOUS_SCAN:
            scan.status = scans.ACTIVE  # Inspector keeps monitoring the image
    else:
        scan.completed_at, scan.findings = None, []
    return True


def _config(blobs, manifest: dict) -> dict:
    digest = (manifest.get("config") or {}).get("digest")
    blob = blobs.get(digest) if digest else None
    if blob is None:
        return {}
    try:
        config = json.loads(b"".join(bytes(c) for c in blob.iter_bytes()))
    except (ValueError, RecursionError):
        return {}
    return config if isinstance(config, dict) else {}


def scan_image(blobs, manifest_bytes: bytes, scan_type: str, db: VulnDb, budget: Budget = Budget()) -> ScanOutcome:
    """Scan the image whose manifest is ``manifest_bytes`` (its blobs in ``blobs``); an image past
    ``budget`` is IMAGE_SIZE_EXCEEDED (ECR's status for an image too large to scan), saying which."""
    manifest = json.loads(manifest_bytes)
    config = _config(blobs, manifest)
    arch, os_name = str(config.get("architecture") or ""), str(config.get("os") or "")
    about = {"architecture": arch, "platform": os_name, "author": str(config.get("author") or "")}
    layers = []
    for descriptor in manifest.get("layers") or ():
        if descriptor.get("urls"):
            continue  # non-distributable (foreign) layer: not in the registry
        blob = blobs.get(descriptor["digest"])
        if blob is None:
            return ScanOutcome(scans.FAILED, f"UnableToScan: layer {descriptor['digest']} is not in the registry",
                               **about)
        layers.append((descriptor["digest"], blob.iter_bytes()))
    try:
        fs = walk(layers, wanted, budget)
        found = inventory(fs, languages=scan_type == scans.ENHANCED)
    except BudgetExceeded as error:
        return ScanOutcome(scans.IMAGE_SIZE_EXCEEDED, f"{scans.IMAGE_SIZE_EXCEEDED_DESCRIPTION}: {error}", **about)
    except LayerError as error:
        return ScanOutcome(scans.FAILED, f"UnableToScan: {error}", **about)
    except UnsupportedImage as error:
        return ScanOutcome(scans.UNSUPPORTED_IMAGE, str(error), **about)
    if found.os is not None:
        release = found.os.pretty or found.os.ecosystem
        about["platform"] = release
    return ScanOutcome(scans.COMPLETE, scans.COMPLETE_DESCRIPTION, db.match(found.packages), **about)
