"""Fault injection's registry door: a WSGI middleware in front of the registry (and everything
else but the AWS JSON door and the emulator's own endpoints) that applies the registry rules of
the faults feature (``features/faults.py``: the rules, their matching and counting).

The feature decides whether a rule fires; this module does what only the HTTP side can: wait,
answer an OCI error instead of the registry (and tell the registry observers, so the call log
shows it under the action the path stands for), or cut the connection part-way through the
registry's own answer. ``app.py`` puts it in front of the application.
"""

from __future__ import annotations

from werkzeug.wrappers import Request

from .oci_errors import ERRORS, RegistryError, render
from .routes import action_of, match

#: the OCI code a registry fault's status is answered with
OCI_CODES = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND", 405: "UNSUPPORTED", 429: "TOOMANYREQUESTS",
             503: "UNAVAILABLE"}


def middleware(app, emulator):
    """``app`` behind ``emulator.faults``' registry rules; the answers they give instead of the
    registry are told to ``emulator``'s registry observers (the call log shows them)."""
    faults = emulator.faults

    def serve(environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if not faults.active or emulator.protocol.handles(environ) or _is_admin(path):
            return app(environ, start_response)
        rule = faults.fire_request(method, path)
        if rule is None:
            return app(environ, start_response)
        rule.wait()
        if rule.status is not None:
            response = _registry_error(rule)
            _observe(emulator, environ, response)
            return response(environ, start_response)
        if rule.resetAfterBytes is not None:
            return _cut(app(environ, start_response), rule.resetAfterBytes)
        return app(environ, start_response)

    return serve


def _is_admin(path: str) -> bool:
    """The emulator's own endpoints are never faulted (the pre-signed blob downloads are)."""
    return (path.startswith("/_emulator/") and not path.startswith("/_emulator/blobs/")) \
        or path.startswith("/moto-api/")


def _registry_error(rule):
    code = OCI_CODES.get(rule.status, "UNKNOWN")
    response = render(RegistryError(code, rule.message or f"{ERRORS[code][1]} (injected fault {rule.id})"))
    response.status_code = rule.status
    return response


def _observe(emulator, environ, response) -> None:
    request = Request(environ)
    try:
        route, params = match(request.path)
    except RegistryError:
        return
    emulator.observe_registry(request, action_of(route, request.method), params, None, response)


def _cut(chunks, limit: int):
    """The answer's body up to ``limit`` bytes, then ConnectionAbortedError: the server resets
    the connection at once (the server contract; werkzeug and gunicorn close it). 0: before
    anything is sent; an answer shorter than ``limit`` goes through whole."""
    sent = 0
    try:
        if limit == 0:
            raise ConnectionAbortedError("injected fault: connection cut before the answer")
        for chunk in chunks:
            if sent + len(chunk) >= limit:
                yield chunk[:limit - sent]
                raise ConnectionAbortedError(f"injected fault: connection cut after {limit} bytes")
            sent += len(chunk)
            yield chunk
    finally:
        getattr(chunks, "close", lambda: None)()
