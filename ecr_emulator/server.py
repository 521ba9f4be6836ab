"""Serving the WSGI app: gunicorn (default) or werkzeug's threaded server.

gunicorn runs one worker process with threads (``gthread``, with kept-alive connections
served by the thread that answered them while they stay busy, see :func:`_lingering_worker`):
all state stays in that one process, connections are kept alive, and request bodies stream
without spooling.
"""

from __future__ import annotations

import signal
import sys

from .settings import Settings

#: a lingering thread hands its connection back to the poller after this many requests (fairness)
MAX_LINGERING_REQUESTS = 1000
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def _announce(host: str, port: int, public: bool = False) -> None:
    if public:
        print(f"ecr-emulator public registry on http://{host}:{port}", flush=True)
    else:
        print(f"ecr-emulator listening on http://{host}:{port}", flush=True)


def _binds(settings: Settings) -> list[tuple[str, int]]:
    """The API + private registry listener, then the ECR Public registry listener."""
    return [(settings.host, settings.port), (settings.host, settings.effective_public_port)]


def serve(settings: Settings) -> None:
    if settings.server == "werkzeug":
        _serve_werkzeug(settings)
    else:
        _serve_gunicorn(settings)


def _lingering_worker(linger: float):
    """gunicorn's ``gthread`` worker, except that a thread that has just answered on a kept-alive
    connection waits up to ``linger`` seconds for that connection's next request and serves it
    itself instead of handing the socket back to the main thread's poller.

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

    from gunicorn.workers.gthread import ThreadWorker

    timeout_ms = max(1, int(linger * 1000))

    class LingeringThreadWorker(ThreadWorker):
        def handle(self, conn):
            result = super().handle(conn)
            served = 1
            while result is True and self.alive and served < MAX_LINGERING_REQUESTS and not self._others_wait():
                unreader = getattr(getattr(conn, "parser", None), "unreader", None)
                buffered = getattr(getattr(unreader, "buf", None), "getvalue", lambda: b"")()
                if not buffered:
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

        def _others_wait(self) -> bool:
            """Whether other connections wait for a thread (then this one goes back in line)."""
            work = getattr(getattr(self, "tpool", None), "_work_queue", None)
            return work is None or not work.empty()

    return LingeringThreadWorker


def _serve_gunicorn(settings: Settings) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self):
            options = {
                "bind": [f"{host}:{port}" for host, port in _binds(settings)],
                "workers": 1,
                "worker_class": (_lingering_worker(settings.keepalive_linger)
                                 if settings.keepalive_linger > 0 else "gthread"),
                "threads": settings.threads,
                "keepalive": 75,
                "timeout": 0,
                "graceful_timeout": 5,
                "accesslog": "-" if settings.access_log else None,
                "access_log_format": ACCESS_LOG_FORMAT,
                "errorlog": "-",
                "loglevel": "warning",
                "when_ready": lambda server: [
                    _announce(*listener.sock.getsockname()[:2], public=index > 0)
                    for index, listener in enumerate(server.LISTENERS)
                ],
                # listeners keep the order of "bind": the second one is the public registry
                "post_worker_init": lambda worker: worker.wsgi.set_public_ports(
                    [s.sock.getsockname()[1] for s in worker.sockets[1:]]),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from .app import create_app

            return create_app(settings)

    Application().run()


def _serve_werkzeug(settings: Settings) -> None:
    from werkzeug.serving import WSGIRequestHandler, make_server

    from .app import create_app

    class Handler(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            if settings.access_log:
                super().log_request(code, size)

    import threading

    app = create_app(settings)
    servers = [make_server(host, port, app, threaded=True, request_handler=Handler)
               for host, port in _binds(settings)]
    app.set_public_ports([s.socket.getsockname()[1] for s in servers[1:]])
    for index, server in enumerate(servers):
        _announce(*server.socket.getsockname()[:2], public=index > 0)
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
        print("ecr-emulator stopped", file=sys.stderr, flush=True)
