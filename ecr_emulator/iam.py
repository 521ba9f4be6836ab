"""Evaluating resource policies (repository and registry policies) the way IAM does.

ECR authorizes a request for another account's registry only when a resource policy grants it:
an explicit ``Deny`` in any policy wins, then an ``Allow`` grants, and with neither the answer is
no. A principal of the resource's own account needs no grant (its identity policies are not
emulated: same-account callers act as administrators; the doors check only cross-account
requests, so a policy cannot lock its own account out).

A statement applies when its principal, action, resource and every condition match. Supported:
``Principal``/``NotPrincipal`` (``*``, ``{"AWS": ...}`` with account ids, ``:root`` ARNs, role and
user ARNs, ``{"Service": ...}``), ``Action``/``NotAction`` and ``Resource``/``NotResource`` with
``*``/``?`` wildcards (actions case-insensitively), and conditions with the string, ARN, numeric,
boolean and ``Null`` operators, ``IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` set prefixes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from .awsjson.errors import AccessDeniedException
from .partitions import root_arn

ALLOW, DENY, NOT_APPLICABLE = "Allow", "Deny", "NotApplicable"


@dataclass(frozen=True)
class Principal:
    """Who is asking: an account, and the ARN of the identity within it."""

    account: str
    arn: str = ""
    #: ``aws:PrincipalOrgID`` (from a setting: the emulator has no Organizations)
    org_id: str | None = None
    #: a service principal (``replication.ecr.amazonaws.com``...), when a service asks
    service: str | None = None
    #: ``--open-accounts``: this principal acts in every account as in its own (moto's model)
    every_account: bool = False

    def __post_init__(self) -> None:
        if not self.arn:
            object.__setattr__(self, "arn", root_arn(self.account))


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
        values: dict[str, list[str]] = {
            "aws:principalaccount": [self.principal.account],
            "aws:principalarn": [self.principal.arn],
        }
        if self.principal.org_id:
            values["aws:principalorgid"] = [self.principal.org_id]
        if self.principal.service:
            values["aws:principalserviceName".lower()] = [self.principal.service]
        for key, value in self.context.items():
            values[key.lower()] = list(value) if isinstance(value, (list, tuple)) else [value]
        return values


def principal_of(settings, account: str, arn: str | None = None) -> Principal:
    """The principal of a caller of ``account`` (its ``aws:PrincipalOrgID`` from ``settings``)."""
    return Principal(account, arn or "", settings.organization_of(account), every_account=settings.open_accounts)


def evaluate(policy_text: str | None, request: AccessRequest) -> str:
    """``Deny`` if a statement denies, else ``Allow`` if one allows, else ``NotApplicable``."""
    if not policy_text:
        return NOT_APPLICABLE
    try:
        document = json.loads(policy_text)
    except ValueError:
        return NOT_APPLICABLE  # stored policies are validated; a broken one grants nothing
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    decision = NOT_APPLICABLE
    for statement in _as_list(statements):
        if isinstance(statement, dict) and _applies(statement, request):
            if statement.get("Effect") == DENY:
                return DENY
            if statement.get("Effect") == ALLOW:
                decision = ALLOW
    return decision


def decide(request: AccessRequest, resource_account: str, policies: Iterable[str | None]) -> str:
    """``Allow`` or ``Deny`` for ``request`` on a resource of ``resource_account`` governed by
    ``policies`` (``NotApplicable``: refused because nothing grants it). The one place where a
    caller of another account is told apart: with ``--open-accounts`` every caller counts as the
    resource's own account (an explicit ``Deny`` still wins, as for the account itself)."""
    decisions = {evaluate(text, request) for text in policies}
    if DENY in decisions:
        return DENY
    own = request.principal.account == resource_account or request.principal.every_account
    if own or ALLOW in decisions:
        return ALLOW
    return NOT_APPLICABLE


def require(request: AccessRequest, resource_account: str, policies: Iterable[str | None]) -> None:
    """AWS's ``AccessDeniedException`` unless :func:`decide` allows ``request`` (both doors use it;
    the registry renders it as 403 DENIED)."""
    decision = decide(request, resource_account, policies)
    if decision != ALLOW:
        raise AccessDeniedException.for_action(request.principal.arn, request.action, request.resource,
                                               denied=decision == DENY)


def authorized(request: AccessRequest, resource_account: str, policies: Iterable[str | None]) -> bool:
    """Whether ``request`` may act on a resource of ``resource_account`` governed by ``policies``."""
    return decide(request, resource_account, policies) == ALLOW


# -- matching --------------------------------------------------------------------------------

def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.S | (re.I if ignore_case else 0))


def _like(pattern, value: str, ignore_case: bool = False) -> bool:
    return isinstance(pattern, str) and bool(_wildcard(pattern, ignore_case).fullmatch(value))


def _applies(statement: dict, request: AccessRequest) -> bool:
    if "Principal" in statement and not _principal_matches(statement["Principal"], request.principal):
        return False
    if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], request.principal):
        return False
    if "Action" in statement and not any(_like(a, request.action, True) for a in _as_list(statement["Action"])):
        return False
    if "NotAction" in statement and any(_like(a, request.action, True) for a in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement and not any(_like(r, request.resource) for r in _as_list(statement["Resource"])):
        return False
    if "NotResource" in statement and any(_like(r, request.resource) for r in _as_list(statement["NotResource"])):
        return False
    condition = statement.get("Condition")
    return not condition or _conditions_hold(condition, request.condition_values())


def _principal_matches(spec, principal: Principal) -> bool:
    if spec == "*":
        return True
    if not isinstance(spec, dict):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
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
    return value == principal.arn


# -- conditions ------------------------------------------------------------------------------

def _conditions_hold(condition: dict, values: dict[str, list[str]]) -> bool:
    """Every operator block holds; within a block every key holds; a key holds when any of the
    policy's values matches (for ``Not`` operators: when none does)."""
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return False
        for key, wanted in block.items():
            if not _condition_holds(operator, values.get(key.lower()), [str(w) for w in _as_list(wanted)]):
                return False
    return True


def _condition_holds(operator: str, present: list[str] | None, wanted: list[str]) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return (present is None) == (wanted[0].lower() == "true")
    if present is None:
        return if_exists
    negated = "Not" in operator
    base = operator.replace("Not", "")
    test = _OPERATORS.get(base)
    if test is None:
        return False  # an operator this evaluator does not know grants nothing

    def one(value: str) -> bool:
        matched = any(test(w, value) for w in wanted)
        return not matched if negated else matched

    if qualifier.lower() == "forallvalues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)


def _numeric(op):
    def compare(wanted: str, value: str) -> bool:
        try:
            return op(float(value), float(wanted))
        except ValueError:
            return False

    return compare


_OPERATORS = {
    "StringEquals": lambda w, v: w == v,
    "StringEqualsIgnoreCase": lambda w, v: w.lower() == v.lower(),
    "StringLike": lambda w, v: _like(w, v),
    "ArnEquals": lambda w, v: w == v,
    "ArnLike": lambda w, v: _like(w, v),
    "Bool": lambda w, v: w.lower() == v.lower(),
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
}
