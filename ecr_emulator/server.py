"""Serving the WSGI app: gunicorn (default) or werkzeug's threaded server.

gunicorn runs one worker process with threads (``gthread``, with kept-alive connections
served by the thread that answered them while they stay busy, see :func:`_lingering_worker`):
all state stays in that one process, connections are kept alive, and request bodies stream
without spooling.
"""

from __future__ import annotations

import errno
import io
import logging
import re
import select
import signal
import socket
import struct
import sys

from .settings import SettingError, Settings, describe

log = logging.getLogger("ecr_emulator.server")

#: a lingering thread hands its connection back to the poller after this many requests (fairness)
MAX_LINGERING_REQUESTS = 1000
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def _announce(settings: Settings, host: str, port: int, public: bool = False) -> None:
    scheme = "https" if settings.tls else "http"
    if public:
        print(f"ecr-emulator public registry on {scheme}://{host}:{port}", flush=True)
    else:
        print(f"ecr-emulator listening on {scheme}://{host}:{port}", flush=True)


def _binds(settings: Settings) -> list[tuple[str, int, str]]:
    """The API + private registry listener, then the ECR Public registry listener (with the
    setting that chose each port)."""
    return [(settings.host, settings.port, "port"),
            (settings.host, settings.effective_public_port, "public_port")]


