"""Pull-through cache rules (plain data) and the seam the fetcher plugs into.

A rule maps the ECR namespace ``ecr_repository_prefix`` (or ``ROOT``: every name) to an
upstream registry; repository ``<prefix>/<path>`` caches upstream repository ``<path>``
(or ``<upstream_repository_prefix>/<path>`` for ECR upstreams with an upstream prefix).

The registry and the control plane call :attr:`Backend.upstreams` (an :class:`Upstreams`)
when something is missing locally; the ``pull_through`` feature installs the real fetcher.
Without it nothing is fetched and misses stay misses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import RegistryState, Repository
from .templates import ROOT, longest_match, normalize_prefix

#: how long a cached tag is served before the upstream is asked again (ECR: once per 24 h)
RECHECK = timedelta(hours=24)


@dataclass
class PullThroughRule:
    ecr_repository_prefix: str
    upstream_registry_url: str
    upstream_registry: str
    created_at: datetime
    updated_at: datetime | None = None
    credential_arn: str | None = None
    custom_role_arn: str | None = None
    upstream_repository_prefix: str = ROOT

    def upstream_repository(self, name: str) -> str:
        """The upstream repository that local repository ``name`` caches."""
        prefix = normalize_prefix(self.ecr_repository_prefix)
        path = name if prefix == ROOT else name[len(prefix) + 1:]
        upstream = normalize_prefix(self.upstream_repository_prefix)
        return path if upstream == ROOT else f"{upstream}/{path}"


def rule_for(state: RegistryState, name: str) -> PullThroughRule | None:
    """The rule whose namespace holds repository ``name`` (the longest prefix; ROOT last)."""
    best = longest_match(state.pull_through_rules, name)
    return state.pull_through_rules[best] if best is not None else None


def import_actions(state: RegistryState, name: str, tag: str | None, digest: str | None) -> tuple[str, ...]:
    """The IAM actions a pull of ``name`` (``tag`` or ``digest``) needs besides the pull itself when
    a pull-through cache rule would import it (AWS's "IAM permissions required to sync an upstream
    registry": ``ecr:BatchImportUpstreamImage``, and ``ecr:CreateRepository`` while the repository
    does not exist)."""
    if rule_for(state, name) is None:
        return ()
    repo = state.repositories.get(name)
    if repo is None:
        return ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
    if repo.image_for(tag=tag, digest=digest) is None:
        return ("ecr:BatchImportUpstreamImage",)
    return ()


class UpstreamError(Exception):
    """The upstream did not deliver. ``code`` is the ImageFailureCode ECR reports
    (``UpstreamAccessDenied``, ``UpstreamTooManyRequests``, ``UpstreamUnavailable``) or
    ``ImageNotFound`` when the upstream has no such image."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Upstreams:
    """What the store asks when an image or blob is missing; this base fetches nothing."""

    def refresh(self, state: RegistryState, name: str, tag: str | None, digest: str | None) -> None:
        """Make image ``tag``/``digest`` of ``name`` present if a rule caches it (may create the
        repository); raises :class:`UpstreamError` when the upstream fails and nothing is cached.
        Call without ``Backend.lock`` held (it talks to the network)."""

    def fetch_blob(self, repo: Repository, digest: str) -> bool:
        """Fetch and link blob ``digest`` into ``repo`` if a rule caches it; False if not."""
        return False

    def check(self, state: RegistryState, rule: PullThroughRule) -> str | None:
        """Why authenticating to ``rule``'s upstream fails, or None when it works."""
        return "the pull-through cache feature is not installed"


def tag_is_fresh(repo: Repository, tag: str, now: datetime) -> bool:
    checked = repo.upstream_checked_at.get(tag)
    return tag in repo.tag_index and checked is not None and now - checked < RECHECK
