"""Evaluating IAM policies (resource policies and, opt-in, identity policies) the way IAM does.

Resource side (repository and registry policies): ECR authorizes a request for another
account's registry only when a resource policy grants it: an explicit ``Deny`` in any policy
wins, then an ``Allow`` grants, and with neither the answer is no. Without identity policies
(``--identity-policies``), a principal of the resource's own account needs no grant: same-account
callers act as administrators, and the doors check only cross-account requests.

Identity side (:func:`decide_identity`, when ``--identity-policies`` gives principals their
policies): IAM's evaluation logic. An explicit ``Deny`` in any applicable policy (identity or
resource) wins; within the account, an ``Allow`` in an identity policy or in the resource's policy
(naming that principal) grants; across accounts, the identity policy must allow (the resource
side is then the doors' cross-account check above). The account root is not limited by identity
policies, as in IAM.

A statement applies when its principal, action, resource and every condition match. Supported:
``Principal``/``NotPrincipal`` (``*``, ``{"AWS": ...}`` with account ids, ``:root`` ARNs, role and
user ARNs -- a role ARN names its assumed-role sessions --, ``{"Service": ...}``),
``Action``/``NotAction`` and ``Resource``/``NotResource`` with ``*``/``?`` wildcards (actions
case-insensitively), policy variables (``${aws:username}``, ``${aws:PrincipalTag/team}``,
``${aws:username, 'default'}``, ``${*}``...) in resources and condition values, and conditions
with the string, ARN (each of the six colon-separated parts matched on its own, as IAM does),
numeric, date, boolean, IP address and ``Null`` operators, ``IfExists`` and the
``ForAnyValue:``/``ForAllValues:`` set prefixes. That matching (wildcards, ARNs, policy
variables, condition operators) is in ``conditions.py``; this module holds principals, requests
and decisions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..addressing.partitions import root_arn
from ..awsjson.aws_error import AccessDeniedException
from .conditions import as_list, conditions_hold, like

ALLOW, DENY, NOT_APPLICABLE = "Allow", "Deny", "NotApplicable"

#: why :func:`decide_identity` refused (the wording of AWS's AccessDeniedException for each)
IDENTITY_DENY, RESOURCE_DENY, NO_IDENTITY_ALLOW, NO_RESOURCE_ALLOW = (
    "identity-deny", "resource-deny", "no-identity-allow", "no-resource-allow")

_SESSION = re.compile(r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>[0-9]{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$")
_USER = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:user/(?:.*/)?(?P<name>[^/]+)$")


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account, and the ARN of the identity within it."""

    account: str
    #: the caller's ARN as AWS prints it (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``)
    arn: str = ""
    #: ``aws:PrincipalOrgID`` (from a setting: the emulator has no Organizations)
    org_id: str | None = None
    #: a service principal (``replication.ecr.amazonaws.com``...), when a service asks
    service: str | None = None
    #: ``--open-accounts``: this principal acts in every account as in its own (moto's model)
    every_account: bool = False
    #: ``aws:PrincipalTag/<key>``: the tags of the principal's entry in the identity-policies file
    tags: tuple[tuple[str, str], ...] = ()
    #: the IAM identity's own ARN when the identity-policies file names it (a role's path included)
    identity: str = ""

    def __post_init__(self) -> None:
        if not self.arn:
            object.__setattr__(self, "arn", root_arn(self.account))

    @property
    def is_root(self) -> bool:
        return self.arn.endswith(":root") and self.service is None

    @property
    def principal_arn(self) -> str:
        """``aws:PrincipalArn``: for an assumed-role session, its role's ARN (IAM's rule)."""
        if self.identity:
            return self.identity
        session = _SESSION.match(self.arn)
        if session:
            return f"arn:{session['partition']}:iam::{session['account']}:role/{session['role']}"
        return self.arn


