"""Findings in the two shapes DescribeImageScanFindings answers with: BASIC ``findings``
(``ImageScanFinding``) and ENHANCED ``enhancedFindings`` (Amazon Inspector's finding), and the
scan status and summary DescribeImages shows.

Both are rendered from the same :class:`~ecr_emulator.store.scans.Finding`, so a canned
finding and a scanned one look alike. They live beside the scan model rather than with the
scanner or the control plane because both sides render them: the control plane
(DescribeImages, DescribeImageScanFindings) and the engines (canned findings check severities,
EventBridge's Inspector events carry the enhanced finding), and neither may import the other.
"""

from __future__ import annotations

import hashlib

from ..addressing.partitions import arn
from .scans import Finding, ImageScan

#: ECR's severities, most severe first (the order findings and the scan event list them)
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def ordered(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by id and package (a stable order for pagination)."""
    return sorted(findings, key=lambda f: (_RANK.get(f.severity, 99), f.vulnerability_id, f.package_name,
                                           f.package_version, f.file_path))


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts


def _best_cvss(finding: Finding):
    """The newest CVSS version with a score (v3 before v2; v4 vectors have no score here)."""
    scored = [c for c in finding.cvss if c.score is not None]
    return max(scored, key=lambda c: c.version, default=None)


def _score(value: float) -> str:
    return f"{value:.1f}"


def basic_finding(finding: Finding) -> dict:
    """An ``ImageScanFinding``: ``name`` is the CVE, attributes name the package.

    Attribute keys: ``package_name``, ``package_version``, ``CVSSn_SCORE`` / ``CVSSn_VECTOR``
    (per CVSS version in the feed), plus ``fixed_in_version`` and ``source_layer_hash`` when known.
    """
    attributes = [
        {"key": "package_name", "value": finding.package_name},
        {"key": "package_version", "value": finding.package_version},
    ]
    for cvss in sorted(finding.cvss, key=lambda c: c.version):
        major = cvss.version.split(".")[0]
        if cvss.score is not None:
            attributes.append({"key": f"CVSS{major}_SCORE", "value": _score(cvss.score)})
        attributes.append({"key": f"CVSS{major}_VECTOR", "value": cvss.vector[:256]})
    if finding.fixed_version:
        attributes.append({"key": "fixed_in_version", "value": finding.fixed_version[:256]})
    if finding.layer_digest:
        attributes.append({"key": "source_layer_hash", "value": finding.layer_digest})
    attributes = [a for a in attributes if a["value"]]
    result = {"name": finding.vulnerability_id, "severity": finding.severity, "attributes": attributes[:50]}
    if finding.description:
        result["description"] = finding.description
    if finding.uri:
        result["uri"] = finding.uri
    return result


#: Inspector's severities: ECR's UNDEFINED is Inspector's UNTRIAGED
_INSPECTOR_SEVERITY = {"UNDEFINED": "UNTRIAGED"}


def _split_version(finding: Finding) -> tuple[str, str | None]:
    """OS packages: Inspector reports ``version`` and ``release`` apart (``1.2-3`` -> 1.2, 3)."""
    version = finding.package_version
    if finding.release is not None:
        return version, finding.release
    if finding.package_manager in ("DPKG", "RPM") and "-" in version:
        upstream, _, release = version.rpartition("-")
        return upstream, release
    return version, None


def enhanced_finding(finding: Finding, scan: ImageScan, repo, image) -> dict:
    """Amazon Inspector's ``EnhancedImageScanFinding`` for ``finding`` in ``image``."""
    key = "|".join((image.digest, finding.vulnerability_id, finding.package_name, finding.file_path))
    finding_id = hashlib.sha256(key.encode()).hexdigest()[:32]
    version, release = _split_version(finding)
    epoch = finding.epoch
    if epoch is None and ":" in version and version.split(":", 1)[0].isdigit():
        epoch_text, version = version.split(":", 1)
        epoch = int(epoch_text)
    package = {
        "name": finding.package_name, "version": version, "release": release,
        "epoch": epoch if epoch is not None else (0 if finding.package_manager in ("DPKG", "RPM", "APK") else None),
        "arch": finding.arch, "packageManager": finding.package_manager, "filePath": finding.file_path or None,
        "sourceLayerHash": finding.layer_digest or None, "fixedInVersion": finding.fixed_version or "NotAvailable",
    }
    details = {
        "vulnerabilityId": finding.vulnerability_id, "source": finding.source or None,
        "sourceUrl": finding.uri or None, "vendorSeverity": finding.severity,
        "vendorCreatedAt": finding.published, "vendorUpdatedAt": finding.modified,
        "cvss": [{"baseScore": c.score, "scoringVector": c.vector, "source": c.source or finding.source or None,
                  "version": c.version} for c in finding.cvss if c.score is not None],
        "referenceUrls": list(finding.references), "relatedVulnerabilities": list(finding.aliases),
        "vulnerablePackages": [package],
    }
    result = {
        "awsAccountId": repo.account,
        "description": finding.description or None,
        "findingArn": arn("inspector2", repo.region, repo.account, f"finding/{finding_id}"),
        "firstObservedAt": scan.completed_at, "lastObservedAt": scan.completed_at, "updatedAt": scan.completed_at,
        "packageVulnerabilityDetails": details,
        "remediation": {"recommendation": {
            "text": (f"Upgrade {finding.package_name} to {finding.fixed_version}" if finding.fixed_version
                     else "None Provided"),
        }},
        "resources": [{
            "id": f"{repo.arn}/{image.digest}",
            "type": "AWS_ECR_CONTAINER_IMAGE",
            "details": {"awsEcrContainerImage": {
                "architecture": scan.architecture or None, "author": scan.author or None,
                "imageHash": image.digest, "imageTags": list(image.tags), "platform": scan.platform or None,
                "pushedAt": image.pushed_at, "registry": repo.account, "repositoryName": repo.name,
            }},
        }],
        "severity": _INSPECTOR_SEVERITY.get(finding.severity, finding.severity),
        "status": "ACTIVE",
        "title": f"{finding.vulnerability_id} - {finding.package_name}",
        "type": "PACKAGE_VULNERABILITY",
        "fixAvailable": "YES" if finding.fixed_version else "NO",
    }
    best = _best_cvss(finding)
    if best is not None:
        result["score"] = best.score
        result["scoreDetails"] = {"cvss": {
            "score": best.score, "scoreSource": best.source or finding.source or None,
            "scoringVector": best.vector, "version": best.version, "adjustments": [],
        }}
    return result


def scan_status(scan: ImageScan) -> dict:
    """An ``ImageScanStatus``."""
    status = {"status": scan.status}
    if scan.description:
        status["description"] = scan.description
    return status


def image_scan_fields(image) -> dict:
    """What DescribeImages reports of an image's last scan (nothing if never scanned)."""
    scan = image.scan
    if scan is None:
        return {}
    fields = {"imageScanStatus": scan_status(scan)}
    if scan.completed_at is not None:
        fields["imageScanFindingsSummary"] = {
            "imageScanCompletedAt": scan.completed_at,
            "vulnerabilitySourceUpdatedAt": scan.vulnerability_source_updated_at,
            "findingSeverityCounts": severity_counts(scan.findings),
        }
    return fields
