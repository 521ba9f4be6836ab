"""Repository policies (both services) and the private registry policy."""

from __future__ import annotations

from ..errors import RegistryPolicyNotFoundException, RepositoryPolicyNotFoundException
from .policy_documents import validate_policy
from .tables import both, ecr


def _repository_policy(repo) -> dict:
    return {"registryId": repo.account, "repositoryName": repo.name, "policyText": repo.policy_text}


@both("SetRepositoryPolicy")
def set_repository_policy(ctx, repository_name, policy_text, registry_id=None, force=None):
    repo = ctx.repository(repository_name, registry_id, "SetRepositoryPolicy")
    repo.policy_text = validate_policy(policy_text, ctx.service, "repository")
    return _repository_policy(repo)


@both("GetRepositoryPolicy")
def get_repository_policy(ctx, repository_name, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "GetRepositoryPolicy")
    if repo.policy_text is None:
        raise RepositoryPolicyNotFoundException.named(repo.name, repo.account)
    return _repository_policy(repo)


@both("DeleteRepositoryPolicy")
def delete_repository_policy(ctx, repository_name, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "DeleteRepositoryPolicy")
    if repo.policy_text is None:
        raise RepositoryPolicyNotFoundException.named(repo.name, repo.account)
    result = _repository_policy(repo)
    repo.policy_text = None
    return result


@ecr("PutRegistryPolicy")
def put_registry_policy(ctx, policy_text):
    state = ctx.registry(None, "PutRegistryPolicy")
    state.policy_text = validate_policy(policy_text, "ecr", "registry")
    return {"registryId": state.account, "policyText": state.policy_text}


@ecr("GetRegistryPolicy")
def get_registry_policy(ctx):
    state = ctx.registry(None, "GetRegistryPolicy")
    if state.policy_text is None:
        raise RegistryPolicyNotFoundException.named(state.account)
    return {"registryId": state.account, "policyText": state.policy_text}


@ecr("DeleteRegistryPolicy")
def delete_registry_policy(ctx):
    result = get_registry_policy(ctx)
    ctx.registry(None).policy_text = None
    return result
