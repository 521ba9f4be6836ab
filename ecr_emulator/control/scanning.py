"""Image scanning: the registry's scanning configuration, per-repository scanning
configuration, StartImageScan and DescribeImageScanFindings.

Scans themselves run in ``features/scanning`` (started through ``store.image_door.start_scan``,
which both StartImageScan and scan on push use); these handlers only record and report.
"""

from __future__ import annotations

from datetime import timedelta

from ..errors import (
    ImageArchivedException,
    ImageNotFoundException,
    LimitExceededException,
    ScanNotFoundException,
    UnsupportedImageTypeException,
    ValidationException,
    describe_image_id,
)
from ..store import archive, image_door, scans
from ..store.events import ScanningConfigured
from ..store.scan_shapes import basic_finding, enhanced_finding, ordered, scan_status, severity_counts
from .images import resolve
from .pagination import paginate
from .tables import ecr
from .validation import check_image_id, invalid

#: one BASIC scan per image per 24 hours, the on-push scan included
SCAN_INTERVAL = timedelta(hours=24)
#: frequencies each scan type accepts in its rules
FREQUENCIES = {scans.BASIC: (scans.SCAN_ON_PUSH,), scans.ENHANCED: (scans.SCAN_ON_PUSH, scans.CONTINUOUS_SCAN)}


def _configuration(state) -> dict:
    return {"scanType": state.scanning.scan_type, "rules": [dict(r) for r in state.scanning.rules]}


@ecr("PutRegistryScanningConfiguration")
def put_registry_scanning_configuration(ctx, scan_type=None, rules=None):
    state = ctx.registry(None, "PutRegistryScanningConfiguration")
    scan_type = scan_type or scans.BASIC
    rules = [dict(rule) for rule in rules or ()]
    seen: set[str] = set()
    for rule in rules:
        frequency = rule["scanFrequency"]
        if frequency not in FREQUENCIES[scan_type]:
            raise invalid("rules.scanFrequency",
                          f"Unsupported scan frequency '{frequency}' for scan type '{scan_type}'; supported: "
                          f"{', '.join(FREQUENCIES[scan_type])}")
        if frequency in seen:
            raise invalid("rules", f"Only one rule per scan frequency is allowed; '{frequency}' appears twice")
        seen.add(frequency)
        if not rule.get("repositoryFilters"):
            raise invalid("rules.repositoryFilters", "Member must have at least one repository filter")
        rule["repositoryFilters"] = [dict(f) for f in rule["repositoryFilters"]]
    previous, state.scanning = state.scanning, scans.ScanningConfiguration(scan_type, rules)
    ctx.backend.events.emit(ScanningConfigured(state, previous))
    return {"registryScanningConfiguration": _configuration(state)}


@ecr("GetRegistryScanningConfiguration")
def get_registry_scanning_configuration(ctx):
    state = ctx.registry(None, "GetRegistryScanningConfiguration")
    return {"registryId": state.account, "scanningConfiguration": _configuration(state)}


@ecr("BatchGetRepositoryScanningConfiguration")
def batch_get_repository_scanning_configuration(ctx, repository_names):
    state = ctx.registry(None, "BatchGetRepositoryScanningConfiguration")
    configurations, failures = [], []
    for name in dict.fromkeys(repository_names):
        repo = state.repositories.get(name)
        if repo is None:
            failures.append({
                "repositoryName": name, "failureCode": "REPOSITORY_NOT_FOUND",
                "failureReason": f"The repository with name '{name}' does not exist in the registry with id "
                                 f"'{state.account}'",
            })
            continue
        frequency, filters = scans.applied_frequency(state.scanning, repo)
        configurations.append({
            "repositoryArn": repo.arn, "repositoryName": repo.name,
            "scanOnPush": frequency in (scans.SCAN_ON_PUSH, scans.CONTINUOUS_SCAN),
            "scanFrequency": frequency, "appliedScanFilters": [dict(f) for f in filters],
        })
    return {"scanningConfigurations": configurations, "failures": failures}


def _image(ctx, repo, image_id: dict):
    check_image_id(image_id)
    image, problem = resolve(repo, image_id)
    if image is None:
        raise ImageNotFoundException.for_id(image_id, repo.name, repo.account)
    return image


def _image_id(image, image_id: dict) -> dict:
    result = {"imageDigest": image.digest}
    if image_id.get("imageTag"):
        result["imageTag"] = image_id["imageTag"]
    return result


@ecr("StartImageScan")
def start_image_scan(ctx, repository_name, image_id, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "StartImageScan")
    image = _image(ctx, repo, image_id)
    state = ctx.registry_state(registry_id)  # access was checked with the repository
    if archive.is_archived(image):
        raise ImageArchivedException(
            f"The image with imageId {describe_image_id(image_id)} in the repository with name '{repo.name}' "
            f"in the registry with id '{repo.account}' is archived and cannot be scanned; restore it first")
    if state.scanning.scan_type != scans.BASIC:
        raise ValidationException(
            "StartImageScan starts basic scans; this registry's scan type is ENHANCED, with which Amazon "
            "Inspector scans images on push or continuously as the registry's scanning rules say")
    if not scans.is_scannable(image):
        raise UnsupportedImageTypeException(
            f"The image with imageId {describe_image_id(image_id)} is of an unsupported type for scanning: "
            f"{'an image index' if image.children else image.artifact_media_type or image.media_type}")
    last = image.scan
    if last is not None and last.scan_type == scans.BASIC and ctx.now - last.started_at < SCAN_INTERVAL:
        # ECR's text, as the AWS CLI prints real answers ("An error occurred (LimitExceededException)
        # when calling the StartImageScan operation: The scan quota per image has been exceeded.
        # Wait and try again.", quoted in public scan-automation scripts)
        raise LimitExceededException("The scan quota per image has been exceeded. Wait and try again.")
    scan = image_door.start_scan(ctx.backend, repo, image, scan_type=scans.BASIC, frequency=scans.MANUAL)
    return {"registryId": repo.account, "repositoryName": repo.name, "imageId": _image_id(image, image_id),
            "imageScanStatus": scan_status(scan)}


@ecr("DescribeImageScanFindings")
def describe_image_scan_findings(ctx, repository_name, image_id, registry_id=None, next_token=None,
                                 max_results=None):
    repo = ctx.repository(repository_name, registry_id, "DescribeImageScanFindings")
    image = _image(ctx, repo, image_id)
    scan = image.scan
    if scan is None:
        raise ScanNotFoundException.for_id(image_id, repo.name, repo.account)
    result = {"registryId": repo.account, "repositoryName": repo.name, "imageId": _image_id(image, image_id),
              "imageScanStatus": scan_status(scan)}
    if scan.completed_at is None:
        return result
    findings = ordered(scan.findings)
    page, token = paginate(findings, next_token, max_results,
                           scope=f"DescribeImageScanFindings:{repo.account}:{repo.name}:{image.digest}:{scan.id}")
    body = {"imageScanCompletedAt": scan.completed_at,
            "vulnerabilitySourceUpdatedAt": scan.vulnerability_source_updated_at,
            "findingSeverityCounts": severity_counts(scan.findings)}
    if scan.scan_type == scans.ENHANCED:
        body["enhancedFindings"] = [enhanced_finding(f, scan, repo, image) for f in page]
    else:
        body["findings"] = [basic_finding(f) for f in page]
    result["imageScanFindings"] = body
    result["nextToken"] = token
    return result