def _listen(host: str, port: int, setting: str) -> socket.socket:
    """A listening socket, or a :class:`SettingError` that says which setting to change.

    Bound here rather than by gunicorn, which would retry a port in use five times over five
    seconds with a line each and then exit without a hint."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise SettingError(f"{describe('host')}: cannot resolve {host!r} ({error.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        where = f"{host}:{port}"
        if error.errno == errno.EADDRINUSE:
            raise SettingError(f"{where} is already in use ({describe(setting)}): stop the program that "
                               "uses it, or choose another port (0 picks a free one)") from None
        if error.errno == errno.EACCES:
            raise SettingError(f"{where}: binding port {port} needs privileges ({describe(setting)}); "
                               "choose a port above 1023") from None
        if error.errno == errno.EADDRNOTAVAIL:
            raise SettingError(f"{describe('host')}: {host} is not an address of this machine") from None
        raise SettingError(f"{where} cannot be bound ({describe(setting)}): {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _prepare(settings: Settings) -> tuple[list[socket.socket], dict | None]:
    """Everything that can fail because of a setting, before any server starts: the state
    directory, the TLS files, the listening sockets. Raises :class:`SettingError`."""
    from .features.persistence import preflight
    from .store.statedir import StateDirError

    try:
        preflight(settings)
    except StateDirError as error:
        raise SettingError(f"{describe('state_dir')}: {error}") from None
    tls = None
    if settings.tls:
        from . import tls as tls_files

        try:
            tls = tls_files.ensure(settings)
        except tls_files.TlsError as error:
            raise SettingError(f"{describe('tls_dir')}: {error}") from None
    sockets: list[socket.socket] = []
    try:
        for host, port, setting in _binds(settings):
            sockets.append(_listen(host, port, setting))
    except SettingError:
        for sock in sockets:
            sock.close()
        raise
    return sockets, tls


def serve(settings: Settings) -> int:
    """Serve until a signal; 2 (after one line on stderr) when a setting stops it starting."""
    try:
        sockets, tls = _prepare(settings)
    except SettingError as error:
        print(f"ecr-emulator: {error}", file=sys.stderr)
        return 2
    if tls:
        print(f"ecr-emulator TLS: clients trust the CA in {tls['ca']} "
              "(SSL_CERT_FILE, AWS_CA_BUNDLE, podman's certs.d)", flush=True)
    if settings.server == "werkzeug":
        _serve_werkzeug(settings, sockets, tls)
    else:
        _serve_gunicorn(settings, sockets, tls)
    return 0


class _ProbeLog:
    """Clients that try TLS first (podman, skopeo) send a ClientHello to a plain-HTTP port;
    the HTTP parser would fail on it and log a warning per connection ("bare LF as line
    terminator"). That is expected (they fall back to HTTP), so such connections are closed
    before parsing and logged once, at debug level."""

    #: the first bytes of a TLS handshake record
    HANDSHAKE = b"\x16\x03"

    def __init__(self) -> None:
        self.seen = False

    def log(self, debug, addr) -> None:
        if not self.seen:
            self.seen = True
            debug(f"TLS handshake from {addr} on a plain-HTTP port (a client probing for HTTPS; it "
                  "falls back to HTTP, or serve HTTPS with --tls); further probes are not logged")


def _lingering_worker(linger: float, header_timeout: float = 30.0, body_timeout: float = 60.0):
    """gunicorn's ``gthread`` worker, with two changes.

    **No stalls.** A connection gets a thread only once a whole request head is buffered: the
    thread reads what has arrived without blocking and, while the head is incomplete, hands
    the connection back to the poller (gthread's ``_DEFER``) until more bytes come; a head still
    incomplete ``header_timeout`` after its first bytes is closed when more bytes come, and a
    connection that sends nothing more is closed after gunicorn's ``keepalive`` (idle timeout). So connections that open and
    say nothing, or stop mid-headers (a paused container, a partition), hold no thread and the
    health check and other clients are served. Every blocking wait on the socket (for body
    bytes, for the client to take response bytes, or for a head read by gunicorn itself: one
    over 128 KiB, or over TLS) is bounded by ``body_timeout``
    (``SO_RCVTIMEO``/``SO_SNDTIMEO``: a receive still returns early with what came, so slow
    but moving clients are fine); the connection is closed when it passes. Idle connections
    are bounded by gunicorn's ``keepalive`` and ``worker_connections`` (see ``_serve_gunicorn``).
    Over TLS the head cannot be peeked at before the handshake: there only the timeouts apply.

    **Lingering** (``linger`` > 0): a thread that has just answered on a kept-alive connection
    waits up to ``linger`` seconds for that connection's next request and serves it itself
    instead of handing the socket back to the main thread's poller. gthread moves every request
    of a kept-alive connection main thread -> pool thread -> main thread (a pipe write, an epoll
    re-registration and two thread wake-ups per request); for the small back-to-back requests of
    an SDK client that hand-off costs more CPU and latency than the emulator's own work
    (``scripts/bench_control.py``). A thread stops lingering as soon as other connections wait
    for a thread (fairness). With gunicorn versions whose ``handle`` does not answer a plain
    ``True`` for "keep alive", nothing lingers; without ``_DEFER``, only the timeouts apply.
    """
    import time

    from gunicorn.workers import gthread
    from gunicorn.workers.gthread import ThreadWorker

    # gunicorn >= 24: a new connection's thread waits this long for its first bytes, else
    # hands it back ("defer"); older versions: only bytes already there are looked at
    defer = getattr(gthread, "_DEFER", None)
    if not hasattr(getattr(gthread, "TConn", None), "wait_for_data"):
        defer = None
    timeout_ms = max(1, int(linger * 1000))
    probes = _ProbeLog()  # TLS probes on the plain port: answered 400, logged once at debug

    class ReliableThreadWorker(ThreadWorker):
        def handle(self, conn):
            if defer is not None and not self.cfg.is_ssl:
                ready = _head_buffered(conn, header_timeout)
                if ready is None:
                    return defer
                if ready is NOT_HTTP:
                    probes.log(self.log.debug, conn.client[0] if conn.client else "?")
                    _refuse(conn.sock)
                    return False
                if ready is False:
                    return False  # the head took too long: close
            if not getattr(conn, "ecr_timeouts", False):  # once per connection: a syscall each
                _socket_timeouts(conn.sock, body_timeout, body_timeout)
                conn.ecr_timeouts = True
            result = super().handle(conn)
            served = 1
            while (linger > 0 and result is True and self.alive and served < MAX_LINGERING_REQUESTS
                   and not self._others_wait()):
                unreader = getattr(getattr(conn, "parser", None), "unreader", None)
                buffered = getattr(getattr(unreader, "buf", None), "getvalue", lambda: b"")()
                pending = getattr(conn.sock, "pending", lambda: 0)()  # TLS: bytes already decrypted
                if not buffered and not pending:
                    try:
                        poller = select.poll()
                        poller.register(conn.sock, select.POLLIN)
                        if not poller.poll(timeout_ms):
                            break  # quiet: back to the poller, as gthread does
                    except (OSError, ValueError):
                        break  # let gthread's own path deal with a broken socket
                if defer is not None and not self.cfg.is_ssl and _head_buffered(conn, header_timeout) is not True:
                    break  # an incomplete head: back to the poller (gthread re-queues buffered bytes)
                result = super().handle(conn)
                served += 1
            return result

        def handle_request(self, req, conn):
            conn.ecr_head_started = None  # the next head's deadline starts with its first bytes
            return super().handle_request(req, conn)

        def _others_wait(self) -> bool:
            """Whether other connections wait for a thread (then this one goes back in line)."""
            work = getattr(getattr(self, "tpool", None), "_work_queue", None)
            return work is None or not work.empty()

    def _head_buffered(conn, limit: float):
        """True once the connection's buffer holds a whole request head (or the connection
        ended, or the head is too large: the parser answers those); None while incomplete
        (defer to the poller); False when the head has taken longer than ``limit``."""
        if not conn.initialized:
            if not conn.data_ready and not conn.wait_for_data(0.05):
                return None
            conn.sock.setblocking(True)
            conn.init()
        unreader = getattr(getattr(conn, "parser", None), "unreader", None)
        buf = getattr(unreader, "buf", None)
        if buf is None or getattr(conn, "is_http2", False):
            return True  # not the HTTP/1 parser we know: gthread as it is
        data = buf.getvalue()
        for attempt in range(2):
            if _not_http1(data):
                return NOT_HTTP  # e.g. a TLS hello on the plain port: answered 400 at once
            if _ready(data):
                return True
            if len(data) > MAX_HEAD_BYTES + PREBUFFERED_BODY or (len(data) > MAX_HEAD_BYTES and _head_end(data) < 0):
                return True  # too large to wait for: the parser reads (and judges) it
            if attempt and not _readable(conn.sock, IN_FLIGHT_WAIT):
                break  # nothing more soon: back to the poller
            # read what has arrived, no further than the request needs: the bytes of a body
            # that is not buffered first stay in the socket for the body reader
            before, closed = len(data), False
            try:
                while len(data) <= MAX_HEAD_BYTES + PREBUFFERED_BODY:
                    more = _recv_now(conn.sock, RECV_PIECE)
                    if not more:
                        closed = True
                        break
                    data += more
                    if _ready(data) or _not_http1(data):
                        break
            except (BlockingIOError, InterruptedError):
                pass  # all that has arrived is in
            except OSError:
                return True  # let gunicorn meet the broken socket
            if len(data) > before:
                unreader.buf = io.BytesIO()
                unreader.buf.write(data)
            if closed:
                return True  # the client closed: the parser sees the end
        if _ready(data):
            return True
        now = time.monotonic()
        started = getattr(conn, "ecr_head_started", None)
        if started is None:
            conn.ecr_head_started = started = now
        if now - started > limit:
            return False
        conn.data_ready = False
        return None

    return ReliableThreadWorker


#: a request head larger than this is handed to gunicorn's parser, which refuses it
MAX_HEAD_BYTES = 128 << 10


#: a request body of known length up to this size is buffered before the request gets a thread
#: (control-plane calls, most manifests): a client stalling in such a body holds no thread
PREBUFFERED_BODY = 256 << 10
_CONTENT_LENGTH = re.compile(rb"\ncontent-length[ \t]*:[ \t]*([0-9]{1,12})[ \t]*\r?(?=\n)", re.I)
#: bodies not buffered first: chunked ones, and those whose client waits for "100 Continue"
_STREAMED = re.compile(rb"\n(?:transfer-encoding|expect)[ \t]*:", re.I)


_REQUEST_LINE = re.compile(rb"[A-Z][\x20-\x7e]*\r?")


#: what ``_head_buffered`` answers for bytes that are no HTTP/1 request
NOT_HTTP = "not HTTP/1"
_BAD_REQUEST = (b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 31\r\n\r\nnot an HTTP/1.1 request (TLS?)\n")


def _refuse(sock) -> None:
    """Answer bytes that are no HTTP/1 request with a plain 400 (TLS clients that try HTTPS
    first, as Go's do, see it and fall back to HTTP) before the connection is closed."""
    try:
        sock.sendall(_BAD_REQUEST)
    except OSError:
        pass


def _not_http1(data: bytes) -> bool:
    """Whether ``data`` cannot be the start of an HTTP/1 request (a request line is a method
    token and printable ASCII), so waiting for the rest of a head would only stall the client."""
    stripped = data.lstrip(b"\r\n")
    first = stripped.split(b"\n", 1)[0]
    return bool(stripped) and _REQUEST_LINE.fullmatch(first) is None


def _head_end(data: bytes) -> int:
    """Where the first request's head ends in ``data`` (blank lines before a request line are
    skipped, as the parser does), or -1 while it is incomplete."""
    start = len(data) - len(data.lstrip(b"\r\n"))
    end = data.find(b"\r\n\r\n", start)
    if end >= 0:
        return end + 4
    end = data.find(b"\n\n", start)
    return end + 2 if end >= 0 else -1


def _ready(data: bytes) -> bool:
    """Whether ``data`` holds a whole request head and, when its body is small enough to
    buffer first (:data:`PREBUFFERED_BODY`, known length), the whole body."""
    end = _head_end(data)
    if end < 0:
        return False
    match = _CONTENT_LENGTH.search(data, 0, end)
    if match is None or _STREAMED.search(data, 0, end):
        return True
    length = int(match[1])
    return length > PREBUFFERED_BODY or len(data) - end >= length


#: bytes read per non-blocking receive while a head (and a small body) comes in
RECV_PIECE = 64 << 10
#: how long a thread waits for the rest of a request already arriving (a client that writes
#: the head and the body separately) before handing the connection back to the poller
IN_FLIGHT_WAIT = 0.01


def _readable(sock, seconds: float) -> bool:
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(int(seconds * 1000)))
    except (OSError, ValueError):
        return True  # let the read meet the broken socket


def _recv_now(sock, size: int) -> bytes:
    """What has arrived on the blocking ``sock``, without waiting (BlockingIOError if nothing)."""
    if hasattr(socket, "MSG_DONTWAIT"):
        return sock.recv(size, socket.MSG_DONTWAIT)
    sock.setblocking(False)
    try:
        return sock.recv(size)
    finally:
        sock.setblocking(True)


def _socket_timeouts(sock, receive: float, send: float) -> None:
    """Bound each blocking receive and send on ``sock`` (kernel timeouts, so they also hold
    for the blocking sockets gthread uses and for ``recv(MSG_WAITALL)``)."""
    for option, seconds in ((socket.SO_RCVTIMEO, receive), (socket.SO_SNDTIMEO, send)):
        whole = int(seconds)
        sock.setsockopt(socket.SOL_SOCKET, option, struct.pack("ll", whole, int((seconds - whole) * 1e6)))


def _serve_gunicorn(settings: Settings, sockets: list[socket.socket], tls: dict | None) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self):
            options = {
                # sockets bound by _prepare (listeners keep this order: the second is the public registry)
                "bind": [f"fd://{sock.fileno()}" for sock in sockets],
                "workers": 1,
                "worker_class": _lingering_worker(settings.keepalive_linger, settings.header_timeout,
                                                  settings.body_timeout),
                "threads": settings.threads,
                "keepalive": max(1, round(settings.idle_timeout)),  # gunicorn takes whole seconds
                "worker_connections": settings.max_connections,
                "timeout": 0,
                "graceful_timeout": 5,
                "accesslog": "-" if settings.access_log else None,
                "access_log_format": ACCESS_LOG_FORMAT,
                "errorlog": "-",
                "loglevel": "warning",
                "when_ready": lambda server: [
                    _announce(settings, *listener.sock.getsockname()[:2], public=index > 0)
                    for index, listener in enumerate(server.LISTENERS)
                ],
                "post_worker_init": lambda worker: worker.wsgi.set_public_ports(
                    [s.sock.getsockname()[1] for s in worker.sockets[1:]]),
                # the last save of the state (--state-dir) once requests have drained
                "worker_exit": lambda arbiter, worker: _close(getattr(worker, "wsgi", None)),
            }
            if tls:
                options.update(certfile=tls["cert"], keyfile=tls["key"], http_protocols="h1")
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from .app import create_app

            return create_app(settings)

    Application().run()


