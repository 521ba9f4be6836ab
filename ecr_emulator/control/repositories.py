"""Private ECR repositories: create, describe, delete, and their per-repository settings."""

from __future__ import annotations

from ..errors import RepositoryNotEmptyException
from ..store import PUBLIC, Repository
from ..store.repositories import encryption_with_key, new_repository
from .pagination import paginate
from .tables import both, ecr
from .validation import check_mutability, invalid, merge_tags


def repository_view(ctx, repo: Repository) -> dict:
    view = {
        "repositoryArn": repo.arn,
        "registryId": repo.account,
        "repositoryName": repo.name,
        "repositoryUri": ctx.repository_uri(repo),
        "createdAt": repo.created_at,
        "imageTagMutability": repo.image_tag_mutability,
        "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push},
        "encryptionConfiguration": dict(repo.encryption),
    }
    if repo.mutability_exclusions:
        view["imageTagMutabilityExclusionFilters"] = repo.mutability_exclusions
    return view


def public_repository_view(ctx, repo: Repository) -> dict:
    """ECR Public's ``Repository`` shape: no settings, only identity and address."""
    return {
        "repositoryArn": repo.arn,
        "registryId": repo.account,
        "repositoryName": repo.name,
        "repositoryUri": ctx.repository_uri(repo),
        "createdAt": repo.created_at,
    }


def view(ctx, repo: Repository) -> dict:
    """The ``Repository`` of the service that asks."""
    return public_repository_view(ctx, repo) if repo.kind == PUBLIC else repository_view(ctx, repo)


def _encryption(ctx, config: dict | None) -> dict[str, str]:
    config = dict(config or {"encryptionType": "AES256"})
    kind = config["encryptionType"]
    if kind == "AES256":
        if config.get("kmsKey"):
            raise invalid("encryptionConfiguration.kmsKey",
                          "kmsKey can only be specified when encryptionType is KMS or KMS_DSSE")
        return {"encryptionType": "AES256"}
    # AWS uses the account's AWS-managed key (alias aws/ecr) when none is named.
    return encryption_with_key(config, ctx.caller.account, ctx.caller.region)


def create(ctx, state, name: str, **settings) -> Repository:
    """Add a repository to ``state`` (shared with ECR Public)."""
    return new_repository(state, name, ctx.now, **settings)


def delete(ctx, state, name: str, force: bool | None) -> Repository:
    repo = ctx.repository(name, state.account, "DeleteRepository")
    if repo.images and not force:
        raise RepositoryNotEmptyException.named(name, state.account)
    del state.repositories[name]
    ctx.backend.uploads.drop_repository(repo.account, repo.region, repo.name)
    ctx.backend.collect_garbage()
    return repo


def describe(ctx, state, names, next_token, max_results) -> dict:
    if names and (next_token or max_results):
        raise invalid("repositoryNames",
                      "repositoryNames cannot be specified together with nextToken or maxResults")
    if names:
        repos = [ctx.repository(n, state.account, "DescribeRepositories") for n in dict.fromkeys(names)]
        return {"repositories": [view(ctx, r) for r in repos]}
    visible = [r for r in state.repositories.values() if ctx.may(state, r, "DescribeRepositories")]
    if not visible and state.account != ctx.caller.account:
        ctx.registry(state.account, "DescribeRepositories")  # nothing granted: AWS's AccessDenied
    page, token = paginate(visible, next_token, max_results,
                           scope=f"{ctx.service}:DescribeRepositories")
    return {"repositories": [view(ctx, r) for r in page], "nextToken": token}


@ecr("CreateRepository")
def create_repository(ctx, repository_name, registry_id=None, tags=None, image_tag_mutability=None,
                      image_tag_mutability_exclusion_filters=None, image_scanning_configuration=None,
                      encryption_configuration=None):
    state = ctx.registry(registry_id, "CreateRepository", repository_name)
    mode = image_tag_mutability or "MUTABLE"
    repo = create(
        ctx, state, repository_name,
        image_tag_mutability=mode,
        mutability_exclusions=check_mutability(mode, image_tag_mutability_exclusion_filters),
        scan_on_push=bool((image_scanning_configuration or {}).get("scanOnPush", False)),
        encryption=_encryption(ctx, encryption_configuration),
        tags=merge_tags({}, tags),
    )
    return {"repository": repository_view(ctx, repo)}


@both("DescribeRepositories")
def describe_repositories(ctx, registry_id=None, repository_names=None, next_token=None, max_results=None):
    state = ctx.registry_state(registry_id)
    return describe(ctx, state, repository_names, next_token, max_results)


@both("DeleteRepository")
def delete_repository(ctx, repository_name, registry_id=None, force=None):
    state = ctx.registry_state(registry_id)
    return {"repository": view(ctx, delete(ctx, state, repository_name, force))}


@ecr("PutImageTagMutability")
def put_image_tag_mutability(ctx, repository_name, image_tag_mutability, registry_id=None,
                             image_tag_mutability_exclusion_filters=None):
    repo = ctx.repository(repository_name, registry_id, "PutImageTagMutability")
    filters = check_mutability(image_tag_mutability, image_tag_mutability_exclusion_filters)
    repo.image_tag_mutability, repo.mutability_exclusions = image_tag_mutability, filters
    result = {"registryId": repo.account, "repositoryName": repo.name,
              "imageTagMutability": repo.image_tag_mutability}
    if filters:
        result["imageTagMutabilityExclusionFilters"] = filters
    return result


@ecr("PutImageScanningConfiguration")
def put_image_scanning_configuration(ctx, repository_name, image_scanning_configuration, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "PutImageScanningConfiguration")
    repo.scan_on_push = bool(image_scanning_configuration.get("scanOnPush", False))
    return {"registryId": repo.account, "repositoryName": repo.name,
            "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push}}
