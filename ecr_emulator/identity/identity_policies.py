"""The identity-policies file (``--identity-policies``): IAM policies attached to principals.

JSON: an object whose keys are principal ARNs (a role ``arn:aws:iam::<account>:role/<name>`` or a
user ``arn:aws:iam::<account>:user/<name>``) and whose values are either the list of policy
documents attached to it, or ``{"Policies": [...], "Tags": {"team": "a"}}`` to also give the
principal tags (``aws:PrincipalTag/<key>`` in conditions and policy variables)::

    {
      "arn:aws:iam::111122223333:role/reader": [
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]}
      ],
      "arn:aws:iam::111122223333:role/pusher": {"Policies": [...], "Tags": {"team": "a"}}
    }

An assumed-role session (``arn:aws:sts::<account>:assumed-role/<role>/<session>``, as the
credentials file names it) has its role's entry, as in IAM. Documents are checked as IAM checks an
identity policy when it is attached (``Effect``, ``Action``/``NotAction``, ``Resource``/
``NotResource``, no ``Principal``, known condition operators): a bad one is one error naming the
file and the entry.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from ..awsjson.identity import principal_arn
from .conditions import operator_known

_IDENTITY = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>[0-9]{12}):(?P<kind>role|user)/(?:[^/]+/)*(?P<name>[^/]+)$")
_SESSION = re.compile(r"^arn:aws[a-z-]*:sts::(?P<account>[0-9]{12}):assumed-role/(?P<name>[^/]+)/[^/]+$")
_ACTION = re.compile(r"^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+)$")
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition",
                   "Principal", "NotPrincipal"}


@dataclass(frozen=True)
class IdentityEntry:
    """One principal's attached policies and tags."""

    arn: str
    documents: tuple[dict, ...]
    tags: tuple[tuple[str, str], ...] = ()


def identity_key(arn: str) -> tuple[str, str, str] | None:
    """(account, role|user, name) of an IAM identity or of an assumed-role session (its role)."""
    match = _IDENTITY.match(arn or "")
    if match:
        return match["account"], match["kind"], match["name"]
    session = _SESSION.match(arn or "")
    if session:
        return session["account"], "role", session["name"]
    return None


