"""Serving the WSGI app: gunicorn (default) or werkzeug's threaded server.

gunicorn runs one worker process with threads (``gthread``): all state stays in that one
process, connections are kept alive (werkzeug's server closes every connection, which caps
small-request throughput), and request bodies stream without spooling.
"""

from __future__ import annotations

import signal
import sys

from .settings import Settings

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def _announce(host: str, port: int) -> None:
    print(f"ecr-emulator listening on http://{host}:{port}", flush=True)


def serve(settings: Settings) -> None:
    if settings.server == "werkzeug":
        _serve_werkzeug(settings)
    else:
        _serve_gunicorn(settings)


def _serve_gunicorn(settings: Settings) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self):
            options = {
                "bind": f"{settings.host}:{settings.port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": settings.threads,
                "keepalive": 75,
                "timeout": 0,
                "graceful_timeout": 5,
                "accesslog": "-" if settings.access_log else None,
                "access_log_format": ACCESS_LOG_FORMAT,
                "errorlog": "-",
                "loglevel": "warning",
                "when_ready": lambda server: [
                    _announce(*listener.sock.getsockname()[:2]) for listener in server.LISTENERS
                ],
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

    server = make_server(settings.host, settings.port, create_app(settings), threaded=True,
                         request_handler=Handler)
    _announce(*server.socket.getsockname()[:2])

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("ecr-emulator stopped", file=sys.stderr, flush=True)
