"""Validation of repository and registry policy documents, as ECR validates them.

ECR accepts IAM-style resource policies: a JSON object with a ``Statement`` (one or a list),
each with ``Effect``, ``Principal``/``NotPrincipal`` and ``Action``/``NotAction`` naming
actions of the service. Anything else is refused with ``InvalidParameterException``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from ..awsjson import load_service
from .validation import invalid

VERSIONS = ("2012-10-17", "2008-10-17")
STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                  "Resource", "NotResource", "Condition"}
#: IAM actions that are not API operations
EXTRA_ACTIONS = {"ecr": {"BatchImportUpstreamImage", "ReplicateImage"}, "ecr-public": set()}


@lru_cache(maxsize=None)
def _actions(service: str) -> frozenset[str]:
    names = set(load_service(service).operation_names) | EXTRA_ACTIONS[service]
    return frozenset(n.lower() for n in names)


def _action_ok(action, service: str) -> bool:
    if not isinstance(action, str):
        return False
    if action == "*":
        return True
    prefix, _, name = action.partition(":")
    if prefix.lower() != service or not name:
        return False
    if "*" in name or "?" in name:
        pattern = re.compile(re.escape(name.lower()).replace(r"\*", ".*").replace(r"\?", "."))
        return any(pattern.fullmatch(a) for a in _actions(service))
    return name.lower() in _actions(service)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def validate_policy(text: str, service: str, what: str) -> str:
    """Return ``text`` if it is a valid ``what`` ("repository"/"registry") policy of ``service``."""
    # ECR's text for a repository policy ("Invalid parameter at 'PolicyText' failed to satisfy
    # constraint: 'Invalid repository policy provided'", quoted in terraform-aws-modules/
    # terraform-aws-ecr#19); the registry policy's is the same sentence with "registry" (not verified)
    error = invalid("PolicyText", f"Invalid {what} policy provided")
    try:
        doc = json.loads(text)
    except ValueError:
        raise error from None
    if not isinstance(doc, dict) or set(doc) - {"Version", "Id", "Statement"}:
        raise error
    if "Version" in doc and doc["Version"] not in VERSIONS:
        raise error
    statements = doc.get("Statement")
    if not statements:
        raise error
    for statement in _as_list(statements):
        if not isinstance(statement, dict) or set(statement) - STATEMENT_KEYS:
            raise error
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise error
        if ("Principal" in statement) == ("NotPrincipal" in statement):
            raise error
        if ("Action" in statement) == ("NotAction" in statement):
            raise error
        actions = _as_list(statement.get("Action", statement.get("NotAction")))
        if not actions or not all(_action_ok(a, service) for a in actions):
            raise error
        if "Condition" in statement and not isinstance(statement["Condition"], dict):
            raise error
    return text
