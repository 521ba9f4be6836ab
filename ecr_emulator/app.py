"""create_app(): one WSGI application serving both doors on one port.

``POST /`` with ``X-Amz-Target`` goes straight to the AWS JSON protocol on a bare werkzeug
request (the lean path that keeps the control plane fast); every other request goes to the
Flask app: the OCI registry (``/v2/...``) and the emulator's own endpoints (``/_emulator/...``).
"""

from __future__ import annotations

from flask import Flask, abort, make_response
from werkzeug.wrappers import Request

from .admin import register as register_admin
from .awsjson import AwsJsonProtocol, caller_from_headers, load_service
from .control import ECR, ECR_PUBLIC, RequestContext
from .features import install as install_features
from .registry import register as register_registry
from .settings import Settings
from .store import Backend
from .tokens import TokenSigner


class Emulator:
    """The process-wide state and the WSGI entry point."""

    def __init__(self, settings: Settings | None = None, backend: Backend | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.backend = backend or Backend()
        self.tokens = TokenSigner()
        self.protocol = AwsJsonProtocol(self._context, max_body=self.settings.control_body_limit)
        self.protocol.add_service(load_service("ecr"), ECR)
        self.protocol.add_service(load_service("ecr-public"), ECR_PUBLIC)
        self.public_ports: frozenset[str] = frozenset()
        self.flask = self._flask_app()
        install_features(self)

    def _context(self, request: Request, service) -> RequestContext:
        caller = caller_from_headers(request.headers, self.settings.account, self.settings.region)
        return RequestContext(self.backend, self.settings, self.tokens, caller, service.name, request.host)

    def _flask_app(self) -> Flask:
        app = Flask("ecr_emulator")
        app.extensions["ecr_emulator"] = self
        register_registry(app, self)
        register_admin(app)

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
