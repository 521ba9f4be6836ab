"""Who is asking and which registry they address: ECR's Basic ``AWS:<token>`` auth.

The account and region come from the Host when it has ECR's form
(``<account>.dkr.ecr.<region>.amazonaws.com[:port]``), else from the token (or, with
registry auth off, from the settings). A token opens only the registry it was issued for, in
its own region, whatever host it is sent to; when its holder (``principal``) is another account,
each request is allowed only as far as the repository's (or registry's) policy grants the
action the route stands for (``routes.ACTIONS``), as on ECR.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from werkzeug.wrappers import Request

from ..addressing.partitions import parse_ecr_host, root_arn
from ..awsjson.aws_error import AccessDeniedException
from ..errors import RepositoryNotFoundException
from ..identity import iam
from ..identity.identity_policies import request_facts
from ..identity.tokens import InvalidToken, TokenClaims
from ..store import PRIVATE, Backend, RegistryState, Repository
from ..store.pull_through import UpstreamError
from ..store.repositories import create_on_push
from ..store.upstreams import import_actions
from .oci_errors import RegistryError, from_upstream

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
    #: the IAM action the request stands for (``ecr:BatchGetImage``...), set by the dispatcher
    action: str = ""

    #: ``<alias>/`` on the ECR Public registry: the part of every path before the repository name
    prefix: str = ""
    #: ECR Public registry writes: the account and IAM identity of the Bearer token's holder
    holder_account: str = ""
    holder_arn: str = ""

    @property
    def principal(self) -> str:
        """The account acting: the token's holder (the registry's own account with auth off)."""
        if self.claims is not None:
            return self.claims.principal
        return self.holder_account or self.account

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

    @property
    def principal_arn(self) -> str:
        """Who is pulling: the identity the token was issued to (the account's root without auth)."""
        if self.claims is not None and self.claims.principal_arn:
            return self.claims.principal_arn
        return self.holder_arn or root_arn(self.principal, self.region)

    def repository(self, name: str) -> Repository:
        """The repository ``name``; it must exist (see :meth:`repository_for_push`)."""
        _check_name(name)
        state = self.registry()
        repo = state.repositories.get(name)
        self.authorize_action(state, repo, name, self.action)
        if repo is None:
            raise RegistryError("NAME_UNKNOWN", RepositoryNotFoundException.named(name, self.account).message,
                                detail={"name": name})
        return repo

    def may(self, repo: Repository, action: str) -> bool:
        """Whether the principal may ``action`` on ``repo`` of this registry."""
        try:
            self.authorize_action(self.registry(), repo, repo.name, action)
        except AccessDeniedException:
            return False
        return True

    def authorize_action(self, state: RegistryState, repo: Repository | None, name: str, action: str) -> None:
        """DENIED unless the principal may ``action`` on repository ``name`` of ``state``: its identity
        policies (``--identity-policies``) for the token's holder, and another account's resource
        policies."""
        identities = getattr(self.emulator, "identities", None)
        if identities is None and self.principal == state.account:
            return  # the common case, decided without building a request
        request = self._access(action, state.repository_arn(name), repo)
        if identities is not None and action:
            iam.require_identity(request, state.account, identities.documents(request.principal.arn),
                                 state.policies_governing(repo))
        # --open-accounts (branch i16a) lifts the resource side across accounts, not identity policies
        if self.principal != state.account and not self.emulator.settings.open_accounts:
            iam.require(request, state.account, state.policies_governing(repo))

    def _access(self, action: str, resource: str, repo: Repository | None = None) -> iam.AccessRequest:
        settings = self.emulator.settings
        principal = iam.principal_of(settings, self.principal, self.principal_arn,
                                     getattr(self.emulator, "identities", None))
        keys = iam.context_keys(action.partition(":")[0], self.now, request_facts(self.request),
                                resource_tags=repo.tags if repo is not None else None)
        return iam.AccessRequest(principal, action, resource, keys)

    def repository_for_push(self, name: str) -> Repository:
        """The repository a push (upload start, manifest PUT) goes to: created, as ECR does, when
        it is missing and a CREATE_ON_PUSH repository creation template matches its name."""
        _check_name(name)
        with self.lock:
            create_on_push(self.registry(), name, self.now)
        return self.repository(name)

    def repository_for_pull(self, name: str, tag: str | None, digest: str | None) -> Repository:
        """The repository a manifest pull reads: under a pull-through cache rule, the image is
        fetched from the upstream first when it is not cached (or its tag is due a check)."""
        _check_name(name)
        if getattr(self.emulator, "identities", None) is not None:  # the holder imports: IAM judges it
            state = self.registry()
            with self.lock:
                for action in import_actions(state, name, tag, digest):
                    self.authorize_action(state, state.repositories.get(name), name, action)
        try:
            self.backend.upstreams.refresh(self.registry(), name, tag, digest)
        except UpstreamError as error:
            raise from_upstream(error, "manifest", tag or digest) from None
        return self.repository(name)

    def fetch_blob(self, repo: Repository, digest: str) -> bool:
        """Fetch blob ``digest`` of a pull-through repository from its upstream (False: no rule)."""
        try:
            return self.backend.upstreams.fetch_blob(repo, digest)
        except UpstreamError as error:
            raise from_upstream(error, "blob", digest) from None

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


def _check_name(name: str) -> None:
    if not (2 <= len(name) <= 256 and REPOSITORY_NAME.match(name)):
        raise RegistryError("NAME_INVALID", f"invalid repository name '{name}'", detail={"name": name})


def challenge(request: Request) -> dict[str, str]:
    realm = f"{request.scheme}://{request.host}/"
    return {"WWW-Authenticate": f'Basic realm="{realm}",service="ecr.amazonaws.com"'}


def authorize(emulator, request: Request) -> RegistryContext:
    """The context of a registry request, or :class:`RegistryError` UNAUTHORIZED / DENIED."""
    settings = emulator.settings
    host = parse_ecr_host(request.host)
    if not settings.registry_auth:
        account, region = host or (settings.account, settings.region)
        _require_region(settings, region)
        return RegistryContext(emulator, request, account, region)
    claims = basic_claims(emulator, request)
    account, region = host or (claims.account, claims.region)
    _require_region(settings, region)
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


def _require_region(settings, region: str) -> None:
    """A host name (or a token kept from a run with other settings) naming a region the server
    does not answer for creates no registry: 404 NAME_UNKNOWN, as no such host exists on AWS
    (the emulator's own message)."""
    if not settings.accepts_region(region):
        raise RegistryError("NAME_UNKNOWN", f"no registry in region '{region}': not a region AWS has, "
                                            "--region or an --extra-region", detail={"region": region})


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
