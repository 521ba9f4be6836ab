"""A replication backfill (StartReplicationBackfill) as plain data: where it replicates to,
how far it got, and one result per image-and-tag once it has ended.

Statuses follow the model: ``PREPARING`` (the set of images is not known yet: no progress),
``IN_PROGRESS``, then ``COMPLETE`` / ``FAILED``, or ``STOPPING`` -> ``STOPPED`` when stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from .wireshape import WireShape

PREPARING, IN_PROGRESS, COMPLETE, FAILED, STOPPING, STOPPED = (
    "PREPARING", "IN_PROGRESS", "COMPLETE", "FAILED", "STOPPING", "STOPPED")
RUNNING = (PREPARING, IN_PROGRESS, STOPPING)


@dataclass
class ReplicationBackfill:
    id: str
    region: str
    registry_id: str
    started_at: datetime
    status: str = PREPARING
    ended_at: datetime | None = None
    failure_code: str | None = None
    #: None while PREPARING (the model: progress is null until the image set is known)
    total: int | None = None
    completed: int = 0
    failed: int = 0
    #: distinct failure codes, in the order they first happened
    failure_codes: list[str] = field(default_factory=list)
    #: ``ReplicationBackfillResult`` (wire shape), one per image and tag replicated
    results: list[Annotated[dict, WireShape("ecr", "ReplicationBackfillResult")]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    def destination(self) -> dict[str, str]:
        return {"region": self.region, "registryId": self.registry_id}

    def progress(self) -> dict | None:
        if self.total is None:
            return None
        return {"totalReplicationCount": self.total, "completedReplicationCount": self.completed,
                "failedReplicationCount": self.failed, "failureCodes": list(self.failure_codes)}

    def record(self, result: dict) -> None:
        """One replication done (``result`` in the ReplicationBackfillResult shape)."""
        self.results.append(result)
        if result["status"] == COMPLETE:
            self.completed += 1
            return
        self.failed += 1
        if result.get("failureCode") and result["failureCode"] not in self.failure_codes:
            self.failure_codes.append(result["failureCode"])

    def end(self, status: str, now: datetime) -> None:
        self.status, self.ended_at = status, now

    def summary(self) -> dict:
        """A ``ReplicationBackfillSummary`` (the serializer drops the None members)."""
        return {"replicationBackfillId": self.id, "destination": self.destination(), "status": self.status,
                "failureCode": self.failure_code, "progress": self.progress(), "startedAt": self.started_at,
                "endedAt": self.ended_at}
