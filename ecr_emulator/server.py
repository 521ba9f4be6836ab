"""Serving the WSGI app: gunicorn (default) or werkzeug's threaded server.

gunicorn runs one worker process with threads (``gthread``, with kept-alive connections
served by the thread that answered them while they stay busy, see :func:`_lingering_worker`):
all state stays in that one process, connections are kept alive, and request bodies stream
without spooling.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
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


def _worker_class(linger: float, tls: bool):
    """gunicorn's ``gthread`` worker, except that a thread that has just answered on a kept-alive
    connection waits up to ``linger`` seconds for that connection's next request and serves it
    itself instead of handing the socket back to the main thread's poller (``linger`` 0: it
    does not), and that TLS probes on a plain-HTTP port are not logged as warnings.

    gthread moves every request of a kept-alive connection main thread -> pool thread -> main
    thread (a pipe write, an epoll re-registration and two thread wake-ups per request); for the
    small back-to-back requests of an SDK client that hand-off costs more CPU and latency than
    the emulator's own work (``scripts/bench_control.py``). Connections that go quiet return to
    the poller after ``linger`` as usual, so idle connections do not hold threads, and a thread
    stops lingering as soon as other connections wait for a thread (fairness). With gunicorn
    versions whose ``handle`` does not answer a plain ``True`` for "keep alive", nothing lingers
    and the worker is exactly gthread.
    """
    import select

    from gunicorn.workers import gthread
    from gunicorn.workers.gthread import ThreadWorker

    # gunicorn >= 24: a new connection's thread waits this long for its first bytes, else
    # hands it back ("defer"); older versions: only bytes already there are looked at
    defer = getattr(gthread, "_DEFER", None)
    data_timeout = getattr(gthread, "DEFAULT_WORKER_DATA_TIMEOUT", 5.0)
    if not hasattr(getattr(gthread, "TConn", None), "wait_for_data"):
        defer = None
    timeout_ms = max(1, int(linger * 1000))
    probes = _ProbeLog()

    class LingeringThreadWorker(ThreadWorker):
        def handle(self, conn):
            if not tls and not conn.initialized:
                # the first bytes of a new connection: wait for them as gthread does (a quiet
                # connection goes back to the poller), then look without consuming them
                if defer is not None and not conn.wait_for_data(data_timeout):
                    return defer
                if self._is_tls_probe(conn):
                    probes.log(self.log.debug, conn.client[0] if conn.client else "?")
                    return False  # gthread closes the connection
            result = super().handle(conn)
            served = 1
            while result is True and linger > 0 and self.alive and served < MAX_LINGERING_REQUESTS and not self._others_wait():
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
                result = super().handle(conn)
                served += 1
            return result

        @staticmethod
        def _is_tls_probe(conn) -> bool:
            try:
                first = conn.sock.recv(len(_ProbeLog.HANDSHAKE), socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return False  # nothing yet: gthread waits for it, and this runs again
            except OSError:
                return False  # gthread's own path deals with a broken socket
            return first == _ProbeLog.HANDSHAKE

        def _others_wait(self) -> bool:
            """Whether other connections wait for a thread (then this one goes back in line)."""
            work = getattr(getattr(self, "tpool", None), "_work_queue", None)
            return work is None or not work.empty()

    return LingeringThreadWorker


def _serve_gunicorn(settings: Settings, sockets: list[socket.socket], tls: dict | None) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self):
            options = {
                # sockets bound by _prepare (listeners keep this order: the second is the public registry)
                "bind": [f"fd://{sock.fileno()}" for sock in sockets],
                "workers": 1,
                "worker_class": _worker_class(settings.keepalive_linger, bool(tls)),
                "threads": settings.threads,
                "keepalive": 75,
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

    probes = _ProbeLog()

    class Handler(WSGIRequestHandler):
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
        _close(app)
        print("ecr-emulator stopped", file=sys.stderr, flush=True)