@dataclass(frozen=True)
class AccessRequest:
    principal: Principal
    #: ``ecr:BatchGetImage``
    action: str
    #: the ARN of the repository (or registry) acted on
    resource: str
    #: extra condition keys, e.g. ``{"aws:SourceAccount": "111122223333"}``
    context: Mapping[str, str | list[str]] = field(default_factory=dict)

    def condition_values(self) -> dict[str, list[str]]:
        """Every condition key the request carries (lower-cased keys, values as lists)."""
        principal = self.principal
        values: dict[str, list[str]] = {
            "aws:principalaccount": [principal.account],
            "aws:principalarn": [principal.principal_arn],
        }
        if principal.org_id:
            values["aws:principalorgid"] = [principal.org_id]
        if principal.service:
            values["aws:principalservicename"] = [principal.service]
        user = _USER.match(principal.arn)
        if user:
            values["aws:username"] = [user["name"]]
        for key, value in principal.tags:
            values[f"aws:principaltag/{key.lower()}"] = [value]
        for key, value in self.context.items():
            values[key.lower()] = list(value) if isinstance(value, (list, tuple)) else [value]
        return values


def principal_of(settings, account: str, arn: str | None = None, identities=None) -> Principal:
    """The principal of a caller of ``account`` (its ``aws:PrincipalOrgID`` from ``settings``; its
    tags and IAM identity from ``identities``, the identity-policies file, when given)."""
    principal = Principal(account, arn or "", settings.organization_of(account),
                          every_account=settings.open_accounts)
    entry = identities.lookup(principal.arn) if identities is not None else None
    if entry is None:
        return principal
    return Principal(account, principal.arn, principal.org_id, every_account=principal.every_account,
                     tags=entry.tags, identity=entry.arn)


def context_keys(service: str, now: datetime, facts: Mapping[str, str] | None = None,
                 request_tags: Mapping[str, str] | None = None,
                 resource_tags: Mapping[str, str] | None = None) -> dict[str, str | list[str]]:
    """The condition keys of a call, both doors alike: ``aws:CurrentTime``/``aws:EpochTime`` (the
    emulator's clock), the request's ``facts`` (``aws:SourceIp``, ``aws:SecureTransport``),
    ``aws:RequestTag/<key>`` and ``aws:TagKeys`` for tags the call sets, and
    ``<service>:ResourceTag/<key>`` / ``aws:ResourceTag/<key>`` for the tags the resource has."""
    keys: dict[str, str | list[str]] = {
        "aws:CurrentTime": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        **(facts or {}),
    }
    if request_tags is not None:
        keys.update(request_tag_keys(request_tags))
    for key, value in (resource_tags or {}).items():
        keys[f"{service}:ResourceTag/{key}"] = value
        keys[f"aws:ResourceTag/{key}"] = value
    return keys


def request_tag_keys(tags: Mapping[str, str]) -> dict[str, str | list[str]]:
    """``aws:TagKeys`` and ``aws:RequestTag/<key>`` of a call that sets ``tags``."""
    return {"aws:TagKeys": list(tags), **{f"aws:RequestTag/{key}": value for key, value in tags.items()}}


def evaluate(policy, request: AccessRequest) -> str:
    """``Deny`` if a statement denies, else ``Allow`` if one allows, else ``NotApplicable``.
    ``policy``: a document, or its JSON text."""
    if not policy:
        return NOT_APPLICABLE
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return NOT_APPLICABLE  # stored policies are validated; a broken one grants nothing
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    variables = policy.get("Version") == "2012-10-17" if isinstance(policy, dict) else False
    values = request.condition_values()
    decision = NOT_APPLICABLE
    for statement in as_list(statements):
        if isinstance(statement, dict) and _applies(statement, request, values, variables):
            if statement.get("Effect") == DENY:
                return DENY
            if statement.get("Effect") == ALLOW:
                decision = ALLOW
    return decision


def _combined(policies, request: AccessRequest) -> str:
    decisions = {evaluate(policy, request) for policy in policies}
    return DENY if DENY in decisions else ALLOW if ALLOW in decisions else NOT_APPLICABLE


def decide(request: AccessRequest, resource_account: str, policies: Iterable[str | None]) -> str:
    """``Allow`` or ``Deny`` for ``request`` on a resource of ``resource_account`` governed by
    ``policies`` (``NotApplicable``: refused because nothing grants it). The resource side, and
    the one place where a caller of another account is told apart: with ``--open-accounts``
    every caller counts as the resource's own account (an explicit ``Deny`` still wins, as for
    the account itself)."""
    decision = _combined(policies, request)
    if decision == DENY:
        return DENY
    own = request.principal.account == resource_account or request.principal.every_account
    if own or decision == ALLOW:
        return ALLOW
    return NOT_APPLICABLE


