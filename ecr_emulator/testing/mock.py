"""``mock_ecr``: the emulator in the test's own process, moto-style, without a socket.

    from ecr_emulator import mock_ecr

    @mock_ecr
    def test_something():
        ecr = boto3.client("ecr", region_name="us-east-1")
        ...

While a ``mock_ecr`` is active, every request of a boto3/botocore ``ecr`` or ``ecr-public``
client is answered by an in-process :class:`~ecr_emulator.app.Emulator` from botocore's
``before-send`` event: the prepared request becomes a WSGI environ, the emulator's WSGI app
answers it, and the answer goes back to botocore as an ``AWSResponse``. Nothing else is
touched: other services' requests go their usual way (to moto's ``mock_aws`` if it is active,
since a handler for ``before-send.ecr`` runs before moto's catch-all ``before-send``).

Each activation starts from an empty emulator. ``registry=True`` also serves the emulator on
127.0.0.1 (a free port, werkzeug's threaded server) for clients that need a registry
(skopeo, podman, oras, :meth:`MockEcr.push`); ``repositoryUri`` and ``proxyEndpoint`` then
name that port, usable as returned, and a second free port serves the pre-signed blob downloads
the registry redirects to (``registry/downloads.py``). Without it they have AWS's form
(``<account>.dkr.ecr.<region>.amazonaws.com/<name>``), as moto answers, and there is no listener
to redirect to: ``GetDownloadUrlForLayer`` names the endpoint's own host.

The handlers are added to botocore's built-in handlers, so they reach every session created
after the first ``mock_ecr`` starts, and to boto3's default session if it already exists
(a session created earlier by hand is not reached: create clients inside the mock).
"""

from __future__ import annotations

import functools
import inspect
import io
import os
import sys
import threading
import unittest
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

_SERVICES = ("ecr", "ecr-public")
_HANDLER_ID = "ecr-emulator-mock-ecr-{}"
#: active mocks, innermost last; the innermost answers
_active: list["MockEcr"] = []
_installed = False
_install_lock = threading.Lock()


