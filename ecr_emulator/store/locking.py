"""``Backend.lock``: a re-entrant lock that counts how many times it was let go.

Every metadata change happens under ``Backend.lock``, so when the count has not moved since
the periodic save last looked, nobody has touched the state and the save skips a turn without
encoding anything (an idle server costs nothing, however big its state).
"""

from __future__ import annotations

import threading


class CountingLock:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # only the owning thread changes it
        #: outermost releases so far
        self.releases = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got = self._lock.acquire(blocking, timeout)
        if got:
            self._depth += 1
        return got

    def release(self) -> None:
        self._depth -= 1
        if not self._depth:
            self.releases += 1
        self._lock.release()

    @property
    def depth(self) -> int:
        """How many times the owning thread holds the lock (meaningful to that thread only)."""
        return self._depth

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
