"""The one clock every time-dependent feature reads (push times, token expiry, lifecycle).

Tests and the lifecycle engine move it forward with :meth:`Clock.advance` instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta

    @property
    def offset(self) -> timedelta:
        """How far this clock is ahead of real time (what a snapshot saves)."""
        return self._offset

    def set_offset(self, offset: timedelta) -> None:
        with self._lock:
            self._offset = offset

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
