"""ECR's EventBridge events, built from the store's events exactly as AWS documents them
(the "Amazon ECR events and EventBridge" page, the enhanced scanning page and EventBridge's
event reference for ``aws.ecr``), kept in a bounded list served at ``GET /_emulator/events``
and handed to the delivery (``features/delivery.py``, ``--eventbridge-endpoint``).

What raises what (private registries only: AWS documents no event for ECR Public):

- an image pushed through the registry or PutImage: ``ECR Image Action`` PUSH SUCCESS;
- an image deleted (BatchDeleteImage, a manifest DELETE, a deletion replicated to this
  registry) or a tag taken off it: ``ECR Image Action`` DELETE SUCCESS with that tag;
- an image replicated into this registry: ``ECR Replication Action`` REPLICATE, in the
  destination's account and region (SUCCESS, or FAILED when it could not be copied);
- a pull-through cache fetch: ``ECR Pull Through Cache Action`` (sync-status SUCCESS/FAILED);
- a basic scan that completed or failed: ``ECR Image Scan``; an enhanced scan's first result:
  Inspector's ``Inspector2 Finding`` for each finding, then ``Inspector2 Scan``
  INITIAL_SCAN_COMPLETE (source ``aws.inspector2``);
- PutRegistryScanningConfiguration changing the frequency of repositories while the registry
  scans ENHANCED: ``ECR Scan Resource Change`` SCAN_FREQUENCY_CHANGE;
- an image archived or restored: ``ECR Image Action`` (``ECR Referrer Action`` for a
  referrer) UPDATE_STORAGE_CLASS;
- every write call of either door: ``AWS API Call via CloudTrail`` (``features/calls.py``).

Nothing else: a refused push, a lifecycle expiration, a signature the signing feature adds
are not documented to raise an event, so none is sent.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timezone

from ..store import PRIVATE, Door, ImageDeleted, ImagePushed, TagRemoved, scans
from ..store.events import (
    ImageReplicated,
    PullThroughSynced,
    ScanFinished,
    ScanningConfigured,
    StateReset,
    StorageClassChanged,
)
from ..store.scan_shapes import SEVERITIES, enhanced_finding
from .endpoints import Call, Endpoint, Refused

ECR = "aws.ecr"
INSPECTOR = "aws.inspector2"
IMAGE_ACTION = "ECR Image Action"
IMAGE_SCAN = "ECR Image Scan"
REPLICATION_ACTION = "ECR Replication Action"
PULL_THROUGH_ACTION = "ECR Pull Through Cache Action"
REFERRER_ACTION = "ECR Referrer Action"
SCAN_RESOURCE_CHANGE = "ECR Scan Resource Change"
INSPECTOR_SCAN = "Inspector2 Scan"
INSPECTOR_FINDING = "Inspector2 Finding"
API_CALL = "AWS API Call via CloudTrail"
#: the pushes that are image pushes to AWS (replicas and pull-through copies have events of their own)
PUSH_DOORS = (Door.REGISTRY, Door.API)


def iso_z(moment: datetime) -> str:
    """``2019-11-16T01:54:34Z``: EventBridge's and CloudTrail's time form."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(detail_type: str, detail: dict, *, account: str, region: str, now: datetime,
             resources: list[str] | None = None, source: str = ECR) -> dict:
    """An event as EventBridge delivers it."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": account, "time": iso_z(now), "region": region, "resources": list(resources or []),
            "detail": detail}


def parse_time(value: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; none: UTC); ValueError if it is not one."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def inspector_time(moment: datetime) -> str:
    """``Dec 3, 2021, 6:02:30 PM``: the form of the times in Inspector's finding events."""
    moment = moment.astimezone(timezone.utc)
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} {'AM' if moment.hour < 12 else 'PM'}"


