"""``POST /_emulator/scan-findings``: canned scan results for an image digest.

For tests that want fixed findings rather than the scanner's: every scan of that digest in
that registry (account, region) reports them instead of scanning, and images with that digest
that were already scanned report them at once. ``DELETE /_emulator/scan-findings/<digest>``
goes back to real scans (for the next scan).
"""

from __future__ import annotations

import re

from ...store import scans
from ...store.scan_shapes import SEVERITIES
from ...store.scans import CannedScan, Cvss, Finding
from ..endpoints import JSON, Call, Endpoint, Refused
from . import cvss
from .scanner import ScanOutcome, finish

_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_STATUSES = (scans.COMPLETE, scans.FAILED, scans.UNSUPPORTED_IMAGE)
_TEXT = ("description", "uri", "packageManager", "fixedInVersion", "filePath", "sourceLayerHash", "title")


def _finding(item) -> Finding:
    if not isinstance(item, dict):
        raise Refused("each finding is an object")
    name, severity = item.get("name"), item.get("severity")
    if not isinstance(name, str) or not name:
        raise Refused('each finding needs a "name" (the vulnerability id, e.g. CVE-2024-1234)')
    if severity not in SEVERITIES:
        raise Refused(f'"severity" of {name} must be one of {", ".join(SEVERITIES)}')
    for key in ("packageName", "packageVersion", "cvss3Vector", "cvss2Vector", *_TEXT):
        if key in item and not isinstance(item[key], str):
            raise Refused(f'"{key}" of {name} must be a string')
    scores = []
    if item.get("cvss3Vector"):
        vector = item["cvss3Vector"]
        version = vector.split("/")[0].split(":")[1] if vector.startswith("CVSS:") else "3.0"
        scores.append(Cvss(version, vector, cvss.v3_score(vector), "EMULATOR"))
    if item.get("cvss2Vector"):
        scores.append(Cvss("2.0", item["cvss2Vector"], cvss.v2_score(item["cvss2Vector"]), "EMULATOR"))
    return Finding(
        vulnerability_id=name, severity=severity, package_name=item.get("packageName", ""),
        package_version=item.get("packageVersion", ""), package_manager=item.get("packageManager", ""),
        description=item.get("description", ""), title=item.get("title", ""), uri=item.get("uri", ""),
        cvss=scores, fixed_version=item.get("fixedInVersion") or None, file_path=item.get("filePath", ""),
        layer_digest=item.get("sourceLayerHash", ""), source="EMULATOR",
    )


def _registry(emu, body: dict):
    account = body.get("account") or emu.settings.account
    region = body.get("region") or emu.settings.region
    if not (isinstance(account, str) and re.fullmatch(r"[0-9]{12}", account)) or not isinstance(region, str):
        raise Refused('"account" is 12 digits and "region" a region name (both optional)')
    if not emu.settings.accepts_region(region):
        raise Refused(f'"region" {region!r} is not a region this server answers for (AWS\'s, --region or '
                   '--extra-region)')
    return emu.backend.private(account, region)


def set_findings(emu, call: Call) -> dict:
    """Body: ``{"imageDigest", "findings": [{"name", "severity", "packageName", "packageVersion",
    "fixedInVersion", "description", "uri", "cvss3Vector", ...}], "status"?, "description"?,
    "account"?, "region"?}``."""
    body = call.body
    if body is None:
        raise Refused("send a JSON object")
    digest = body.get("imageDigest")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise Refused('"imageDigest" must be a sha256 digest (sha256:<64 hex>)')
    status = body.get("status", scans.COMPLETE)
    if status not in _STATUSES:
        raise Refused(f'"status" must be one of {", ".join(_STATUSES)}')
    items = body.get("findings", [])
    if not isinstance(items, list):
        raise Refused('"findings" must be a list')
    findings = [_finding(item) for item in items]
    state = _registry(emu, body)
    default_description = {scans.COMPLETE: scans.COMPLETE_DESCRIPTION,
                           scans.UNSUPPORTED_IMAGE: scans.UNSUPPORTED_DESCRIPTION}.get(status, "UnableToScan")
    description = body.get("description") or default_description
    preset = CannedScan(status, str(description), findings if status == scans.COMPLETE else [])
    backend = emu.backend
    updated = 0
    with backend.lock:
        state.canned_findings[digest] = preset
        for repo in state.repositories.values():
            image = repo.images.get(digest)
            if image is not None and image.scan is not None:
                outcome = ScanOutcome(preset.status, preset.description, list(preset.findings),
                                      image.scan.architecture, image.scan.platform, image.scan.author)
                finish(backend, image, image.scan, outcome, image.scan.vulnerability_source_updated_at)
                updated += 1
    return {"imageDigest": digest, "findings": len(findings), "status": status, "scansUpdated": updated}


def clear_findings(emu, call: Call) -> dict:
    digest = call.params["digest"]
    state = _registry(emu, {"account": call.query.get("account"), "region": call.query.get("region")})
    with emu.backend.lock:
        removed = state.canned_findings.pop(digest, None) is not None
    return {"imageDigest": digest, "removed": removed}


ENDPOINTS = (
    Endpoint("/scan-findings", ("POST",), set_findings, body=JSON),
    Endpoint("/scan-findings/<digest>", ("DELETE",), clear_findings),
)
