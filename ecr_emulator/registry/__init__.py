"""The OCI distribution v1.1 / Docker Registry v2 data plane, on the control plane's port.

:func:`register` adds it to the emulator's Flask app: ``/v2/...`` (the route table in
``routes.py``), ``/ecr-emulator-layers/...`` (pre-signed layer downloads, ``downloads.py``) and, on the ECR
Public listener, ``/token`` (Bearer tokens, ``public_listener.py``). Views go
through ``store/`` only; errors are the OCI table in ``oci_errors.py``. ``faults.py`` is fault
injection's WSGI middleware (``app.py`` puts it in front of the application).
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.routing import PathConverter

from ..identity import presigned
from . import downloads
from .oci_errors import ERRORS, RegistryError
from .routes import ROUTES, dispatch, guarded

__all__ = ["ERRORS", "ROUTES", "RegistryError", "register"]

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class _AnyPath(PathConverter):
    """Everything after ``/v2/``, empty segments included (the route table judges it)."""

    regex = ".*"
    part_isolating = False


def register(app: Flask, emulator) -> None:
    """Serve the registry from ``app`` for ``emulator`` (its backend, settings and tokens)."""
    from .public_listener import issue_token

    def registry(path: str = ""):
        return dispatch(emulator, request._get_current_object())

    def bearer_token():
        return guarded(lambda: issue_token(emulator, request._get_current_object()))

    def presigned_download(key: str):
        return downloads.serve(emulator, request._get_current_object())

    # the route table decides about every /v2 path: no slash merging or redirects by Flask
    app.url_map.converters["registry_path"] = _AnyPath
    app.add_url_rule("/v2", "registry_base", registry, methods=_METHODS, merge_slashes=False)
    app.add_url_rule("/v2/<registry_path:path>", "registry", registry, methods=_METHODS, merge_slashes=False)
    for rule in ("/token", "/token/"):
        app.add_url_rule(rule, "public_token" + rule[6:].replace("/", "_slash"), bearer_token, methods=_METHODS)
    # pre-signed downloads are the download listener's (Emulator.__call__); served here too for an
    # emulator without one (in-process), with the same checks
    app.add_url_rule(f"/{presigned.BUCKET}/<path:key>", "presigned_blob", presigned_download, methods=_METHODS)
