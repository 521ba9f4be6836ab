"""What an operation handler gets as ``ctx``: the store, settings, and who is calling."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..awsjson import Caller
from ..awsjson.errors import AwsError
from ..errors import RepositoryNotFoundException
from ..settings import Settings
from ..store import PRIVATE, PUBLIC, Backend, RegistryState, Repository
from ..tokens import TokenSigner


class AccessDeniedException(AwsError):
    """Cross-account access: repository and registry policies are not evaluated yet."""


@dataclass
class RequestContext:
    backend: Backend
    settings: Settings
    tokens: TokenSigner
    caller: Caller
    service: str
    #: ``host[:port]`` the client used to reach this server
    host: str

    @property
    def kind(self) -> str:
        return PUBLIC if self.service == "ecr-public" else PRIVATE

    @property
    def now(self):
        return self.backend.clock.now()

    def registry(self, registry_id: str | None = None, action: str = "") -> RegistryState:
        """The caller's registry (or ``registry_id``'s, which must be the caller's for now)."""
        account = registry_id or self.caller.account
        if account != self.caller.account:
            raise AccessDeniedException(
                f"User: arn:aws:iam::{self.caller.account}:root is not authorized to perform: "
                f"{self.service}:{action or 'access'} on registry {account}: cross-account "
                "access through registry and repository policies is not supported by ecr-emulator yet"
            )
        return self.backend.registry(account, self.caller.region, self.kind)

    def repository(self, name: str, registry_id: str | None = None, action: str = "") -> Repository:
        state = self.registry(registry_id, action)
        repo = state.repositories.get(name)
        if repo is None:
            raise RepositoryNotFoundException.named(name, state.account)
        return repo

    # -- addresses -------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        """How clients reach this server: ``https`` with ``--tls``."""
        return "https" if self.settings.tls else "http"

    def registry_host(self, account: str, region: str) -> str:
        """Where the registry of ``account`` is: AWS's host name with ``--uri-style aws``, or when
        the client reached the API under ECR's own API host name (``/etc/hosts`` pointing
        ``api.ecr.<region>.amazonaws.com`` here, as ``docker-credential-ecr-login`` needs);
        else the host the client used, as it used it."""
        if self.settings.uri_style == "aws":
            return f"{account}.dkr.ecr.{region}.amazonaws.com"
        api = _AWS_API_HOST.match(self.host)
        if api:
            port = api.group(1) if api.group(1) not in (None, ":443") else ""
            return f"{account}.dkr.ecr.{region}.amazonaws.com{port}"
        return self.host

    def repository_uri(self, repo: Repository) -> str:
        if repo.kind == PUBLIC:
            host = "public.ecr.aws" if self.settings.uri_style == "aws" else self.host
            return f"{host}/{public_alias(repo.account)}/{repo.name}"
        return f"{self.registry_host(repo.account, repo.region)}/{repo.name}"

    def proxy_endpoint(self, account: str) -> str:
        if self.settings.uri_style == "aws":
            return f"https://{account}.dkr.ecr.{self.caller.region}.amazonaws.com"
        return f"{self.scheme}://{self.registry_host(account, self.caller.region)}"


#: ECR's API host names (``api.ecr.<region>.amazonaws.com``, ``ecr.<region>...``, FIPS), with a port
_AWS_API_HOST = re.compile(r"^(?:api\.)?ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(:\d+)?$")


def public_alias(account: str) -> str:
    """The default ECR Public registry alias the emulator assigns to an account."""
    return f"public-{account}"
