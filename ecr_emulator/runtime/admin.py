"""The emulator's own endpoints, under ``/_emulator/`` (and moto's ``/moto-api/reset``).

The features' endpoints are plain data (``features/endpoints.py``: rule, methods, a handler
taking plain inputs and answering plain data); :func:`mount` puts each one on this module's one
blueprint, so every emulator endpoint is served through one place, where three guards apply to
all of them alike:

- the ``Host`` must be one of this server's own names (:func:`is_own_host`): ``localhost``, a
  loopback address, ``--host``, the ECR / ECR Public host names it serves, or an
  ``--allowed-host``. This defeats DNS rebinding: a page on ``evil.example`` whose name is
  re-pointed at 127.0.0.1 reaches this server same-origin (its ``Origin`` matches its ``Host``),
  but its requests still carry ``Host: evil.example``;
- requests a browser sends on behalf of another site are refused (``Sec-Fetch-Site`` other
  than ``same-origin``/``none``, or an ``Origin`` that is not this server): a page open in the
  developer's browser cannot reset the emulator with a cross-origin form POST, while ``curl``
  and test code, which send neither header, need nothing extra;
- with ``--admin-token``, requests that change state need ``Authorization: Bearer <token>``.

Bodies are read as JSON whatever their Content-Type, so
``curl -d '{"seconds": 60}' .../_emulator/clock/advance`` works as typed.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, jsonify, request

from .. import __version__
from ..addressing.ecr_public import AWS_HOST as PUBLIC_REGISTRY_HOST
from ..addressing.partitions import parse_api_host, parse_ecr_host
from ..features import ENDPOINTS
from ..features.endpoints import JSON, STREAM, Call, Endpoint, Refused, Stream

ADMIN = Blueprint("emulator_admin", __name__)
#: methods that change nothing: the admin token is not asked for them
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

log = logging.getLogger(__name__)


def admin_route(rule: str, **options):
    """Register one of this module's endpoints at ``/_emulator<rule>`` (a Flask route decorator;
    features declare theirs as data instead: :func:`mount`)."""
    return ADMIN.route("/_emulator" + rule, **options)


def json_body() -> dict | None:
    """The request body as a JSON object (whatever the Content-Type), or None."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def bad_request(message: str, status: int = 400):
    return jsonify(error=message), status


def emulator():
    from flask import current_app

    return current_app.extensions["ecr_emulator"]


_WILDCARD_BINDS = ("", "0.0.0.0", "::")


def host_name(host: str) -> str:
    """The name part of a ``Host`` header, lower-case, without port, brackets or final dot."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, sep, port = host.rpartition(":")
    if sep and ":" not in name and (port.isdigit() or not port):
        host = name
    return host.rstrip(".")


def is_own_host(host: str, settings) -> bool:
    """Whether ``host`` (a ``Host`` header) names this server, so an admin request may be served.

    An IP address is this server's when it is a loopback address, the ``--host`` address, or any
    address when bound to all of them (a browser only sends an address as ``Host`` when it
    connected to that address: DNS rebinding needs a name). Names: ``localhost`` (and
    ``*.localhost``, which browsers resolve to loopback themselves), ``--host`` when it is a
    name, ECR's registry and API host names, ``public.ecr.aws``, and ``--allowed-host``.
    """
    name = host_name(host)
    if not name:
        return False
    bound = host_name(settings.host)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return address.is_loopback or name == bound or bound in _WILDCARD_BINDS or (
            name in settings.allowed_host_names())
    if name == "localhost" or name.endswith(".localhost") or name == bound:
        return True
    if parse_ecr_host(name) or parse_api_host(name) or name == PUBLIC_REGISTRY_HOST:
        return True
    return any(name == allowed or (allowed.startswith("*.") and name.endswith(allowed[1:]))
               for allowed in settings.allowed_host_names())


@ADMIN.before_request
def _guard():
    settings = emulator().settings
    if not is_own_host(request.host, settings):
        return jsonify(error=f"the emulator's endpoints answer only for its own host names (localhost, loopback "
                             f"addresses, --host, ECR's host names); {host_name(request.host)!r} is not one "
                             "(add it with --allowed-host / ECR_EMULATOR_ALLOWED_HOSTS)"), 403
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if (site is not None and site not in ("same-origin", "none")) or (
            origin is not None and urlsplit(origin).netloc != request.host):
        return jsonify(error="cross-origin requests to the emulator's endpoints are refused"), 403
    token = settings.admin_token
    if token and request.method not in SAFE_METHODS:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return (jsonify(error="this endpoint needs the emulator's admin token (Authorization: Bearer ...)"),
                    401, {"WWW-Authenticate": 'Bearer realm="ecr-emulator"'})
    return None


@admin_route("/health", methods=["GET"])
def health():
    return jsonify(status="ok", version=__version__)


@admin_route("/reset", methods=["POST"])
@ADMIN.route("/moto-api/reset", methods=["POST"])
def reset():
    emulator().backend.reset()
    return jsonify(status="ok")


@admin_route("/clock", methods=["GET"])
def clock():
    return jsonify(now=emulator().backend.clock.now().isoformat())


@admin_route("/clock/advance", methods=["POST"])
def advance_clock():
    """Move the emulator's clock forward (push times, token expiry...): no sleeping in tests."""
    body = json_body()
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < 1e10:
        return bad_request('send {"seconds": <a number >= 0>}')
    current = emulator()
    backend = current.backend
    before = backend.clock.now()
    backend.clock.advance(timedelta(seconds=seconds))
    now = backend.clock.now()
    ends = current.tokens.logins_expire
    if ends is not None and before < ends <= now:
        log.warning("clock advanced to %s: every registry login issued so far has expired "
                    "(clients see 401/403 until they log in again)", now.isoformat())
    return jsonify(now=now.isoformat())


def mount(endpoint: Endpoint) -> None:
    """Serve a feature's ``endpoint`` on the blueprint: read the inputs it declares, call its
    handler with the emulator, render its answer (JSON, or a stream) or its refusal."""
    def view(**params):
        body = json_body() if endpoint.body == JSON else request.stream if endpoint.body == STREAM else None
        try:
            answer = endpoint.handler(emulator(), Call(params, request.args, body))
        except Refused as refusal:
            return bad_request(refusal.message, refusal.status)
        if isinstance(answer, Stream):
            return Response(answer.chunks, mimetype=answer.mimetype, headers=dict(answer.headers))
        if isinstance(answer, tuple):
            data, status = answer
            return jsonify(data), status
        return jsonify(answer)

    ADMIN.add_url_rule("/_emulator" + endpoint.rule, endpoint.name, view, methods=list(endpoint.methods))


for _endpoint in ENDPOINTS:
    mount(_endpoint)


def register(app: Flask) -> None:
    app.register_blueprint(ADMIN)
