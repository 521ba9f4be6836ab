"""The event-loop HTTP/1.1 server: listeners, the connection table, deadlines, request threads.

One asyncio loop owns every socket; request threads only run the application (see
:mod:`.connection`). The table of open connections enforces two bounds: ``max_connections``
in all and ``max_per_client`` from one address. At either bound the oldest *idle* connection
(of all, or of that address) is closed to make room, so idle keep-alive sockets never lock a new
client out; only when none is idle is the new connection answered 503 and closed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass

from .connection import Connection
from .http1 import DateHeader

log = logging.getLogger("ecr_emulator.server")
access_log = logging.getLogger("ecr_emulator.access")

#: how often deadlines are checked (seconds)
SWEEP_EVERY = 0.5


@dataclass(frozen=True)
class Config:
    threads: int = 16
    header_timeout: float = 30.0
    body_timeout: float = 60.0
    body_min_rate: float = 1024.0
    body_max_seconds: float = 3600.0
    idle_timeout: float = 75.0
    max_connections: int = 1000
    max_per_client: int = 256
    access_log: bool = True
    graceful_seconds: float = 5.0
    #: file answers to loopback clients as copies rather than sendfile (faster there; see
    #: Connection._copies_files)
    copy_files_to_loopback: bool = True


class Server:
    """Serves one WSGI ``app`` on already-bound listening sockets until :meth:`stop`."""

    def __init__(self, app, sockets, config: Config, ssl_context=None, on_ready=None) -> None:
        self.app = app
        self.sockets = sockets
        self.config = config
        self.ssl_context = ssl_context
        self.on_ready = on_ready
        self.loop: asyncio.AbstractEventLoop | None = None
        self.date = DateHeader()
        self.connections: dict[Connection, None] = {}
        self._per_client: Counter = Counter()
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve_requests, name=f"ecr-request-{n}", daemon=True)
                         for n in range(config.threads)]
        self._stopping: asyncio.Event | None = None
        self._probe_logged = False
        self._listeners: list = []
        self._body_limit = getattr(app, "body_limit", None)
        self._hashes_body = getattr(app, "hashes_body", None)
        self._inline_lock = getattr(app, "inline_lock", None)

    # -- what connections ask ---------------------------------------------------------------
    def spool_dir(self) -> str | None:
        return getattr(self.app, "spool_dir", None)

    def body_limit(self, environ) -> int | None:
        return self._body_limit(environ) if self._body_limit is not None else None

    def hashes_body(self, environ) -> bool:
        """Whether a spooled body is hashed as it arrives (``app.hashes_body``; default yes)."""
        return self._hashes_body(environ) if self._hashes_body is not None else True

    def inline_lock(self, environ):
        """The lock to hold while running this request on the loop, taken without waiting;
        None when the app does not offer one for it (``app.inline_lock(environ)``: a quick
        in-memory call) or someone else holds it: then the request goes to a thread."""
        if self._inline_lock is None:
            return None
        try:
            lock = self._inline_lock(environ)
        except Exception:  # noqa: BLE001 -- the app's bug: its request still gets a thread
            log.exception("inline_lock failed")
            return None
        if lock is not None and lock.acquire(blocking=False):
            return lock
        return None

    def submit(self, fn, *args) -> None:
        """Run ``fn(*args)`` on a request thread (a plain queue: no future, no lock per call)."""
        self._work.put((fn, args))

    def _serve_requests(self) -> None:
        while (item := self._work.get()) is not None:
            fn, args = item
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 -- one request's failure must not end the thread
                log.exception("request thread error")

    def admit(self, conn: Connection) -> bool:
        """Make room for ``conn`` (closing the oldest idle connection at a bound), or refuse it."""
        client = conn.peer[0] if conn.peer else ""
        if self._per_client[client] >= self.config.max_per_client and not self._evict(client):
            log.warning("refused a connection from %s: it holds %d busy connections", client,
                        self._per_client[client])
            return False
        if len(self.connections) >= self.config.max_connections and not self._evict(None):
            log.warning("refused a connection from %s: %d connections are open and busy", client,
                        len(self.connections))
            return False
        self.connections[conn] = None
        self._per_client[client] += 1
        return True

    def _evict(self, client: str | None) -> bool:
        for other in self.connections:
            if other.state == "idle" and (client is None or (other.peer and other.peer[0] == client)):
                other.close()
                self.forget(other)
                return True
        return False

    def forget(self, conn: Connection) -> None:
        if self.connections.pop(conn, False) is None:
            client = conn.peer[0] if conn.peer else ""
            self._per_client[client] -= 1
            if self._per_client[client] <= 0:
                del self._per_client[client]

    def probe(self, peer) -> None:
        """A TLS hello on a plain-HTTP port: expected from clients that try HTTPS first."""
        if not self._probe_logged:
            self._probe_logged = True
            log.debug("TLS handshake from %s on a plain-HTTP port (a client probing for HTTPS; it falls "
                      "back to HTTP, or serve HTTPS with --tls); further probes are not logged",
                      peer[0] if peer else "?")

    def log_access(self, conn: Connection, request, answer) -> None:
        if not self.config.access_log or request is None:
            return
        took = (time.monotonic() - conn.request_started) * 1000
        access_log.info('%s "%s %s %s" %s %s %dms', conn.peer[0] if conn.peer else "-", request.method,
                        request.target, request.version, answer.status,
                        answer.size if answer.size >= 0 else "-", took)

    # -- running --------------------------------------------------------------------------------
    def run(self) -> None:
        """Serve until SIGTERM/SIGINT or :meth:`stop` (blocks; call from the main thread)."""
        asyncio.run(self._main())

    def stop(self) -> None:
        """Ask a running server to stop (from any thread)."""
        if self.loop is not None and self._stopping is not None:
            self.loop.call_soon_threadsafe(self._stopping.set)

    async def _main(self) -> None:
        self.loop = loop = asyncio.get_running_loop()
        for thread in self._threads:
            thread.start()
        self._stopping = asyncio.Event()
        for sock in self.sockets:
            listener = sock.getsockname()[:2]
            scheme = "https" if self.ssl_context else "http"
            server = await loop.create_server(
                lambda listener=listener, scheme=scheme: Connection(self, listener, scheme),
                sock=sock, ssl=self.ssl_context, backlog=2048,
                ssl_handshake_timeout=self.config.header_timeout if self.ssl_context else None)
            self._listeners.append(server)
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._stopping.set)
        if self.on_ready is not None:
            self.on_ready()
        sweeper = loop.create_task(self._sweep())
        await self._stopping.wait()
        sweeper.cancel()
        await self._shutdown()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            self.sweep(time.monotonic())

    def sweep(self, now: float) -> None:
        """Close the connections past their state's deadline (see :mod:`.connection`)."""
        config = self.config
        for conn in list(self.connections):
            state = conn.state
            if state == "idle":
                if now - conn.since > config.idle_timeout:
                    conn.close()
            elif state == "head":
                if now - conn.since > config.header_timeout:
                    conn.timed_out(408, "the request head did not arrive in time")
            elif state == "body":
                started = conn.body_started
                if (now - conn.last_progress > config.body_timeout
                        or now - started > config.body_timeout + conn.received / config.body_min_rate
                        or now - started > config.body_max_seconds):
                    conn.timed_out(408, "the request body arrived too slowly")
            elif state == "send":
                buffered = conn.transport.get_write_buffer_size() if conn.transport else 0
                if conn.sending_file:  # sendfile bypasses the transport's buffer: the kernel's queue moves
                    buffered = conn.unsent() or buffered
                if buffered != conn.write_buffer:
                    conn.write_buffer, conn.send_progress = buffered, now
                elif (buffered or conn.sending_file) and now - conn.send_progress > config.body_timeout:
                    log.info("cut %s: it stopped reading the answer", conn.peer)
                    conn.reset()

    async def _shutdown(self) -> None:
        for server in self._listeners:
            server.close()
        deadline = time.monotonic() + self.config.graceful_seconds
        while time.monotonic() < deadline:
            for conn in list(self.connections):
                if conn.state in ("idle", "head"):
                    conn.close()
            if not any(c.state in ("body", "app", "send") for c in self.connections):
                break
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.reset()
        await asyncio.sleep(0)
        for _ in self._threads:
            self._work.put(None)  # each request thread ends after the work before it
