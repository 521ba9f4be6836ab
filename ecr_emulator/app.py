"""create_app(): one WSGI application serving both doors on one port.

``POST /`` with ``X-Amz-Target`` goes straight to the AWS JSON protocol on a bare werkzeug
request (the lean path that keeps the control plane fast); every other request goes to the
Flask app: the OCI registry (``/v2/...``) and the emulator's own endpoints (``/_emulator/...``).
"""

from __future__ import annotations

import logging
import sys

from flask import Flask, abort, make_response
from werkzeug.wrappers import Request

from .admin import register as register_admin
from .awsjson import AwsJsonProtocol, caller_from_headers, load_service
from .awsjson.signatures import SignatureVerifier, load_credentials
from .control import ECR, ECR_PUBLIC, RequestContext
from .features import install as install_features
from .gallery import register as register_gallery
from .public import public_host
from .registry import register as register_registry
from .settings import Settings
from .store import Backend
from .tokens import TokenSigner


class Emulator:
    """The process-wide state and the WSGI entry point."""

    #: print one line saying what was saved when closed (set by the command line, so that
    #: in-process uses such as ``mock_ecr`` stay quiet)
    announce_stop = False

    def __init__(self, settings: Settings | None = None, backend: Backend | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.backend = backend or Backend(lenient_manifests=self.settings.lenient_manifests)
        self.tokens = TokenSigner()
        self.verifier = (SignatureVerifier(load_credentials(self.settings.credentials_file))
                         if self.settings.credentials_file else None)
        self.protocol = AwsJsonProtocol(self._context, max_body=self.settings.control_body_limit)
        self.protocol.add_service(load_service("ecr"), ECR)
        self.protocol.add_service(load_service("ecr-public"), ECR_PUBLIC)
        self.public_ports: frozenset[str] = frozenset()
        self._closers: list = []
        self.flask = self._flask_app()
        install_features(self)

    def _context(self, request: Request, service) -> RequestContext:
        if self.verifier is not None:
            caller = self.verifier.verify(request, request.get_data())
        else:
            caller = caller_from_headers(request.headers, self.settings.account, self.settings.region)
        return RequestContext(self.backend, self.settings, self.tokens, caller, service.name, request.host,
                              self.public_host(request.environ, request.host))

    def public_host(self, environ, request_host: str) -> str:
        """The public registry's ``host:port`` for a client that reached us at ``request_host``."""
        return public_host(self.settings, request_host, self.public_ports, bool(environ.get("ecr_emulator.public")))

    def _flask_app(self) -> Flask:
        app = Flask("ecr_emulator")
        app.extensions["ecr_emulator"] = self
        register_registry(app, self)
        register_admin(app)
        register_gallery(app)

        @app.get("/_emulator/public/logos/<account>/<path:name>")
        def public_logo(account: str, name: str):
            repo = self.backend.public(account).repositories.get(name)
            blob = (repo.catalog_data or {}).get("logoImageBlob") if repo else None
            if not blob:
                abort(404)
            response = make_response(bytes(blob))
            response.headers["Content-Type"] = _image_type(blob)
            return response

        return app

    def on_close(self, closer) -> None:
        """Run ``closer()`` when the server stops (features: the last save of the state)."""
        self._closers.append(closer)

    def close(self) -> None:
        """The server is stopping: run the closers (latest first), each whatever the others do,
        then stop the background threads; with :attr:`announce_stop`, say what was saved."""
        failed = False
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # noqa: BLE001 -- one closer's failure must not skip the others
                failed = True
                logging.getLogger(__name__).exception("closing %r failed", closer)
        self.backend.tasks.stop()
        if self.announce_stop:
            print(self.stop_line(failed), file=sys.stderr, flush=True)

    def stop_line(self, failed: bool = False) -> str:
        """The last line a stopping server prints: where the state went."""
        directory = self.settings.state_dir
        if not directory:
            return "ecr-emulator stopped (state in memory, not saved: --state-dir DIR keeps it)"
        if failed:
            return f"ecr-emulator stopped; saving the state to {directory} FAILED (see the error above)"
        return f"ecr-emulator stopped; state saved to {directory}"

    # -- the ECR Public registry's listener ---------------------------------------------
    def set_public_ports(self, ports) -> None:
        """The local ports of the public registry's listeners (the server tells, once bound)."""
        self.public_ports = frozenset(str(p) for p in ports)

    def is_public(self, environ) -> bool:
        """Whether a request came in on the ECR Public registry's listener."""
        return environ.get("SERVER_PORT") in self.public_ports

    def __call__(self, environ, start_response):
        if self.public_ports and self.is_public(environ):
            environ["ecr_emulator.public"] = True
        request = Request(environ)
        if self.protocol.handles(request):
            return self.protocol(request)(environ, start_response)
        return self.flask(environ, start_response)


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "application/octet-stream"


def create_app(settings: Settings | None = None, backend: Backend | None = None) -> Emulator:
    return Emulator(settings, backend)
