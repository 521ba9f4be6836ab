"""Serving the WSGI app: the built-in event-loop server (default) or werkzeug's threaded server.

Both run in this one process (all state stays in it). The built-in server
(:mod:`ecr_emulator.httpd`) reads every request head and body on its event loop, so slow,
idle and stalled clients hold no request thread; werkzeug's is the plain alternative.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys

from ..settings import SettingError, Settings, describe

log = logging.getLogger("ecr_emulator.server")



#: what each listener of ``_binds`` is, in its order (announced as "ecr-emulator <what> on URL")
LISTENERS = ("listening", "public registry", "blob downloads")


def _announce(settings: Settings, host: str, port: int, index: int = 0) -> None:
    scheme = "https" if settings.tls else "http"
    print(f"ecr-emulator {LISTENERS[index]} on {scheme}://{host}:{port}", flush=True)


def _binds(settings: Settings) -> list[tuple[str, int, str]]:
    """The API + private registry listener, the ECR Public registry listener, then the
    pre-signed blob downloads' listener (with the setting that chose each port)."""
    return [(settings.host, settings.port, "port"),
            (settings.host, settings.effective_public_port, "public_port"),
            (settings.host, settings.effective_download_port, "download_port")]


def _tell_ports(app, ports: list[int]) -> None:
    """Tell the app which local port is which listener (in ``_binds`` order)."""
    app.set_public_ports(ports[1:2])
    app.set_download_ports(ports[2:3])


def _listen(host: str, port: int, setting: str) -> socket.socket:
    """A listening socket, or a :class:`SettingError` that says which setting to change.

    Bound here, before any server starts, so a port in use is one line naming the setting."""
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
    from ..features.persistence import preflight
    from ..store.statedir import StateDirError

    try:
        preflight(settings)
    except StateDirError as error:
        raise SettingError(f"{describe('state_dir')}: {error}") from None
    if settings.token_key_file:
        from ..identity import token_key

        try:
            token_key.load(settings)  # made now, so a bad key file is one clear line
        except token_key.TokenKeyError as error:
            raise SettingError(f"{describe('token_key_file')}: {error}") from None
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
    # the served process only (never a user's process running mock_ecr): freed big buffers go
    # back to the system at once (see release_large_buffers_promptly)
    from ..registry.bodies import release_large_buffers_promptly

    release_large_buffers_promptly()
    if tls:
        print(f"ecr-emulator TLS: clients trust the CA in {tls['ca']} "
              "(SSL_CERT_FILE, AWS_CA_BUNDLE, podman's certs.d)", flush=True)
    if settings.server == "werkzeug":
        _serve_werkzeug(settings, sockets, tls)
    else:
        _serve_builtin(settings, sockets, tls)
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


def _serve_builtin(settings: Settings, sockets: list[socket.socket], tls: dict | None) -> None:
    """The event-loop server (:mod:`ecr_emulator.httpd`): one process, one loop for every socket,
    request threads only for requests whose head and body are in."""
    from ..app import create_app
    from ..httpd import Config, Server

    if settings.access_log:
        _log_access_to_stdout()
    ssl_context = _ssl_context(tls) if tls else None
    app = create_app(settings)
    _tell_ports(app, [s.getsockname()[1] for s in sockets])
    config = Config(threads=settings.threads, header_timeout=settings.header_timeout,
                    body_timeout=settings.body_timeout, body_min_rate=settings.body_min_rate,
                    body_max_seconds=settings.body_max_seconds, idle_timeout=settings.idle_timeout,
                    max_connections=settings.max_connections,
                    max_per_client=settings.max_connections_per_client, access_log=settings.access_log)

    def ready() -> None:
        for index, sock in enumerate(sockets):
            _announce(settings, *sock.getsockname()[:2], index)

    try:
        Server(app, sockets, config, ssl_context, on_ready=ready).run()
    finally:
        _close(app)  # the last save, and the line saying what was saved (Emulator.close)


def _log_access_to_stdout() -> None:
    """One line per request on stdout (``HOST "METHOD TARGET VERSION" STATUS BYTES TOOKms``)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("ecr_emulator.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def _ssl_context(tls: dict):
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls["cert"], tls["key"])
    context.set_alpn_protocols(["http/1.1"])
    return context


def _close(app) -> None:
    if app is not None and hasattr(app, "close"):
        app.close()


def _serve_werkzeug(settings: Settings, sockets: list[socket.socket], tls: dict | None) -> None:
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    from ..app import create_app

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

    ssl_context = _ssl_context(tls) if tls else None
    app = create_app(settings)
    servers = [make_server(host, port, app, threaded=True, request_handler=Handler, ssl_context=ssl_context,
                           fd=sock.fileno())
               for (host, port, _), sock in zip(_binds(settings), sockets, strict=True)]
    _tell_ports(app, [s.socket.getsockname()[1] for s in servers])
    for index, server in enumerate(servers):
        _announce(settings, *server.socket.getsockname()[:2], index)
    server, *others = servers
    for other, name in zip(others, ("public-registry", "blob-downloads"), strict=True):
        threading.Thread(target=other.serve_forever, name=name, daemon=True).start()

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
        for other in others:
            other.shutdown()
        for each in servers:
            each.server_close()
        _close(app)  # prints the line saying what was saved
