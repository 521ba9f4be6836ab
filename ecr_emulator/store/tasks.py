"""Background work (scans, replication, lifecycle runs, previews) on a few daemon threads.

Work is tied to the state it was submitted for: after a reset (``Backend.reset``) work
submitted before it is dropped instead of run, so nothing of the old world comes back.
``drain`` waits until no work is queued or running (tests, shutdown, snapshots).
Periodic jobs (``every``) run on one timer thread, started on first use.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

WORKERS = 2


class Tasks:
    def __init__(self, workers: int = WORKERS) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._generation = 0
        self._pending = 0
        self._idle = threading.Condition()
        self._periodic: list[tuple[float, Callable[[], None]]] = []
        self._timer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        #: set by ``stop``: the timer ends (a new ``every`` or ``submit`` starts threads again)
        self._stopping = threading.Event()

    # -- one-off work --------------------------------------------------------------------
    def submit(self, work: Callable[[], None], name: str = "") -> None:
        """Run ``work()`` soon on a worker thread (exceptions are logged, never raised)."""
        self._start()
        with self._idle:
            self._pending += 1
        self._queue.put((self._generation, work, name or getattr(work, "__name__", "task")))

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until no submitted work is queued or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def forget(self) -> None:
        """Drop queued work (a reset): it will not run."""
        with self._idle:
            self._generation += 1

    def _start(self) -> None:
        if self._threads:
            return
        with self._start_lock:
            if self._threads:
                return
            for i in range(self._workers):
                thread = threading.Thread(target=self._run, args=(self._queue,), name=f"ecr-emulator-task-{i}",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """End the threads once queued work is done (the emulator is closing), so that a
        stopped emulator leaves no thread behind (in-process tests start hundreds)."""
        with self._start_lock:
            threads, self._threads = self._threads, []
            timer, self._timer = self._timer, None
            self._periodic = []
            self._stopping.set()
            self._stopping = threading.Event()
            # the old workers finish what was queued, then meet one end mark each; work submitted
            # later goes to a new queue and new workers
            ending, self._queue = self._queue, queue.Queue()
            for _ in threads:
                ending.put(None)
        deadline = time.monotonic() + timeout
        for thread in [*threads, *([timer] if timer else [])]:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, jobs: queue.Queue) -> None:
        while True:
            item = jobs.get()
            if item is None:
                with self._idle:
                    self._idle.notify_all()
                return
            generation, work, name = item
            try:
                if generation == self._generation:
                    work()
            except Exception:  # noqa: BLE001 -- background work reports its own failures
                log.exception("background task %s failed", name)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    # -- periodic work -------------------------------------------------------------------
    def every(self, seconds: float, work: Callable[[], None]) -> None:
        """Run ``work()`` (submitted as a task) every ``seconds`` of real time; <= 0: never."""
        if seconds <= 0:
            return
        self._periodic.append((seconds, work))
        with self._start_lock:
            if self._timer is None:
                self._timer = threading.Thread(target=self._tick, args=(self._stopping,), name="ecr-emulator-timer",
                                               daemon=True)
                self._timer.start()

    def _tick(self, stopping: threading.Event) -> None:
        due = {id(work): time.monotonic() + seconds for seconds, work in self._periodic}
        while not stopping.wait(0.2):
            now = time.monotonic()
            for seconds, work in list(self._periodic):
                if now >= due.setdefault(id(work), now + seconds):
                    due[id(work)] = now + seconds
                    self.submit(work)