def _inspector_form(value):
    """Inspector's event form of an ``EnhancedImageScanFinding`` member: no nulls, its times."""
    if isinstance(value, dict):
        return {k: _inspector_form(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_inspector_form(v) for v in value]
    if isinstance(value, datetime):
        return inspector_time(value)
    return value


def inspector_finding(finding, scan, repo, image) -> dict:
    """The ``detail`` of Inspector's ``Inspector2 Finding`` event (the enhanced scanning page):
    the finding as DescribeImageScanFindings shows it, with Inspector's names for the score."""
    detail = enhanced_finding(finding, scan, repo, image)
    score, details = detail.pop("score", None), detail.pop("scoreDetails", None)
    if score is not None:
        detail["inspectorScore"] = score
        cvss = dict(details["cvss"])
        detail["inspectorScoreDetails"] = {"adjustedCvss": {**cvss, "cvssSource": cvss.get("scoreSource")}}
    for resource in detail["resources"]:
        resource.update(partition="N/A", region="N/A")  # as in AWS's example
    return _inspector_form(detail)


class LazyEvent:
    """An event made when first read (the CloudTrail events of write calls: most are never read,
    and making one costs about as much as the call's own bookkeeping). Filters use the header."""

    __slots__ = ("detail_type", "source", "time", "_make", "_event")
    _lock = threading.Lock()

    def __init__(self, detail_type: str, source: str, time: str, make: Callable[[], dict]) -> None:
        self.detail_type, self.source, self.time = detail_type, source, time
        self._make: Callable[[], dict] | None = make
        self._event: dict | None = None

    def render(self) -> dict:
        with self._lock:
            if self._event is None:
                self._event, self._make = self._make(), None
            return self._event


def render(event: dict | LazyEvent) -> dict:
    return event.render() if isinstance(event, LazyEvent) else event


def _header(event: dict | LazyEvent) -> tuple[str, str, str]:
    if isinstance(event, LazyEvent):
        return event.detail_type, event.source, event.time
    return event["detail-type"], event["source"], event["time"]


class EventLog:
    """The events raised so far (the last ``limit``), and the sinks that get each new one (an
    event is a dict, or a :class:`LazyEvent`: sinks call :func:`render`)."""

    def __init__(self, limit: int) -> None:
        self._events: deque[dict | LazyEvent] = deque(maxlen=max(limit, 1))
        self._lock = threading.Lock()
        self._sinks: list[Callable[[dict | LazyEvent], None]] = []

    def add_sink(self, sink: Callable[[dict | LazyEvent], None]) -> None:
        self._sinks.append(sink)

    def publish(self, event: dict | LazyEvent) -> None:
        with self._lock:
            self._events.append(event)
        for sink in self._sinks:
            sink(event)

    def list(self, detail_types: list[str] | None = None, sources: list[str] | None = None,
             since: str | None = None, until: str | None = None) -> list[dict]:
        with self._lock:
            events = list(self._events)
        found = []
        for event in events:
            detail_type, source, time = _header(event)
            if (not detail_types or detail_type in detail_types) and (not sources or source in sources) \
                    and (since is None or time >= since) and (until is None or time <= until):
                found.append(render(event))
        return found

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


class EcrEvents:
    """Turns the store's events into ECR's EventBridge events (listeners: quick, lock held)."""

    def __init__(self, backend, log: EventLog) -> None:
        self.backend = backend
        self.log = log

    def _publish(self, detail_type: str, detail: dict, account: str, region: str,
                 resources: list[str] | None = None, source: str = ECR) -> None:
        self.log.publish(envelope(detail_type, detail, account=account, region=region, now=self.backend.clock.now(),
                                  resources=resources, source=source))

    # -- image actions -----------------------------------------------------------------
    def on_push(self, event: ImagePushed) -> None:
        repo = event.repo
        if repo.kind != PRIVATE or event.door not in PUSH_DOORS:
            return
        self._image_action(repo, event.image.digest, "PUSH", event.tag)

    def on_delete(self, event: ImageDeleted) -> None:
        if event.repo.kind != PRIVATE or event.door == Door.LIFECYCLE:
            return
        tags = event.image.tags or [None]
        for tag in tags:
            self._image_action(event.repo, event.image.digest, "DELETE", tag)

    def on_untag(self, event: TagRemoved) -> None:
        if event.repo.kind == PRIVATE:
            self._image_action(event.repo, event.image.digest, "DELETE", event.tag)

    def _image_action(self, repo, digest: str, action: str, tag: str | None) -> None:
        detail = {"result": "SUCCESS", "repository-name": repo.name, "image-digest": digest, "action-type": action}
        if tag:
            detail["image-tag"] = tag
        self._publish(IMAGE_ACTION, detail, repo.account, repo.region)

    def on_storage_class(self, event: StorageClassChanged) -> None:
        repo, image = event.repo, event.image
        if repo.kind != PRIVATE:
            return
        detail = {"action-type": "UPDATE_STORAGE_CLASS", "target-storage-class": event.storage_class,
                  "image-digest": image.digest, "repository-name": repo.name, "result": "SUCCESS",
                  "manifest-media-type": image.media_type}
        if image.artifact_media_type or image.artifact_type:
            detail["artifact-media-type"] = image.artifact_type or image.artifact_media_type
        if event.storage_class == "STANDARD" and image.activated_at is not None:
            detail["last-activated-at"] = image.activated_at.astimezone(timezone.utc).isoformat(
                timespec="milliseconds").replace("+00:00", "Z")
        self._publish(REFERRER_ACTION if image.subject else IMAGE_ACTION, detail, repo.account, repo.region)

    # -- replication and pull-through ----------------------------------------------------
    def on_replicated(self, event: ImageReplicated) -> None:
        source = event.source
        detail = {"result": "FAILED" if event.failure else "SUCCESS", "repository-name": source.name,
                  "image-digest": event.image.digest, "source-account": source.account,
                  "action-type": "REPLICATE", "source-region": source.region}
        if event.tag:
            detail["image-tag"] = event.tag
        arn = self.backend.private(event.account, event.region).repository_arn(source.name)
        self._publish(REPLICATION_ACTION, detail, event.account, event.region, [arn])

    def on_pull_through(self, event: PullThroughSynced) -> None:
        detail = {"rule-version": "1", "sync-status": "FAILED" if event.failure else "SUCCESS",
                  "ecr-repository-prefix": event.prefix, "repository-name": event.name,
                  "upstream-registry-url": event.upstream_registry_url}
        if event.tag:
            detail["image-tag"] = event.tag
        if event.digest:
            detail["image-digest"] = event.digest
        if event.failure:
            detail["failure-code"] = event.failure
            detail["failure-reason"] = event.reason or ""
        arn = self.backend.private(event.account, event.region).repository_arn(event.name)
        self._publish(PULL_THROUGH_ACTION, detail, event.account, event.region, [arn])

    # -- scanning ------------------------------------------------------------------------
    def on_scan_finished(self, event: ScanFinished) -> None:
        repo, image, scan = event.repo, event.image, event.scan
        if repo.kind != PRIVATE:
            return
        counts = Counter(finding.severity for finding in scan.findings)
        severity_counts = {s: counts[s] for s in SEVERITIES if counts[s]}
        if scan.scan_type == scans.BASIC:
            if scan.status not in (scans.COMPLETE, scans.FAILED):
                return
            detail = {"scan-status": scan.status, "repository-name": repo.name,
                      "finding-severity-counts": severity_counts, "image-digest": image.digest,
                      "image-tags": list(image.tags)}
            self._publish(IMAGE_SCAN, detail, repo.account, repo.region, [repo.arn])
        elif scan.status in (scans.COMPLETE, scans.ACTIVE):
            for finding in scan.findings:  # Inspector reports each finding created, then the scan
                detail = inspector_finding(finding, scan, repo, image)
                self._publish(INSPECTOR_FINDING, detail, repo.account, repo.region,
                              [detail["resources"][0]["id"]], source=INSPECTOR)
            # Inspector names the repository by its ARN, and counts a TOTAL
            detail = {"scan-status": "INITIAL_SCAN_COMPLETE", "repository-name": repo.arn,
                      "finding-severity-counts": {**severity_counts, "TOTAL": len(scan.findings)},
                      "image-digest": image.digest, "image-tags": list(image.tags)}
            self._publish(INSPECTOR_SCAN, detail, repo.account, repo.region, [repo.arn], source=INSPECTOR)

    def on_scanning_configured(self, event: ScanningConfigured) -> None:
        """One SCAN_FREQUENCY_CHANGE listing the repositories whose scan frequency changed, when
        the registry scans ENHANCED (the event is Amazon ECR's for enhanced scanning)."""
        state, old = event.state, event.previous
        if state.scanning.scan_type != scans.ENHANCED:
            return
        changed = []
        for name, repo in sorted(state.repositories.items()):
            frequency, _ = scans.applied_frequency(state.scanning, repo)
            previous, _ = scans.applied_frequency(old, repo)
            if frequency != previous:
                changed.append({"repository-name": name, "repository-arn": repo.arn,
                                "scan-frequency": frequency, "previous-scan-frequency": previous})
        if changed:
            detail = {"action-type": "SCAN_FREQUENCY_CHANGE", "repositories": changed, "resource-type": "REPOSITORY",
                      "scan-type": state.scanning.scan_type}
            self._publish(SCAN_RESOURCE_CHANGE, detail, state.account, state.region)


def install(emulator_) -> None:
    backend = emulator_.backend
    log = emulator_.event_log = EventLog(emulator_.settings.event_log_size)
    ecr = emulator_.ecr_events = EcrEvents(backend, log)
    for kind, listener in ((ImagePushed, ecr.on_push), (ImageDeleted, ecr.on_delete), (TagRemoved, ecr.on_untag),
                           (ImageReplicated, ecr.on_replicated), (PullThroughSynced, ecr.on_pull_through),
                           (ScanFinished, ecr.on_scan_finished), (StorageClassChanged, ecr.on_storage_class),
                           (ScanningConfigured, ecr.on_scanning_configured),
                           (StateReset, lambda _event: log.clear())):
        backend.events.subscribe(kind, listener)


def time_bounds(args) -> dict[str, str]:
    """``?since=`` / ``?until=`` of a listing as ISO 8601 ``Z`` times (ValueError saying which is bad)."""
    bounds = {}
    for name in ("since", "until"):
        value = args.get(name)
        if value is not None:
            try:
                bounds[name] = iso_z(parse_time(value))
            except ValueError:
                raise ValueError(f"{name} must be an ISO 8601 time such as 2026-01-01T00:00:00Z, "
                                 f"not {value!r}") from None
    return bounds


def list_events(emulator_, call: Call) -> dict:
    """The events raised so far, oldest first: ``?detail-type=`` and ``?source=`` (repeatable),
    ``?since=`` / ``?until=`` (ISO 8601 times, inclusive, compared with each event's ``time``)."""
    try:
        bounds = time_bounds(call.query)
    except ValueError as error:
        raise Refused(str(error)) from None
    events = emulator_.event_log.list(call.query.getlist("detail-type"), call.query.getlist("source"), **bounds)
    delivery = getattr(emulator_, "delivery", None)
    return {"events": events, "delivery": delivery.stats() if delivery is not None else None}


ENDPOINTS = (Endpoint("/events", ("GET",), list_events),)
