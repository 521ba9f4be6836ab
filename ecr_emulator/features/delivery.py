"""Delivery of ECR's events to a real EventBridge-compatible endpoint (``--eventbridge-endpoint``:
moto_server, LocalStack...), with ``PutEvents`` on the default bus of each event's account and
region, signed with test credentials (``ECR_EMULATOR_EVENTBRIDGE_CREDENTIALS``).

Asynchronous: an event is queued (a push never waits for EventBridge) and one worker thread
sends batches of up to 10 entries (PutEvents' limit), retrying a failed call or a failed entry
with exponential backoff (0.2 s doubling to 5 s, 6 attempts). What could not be delivered is
logged and counted; the counts are in ``GET /_emulator/events`` (``delivery``). A reset drops
what is still queued.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import Counter
from datetime import datetime, timezone

from ..store.events import StateReset
from .eventbridge import render

log = logging.getLogger(__name__)

BATCH = 10
ATTEMPTS = 6
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 5.0
QUEUE_LIMIT = 10_000
SECRET = "test"


class Delivery:
    def __init__(self, endpoint: str, credentials: str = "") -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self._counts: Counter = Counter()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._generation = 0
        self._clients: dict[tuple[str, str], object] = {}
        self._thread: threading.Thread | None = None
        self._sleep = threading.Event()  # set by a reset: a backoff wait ends at once

    # -- the sink of the event log ---------------------------------------------------------
    def submit(self, event) -> None:
        """Queue ``event`` (a dict or a ``LazyEvent``) for delivery; never blocks (a full queue
        drops it, counted)."""
        self._start()
        with self._lock:
            self._pending += 1
        try:
            self._queue.put_nowait((self._generation, event))
        except queue.Full:
            with self._lock:
                self._pending -= 1
                self._counts["dropped"] += 1
            log.warning("EventBridge delivery queue is full: an event was dropped")

    def stats(self) -> dict:
        with self._lock:
            return {"endpoint": self.endpoint, "queued": self._pending, "delivered": self._counts["delivered"],
                    "failed": self._counts["failed"], "retried": self._counts["retried"],
                    "dropped": self._counts["dropped"]}

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or being sent; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def forget(self) -> None:
        """A reset: what is queued is not sent."""
        with self._lock:
            self._generation += 1
        self._sleep.set()

    # -- the worker ----------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ecr-emulator-eventbridge", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                current = [render(event) for generation, event in batch if generation == self._generation]
                by_bus: dict[tuple[str, str], list[dict]] = {}
                for event in current:
                    by_bus.setdefault((event["account"], event["region"]), []).append(event)
                for (account, region), events in by_bus.items():
                    self._send(account, region, events)
            except Exception:  # noqa: BLE001 -- a bug here must not stop delivery
                log.exception("EventBridge delivery failed")
            finally:
                with self._idle:
                    self._pending -= len(batch)
                    self._idle.notify_all()

    def _send(self, account: str, region: str, events: list[dict]) -> None:
        generation = self._generation
        self._sleep.clear()
        waiting, backoff = events, FIRST_BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                answer = self._client(account, region).put_events(Entries=[_entry(e) for e in waiting])
                results = answer.get("Entries", ())
                if len(results) != len(waiting):
                    raise ValueError(f"PutEvents answered {len(results)} entries for {len(waiting)}")
                failed = [e for e, result in zip(waiting, results, strict=True) if result.get("ErrorCode")]
                problem = "; ".join(sorted({f"{r.get('ErrorCode')}: {r.get('ErrorMessage')}"
                                            for r in results if r.get("ErrorCode")}))
            except Exception as error:  # noqa: BLE001 -- connection refused, 5xx, bad answer: retried
                failed, problem = waiting, f"{type(error).__name__}: {error}"
            with self._lock:
                self._counts["delivered"] += len(waiting) - len(failed)
            if not failed:
                return
            if attempt == ATTEMPTS or generation != self._generation:
                break
            with self._lock:
                self._counts["retried"] += len(failed)
            waiting = failed
            if self._sleep.wait(backoff):
                break  # a reset: stop retrying what belongs to the old state
            backoff = min(backoff * 2, MAX_BACKOFF)
        with self._lock:
            self._counts["failed"] += len(failed)
        log.warning("%d event(s) not delivered to EventBridge at %s (%s, %s) after %d attempt(s): %s",
                    len(failed), self.endpoint, account, region, attempt, problem)

    def _client(self, account: str, region: str):
        key, secret = (self.credentials.split(":", 1) if self.credentials else (account, SECRET))
        found = self._clients.get((key, region))
        if found is None:
            import boto3
            from botocore.config import Config

            config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10)
            found = self._clients[(key, region)] = boto3.session.Session().client(
                "events", endpoint_url=self.endpoint, region_name=region, aws_access_key_id=key,
                aws_secret_access_key=secret, config=config)
        return found


def _entry(event: dict) -> dict:
    """A PutEvents entry for the default bus: EventBridge builds the envelope around it (its
    ``time``: the emulator's clock, as in the event listed at ``/_emulator/events``)."""
    when = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"], "Time": when, "EventBusName": "default"}


def install(emulator_) -> None:
    settings = emulator_.settings
    if not settings.eventbridge_endpoint:
        emulator_.delivery = None
        return
    delivery = emulator_.delivery = Delivery(settings.eventbridge_endpoint, settings.eventbridge_credentials)
    emulator_.event_log.add_sink(delivery.submit)
    emulator_.backend.events.subscribe(StateReset, lambda _event: delivery.forget())