def _close(app) -> None:
    if app is not None and hasattr(app, "close"):
        app.close()


def _serve_werkzeug(settings: Settings, sockets: list[socket.socket], tls: dict | None) -> None:
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    from .app import create_app

    probes = _ProbeLog()  # TLS probes on the plain port: answered 400, logged once at debug

    class Handler(WSGIRequestHandler):
        # every read and write of a connection (a thread each) is bounded: stalled clients go
        timeout = max(settings.header_timeout, settings.body_timeout)

        def log_request(self, code="-", size="-"):
            if settings.access_log:
                super().log_request(code, size)

        def parse_request(self):
            if not tls and self.raw_requestline.startswith(_ProbeLog.HANDSHAKE):
                probes.log(log.debug, self.client_address[0])
                self.close_connection = True
                return False
            return super().parse_request()

    ssl_context = None
    if tls:
        import ssl

        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(tls["cert"], tls["key"])
    app = create_app(settings)
    servers = [make_server(host, port, app, threaded=True, request_handler=Handler, ssl_context=ssl_context,
                           fd=sock.fileno())
               for (host, port, _), sock in zip(_binds(settings), sockets, strict=True)]
    app.set_public_ports([s.socket.getsockname()[1] for s in servers[1:]])
    for index, server in enumerate(servers):
        _announce(settings, *server.socket.getsockname()[:2], public=index > 0)
    server, public = servers
    threading.Thread(target=public.serve_forever, name="public-registry", daemon=True).start()

    def stop(signum, frame):
        raise KeyboardInterrupt

    # Both explicitly, as gunicorn does: a process started in the background by a shell
    # without job control inherits SIGINT *ignored*, and Python then never raises
    # KeyboardInterrupt, so Ctrl-C / ``kill -INT`` would not stop the server.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        public.shutdown()
        for each in servers:
            each.server_close()
        _close(app)  # prints the line saying what was saved
