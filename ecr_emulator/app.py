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

from .addressing.ecr_public import is_public_registry_host, public_host
from .addressing.partitions import parse_ecr_host
from .awsjson import AwsJsonProtocol, caller_from_headers, load_service
from .awsjson.identity import require_region
from .awsjson.signatures import SignatureVerifier, load_credentials
from .control import ECR, ECR_PUBLIC, RequestContext
from .features import install as install_features
from .gallery import register as register_gallery
from .identity import token_key
from .identity.identity_policies import load_identities, request_facts
from .identity.tokens import TokenSigner
from .registry import downloads
from .registry import register as register_registry
from .registry.faults import middleware as fault_middleware
from .runtime.admin import register as register_admin
from .settings import Settings
from .store import Backend


class Emulator:
    """The process-wide state and the WSGI entry point."""

    #: print one line saying what was saved when closed (set by the command line, so that
    #: in-process uses such as ``mock_ecr`` stay quiet)
    announce_stop = False

    def __init__(self, settings: Settings | None = None, backend: Backend | None = None,
                 token_key: bytes | None = None) -> None:
        """``token_key``: the tokens' signing key (default: a new one, kept in memory)."""
        self.settings = settings or Settings.from_env()
        self.backend = backend or Backend(lenient_manifests=self.settings.lenient_manifests)
        self.backend.blobs.configure(parent=self.settings.blob_dir, cache_bytes=self.settings.blob_cache_bytes)
        self.tokens = TokenSigner(token_key)
        self.verifier = (SignatureVerifier(load_credentials(self.settings.credentials_file))
                         if self.settings.credentials_file else None)
        #: the identity-policies file (None: identity policies are not evaluated)
        self.identities = load_identities(self.settings, self.verifier)
        self.protocol = AwsJsonProtocol(self._context, max_body=self.settings.control_body_limit)
        self.protocol.add_service(load_service("ecr"), ECR)
        self.protocol.add_service(load_service("ecr-public"), ECR_PUBLIC)
        self.public_ports: frozenset[str] = frozenset()
        self.download_ports: frozenset[str] = frozenset()
        self._closers: list = []
        #: ``veto()`` -> True while calls must not run on the server's event loop (a feature
        #: that may make a call wait: fault rules with latency)
        self.inline_vetoes: list = []
        #: ``observer(request, action, params, ctx, response)`` after each registry request
        #: (``registry/routes.py``): ``action`` is the private registry's action the request stands
        #: for (``ecr:PutImage``; ``""``: none, or no route matched); ctx is None when the request
        #: got no further
        self.registry_observers: list = []
        self.flask = self._flask_app()
        #: the WSGI app below the emulator's middlewares (:meth:`wrap`)
        self._wsgi = self._dispatch
        install_features(self)
        #: fault injection's registry door: the faults feature's rules, applied by the registry's
        #: middleware (the feature itself imports nothing of HTTP)
        self.wrap(lambda app: fault_middleware(app, self))
        if not self.settings.state_dir:
            self.backend.blobs.open_directory()  # now, so stale ones go at once

    def _context(self, request: Request, service) -> RequestContext:
        if self.verifier is not None:
            caller = self.verifier.verify(request, request.get_data())
        else:
            caller = caller_from_headers(request.headers, self.settings.account, self.settings.region)
        require_region(caller.region, self.settings.accepts_region)
        return RequestContext(self.backend, self.settings, self.tokens, caller, service.name, request.host,
                              self.public_host(request.environ, request.host), self.identities,
                              request_facts(request), self.download_port)

    def body_limit(self, environ) -> int | None:
        """The most body bytes the server reads for this request before the application runs
        (the control plane's limit); past it the application answers from the headers alone."""
        if environ.get("REQUEST_METHOD") == "POST" and (
                environ.get("PATH_INFO") == "/" or "HTTP_X_AMZ_TARGET" in environ):
            return self.settings.control_body_limit
        return None

    def hashes_body(self, environ) -> bool:
        """Whether the server should hash a large body as it arrives: yes, unless it is a
        ``PATCH`` to an upload that holds bytes already, which appends the chunk to its file
        under its own running hash (reading it anyway). An upload's first bytes take the spool
        file over, hash included, so a one-PATCH push (skopeo, docker) hashes while receiving."""
        if environ.get("REQUEST_METHOD") != "PATCH":
            return True
        upload_id = environ.get("PATH_INFO", "").rstrip("/").rpartition("/")[2]
        return not self.backend.uploads.holds_bytes(upload_id)

    def inline_lock(self, environ):
        """For a control-plane call that only computes over memory, the lock it runs under
        (``Backend.lock``): a server that can take it without waiting may run the call on its
        event loop, saving the hand-off to a request thread (a third of a call's CPU). None for
        every other request, and while a feature vetoes it."""
        if self.protocol.quick(environ) and not any(veto() for veto in self.inline_vetoes):
            return self.backend.lock
        return None

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
        """Whether a request is for the ECR Public registry: the host name decides when it is
        one of AWS's registry hosts (``public.ecr.aws``: public; ``<account>.dkr.ecr.<region>.
        amazonaws.com``: that private registry), so one listener (``--tls --port 443``) serves
        both as AWS does; else the listener it came in on (``--public-port``) decides. The API
        hosts (``api.ecr...``, ``api.ecr-public...``) need no routing: ``POST /`` with an
        ``X-Amz-Target`` is the control plane on every host and listener."""
        host = environ.get("HTTP_HOST", "")
        if is_public_registry_host(host):
            return True
        if parse_ecr_host(host) is not None:
            return False
        return environ.get("SERVER_PORT") in self.public_ports

    def observe_registry(self, request, action, params, ctx, response) -> None:
        for observer in self.registry_observers:
            try:
                observer(request, action, params, ctx, response)
            except Exception:  # noqa: BLE001 -- an observer's bug must not change the answer
                logging.getLogger(__name__).exception("registry observer %r failed", observer)

    def wrap(self, middleware) -> None:
        """Put ``middleware(app) -> app`` (WSGI) in front of the registry and the emulator's
        endpoints (fault injection's, ``registry/faults.py``). The AWS JSON door has its own
        interceptors (``protocol.interceptors``), which ``mock_ecr``'s in-process path also runs."""
        self._wsgi = middleware(self._wsgi)

    # -- the pre-signed downloads' listener (registry/downloads.py) ---------------------
    def set_download_ports(self, ports) -> None:
        """The local ports of the download listeners (the server tells, once bound)."""
        self.download_ports = frozenset(str(p) for p in ports)

    @property
    def download_port(self) -> int | None:
        """The port pre-signed URLs name; None without a download listener (in-process)."""
        return int(min(self.download_ports)) if self.download_ports else None

    @property
    def spool_dir(self) -> str:
        """Where the server spools large request bodies: the blob store's temporary directory, on
        the blobs' filesystem, so an upload's body becomes its blob by a rename."""
        return self.backend.blobs.spool_dir

    def __call__(self, environ, start_response):
        if self.download_ports and environ.get("SERVER_PORT") in self.download_ports:
            return downloads.serve(self, Request(environ))(environ, start_response)
        if self.is_public(environ):
            environ["ecr_emulator.public"] = True
        return self._wsgi(environ, start_response)

    def _dispatch(self, environ, start_response):
        if self.protocol.handles(environ):
            return self.protocol(Request(environ))(environ, start_response)
        return self.flask(environ, start_response)


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "application/octet-stream"


def create_app(settings: Settings | None = None, backend: Backend | None = None) -> Emulator:
    """The emulator as served: its tokens' key kept across restarts (identity/token_key.py; raises
    :class:`~ecr_emulator.identity.token_key.TokenKeyError` when the key file cannot be used)."""
    settings = settings or Settings.from_env()
    return Emulator(settings, backend, token_key=token_key.load(settings))
