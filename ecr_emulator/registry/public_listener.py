"""The ECR Public registry (the ``--public-port`` listener), with ``public.ecr.aws``'s auth flow.

Paths are ``/v2/<alias>/<repository>/...``: the alias names the account, so the views get
the repository name alone and a context whose ``prefix`` puts the alias back into the URLs
they return. Auth is Docker token auth, as on ``public.ecr.aws``:

- a request without a token gets 401 with ``WWW-Authenticate: Bearer realm=<this host>/token,
  service="public.ecr.aws",scope="repository:<alias>/<repository>:<actions>"``;
- ``GET /token?scope=...`` answers ``{"token": ...}``: anyone gets ``pull`` on every public
  repository; with the ``Basic AWS:<password>`` of ``ecr-public get-authorization-token``, the
  owner of an alias also gets ``push`` (and ``delete``) on its repositories;
- the registry checks the token covers the repository and the action (401 with
  ``error="insufficient_scope"`` otherwise). The API's ``authorizationToken`` itself is also
  taken as a Bearer value, as ``public.ecr.aws`` does.

Private repositories are not addressable here at all (their names are not under an alias), and
this listener's tokens are refused by the private registry (it takes Basic credentials only).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta

from werkzeug.wrappers import Request

from ..addressing.ecr_public import account_of
from ..identity.tokens import BearerClaims, InvalidToken
from ..store import PUBLIC, PUBLIC_REGION
from . import http
from .context import REPOSITORY_NAME, RegistryContext, basic_claims
from .oci_errors import RegistryError

SERVICE = "public.ecr.aws"
#: the actions a write needs, by method (reads need ``pull``)
_WRITE_ACTIONS = {"DELETE": ("delete", "push"), "POST": ("push",), "PUT": ("push",), "PATCH": ("push",)}
_SAFE_NAME = re.compile(r"[a-z0-9._/-]{1,300}")
_OWNER_ACTIONS = ("pull", "push", "delete", "*")
NO_CATALOG = "ECR Public does not offer _catalog; list repositories with ecr-public DescribeRepositories or /gallery"


def challenge(request: Request, scope: str | None = None, error: str | None = None) -> dict[str, str]:
    value = f'Bearer realm="{request.scheme}://{request.host}/token",service="{SERVICE}"'
    if scope:
        value += f',scope="{scope}"'
    if error:
        value += f',error="{error}"'
    return {"WWW-Authenticate": value}


def _scope(qualified: str, method: str) -> str | None:
    """The scope a client must ask for (None for a name no token could cover: no header injection)."""
    if not _SAFE_NAME.fullmatch(qualified):
        return None
    return f"repository:{qualified}:{'pull,push' if method in _WRITE_ACTIONS else 'pull'}"


def owner_of(settings, qualified: str) -> str | None:
    """The account owning ``<alias>/<repository>`` (None when the alias names no registry)."""
    alias, _, _ = qualified.partition("/")
    return account_of(settings, alias)


# -- tokens ---------------------------------------------------------------------------------

def _bearer(emulator, request: Request, qualified: str | None, scope: str | None) -> BearerClaims:
    """The claims of the request's Bearer token, or 401 with the challenge that says how to get one."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        message = ("the ECR Public registry takes Bearer tokens: get one from /token (with the password of "
                   "ecr-public get-login-password to push)" if scheme.lower() == "basic" else "authentication required")
        raise RegistryError("UNAUTHORIZED", message, headers=challenge(request, scope))
    now = emulator.backend.clock.now()
    try:
        return emulator.tokens.verify_bearer(value, now)
    except InvalidToken as error:
        api_token = _api_token(emulator, value, now, qualified)
        if api_token is not None:
            return api_token
        raise RegistryError("UNAUTHORIZED", str(error), headers=challenge(request, scope, "invalid_token")) from None


def _api_token(emulator, value: str, now, qualified: str | None) -> BearerClaims | None:
    """``ecr-public GetAuthorizationToken``'s ``authorizationToken`` used directly as a Bearer token."""
    try:
        user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        claims = emulator.tokens.verify(password, now)
    except (binascii.Error, ValueError, InvalidToken):
        return None
    if user != "AWS" or claims.kind != PUBLIC:
        return None
    access = []
    if qualified is not None:
        own = owner_of(emulator.settings, qualified) == claims.account
        access.append([qualified, list(_OWNER_ACTIONS) if own else ["pull"]])
    return BearerClaims(claims.account, access, claims.expires_at, claims.principal_arn)


