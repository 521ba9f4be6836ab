"""Creating repositories: by a user (CreateRepository) and by ECR itself.

ECR creates repositories on its own for replication destinations, pull-through cache misses
and create-on-push; those go through :func:`create_for_ecr`, the one place where repository
creation templates (``appliedFor``) are applied.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ..addressing.partitions import arn
from ..errors import RepositoryAlreadyExistsException
from .model import RegistryState, Repository
from .templates import CreationTemplate, longest_match

#: what ``create_for_ecr`` is creating a repository for (a template's ``appliedFor``)
REPLICATION = "REPLICATION"
PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"
CREATE_ON_PUSH = "CREATE_ON_PUSH"


def aws_managed_key(account: str, region: str) -> str:
    """The KMS key ECR uses when KMS encryption names none (the account's ``aws/ecr`` key)."""
    return arn("kms", region, account, f"key/{uuid.uuid5(uuid.NAMESPACE_URL, f'aws/ecr:{account}:{region}')}")


def encryption_with_key(config: dict[str, str], account: str, region: str) -> dict[str, str]:
    """``config`` with the AWS managed key filled in for KMS/KMS_DSSE without a ``kmsKey``."""
    config = dict(config)
    if config["encryptionType"] != "AES256" and not config.get("kmsKey"):
        config["kmsKey"] = aws_managed_key(account, region)
    return config


def new_repository(state: RegistryState, name: str, now: datetime, **settings) -> Repository:
    """Add repository ``name`` to ``state`` (call with ``Backend.lock`` held)."""
    if name in state.repositories:
        raise RepositoryAlreadyExistsException.named(name, state.account)
    repo = Repository(name=name, account=state.account, region=state.region, kind=state.kind,
                      created_at=now, **settings)
    state.repositories[name] = repo
    return repo


def template_for(state: RegistryState, name: str, applied_for: str) -> CreationTemplate | None:
    """The template that applies when ECR creates ``name`` for ``applied_for``, if any."""
    candidates = {p: t for p, t in state.creation_templates.items() if applied_for in t.applied_for}
    best = longest_match(candidates, name)
    return candidates[best] if best is not None else None


def _settings_of(template: CreationTemplate, state: RegistryState) -> dict:
    return {
        "image_tag_mutability": template.image_tag_mutability,
        "mutability_exclusions": [dict(f) for f in template.mutability_exclusions],
        "encryption": encryption_with_key(template.encryption, state.account, state.region),
        "policy_text": template.repository_policy or None,
        "lifecycle_policy_text": template.lifecycle_policy or None,
        "tags": dict(template.resource_tags),
    }


def create_for_ecr(state: RegistryState, name: str, applied_for: str, now: datetime) -> Repository:
    """A repository ECR creates itself (``applied_for``: REPLICATION, PULL_THROUGH_CACHE or
    CREATE_ON_PUSH), with the settings of the matching repository creation template, else
    ECR's defaults (MUTABLE, AES256, no scan on push). Call with ``Backend.lock`` held."""
    template = template_for(state, name, applied_for)
    settings = _settings_of(template, state) if template is not None else {}
    return new_repository(state, name, now, **settings)


def create_on_push(state: RegistryState, name: str, now: datetime) -> Repository | None:
    """A push to missing repository ``name``: created if a CREATE_ON_PUSH template matches it
    (as ECR does), else None (the push fails with NAME_UNKNOWN). Call with the lock held."""
    if name in state.repositories:
        return state.repositories[name]
    if template_for(state, name, CREATE_ON_PUSH) is None:
        return None
    return create_for_ecr(state, name, CREATE_ON_PUSH, now)
