"""The pull-through seam: which rule caches a repository, what importing needs, and what the
store asks when an image or blob is missing.

The registry and the control plane call :attr:`Backend.upstreams` (an :class:`Upstreams`)
when something is missing locally; the ``pull_through`` feature installs the real fetcher.
Without it nothing is fetched and misses stay misses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .model import RegistryState, Repository
from .pull_through import PullThroughRule
from .templates import longest_match

#: how long a cached tag is served before the upstream is asked again (ECR: once per 24 h)
RECHECK = timedelta(hours=24)


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
