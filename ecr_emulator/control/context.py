"""What an operation handler gets as ``ctx``: the store, settings, and who is calling.

Access across accounts is decided here, once for every operation: a handler names the action
when it asks for a registry or repository (``ctx.repository(name, registry_id, "BatchGetImage")``),
and a caller of another account gets it only when the repository's policy or the registry's
policy grants the action (``iam.decide``), as on ECR.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from ..addressing.ecr_public import primary_alias
from ..addressing.partitions import ecr_host, parse_api_host
from ..awsjson import Caller
from ..errors import RepositoryNotFoundException
from ..identity import iam
from ..identity.identity_policies import IdentityPolicies
from ..identity.tokens import TokenSigner
from ..identity.upstream_credentials import Credentials, lookup
from ..settings import Settings
from ..store import PRIVATE, PUBLIC, Backend, RegistryState, Repository


@dataclass
class RequestContext:
    backend: Backend
    settings: Settings
    tokens: TokenSigner
    caller: Caller
    service: str
    #: ``host[:port]`` the client used to reach this server
    host: str
    #: ``host:port`` of the ECR Public registry for this client (``public.ecr.aws`` in aws style)
    public_host: str = ""
    #: the identity-policies file (``--identity-policies``; None: identity policies are off)
    identities: IdentityPolicies | None = None
    #: condition keys the request itself carries (``aws:SourceIp``, ``aws:SecureTransport``)
    facts: dict = field(default_factory=dict)
    #: the port of the pre-signed downloads' listener (None without one: in-process)
    download_port: int | None = None

    @property
    def kind(self) -> str:
        return PUBLIC if self.service == "ecr-public" else PRIVATE

    @property
    def now(self):
        return self.backend.clock.now()

    @property
    def principal(self) -> iam.Principal:
        return iam.principal_of(self.settings, self.caller.account, self.caller.principal_arn, self.identities)

    def authorize_call(self, operation: str, members: dict) -> None:
        """With identity policies, IAM's decision on the whole call before its handler runs
        (AccessDeniedException otherwise); the cross-account resource side stays with
        :meth:`repository` and :meth:`registry`."""
        if self.identities is not None:
            from .authorization import require_call

            require_call(self, operation, members)

    def require_identity(self, state: RegistryState, name: str, action: str) -> None:
        """With identity policies, IAM's decision on one more ``action`` (``ecr:...``) the call needs
        on repository ``name`` (a pull-through import, for one)."""
        if self.identities is not None:
            from .authorization import require_action

            require_action(self, state, name, action)

    # -- registries and repositories, with access control --------------------------------
    def registry(self, registry_id: str | None = None, action: str = "", resource: str = "*") -> RegistryState:
        """The caller's registry, or ``registry_id``'s when its registry policy grants ``action`` on
        repository ``resource`` (a name, or ``*`` for registry-wide actions)."""
        state = self.registry_state(registry_id)
        if state.account != self.caller.account:
            self._authorize(state, None, action, state.repository_arn(resource))
        return state

    def repository(self, name: str, registry_id: str | None = None, action: str = "") -> Repository:
        """Repository ``name``; another account's only when its policy (or its registry's) grants
        ``action`` (checked before saying whether it exists, as AWS does)."""
        state = self.registry_state(registry_id)
        repo = state.repositories.get(name)
        if state.account != self.caller.account:
            self._authorize(state, repo, action, state.repository_arn(name))
        if repo is None:
            raise RepositoryNotFoundException.named(name, state.account)
        return repo

    def check_access(self, state: RegistryState, name: str, action: str) -> None:
        """AccessDenied unless the caller may ``action`` on repository ``name`` of ``state``
        (which need not exist yet: a pull-through cache may create it)."""
        if state.account != self.caller.account:
            self._authorize(state, state.repositories.get(name), action, state.repository_arn(name))

    def may(self, state: RegistryState, repo: Repository, action: str) -> bool:
        """Whether the caller may ``action`` on ``repo`` (listings show only those)."""
        return state.account == self.caller.account or iam.authorized(
            self._request(action, repo.arn), state.account, state.policies_governing(repo))

    def registry_state(self, registry_id: str | None) -> RegistryState:
        """The registry ``registry_id`` names, without an access check (callers check each
        repository they touch, with :meth:`repository` or :meth:`may`)."""
        return self.backend.registry(registry_id or self.caller.account, self.caller.region, self.kind)

    def _request(self, action: str, resource: str) -> iam.AccessRequest:
        return iam.AccessRequest(self.principal, f"{self.service}:{action}", resource)

    def _authorize(self, state: RegistryState, repo: Repository | None, action: str, resource: str) -> None:
        iam.require(self._request(action or "access", resource), state.account, state.policies_governing(repo))

    @contextmanager
    def unlocked(self):
        """Release ``Backend.lock`` (held once by the handler) around network work, such as
        asking a pull-through upstream; state must be looked up again afterwards. Only a
        handler declared ``waits=True`` may: another holds the lock twice (the server's event
        loop took it to run the call inline), and waiting with it held would stall the loop."""
        if self.backend.lock.depth != 1:
            raise RuntimeError("ctx.unlocked() in a handler not declared waits=True")
        self.backend.lock.release()
        try:
            yield
        finally:
            self.backend.lock.acquire()

    def upstream_credentials(self, arn: str) -> Credentials:
        return lookup(self.settings.upstream_credentials, arn)

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
            return ecr_host(account, region)
        api = parse_api_host(self.host)
        if api is not None and api.service == "ecr":
            return f"{ecr_host(account, region)}{api.port_suffix}"
        return self.host

    def repository_uri(self, repo: Repository) -> str:
        if repo.kind == PUBLIC:
            return f"{self.public_registry_uri(repo.account)}/{repo.name}"
        return f"{self.registry_host(repo.account, repo.region)}/{repo.name}"

    def public_registry_uri(self, account: str) -> str:
        """``<public host>/<primary alias>``: ECR Public's ``registryUri``."""
        return f"{self.public_host or self.host}/{primary_alias(self.settings, account)}"

    def proxy_endpoint(self, account: str) -> str:
        if self.settings.uri_style == "aws":
            return f"https://{ecr_host(account, self.caller.region)}"
        return f"{self.scheme}://{self.registry_host(account, self.caller.region)}"