class IdentityPolicies:
    """The file's entries, looked up by the caller's ARN."""

    def __init__(self, entries: list[IdentityEntry], path: str = "") -> None:
        self.path = path
        self._entries = {identity_key(entry.arn): entry for entry in entries}

    def lookup(self, principal_arn: str) -> IdentityEntry | None:
        key = identity_key(principal_arn)
        return self._entries.get(key) if key else None

    def documents(self, principal_arn: str) -> tuple[dict, ...]:
        """The policies attached to the caller (none: IAM denies everything but the root)."""
        entry = self.lookup(principal_arn)
        return entry.documents if entry else ()

    @classmethod
    def load(cls, path: str) -> "IdentityPolicies":
        """The file at ``path`` (``ValueError`` naming the file and the bad entry)."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read the identity-policies file {path}: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object mapping principal ARNs to lists of policy documents")
        entries, seen = [], {}
        for arn, value in data.items():
            try:
                entries.append(_entry(arn, value))
            except ValueError as error:
                raise ValueError(f"{path}: entry {arn!r}: {error}") from None
            same = seen.setdefault(identity_key(arn), arn)
            if same != arn:  # role names are unique in an account, whatever their path
                raise ValueError(f"{path}: entry {arn!r} names the same identity as entry {same!r}")
        return cls(entries, path)


def _entry(arn: str, value) -> IdentityEntry:
    if not _IDENTITY.match(arn):
        raise ValueError("the key must be a role or user ARN (arn:aws:iam::<12 digits>:role/<name> or :user/<name>)")
    tags: dict = {}
    if isinstance(value, dict):
        unknown = set(value) - {"Policies", "Tags"}
        if unknown:
            raise ValueError(f"unknown member(s) {', '.join(sorted(unknown))} (an entry is a list of policy "
                             "documents, or {\"Policies\": [...], \"Tags\": {...}})")
        tags = value.get("Tags", {})
        value = value.get("Policies", [])
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise ValueError("Tags must be an object of string keys and string values")
    if not isinstance(value, list):
        raise ValueError("expected a list of policy documents")
    for index, document in enumerate(value, 1):
        try:
            _check_document(document)
        except ValueError as error:
            raise ValueError(f"policy {index}: {error}") from None
    return IdentityEntry(arn, tuple(value), tuple(tags.items()))


def _check_document(document) -> None:
    if not isinstance(document, dict):
        raise ValueError("a policy document must be a JSON object")
    if document.get("Version", "2012-10-17") not in ("2012-10-17", "2008-10-17"):
        raise ValueError(f"Version must be 2012-10-17 or 2008-10-17, not {document.get('Version')!r}")
    statements = document.get("Statement")
    if statements is None:
        raise ValueError("no Statement")
    for index, statement in enumerate(statements if isinstance(statements, list) else [statements], 1):
        try:
            _check_statement(statement)
        except ValueError as error:
            raise ValueError(f"statement {index}: {error}") from None


def _strings(value, what: str) -> list:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise ValueError(f"{what} must be a string or a list of strings")
    return items


def _check_statement(statement) -> None:
    if not isinstance(statement, dict):
        raise ValueError("a statement must be a JSON object")
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        raise ValueError(f"unknown element(s) {', '.join(sorted(unknown))}")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise ValueError(f"Effect must be Allow or Deny, not {statement.get('Effect')!r}")
    if "Principal" in statement or "NotPrincipal" in statement:
        raise ValueError("an identity-based policy must not name a Principal (it applies to the identity it is "
                         "attached to)")
    if ("Action" in statement) == ("NotAction" in statement):
        raise ValueError("needs exactly one of Action and NotAction")
    for action in _strings(statement.get("Action", statement.get("NotAction")), "Action"):
        if not _ACTION.match(action):
            raise ValueError(f"{action!r} is not an action (service:Action, wildcards allowed)")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise ValueError("needs exactly one of Resource and NotResource")
    for resource in _strings(statement.get("Resource", statement.get("NotResource")), "Resource"):
        if resource != "*" and not resource.startswith("arn:"):
            raise ValueError(f"Resource {resource} must be in ARN format or \"*\"")  # IAM's wording
    condition = statement.get("Condition", {})
    if not isinstance(condition, dict):
        raise ValueError("Condition must be an object of operators")
    for operator, block in condition.items():
        if not operator_known(operator):
            raise ValueError(f"unknown condition operator {operator!r}")
        if not isinstance(block, dict) or not block:
            raise ValueError(f"the {operator} condition must be an object of condition keys")
        for key, values in block.items():
            items = values if isinstance(values, list) else [values]
            if not all(isinstance(v, (str, bool, int, float)) for v in items):
                raise ValueError(f"the values of {operator} {key} must be strings, numbers or booleans")


def load_identities(settings, verifier) -> IdentityPolicies | None:
    """The identity-policies file of ``settings`` (None when off), with the startup warning that
    lists the credentials whose principal has no entry (a mistyped ARN denies everything)."""
    if not settings.identity_policies:
        return None
    identities = IdentityPolicies.load(settings.identity_policies)
    credentials = verifier.credentials.values() if verifier is not None else ()
    arns = {c.access_key: c.principal_arn or principal_arn(c.account, c.session_token) for c in credentials}
    missing = [f"{key} ({arn})" for key, arn in arns.items()
               if not arn.endswith(":root") and identities.lookup(arn) is None]
    if missing:
        logging.getLogger("ecr_emulator").warning(
            "identity policies (%s): no entry for the principal of %s: every call they sign is denied",
            settings.identity_policies, ", ".join(missing))
    return identities


def request_facts(request) -> dict[str, str]:
    """The condition keys a request itself carries: ``aws:SourceIp`` (the client's address) and
    ``aws:SecureTransport`` (whether it came over TLS)."""
    return {"aws:SourceIp": request.remote_addr or "",
            "aws:SecureTransport": "true" if request.scheme == "https" else "false"}
