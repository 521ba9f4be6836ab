"""Pull-through cache rules: Create/Describe/Update/Delete/ValidatePullThroughCacheRule.

Rules are plain data on the registry (``store.pull_through``); the fetcher
(``features/pull_through``) reads them when a pull misses. Each upstream kind of the model has
its own registry URL, and its own way to authenticate: none (ecr-public, k8s, quay), a Secrets
Manager secret (``credentialArn``; the emulator reads ``--upstream-credentials``), or an IAM
role (ecr, ``customRoleArn``, needed when the upstream is another account).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..addressing.partitions import ECR_HOST_NAME
from ..errors import (
    LimitExceededException,
    PullThroughCacheRuleAlreadyExistsException,
    PullThroughCacheRuleNotFoundException,
    UnsupportedUpstreamRegistryException,
)
from ..store.pull_through import PullThroughRule
from ..store.templates import ROOT, normalize_prefix
from .pagination import paginate
from .tables import ecr
from .templates import check_role
from .validation import invalid

#: ECR's quota of pull-through cache rules per registry
MAX_RULES = 50


@dataclass(frozen=True)
class UpstreamKind:
    name: str
    url: re.Pattern
    #: "none", "secret" (credentialArn required) or "role" (ecr: customRoleArn across accounts)
    auth: str


KINDS = (
    UpstreamKind("ecr", ECR_HOST_NAME, "role"),
    UpstreamKind("ecr-public", re.compile(r"^public\.ecr\.aws$"), "none"),
    UpstreamKind("quay", re.compile(r"^quay\.io$"), "none"),
    UpstreamKind("k8s", re.compile(r"^registry\.k8s\.io$"), "none"),
    UpstreamKind("docker-hub", re.compile(r"^registry-1\.docker\.io$"), "secret"),
    UpstreamKind("github-container-registry", re.compile(r"^ghcr\.io$"), "secret"),
    UpstreamKind("azure-container-registry", re.compile(r"^[a-z0-9]{5,50}\.azurecr\.io$"), "secret"),
    UpstreamKind("gitlab-container-registry", re.compile(r"^registry\.gitlab\.com$"), "secret"),
    UpstreamKind("chainguard", re.compile(r"^cgr\.dev$"), "secret"),
)
BY_NAME = {kind.name: kind for kind in KINDS}


def _unsupported(url: str) -> UnsupportedUpstreamRegistryException:
    return UnsupportedUpstreamRegistryException(
        f"The upstream registry URL '{url}' is not supported. Supported upstream registries: "
        + ", ".join(k.name for k in KINDS) + ".")


def upstream_kind(url: str, name: str | None) -> UpstreamKind:
    """The kind of upstream ``url`` is (it must be one the model supports, and ``name``'s)."""
    host = url.lower()
    if name is not None:
        kind = BY_NAME[name]
        if not kind.url.match(host):
            raise invalid("upstreamRegistryUrl", f"'{url}' is not a registry URL of upstream registry {name}")
        return kind
    for kind in KINDS:
        if kind.url.match(host):
            return kind
    raise _unsupported(url)


def _check_auth(ctx, kind: UpstreamKind, url: str, credential_arn, custom_role_arn) -> None:
    if kind.auth == "secret" and not credential_arn:
        raise invalid("credentialArn", f"credentialArn is required for upstream registry {kind.name}")
    if kind.auth != "secret" and credential_arn:
        raise invalid("credentialArn", f"credentialArn cannot be specified for upstream registry {kind.name}")
    if kind.auth != "role" and custom_role_arn:
        raise invalid("customRoleArn", "customRoleArn can only be specified for upstream registry ecr")
    if kind.auth == "role":
        check_role(ctx, custom_role_arn)
        upstream_account = ECR_HOST_NAME.match(url.lower())["account"]
        if upstream_account != ctx.caller.account and not custom_role_arn:
            raise invalid("customRoleArn", "customRoleArn is required for an ecr upstream registry in another "
                                           "account")
    if credential_arn:
        ctx.upstream_credentials(credential_arn)  # SecretNotFound / UnableToDecryptSecretValue


def _check_prefixes(state, ecr_prefix: str, upstream_prefix: str, kind: UpstreamKind) -> None:
    if upstream_prefix != ROOT and kind.name != "ecr":
        raise invalid("upstreamRepositoryPrefix", "upstreamRepositoryPrefix can only be specified for upstream "
                                                  "registry ecr")
    if upstream_prefix != ROOT and ecr_prefix == ROOT:
        raise invalid("upstreamRepositoryPrefix", "upstreamRepositoryPrefix can only be specified when "
                                                  "ecrRepositoryPrefix is not ROOT")
    if ecr_prefix == ROOT and kind.name != "ecr":
        raise invalid("ecrRepositoryPrefix", "ROOT can only be used as ecrRepositoryPrefix for upstream "
                                             "registry ecr")
    if ecr_prefix in state.pull_through_rules:
        raise PullThroughCacheRuleAlreadyExistsException.named(ecr_prefix, state.account)
    for existing in state.pull_through_rules:
        if ROOT in (existing, ecr_prefix):
            continue
        if existing.startswith(ecr_prefix + "/") or ecr_prefix.startswith(existing + "/"):
            raise invalid("ecrRepositoryPrefix", f"the prefix '{ecr_prefix}' overlaps the prefix '{existing}' "
                                                 "of an existing pull through cache rule")


def rule_view(rule: PullThroughRule, registry_id: str, *, updated: bool = True) -> dict:
    view = {
        "ecrRepositoryPrefix": rule.ecr_repository_prefix,
        "upstreamRegistryUrl": rule.upstream_registry_url,
        "createdAt": rule.created_at,
        "registryId": registry_id,
        "credentialArn": rule.credential_arn,
        "customRoleArn": rule.custom_role_arn,
        "upstreamRepositoryPrefix": rule.upstream_repository_prefix,
        "upstreamRegistry": rule.upstream_registry,
    }
    if updated:
        view["updatedAt"] = rule.updated_at
    return view


def _find(state, prefix: str) -> PullThroughRule:
    rule = state.pull_through_rules.get(normalize_prefix(prefix))
    if rule is None:
        raise PullThroughCacheRuleNotFoundException.named(prefix, state.account)
    return rule


@ecr("CreatePullThroughCacheRule")
def create_pull_through_cache_rule(ctx, ecr_repository_prefix, upstream_registry_url, registry_id=None,
                                   upstream_registry=None, credential_arn=None, custom_role_arn=None,
                                   upstream_repository_prefix=None):
    state = ctx.registry(registry_id, "CreatePullThroughCacheRule")
    prefix = normalize_prefix(ecr_repository_prefix)
    upstream_prefix = normalize_prefix(upstream_repository_prefix or ROOT)
    kind = upstream_kind(upstream_registry_url, upstream_registry)
    _check_prefixes(state, prefix, upstream_prefix, kind)
    _check_auth(ctx, kind, upstream_registry_url, credential_arn, custom_role_arn)
    if len(state.pull_through_rules) >= MAX_RULES:
        raise LimitExceededException(
            f"The maximum number of pull through cache rules ({MAX_RULES}) per registry has been reached.")
    rule = PullThroughRule(ecr_repository_prefix=prefix, upstream_registry_url=upstream_registry_url,
                           upstream_registry=kind.name, created_at=ctx.now, credential_arn=credential_arn,
                           custom_role_arn=custom_role_arn, upstream_repository_prefix=upstream_prefix)
    state.pull_through_rules[prefix] = rule
    return rule_view(rule, state.account, updated=False)


@ecr("DescribePullThroughCacheRules")
def describe_pull_through_cache_rules(ctx, registry_id=None, ecr_repository_prefixes=None, next_token=None,
                                      max_results=None):
    state = ctx.registry(registry_id, "DescribePullThroughCacheRules")
    if ecr_repository_prefixes:
        rules = [_find(state, p) for p in dict.fromkeys(ecr_repository_prefixes)]
    else:
        rules = sorted(state.pull_through_rules.values(), key=lambda r: r.ecr_repository_prefix)
    page, token = paginate(rules, next_token, max_results,
                           scope="ecr:DescribePullThroughCacheRules:" + ",".join(ecr_repository_prefixes or []))
    return {"pullThroughCacheRules": [rule_view(r, state.account) for r in page], "nextToken": token}


@ecr("UpdatePullThroughCacheRule")
def update_pull_through_cache_rule(ctx, ecr_repository_prefix, registry_id=None, credential_arn=None,
                                   custom_role_arn=None):
    state = ctx.registry(registry_id, "UpdatePullThroughCacheRule")
    rule = _find(state, ecr_repository_prefix)
    kind = BY_NAME[rule.upstream_registry]
    if credential_arn is None and custom_role_arn is None:
        raise invalid("credentialArn", "either credentialArn or customRoleArn must be specified")
    new_credential = credential_arn if credential_arn is not None else rule.credential_arn
    new_role = custom_role_arn if custom_role_arn is not None else rule.custom_role_arn
    _check_auth(ctx, kind, rule.upstream_registry_url, new_credential, new_role)
    rule.credential_arn, rule.custom_role_arn, rule.updated_at = new_credential, new_role, ctx.now
    return {"ecrRepositoryPrefix": rule.ecr_repository_prefix, "registryId": state.account,
            "updatedAt": rule.updated_at, "credentialArn": rule.credential_arn,
            "customRoleArn": rule.custom_role_arn, "upstreamRepositoryPrefix": rule.upstream_repository_prefix}


@ecr("DeletePullThroughCacheRule")
def delete_pull_through_cache_rule(ctx, ecr_repository_prefix, registry_id=None):
    """The rule goes; repositories it created stay, with their images (as on ECR)."""
    state = ctx.registry(registry_id, "DeletePullThroughCacheRule")
    rule = _find(state, ecr_repository_prefix)
    del state.pull_through_rules[rule.ecr_repository_prefix]
    return rule_view(rule, state.account, updated=False)


@ecr("ValidatePullThroughCacheRule", waits=True)
def validate_pull_through_cache_rule(ctx, ecr_repository_prefix, registry_id=None):
    """Reads the secret and authenticates to the upstream (with the lock released meanwhile)."""
    state = ctx.registry(registry_id, "ValidatePullThroughCacheRule")
    rule = _find(state, ecr_repository_prefix)
    with ctx.unlocked():
        failure = ctx.backend.upstreams.check(state, rule)
    view = rule_view(rule, state.account, updated=False)
    del view["createdAt"]
    return {**view, "isValid": failure is None, "failure": failure}
