"""create_app(): one WSGI application serving both doors on one port.

``POST /`` with ``X-Amz-Target`` goes straight to the AWS JSON protocol on a bare werkzeug
request (the lean path that keeps the control plane fast); every other request goes to the
Flask app: the OCI registry (``/v2/...``) and the emulator's own endpoints (``/_emulator/...``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, abort, jsonify, make_response, request
from werkzeug.wrappers import Request

from . import __version__
from .awsjson import AwsJsonProtocol, caller_from_headers, load_service
from .control import ECR, ECR_PUBLIC, RequestContext
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
        self.protocol = AwsJsonProtocol(self._context)
        self.protocol.add_service(load_service("ecr"), ECR)
        self.protocol.add_service(load_service("ecr-public"), ECR_PUBLIC)
        self.flask = self._flask_app()

    def _context(self, request: Request, service) -> RequestContext:
        caller = caller_from_headers(request.headers, self.settings.account, self.settings.region)
        return RequestContext(self.backend, self.settings, self.tokens, caller, service.name, request.host)

    def _flask_app(self) -> Flask:
        app = Flask("ecr_emulator")
        app.extensions["ecr_emulator"] = self
        register_registry(app, self)

        @app.get("/_emulator/health")
        def health():
            return jsonify(status="ok", version=__version__)

        @app.post("/_emulator/reset")
        @app.post("/moto-api/reset")
        def reset():
            self.backend.reset()
            return jsonify(status="ok")

        @app.get("/_emulator/clock")
        def clock():
            return jsonify(now=self.backend.clock.now().isoformat())

        @app.post("/_emulator/clock/advance")
        def advance_clock():
            """Move the emulator's clock forward (push times, token expiry...): no sleeping in tests."""
            body = request.get_json(silent=True)
            seconds = body.get("seconds") if isinstance(body, dict) else None
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                return jsonify(error='send {"seconds": <a number >= 0>}'), 400
            self.backend.clock.advance(timedelta(seconds=seconds))
            return jsonify(now=self.backend.clock.now().isoformat())

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

    def __call__(self, environ, start_response):
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
