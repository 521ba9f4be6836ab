"""The route table -- data, as in CNCF Distribution -- and the one dispatcher that uses it.

Repository names contain slashes, so each route is a regular expression over the whole path
with the name as a group; the first route that matches wins (uploads before blobs). A route
maps methods to views; ``HEAD`` falls back to the ``GET`` view, which leaves out the body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from . import blobs, listing, manifests, uploads
from .context import authorize
from .oci_errors import RegistryError, from_exception, render
from .public_listener import authorize_public

log = logging.getLogger(__name__)

_NAME = r"^/v2/(?P<name>.+)"


@dataclass(frozen=True)
class Route:
    name: str
    pattern: re.Pattern
    views: Mapping[str, Callable]

    def view(self, method: str) -> Callable | None:
        if method == "HEAD" and "HEAD" not in self.views:
            return self.views.get("GET")
        return self.views.get(method)

    @property
    def allow(self) -> str:
        methods = set(self.views) | ({"HEAD"} if "GET" in self.views else set())
        return ", ".join(sorted(methods))


def _route(name: str, pattern: str, **views: Callable) -> Route:
    return Route(name, re.compile(pattern), views)


ROUTES: tuple[Route, ...] = (
    _route("base", r"^/v2/?$", GET=listing.api_version),
    _route("catalog", r"^/v2/_catalog$", GET=listing.catalog),
    _route("tags", _NAME + r"/tags/list$", GET=listing.list_tags),
    _route("manifest", _NAME + r"/manifests/(?P<reference>[^/]+)$",
           GET=manifests.get_manifest, PUT=manifests.put_manifest, DELETE=manifests.delete_manifest),
    _route("referrers", _NAME + r"/referrers/(?P<digest>[^/]+)$", GET=listing.referrers),
    _route("uploads", _NAME + r"/blobs/uploads/?$", POST=uploads.start_upload),
    _route("upload", _NAME + r"/blobs/uploads/(?P<upload_id>[^/]+)$",
           GET=uploads.upload_status, PATCH=uploads.patch_upload, PUT=uploads.finish_upload,
           DELETE=uploads.cancel_upload),
    _route("blob", _NAME + r"/blobs/(?P<digest>[^/]+)$", GET=blobs.get_blob, DELETE=blobs.delete_blob),
)


#: the IAM action each route and method stands for: what another account's token needs a policy
#: to grant (ECR authorizes the registry API with the actions of the equivalent API calls)
ACTIONS: dict[tuple[str, str], str] = {
    ("catalog", "GET"): "ecr:DescribeRepositories",
    ("tags", "GET"): "ecr:ListImages",
    ("manifest", "GET"): "ecr:BatchGetImage",
    ("manifest", "HEAD"): "ecr:BatchGetImage",
    ("manifest", "PUT"): "ecr:PutImage",
    ("manifest", "DELETE"): "ecr:BatchDeleteImage",
    ("referrers", "GET"): "ecr:BatchGetImage",
    ("uploads", "POST"): "ecr:InitiateLayerUpload",
    ("upload", "GET"): "ecr:UploadLayerPart",
    ("upload", "PATCH"): "ecr:UploadLayerPart",
    ("upload", "PUT"): "ecr:CompleteLayerUpload",
    ("upload", "DELETE"): "ecr:UploadLayerPart",
    ("blob", "GET"): "ecr:GetDownloadUrlForLayer",
    ("blob", "HEAD"): "ecr:BatchCheckLayerAvailability",
    ("blob", "DELETE"): "ecr:BatchDeleteImage",
}

#: the ECR Public registry's write endpoints and their ecr-public actions (its pulls are anonymous:
#: no IAM action stands for them)
PUBLIC_ACTIONS: dict[tuple[str, str], str] = {
    key: "ecr-public:" + action.partition(":")[2] for key, action in ACTIONS.items() if key[1] not in ("GET", "HEAD")
}


def action_of(route: Route | None, method: str) -> str:
    """The private registry's action ``route`` and ``method`` stand for (``ecr:PutImage``), or
    ``""``: what the registry observers (the call log) record a request under, on either listener."""
    return ACTIONS.get((route.name, method), "") if route is not None else ""


def match(path: str) -> tuple[Route, dict[str, str]]:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    raise RegistryError("NOT_FOUND", f"no registry endpoint at {path}")


#: a percent-encoded ``/`` or ``.``: decoded, it would make another name (``rt/a%2fb`` -> ``rt/a/b``)
_ENCODED_SEPARATOR = re.compile(r"%2[fe]", re.I)


def raw_path(environ) -> str | None:
    """The request target's path as the client sent it, still percent-encoded, or None when the
    server gives no raw target. Relies on ``RAW_URI`` (gunicorn, werkzeug's server, the
    in-process mock, the event-loop server) or ``REQUEST_URI`` (werkzeug, uWSGI, Apache)."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        return None
    if not target.startswith("/"):  # absolute-form: http://host/path
        target = "/" + target.split("://", 1)[-1].partition("/")[2]
    return target.partition("?")[0]


def check_raw_path(environ) -> None:
    """NAME_INVALID for a path whose repository name or reference is percent-encoded where a
    decoded character would change what it names: an encoded ``/`` or ``.`` anywhere, or any
    encoding in the name (ECR's names are ``[a-z0-9._/-]``, which no client needs to encode).
    Judged on the raw target, so ``DELETE /v2/rt/a%2fb/manifests/...`` never reaches ``rt/a/b``."""
    raw = raw_path(environ)
    if raw is None or "%" not in raw:
        return
    if _ENCODED_SEPARATOR.search(raw):
        raise RegistryError("NAME_INVALID", f"the path {raw} holds a percent-encoded '/' or '.' in a repository "
                                            "name or reference; send them unencoded", detail={"path": raw})
    for route in ROUTES:
        found = route.pattern.match(raw)
        if found:
            name = found.groupdict().get("name")
            if name is not None and "%" in name:
                raise RegistryError("NAME_INVALID", f"invalid repository name '{name}': percent-encoded "
                                                    "characters are not part of a repository name",
                                    detail={"name": name})
            return


def guarded(call: Callable[[], Response]) -> Response:
    """Run ``call``; every exception becomes an OCI error response (a bug: UNKNOWN, logged)."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 -- the one place errors become responses
        error = from_exception(exc)
        if error is None:
            log.exception("unhandled error in the registry")
            error = RegistryError("UNKNOWN", f"The emulator failed to process the request: {type(exc).__name__}")
        return render(error)


def dispatch(emulator, request: Request) -> Response:
    """Match, authorize (Basic on the private listener, Bearer on the public one: ``public_listener.py``),
    view; then tell the emulator's registry observers (the call log) what was asked and answered."""
    seen: dict = {}

    def call() -> Response:
        check_raw_path(request.environ)
        route, params = match(request.path)
        seen.update(route=route, params=params)
        view = route.view(request.method)
        if view is None:
            raise RegistryError("UNSUPPORTED", f"{request.method} is not supported on {route.name} endpoints",
                                headers={"Allow": route.allow})
        if request.environ.get("ecr_emulator.public"):
            ctx = authorize_public(emulator, request, route.name, params)
            ctx.action = PUBLIC_ACTIONS.get((route.name, request.method), "")
        else:
            ctx = authorize(emulator, request)
            ctx.action = action_of(route, request.method)
        seen["ctx"] = ctx
        return view(ctx, **params)

    response = guarded(call)
    emulator.observe_registry(request, action_of(seen.get("route"), request.method), seen.get("params", {}),
                              seen.get("ctx"), response)
    return response