def issue_token(emulator, request: Request):
    """``GET /token?service=&scope=repository:<alias>/<repo>:pull,push``: a Bearer token."""
    if not request.environ.get("ecr_emulator.public"):
        raise RegistryError("NOT_FOUND", "the token endpoint belongs to the ECR Public registry's listener")
    if request.method not in ("GET", "HEAD"):
        raise RegistryError("UNSUPPORTED", f"{request.method} is not supported on the token endpoint",
                            headers={"Allow": "GET, HEAD"})
    settings, now = emulator.settings, emulator.backend.clock.now()
    expires_at = now + timedelta(hours=settings.token_hours)
    account, principal_arn = "", ""
    if request.headers.get("Authorization", "").strip():
        claims = basic_claims(emulator, request)
        if claims.kind != PUBLIC:
            raise RegistryError("DENIED", "This is a private ECR authorization token; the ECR Public registry "
                                          "needs the password of ecr-public get-login-password.")
        account, expires_at = claims.account, min(expires_at, claims.expires_at)
        principal_arn = claims.principal_arn
    access = []
    for scope in (part for value in request.args.getlist("scope") for part in value.split()):
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind.split("(")[0] != "repository" or not name:
            continue
        allowed = _OWNER_ACTIONS if account and owner_of(settings, name) == account else ("pull",)
        granted = [action for action in actions.split(",") if action in allowed]
        if granted:
            access.append([name, granted])
    token = emulator.tokens.issue_bearer(BearerClaims(account, access, expires_at, principal_arn))
    return http.respond_json({
        "token": token, "access_token": token,
        "expires_in": max(int((expires_at - now).total_seconds()), 0),
        "issued_at": now.isoformat().replace("+00:00", "Z"),
    })


# -- requests ---------------------------------------------------------------------------------

def authorize_public(emulator, request: Request, route_name: str, params: dict[str, str]) -> RegistryContext:
    """The context of a request on the public listener; replaces ``params["name"]`` (``<alias>/<repo>``)
    by the repository name. UNAUTHORIZED without a token that covers the request."""
    settings = emulator.settings
    if route_name == "catalog":
        raise RegistryError("NOT_FOUND", NO_CATALOG)
    qualified = params.get("name")
    if qualified is None:  # GET /v2/: any valid token, anonymous ones included
        claims = _bearer(emulator, request, None, None) if settings.registry_auth else None
        return RegistryContext(emulator, request, claims.account if claims else settings.account, PUBLIC_REGION,
                               PUBLIC)
    scope = _scope(qualified, request.method)
    holder = ("", "")
    if settings.registry_auth:
        claims = _bearer(emulator, request, qualified, scope)
        needed = _WRITE_ACTIONS.get(request.method, ("pull",))
        if not any(claims.allows(qualified, action) for action in needed):
            if needed[0] == "pull":
                message = f"the token does not cover {qualified}: ask /token for scope repository:{qualified}:pull"
            elif claims.account:
                message = f"account {claims.account} may not push to {qualified}"
            else:
                message = (f"an anonymous token may not push to {qualified}: log in with the password of "
                           "ecr-public get-login-password")
            raise RegistryError("UNAUTHORIZED", message, headers=challenge(request, scope, "insufficient_scope"))
        if needed[0] != "pull":  # a write: the token's holder acts (identity policies judge it)
            holder = (claims.account, claims.principal_arn)
    alias, _, name = qualified.partition("/")
    account = account_of(settings, alias)
    if account is None or not name:
        raise RegistryError("NAME_UNKNOWN", f"The repository '{qualified}' does not exist: ECR Public "
                                            "repositories are addressed as <alias>/<repository>",
                            detail={"name": qualified})
    if not REPOSITORY_NAME.match(name):
        raise RegistryError("NAME_INVALID", f"invalid repository name '{qualified}'", detail={"name": qualified})
    params["name"] = name
    return RegistryContext(emulator, request, account, PUBLIC_REGION, PUBLIC, prefix=alias + "/",
                           holder_account=holder[0], holder_arn=holder[1])