def decide_identity(request: AccessRequest, resource_account: str, identity_policies: Iterable,
                    resource_policies: Iterable[str | None]) -> str | None:
    """None when IAM's evaluation allows ``request`` as far as identity policies go, else why not
    (:data:`IDENTITY_DENY`, :data:`RESOURCE_DENY`, :data:`NO_IDENTITY_ALLOW`).

    Across accounts, an identity ``Allow`` is needed; the resource policy's own grant is then
    checked by the door (:func:`require`), which ``--open-accounts`` may lift. The root of the
    account, and service principals acting for it, are not bound by identity policies."""
    principal = request.principal
    if principal.is_root or principal.service:
        return None
    identity = _combined(identity_policies, request)
    if identity == DENY:
        return IDENTITY_DENY
    resource = _combined(resource_policies, request)
    if resource == DENY:
        return RESOURCE_DENY
    if identity == ALLOW:
        return None
    if principal.account == resource_account and resource == ALLOW:
        return None
    return NO_IDENTITY_ALLOW


def refusal(request: AccessRequest, reason: str) -> AccessDeniedException:
    """AWS's AccessDeniedException for ``request`` refused for ``reason``."""
    return AccessDeniedException.for_action(request.principal.arn, request.action, request.resource,
                                            reason=reason)


def require(request: AccessRequest, resource_account: str, policies: Iterable[str | None]) -> None:
    """AWS's ``AccessDeniedException`` unless :func:`decide` allows ``request`` (both doors use it;
    the registry renders it as 403 DENIED)."""
    decision = decide(request, resource_account, policies)
    if decision != ALLOW:
        raise refusal(request, RESOURCE_DENY if decision == DENY else NO_RESOURCE_ALLOW)


def require_identity(request: AccessRequest, resource_account: str, identity_policies: Iterable,
                     resource_policies: Iterable[str | None]) -> None:
    """AWS's ``AccessDeniedException`` unless :func:`decide_identity` allows ``request``."""
    reason = decide_identity(request, resource_account, list(identity_policies), list(resource_policies))
    if reason is not None:
        raise refusal(request, reason)


def authorized(request: AccessRequest, resource_account: str, policies: Iterable[str | None]) -> bool:
    """Whether ``request`` may act on a resource of ``resource_account`` governed by ``policies``."""
    return decide(request, resource_account, policies) == ALLOW


# -- whom a statement applies to ---------------------------------------------------------------

def _applies(statement: dict, request: AccessRequest, values: dict[str, list[str]], variables: bool) -> bool:
    if "Principal" in statement and not _principal_matches(statement["Principal"], request.principal):
        return False
    if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], request.principal):
        return False
    if "Action" in statement and not any(like(a, request.action, True) for a in as_list(statement["Action"])):
        return False
    if "NotAction" in statement and any(like(a, request.action, True) for a in as_list(statement["NotAction"])):
        return False
    known = values if variables else None
    if "Resource" in statement and not any(like(r, request.resource, values=known)
                                           for r in as_list(statement["Resource"])):
        return False
    if "NotResource" in statement and any(like(r, request.resource, values=known)
                                          for r in as_list(statement["NotResource"])):
        return False
    condition = statement.get("Condition")
    return not condition or conditions_hold(condition, values, variables)


def _principal_matches(spec, principal: Principal) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        for value in as_list(values):
            if not isinstance(value, str):
                continue
            if kind == "AWS" and _aws_principal_matches(value, principal):
                return True
            if kind == "Service" and principal.service and value == principal.service:
                return True
    return False


_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):root$")


def _aws_principal_matches(value: str, principal: Principal) -> bool:
    if value == "*":
        return True
    if value == principal.account:
        return True
    root = _ROOT.match(value)
    if root:
        return root.group(1) == principal.account
    return value in (principal.arn, principal.principal_arn)