class _Body:
    """The ``raw`` of an ``AWSResponse`` made from bytes (botocore reads ``raw.stream()``)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


#: header name -> WSGI environ key (a handful of names, converted once)
_ENVIRON_KEYS: dict[str, str] = {}


def _environ_key(name: str) -> str:
    key = name.upper().replace("-", "_")
    key = _ENVIRON_KEYS[name] = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
    return key


def _header_items(headers) -> list[tuple[str, str | bytes]]:
    """The items of botocore's ``HeadersDict``, read from its dict directly when it has one
    (its mapping interface builds a case-folded key object per lookup: a third of this
    module's cost per call)."""
    raw = getattr(headers, "_dict", None)
    if isinstance(raw, dict):
        return [(str(key), value) for key, value in raw.items()]
    return list(headers.items())


def _answer(request, **_):
    """``before-send.ecr`` / ``before-send.ecr-public``: the innermost active mock answers."""
    if not _active:
        return None
    if _moto_config is not None or "moto.core.config" in sys.modules:
        _moto_passes_ecr()
    return _active[-1].handle(request)


#: the moto passthrough list ``_moto_passes_ecr`` added "ecr" to (so that only it is undone)
_moto_list: list | None = None
#: moto's settings (``moto.core.config.default_user_config``) once moto is imported
_moto_config: dict | None = None


def _moto_passes_ecr() -> None:
    """botocore calls *every* ``before-send`` handler and keeps the first answer, so with
    moto's ``mock_aws`` active too, moto would also run each ECR call against its own backend
    (ours answers first: a handler of ``before-send.ecr`` runs before moto's ``before-send``).
    moto's documented way to leave a service alone is its ``passthrough`` setting; while a
    ``mock_ecr`` is active, "ecr" is in it (moto has no ECR Public)."""
    global _moto_list, _moto_config
    if _moto_config is None:
        from moto.core.config import default_user_config

        _moto_config = default_user_config
    # looked up at each call: mock_aws(config=...) swaps the "core" entry while it is active
    services = _moto_config.get("core", {}).get("passthrough", {}).get("services")
    if isinstance(services, list) and "ecr" not in services:
        services.append("ecr")
        _moto_list = services


def _moto_lets_ecr_back() -> None:
    global _moto_list
    if _moto_list is not None and "ecr" in _moto_list:
        _moto_list.remove("ecr")
    _moto_list = None


def _install() -> None:
    """Hook :func:`_answer` into botocore once (idempotent; inert while no mock is active)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        import boto3
        import botocore.handlers

        for service in _SERVICES:
            event = f"before-send.{service}"
            botocore.handlers.BUILTIN_HANDLERS.append((event, _answer))
            if boto3.DEFAULT_SESSION is not None:
                boto3.DEFAULT_SESSION._session.register(event, _answer, unique_id=_HANDLER_ID.format(service))
        _installed = True


@functools.cache
def _request_class():
    """A werkzeug ``Request`` whose body is the bytes botocore prepared (no input stream to
    set up and read: the AWS JSON path reads the body once, whole)."""
    from werkzeug.wrappers import Request

    class BufferedRequest(Request):
        def __init__(self, environ, body: bytes) -> None:
            super().__init__(environ)
            self._body = body
            self._host = environ["HTTP_HOST"]

        @property
        def host(self) -> str:  # werkzeug would re-derive it from the environ at each access
            return self._host

        def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False):
            return self._body.decode() if as_text else self._body

    return BufferedRequest


class MockEcr:
    """One activation of the in-process emulator (see the module's docstring).

    ``settings``: a :class:`~ecr_emulator.settings.Settings` or keyword overrides of it
    (``account``, ``lenient_manifests``, ``uri_style``...); ``registry``: also serve the
    registry on a free loopback port (``registry_url``, ``registry_host``, :meth:`push`).
    """

    def __init__(self, *, registry: bool = False, settings=None, **overrides) -> None:
        self._registry = registry
        self._settings = settings
        self._overrides = overrides
        self.emulator = None
        self.registry_url: str | None = None
        #: (server, its thread) of the registry and the downloads listeners, while served
        self._server: list | None = None
        self._saved_env: dict[str, str | None] = {}
        self._environs: dict[tuple[str, str], dict] = {}

    # -- activation ----------------------------------------------------------------------
    def start(self) -> "MockEcr":
        from ..app import Emulator
        from ..settings import Settings

        overrides = dict(self._overrides)
        overrides.setdefault("uri_style", "local" if self._registry else "aws")
        if overrides["uri_style"] == "local" and not self._registry:
            raise ValueError("mock_ecr(uri_style='local') needs registry=True (a host:port to name)")
        settings = self._settings or Settings.from_env(**overrides)
        self.emulator = Emulator(settings)
        self._environs.clear()
        if self._registry:
            self._serve_registry()
        self._fake_credentials(settings.account)
        _install()
        _active.append(self)
        return self

    def stop(self) -> None:
        if self in _active:
            _active.remove(self)
        if not _active:
            _moto_lets_ecr_back()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        served, self._server = self._server or [], None
        for server, thread in served:
            server.shutdown()
            # werkzeug's serve_forever closes the listening socket itself, on its thread, after
            # shutdown() returns: wait for that close, else the port still accepts (and resets)
            # connections for a moment after the mock is gone
            thread.join(timeout=30)
            server.server_close()
        if self.emulator is not None:
            self.emulator.close()  # its background threads end with it

    def __enter__(self) -> "MockEcr":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __call__(self, target):
        """Decorate a test function (sync or async), or a class: its ``test*`` methods, or for a
        ``unittest.TestCase``, each test from ``setUp`` to its cleanups."""
        if isinstance(target, type):
            return self._decorate_class(target)
        if inspect.iscoroutinefunction(target):
            @functools.wraps(target)
            async def run_async(*args, **kwargs):
                with self._copy():
                    return await target(*args, **kwargs)

            return run_async

        @functools.wraps(target)
        def run(*args, **kwargs):
            with self._copy():
                return target(*args, **kwargs)

        return run

    def _copy(self) -> "MockEcr":
        """A fresh activation with the same options (a decorated test may run many times)."""
        return MockEcr(registry=self._registry, settings=self._settings, **self._overrides)

    def _decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            original = cls.setUp

            @functools.wraps(original)
            def set_up(test, *args, **kwargs):
                mock = self._copy().start()
                test.addCleanup(mock.stop)
                return original(test, *args, **kwargs)

            cls.setUp = set_up
            return cls
        for name, member in list(vars(cls).items()):
            if name.startswith("test") and callable(member):
                setattr(cls, name, self(member))
        return cls

    def _fake_credentials(self, account: str) -> None:
        """Without credentials botocore refuses to sign; give it the account as access key id
        (which is how the emulator tells accounts apart) unless the environment names some."""
        if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
            return
        for name, value in (("AWS_ACCESS_KEY_ID", account), ("AWS_SECRET_ACCESS_KEY", "ecr-emulator")):
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value

    # -- the registry on a port ----------------------------------------------------------
    def _serve_registry(self) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args, **kwargs) -> None:
                pass

        # the registry, and the pre-signed blob downloads it redirects to (another origin)
        servers = [make_server("127.0.0.1", 0, self.emulator, threaded=True, request_handler=QuietHandler)
                   for _ in range(2)]
        registry, downloads = servers
        self.emulator.set_download_ports([downloads.socket.getsockname()[1]])
        self.registry_url = f"http://127.0.0.1:{registry.socket.getsockname()[1]}"
        self._server = []
        for server, name in zip(servers, ("registry", "downloads"), strict=True):
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, name=f"ecr-emulator-mock-{name}", daemon=True)
            thread.start()
            self._server.append((server, thread))

    @property
    def registry_host(self) -> str | None:
        """``127.0.0.1:<port>`` of the registry (``registry=True``), else None."""
        return self.registry_url.split("://", 1)[1] if self.registry_url else None

    def _environ(self, scheme: str, netloc: str) -> dict:
        """The parts of a WSGI environ that are the same for every request to ``netloc``: the
        registry's address when it is served (so ``repositoryUri`` names it), else the
        endpoint botocore chose (``api.ecr.<region>.amazonaws.com``)."""
        key = (scheme, netloc)
        cached = self._environs.get(key)
        if cached is None:
            host = self.registry_host or netloc
            name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
            cached = self._environs[key] = {
                "SCRIPT_NAME": "", "SERVER_NAME": name,
                "SERVER_PORT": port or ("443" if scheme == "https" else "80"),
                "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                "wsgi.url_scheme": "http" if self.registry_url else scheme, "wsgi.errors": sys.stderr,
                "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
                "wsgi.version": (1, 0),
            }
        return cached

    # -- answering botocore --------------------------------------------------------------
    def handle(self, request):
        """Answer a botocore ``AWSPreparedRequest`` with the emulator (an ``AWSResponse``)."""
        from botocore.awsrequest import AWSResponse

        status, headers, body = self._call(request)
        return AWSResponse(request.url, status, headers, _Body(body))

    def _call(self, request) -> tuple[int, dict, bytes]:
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, (bytes, bytearray)):
            body = body.read()
        environ = {**self._environ(parts.scheme, parts.netloc), "REQUEST_METHOD": request.method,
                   "PATH_INFO": unquote(parts.path, "latin-1") or "/", "QUERY_STRING": parts.query,
                   "RAW_URI": request.url[len(f"{parts.scheme}://{parts.netloc}"):] or "/",
                   "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        for name, value in _header_items(request.headers):
            key = _ENVIRON_KEYS.get(name) or _environ_key(name)
            environ[key] = value.decode("latin-1") if isinstance(value, bytes) else value
        environ["HTTP_HOST"] = environ["SERVER_NAME"] + ":" + environ["SERVER_PORT"]
        emulator = self.emulator
        if emulator.protocol.handles(environ):  # the lean path, without WSGI's start_response
            return emulator.protocol.answer(_request_class()(environ, body))
        answer: dict = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers

        chunks = emulator(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return answer["status"], dict(answer["headers"]), data

    # -- helpers for tests ---------------------------------------------------------------
    @property
    def backend(self):
        return self.emulator.backend

    def reset(self) -> None:
        """Forget everything, as ``POST /_emulator/reset``."""
        self.emulator.backend.reset()

    @property
    def events(self):
        """The EventBridge events raised so far: the plugin's ``ecr_events`` (``.list()``, ``.wait_for()``)."""
        from .observe import EmulatorEvents, flask_fetch

        return EmulatorEvents(flask_fetch(self.emulator.flask, self.emulator.settings.admin_token))

    @property
    def calls(self):
        """The CloudTrail-style call log: the plugin's ``ecr_calls`` (``.list()``, ``.names()``)."""
        from .observe import EmulatorCalls, flask_fetch

        return EmulatorCalls(flask_fetch(self.emulator.flask, self.emulator.settings.admin_token))

    @property
    def faults(self):
        """Fault rules: the plugin's ``ecr_faults`` (``.add(...)``, ``.list()``, ``.clear()``)."""
        from .observe import EmulatorFaults, flask_fetch

        return EmulatorFaults(flask_fetch(self.emulator.flask, self.emulator.settings.admin_token))

    def advance_clock(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0,
                      days: float = 0) -> datetime:
        """Move the emulator's clock forward (push times, token expiry); returns the new time."""
        clock = self.emulator.backend.clock
        clock.advance(timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days))
        return clock.now()

    def client(self, service: str = "ecr", *, account: str | None = None, region: str | None = None, **kwargs):
        """A boto3 client of this mock acting as ``account`` (its access key id) in ``region``
        (default: the settings' account and region)."""
        import boto3

        settings = self.emulator.settings
        return boto3.client(service, region_name=region or settings.region,
                            aws_access_key_id=account or settings.account,
                            aws_secret_access_key="ecr-emulator", **kwargs)

    def push(self, repository: str, tag: str | None = "latest", *, account: str | None = None,
             region: str | None = None, **image):
        """Push a synthetic image through the registry (needs ``registry=True``); the same
        call as the pytest plugin's ``ecr_emulator_push_image`` (``files=``, ``layers=``,
        ``image=``). Returns the image (``.digest``)."""
        from .push import ImagePusher

        if not self.registry_url:
            raise RuntimeError("mock_ecr(registry=True) is needed to push images through the registry")
        settings = self.emulator.settings
        ecr = self.client("ecr", account=account, region=region)

        def authorization() -> str | None:
            data = ecr.get_authorization_token()["authorizationData"][0]
            return data["authorizationToken"] if settings.registry_auth else None

        pusher = ImagePusher(self.registry_url, authorization)
        return pusher(repository, tag, **image)


def mock_ecr(target=None, **options):
    """``@mock_ecr``, ``@mock_ecr(registry=True)``, ``with mock_ecr() as mock:`` or
    ``mock = mock_ecr(); mock.start(); ...; mock.stop()``. Options: see :class:`MockEcr`."""
    if target is not None:
        return MockEcr(**options)(target)
    return MockEcr(**options)
