"""Repository creation templates: Create/Describe/Update/DeleteRepositoryCreationTemplate.

The templates are plain data on the registry (``store.templates``); they are applied by
``store.repositories.create_for_ecr`` when ECR creates a repository itself.
"""

from __future__ import annotations

import dataclasses
import json
import re

from ..errors import LimitExceededException, TemplateAlreadyExistsException, TemplateNotFoundException
from ..store.templates import CreationTemplate, normalize_prefix
from .pagination import paginate
from .policy_documents import validate_policy
from .tables import ecr
from .validation import check_mutability, invalid, merge_tags, tag_list

#: ECR's quota of repository creation templates per registry
MAX_TEMPLATES = 100
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]+$")


def check_role(ctx, arn: str | None, member: str = "customRoleArn") -> str | None:
    """A custom role must be an IAM role of the caller's account (ECR assumes it there)."""
    if not arn:
        return None
    match = _ROLE.match(arn)
    if match is None:
        raise invalid(member, "must be a valid IAM role ARN")
    if match["account"] != ctx.caller.account:
        raise invalid(member, "the role must be in the same account as the registry")
    return arn


def _check_lifecycle(text: str) -> str:
    """No lifecycle-policy validator is on this branch: a JSON object with a ``rules`` list of
    objects is what every lifecycle policy is; the rules themselves are checked when applied."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise invalid("lifecyclePolicy", "Lifecycle policy is not valid JSON") from None
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or not rules or not all(isinstance(r, dict) for r in rules):
        raise invalid("lifecyclePolicy", "Lifecycle policy must be a JSON object with a non-empty 'rules' list")
    return text


def _check_encryption(config: dict | None) -> dict[str, str]:
    config = dict(config or {"encryptionType": "AES256"})
    if config["encryptionType"] == "AES256" and config.get("kmsKey"):
        raise invalid("encryptionConfiguration.kmsKey",
                      "kmsKey can only be specified when encryptionType is KMS or KMS_DSSE")
    if not config.get("kmsKey"):
        config.pop("kmsKey", None)
    return config


def _check_applied_for(applied_for: list[str] | None) -> list[str]:
    if not applied_for:
        raise invalid("appliedFor", "must contain at least one of REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH")
    return list(dict.fromkeys(applied_for))


def _check_role_needed(template: CreationTemplate) -> None:
    """ECR needs a custom role to tag repositories or use a customer KMS key for them."""
    if template.custom_role_arn:
        return
    if template.resource_tags:
        raise invalid("customRoleArn", "customRoleArn is required when resourceTags are specified")
    if template.encryption.get("kmsKey"):
        raise invalid("customRoleArn", "customRoleArn is required when a KMS key is specified")


def _apply(ctx, template: CreationTemplate, members: dict) -> None:
    """Set the members that were given (None: keep) on ``template``, validated."""
    if members.get("description") is not None:
        template.description = members["description"]
    if members.get("encryption_configuration") is not None:
        template.encryption = _check_encryption(members["encryption_configuration"])
    if members.get("resource_tags") is not None:
        template.resource_tags = merge_tags({}, members["resource_tags"])
    mode = members.get("image_tag_mutability")
    filters = members.get("image_tag_mutability_exclusion_filters")
    if mode is not None or filters is not None:
        mode = mode or template.image_tag_mutability
        template.image_tag_mutability = mode
        template.mutability_exclusions = check_mutability(mode, filters)
    if members.get("repository_policy") is not None:
        text = members["repository_policy"]
        template.repository_policy = validate_policy(text, "ecr", "repository") if text else None
    if members.get("lifecycle_policy") is not None:
        text = members["lifecycle_policy"]
        template.lifecycle_policy = _check_lifecycle(text) if text else None
    if members.get("applied_for") is not None:
        template.applied_for = _check_applied_for(members["applied_for"])
    if members.get("custom_role_arn") is not None:
        template.custom_role_arn = check_role(ctx, members["custom_role_arn"])
    _check_role_needed(template)


def template_view(template: CreationTemplate) -> dict:
    view = {
        "prefix": template.prefix,
        "description": template.description,
        "encryptionConfiguration": dict(template.encryption),
        "resourceTags": tag_list(template.resource_tags),
        "imageTagMutability": template.image_tag_mutability,
        "repositoryPolicy": template.repository_policy,
        "lifecyclePolicy": template.lifecycle_policy,
        "appliedFor": list(template.applied_for),
        "customRoleArn": template.custom_role_arn,
        "createdAt": template.created_at,
        "updatedAt": template.updated_at,
    }
    if template.mutability_exclusions:
        view["imageTagMutabilityExclusionFilters"] = [dict(f) for f in template.mutability_exclusions]
    return view


def _find(ctx, state, prefix: str) -> CreationTemplate:
    template = state.creation_templates.get(normalize_prefix(prefix))
    if template is None:
        raise TemplateNotFoundException.named(prefix, state.account)
    return template


@ecr("CreateRepositoryCreationTemplate")
def create_repository_creation_template(ctx, prefix, applied_for, **members):
    state = ctx.registry(None, "CreateRepositoryCreationTemplate")
    key = normalize_prefix(prefix)
    if key in state.creation_templates:
        raise TemplateAlreadyExistsException.named(prefix, state.account)
    if len(state.creation_templates) >= MAX_TEMPLATES:
        raise LimitExceededException(
            f"The maximum number of repository creation templates ({MAX_TEMPLATES}) per registry has been reached.")
    template = CreationTemplate(prefix=key, applied_for=[], created_at=ctx.now, updated_at=ctx.now)
    _apply(ctx, template, {**members, "applied_for": _check_applied_for(applied_for)})
    state.creation_templates[key] = template
    return {"registryId": state.account, "repositoryCreationTemplate": template_view(template)}


@ecr("UpdateRepositoryCreationTemplate")
def update_repository_creation_template(ctx, prefix, **members):
    state = ctx.registry(None, "UpdateRepositoryCreationTemplate")
    current = _find(ctx, state, prefix)
    updated = dataclasses.replace(current, updated_at=ctx.now)
    _apply(ctx, updated, members)  # validated on a copy: a refused update changes nothing
    state.creation_templates[current.prefix] = updated
    return {"registryId": state.account, "repositoryCreationTemplate": template_view(updated)}


@ecr("DeleteRepositoryCreationTemplate")
def delete_repository_creation_template(ctx, prefix):
    state = ctx.registry(None, "DeleteRepositoryCreationTemplate")
    template = _find(ctx, state, prefix)
    del state.creation_templates[template.prefix]
    return {"registryId": state.account, "repositoryCreationTemplate": template_view(template)}


@ecr("DescribeRepositoryCreationTemplates")
def describe_repository_creation_templates(ctx, prefixes=None, next_token=None, max_results=None):
    state = ctx.registry(None, "DescribeRepositoryCreationTemplates")
    templates = sorted(state.creation_templates.values(), key=lambda t: t.prefix)
    if prefixes:
        wanted = {normalize_prefix(p) for p in prefixes}
        templates = [t for t in templates if t.prefix in wanted]
    page, token = paginate(templates, next_token, max_results,
                           scope=f"ecr:DescribeRepositoryCreationTemplates:{','.join(sorted(prefixes or []))}")
    return {"registryId": state.account, "repositoryCreationTemplates": [template_view(t) for t in page],
            "nextToken": token}
