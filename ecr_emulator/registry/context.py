"""Who is asking and which registry they address: ECR's Basic ``AWS:<token>`` auth.

The account and region come from the Host when it has ECR's form
(``<account>.dkr.ecr.<region>.amazonaws.com[:port]``), else from the token (or, with
registry auth off, from the settings). A token opens only its own account's registry in its
own region.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from werkzeug.wrappers import Request

from ..errors import RepositoryNotFoundException
from ..store import PRIVATE, Backend, RegistryState, Repository
from ..tokens import InvalidToken, TokenClaims
from .errors import RegistryError

ECR_HOST = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::[0-9]+)?$"
)
#: ECR's repository name rule (2-256 characters)
REPOSITORY_NAME = re.compile(
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class RegistryContext:
    """What a registry view gets: the emulator's state and the registry the request addresses."""

    emulator: object
    request: Request
    account: str
    region: str
    kind: str = PRIVATE
    claims: TokenClaims | None = None
    #: ``<alias>/`` on the ECR Public registry: the part of every path before the repository name
    prefix: str = ""

    @property
    def backend(self) -> Backend:
        return self.emulator.backend

    @property
    def lock(self):
        return self.emulator.backend.lock

    @property
    def now(self) -> datetime:
        return self.emulator.backend.clock.now()

    def registry(self) -> RegistryState:
        return self.backend.registry(self.account, self.region, self.kind)

    def repository(self, name: str) -> Repository:
        """The repository ``name`` (it must exist, as on ECR: no create-on-push)."""
        if not (2 <= len(name) <= 256 and REPOSITORY_NAME.match(name)):
            raise RegistryError("NAME_INVALID", f"invalid repository name '{name}'", detail={"name": name})
        repo = self.registry().repositories.get(name)
        if repo is None:
            raise RegistryError("NAME_UNKNOWN", RepositoryNotFoundException.named(name, self.account).message,
                                detail={"name": name})
        return repo

    def qualified(self, name: str) -> str:
        """The name a client uses for repository ``name`` (``<alias>/<name>`` on ECR Public)."""
        return self.prefix + name

    def local_name(self, qualified: str) -> str | None:
        """The repository a client-side name designates in this registry, or None if another."""
        if not qualified.startswith(self.prefix):
            return None
        return qualified[len(self.prefix):]

    def url(self, path: str) -> str:
        """An absolute URL on the host the client used (some clients cannot follow relative ones).
        ``path`` is ``/v2/<repository>/...``; on ECR Public the alias goes before the repository."""
        if self.prefix and path.startswith("/v2/"):
            path = "/v2/" + self.prefix + path[len("/v2/"):]
        return f"{self.request.scheme}://{self.request.host}{quote(path, safe='/:@')}"


def challenge(request: Request) -> dict[str, str]:
    realm = f"{request.scheme}://{request.host}/"
    return {"WWW-Authenticate": f'Basic realm="{realm}",service="ecr.amazonaws.com"'}


def authorize(emulator, request: Request) -> RegistryContext:
    """The context of a registry request, or :class:`RegistryError` UNAUTHORIZED / DENIED."""
    settings = emulator.settings
    host = ECR_HOST.match(request.host.lower())
    if not settings.registry_auth:
        account, region = (host["account"], host["region"]) if host else (settings.account, settings.region)
        return RegistryContext(emulator, request, account, region)
    claims = basic_claims(emulator, request)
    account, region = (host["account"], host["region"]) if host else (claims.account, claims.region)
    if claims.kind != PRIVATE:
        raise RegistryError("DENIED", "This is an ECR Public authorization token; private ECR registries "
                                      "need a token from ecr GetAuthorizationToken.")
    if claims.account != account:
        raise RegistryError("DENIED", f"The authorization token of account {claims.account} does not grant "
                                      f"access to the registry of account {account}.")
    if claims.region != region:
        raise RegistryError("DENIED", f"The authorization token was issued in region {claims.region} and is not "
                                      f"valid for the registry in region {region}.")
    return RegistryContext(emulator, request, account, region, PRIVATE, claims)


def basic_claims(emulator, request: Request) -> TokenClaims:
    """The claims of the ``Basic AWS:<password>`` credentials of ``request`` (any kind), or
    UNAUTHORIZED (absent, malformed, forged) / DENIED (expired)."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise RegistryError("UNAUTHORIZED", "no basic auth credentials", headers=challenge(request))
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        user, sep, password = "", "", ""
    if not sep or user != "AWS":
        raise RegistryError("UNAUTHORIZED", "invalid basic auth credentials: the user name must be AWS and the "
                                            "password a token from GetAuthorizationToken", headers=challenge(request))
    try:
        return emulator.tokens.verify(password, emulator.backend.clock.now())
    except InvalidToken as error:
        try:
            emulator.tokens.verify(password, _EPOCH)  # well-formed and signed: so it has expired
        except InvalidToken:
            raise RegistryError("UNAUTHORIZED", str(error), headers=challenge(request)) from None
        raise RegistryError("DENIED", str(error)) from None
