"""The lifecycle policy grammar: policy text in, :class:`Rule` objects out, or ECR's error.

ECR checks a policy against a JSON schema first and answers schema failures with the
validator's own wording (``object has missing required properties (["countNumber"])``,
``instance value ("daily") not found in enum (...)``, and for a count type whose unit does not
fit, ``instance failed to match exactly one schema (matched 0 out of 2)``), all inside
``Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy
validation failure: ...'``. The rules the schema cannot express (unique priorities, ``any``
last, one untagged rule, tag lists that go with ``tagged``, storage classes that go with
count types and actions, at most four wildcards in a pattern, 90 days in the archive before
expiry) are checked next, in the same form.

The schema is declared (:data:`SCHEMA`) and checked by jsonschema; its failures are put in
ECR's wording by :func:`_schema_failure`. A policy can fail several ways at once and gets one
message: the first failure in one fixed order (:data:`_WHERE`: the order the emulator has
always checked in, so the answer to a given policy does not change).

Where the wording comes from. AWS's own answers, quoted in public reports:
``instance failed to match exactly one schema (matched 0 out of 2)`` (cloudposse/terraform-aws-ecr
#132 and #158), ``instance type (null) does not match any allowed primitive type (allowed:
["array"])`` (simple-container-com/api#34), both inside the prefix above. The other schema
messages are the same JSON schema validator's templates for the other keywords (required,
additionalProperties, enum, minimum, minItems, minLength). ``Could not map policyString into
LifecyclePolicy.`` is the text moto's tests assert (tests/test_ecr/test_ecr_policy_validation.py),
not seen in a real answer. The sentences of :func:`_check_rule` and :func:`_check_together` are
the emulator's own: ECR enforces these rules (its user guide states them) but its wording for
them is not public.

Grammar (the installed botocore model documents none of it; this follows ECR's user guide):
``selection.tagStatus`` tagged|untagged|any, ``tagPatternList`` (``*`` wildcards) /
``tagPrefixList``, ``storageClass`` standard|archive, ``countType`` imageCountMoreThan |
sinceImagePushed | sinceImagePulled | sinceImageTransitioned, ``countUnit`` days (the since*
types only), ``countNumber`` >= 1; ``action.type`` expire|transition, ``targetStorageClass``
archive (transition only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from jsonschema import Draft202012Validator, ValidationError

from ..errors import InvalidParameterException

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
AGE_TYPES = COUNT_TYPES[1:]
STORAGE_CLASSES = ("standard", "archive")
ACTIONS = ("expire", "transition")
MAX_WILDCARDS = 4
#: archived images stay at least this long before a policy may expire them
MIN_ARCHIVE_DAYS = 90


@dataclass(frozen=True)
class Rule:
    priority: int
    tag_status: str
    count_type: str
    count_number: int
    action: str
    description: str | None = None
    prefixes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    #: ``standard`` or ``archive``: the class of the images the rule selects
    storage_class: str = "standard"
    count_unit: str | None = None
    target_storage_class: str | None = None


def invalid_policy(detail: str) -> InvalidParameterException:
    return InvalidParameterException("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                                     f"'Lifecycle policy validation failure: {detail}'")


def parse(text: str) -> list[Rule]:
    """The rules of ``text`` in priority order; raises InvalidParameterException as ECR would.

    The document's own members first, then rule by rule its schema failures and
    :func:`_check_rule`, then :func:`_check_together` across the rules."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise invalid_policy("Could not map policyString into LifecyclePolicy.") from None
    failures: dict[int, list[ValidationError]] = {}
    for error in _VALIDATOR.iter_errors(document):
        where = tuple(error.absolute_path)
        failures.setdefault(where[1] if len(where) > 1 else -1, []).append(error)
    if -1 in failures:
        raise _schema_failure(min(failures[-1], key=_place))
    parsed = []
    for index, rule in enumerate(document["rules"]):
        if index in failures:
            raise _schema_failure(min(failures[index], key=_place))
        parsed.append(_rule(rule))
        _check_rule(parsed[-1])
    _check_together(parsed)
    return sorted(parsed, key=lambda rule: rule.priority)


# -- the schema ----------------------------------------------------------------------------

def _choice(*names: str | None) -> dict:
    """A string among ``names``; a ``None`` among them lets the member be null (taken as absent),
    and is never named in a message."""
    return {"type": ["string", "null"] if None in names else "string", "enum": list(names)}


_TAGS = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
#: the lifecycle policy's JSON schema (ECR's grammar; the messages name no ``null``, see _choice)
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["rules"],
    "additionalProperties": False,
    "properties": {"rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/rule"}}},
    "$defs": {
        "rule": {
            "type": "object",
            "required": ["action", "rulePriority", "selection"],
            "additionalProperties": False,
            "properties": {
                "rulePriority": {"type": "integer", "minimum": 1},
                "description": {"type": ["string", "null"]},
                "selection": {"$ref": "#/$defs/selection"},
                "action": {
                    "type": "object",
                    "required": ["type"],
                    "additionalProperties": False,
                    "properties": {"type": _choice(*ACTIONS), "targetStorageClass": _choice("archive", None)},
                },
            },
        },
        "selection": {
            "type": "object",
            "required": ["countNumber", "countType", "tagStatus"],
            "additionalProperties": False,
            "properties": {
                "tagStatus": _choice(*TAG_STATUSES),
                "tagPatternList": _TAGS,
                "tagPrefixList": _TAGS,
                "storageClass": _choice(*STORAGE_CLASSES),
                "countType": _choice(*COUNT_TYPES),
                "countUnit": _choice("days", None),
                "countNumber": {"type": "integer", "minimum": 1},
            },
            # a count rule has no unit, an age rule must have one ("failed to match exactly one")
            "oneOf": [
                {"properties": {"countType": {"const": COUNT_TYPES[0]}, "countUnit": {"type": "null"}}},
                {"properties": {"countType": {"enum": list(AGE_TYPES)}, "countUnit": {"type": "string"}},
                 "required": ["countUnit"]},
            ],
        },
    },
}
Draft202012Validator.check_schema(SCHEMA)
_VALIDATOR = Draft202012Validator(SCHEMA)

#: which failure is answered when there are several: the first by where it is (in a rule: its
#: own members, its selection's and action's members, with the count type/unit pairing between
#: the unit and the number; then list items in order), then by keyword
_WHERE = ((), ("rules",), ("rulePriority",), ("description",), ("selection",), ("action",),
          ("selection", "tagStatus"), ("selection", "countType"), ("selection", "countUnit"),
          ("selection", "oneOf"), ("selection", "countNumber"), ("selection", "storageClass"),
          ("selection", "tagPrefixList"), ("selection", "tagPatternList"),
          ("action", "type"), ("action", "targetStorageClass"))
_KEYWORDS = ("type", "required", "additionalProperties", "enum", "minimum", "minItems", "minLength", "oneOf")


def _place(error: ValidationError) -> tuple:
    path = tuple(error.absolute_path)
    inner = path[2:] if len(path) > 1 else path  # in a rule: from the rule
    where = inner[:2] + ("oneOf",) if error.validator == "oneOf" else inner[:2]
    return _WHERE.index(where), inner[2:], _KEYWORDS.index(error.validator)


def _schema_failure(error: ValidationError) -> InvalidParameterException:
    """ECR's message for ``error`` (the JSON schema validator's templates ECR answers with)."""
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        allowed = [name for name in ([value] if isinstance(value, str) else value) if name != "null"]
        return invalid_policy(f"instance type ({_json_type(instance)}) does not match any allowed primitive "
                              f"type (allowed: {_list(allowed)})")
    if keyword == "required":
        return invalid_policy(f"object has missing required properties "
                              f"({_list(name for name in value if name not in instance)})")
    if keyword == "additionalProperties":
        extra = sorted(set(instance) - set(error.schema["properties"]))
        return invalid_policy(f"object instance has properties which are not allowed by the schema: {_list(extra)}")
    if keyword == "enum":
        return invalid_policy(f"instance value ({json.dumps(instance)}) not found in enum (possible values: "
                              f"{_list(name for name in value if name is not None)})")
    if keyword == "minimum":
        return invalid_policy(f"numeric instance is lower than the required minimum (minimum: {value}, "
                              f"found: {instance})")
    if keyword == "minItems":
        return invalid_policy(f"array is too short: must have at least {value} elements but instance has "
                              f"{len(instance)} elements")
    if keyword == "minLength":
        return invalid_policy(f"string {json.dumps(instance)} is too short (length: {len(instance)}, "
                              f"required minimum: {value})")
    failed = {branch.relative_schema_path[0] for branch in error.context}  # oneOf
    return invalid_policy(f"instance failed to match exactly one schema "
                          f"(matched {len(value) - len(failed)} out of {len(value)})")


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _json_type(value) -> str:
    """The validator's name for the type of ``value`` (a float with no fraction is an integer)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    return _JSON_TYPES.get(type(value), "object")


def _list(names) -> str:
    return json.dumps(list(names), separators=(",", ":"))


def _rule(rule: dict) -> Rule:
    """A rule the schema passed, as a :class:`Rule`."""
    selection, action = rule["selection"], rule["action"]
    return Rule(priority=int(rule["rulePriority"]), tag_status=selection["tagStatus"],
                count_type=selection["countType"], count_number=int(selection["countNumber"]),
                action=action["type"], description=rule.get("description"),
                prefixes=tuple(selection.get("tagPrefixList", ())), patterns=tuple(selection.get("tagPatternList", ())),
                storage_class=selection.get("storageClass", "standard"), count_unit=selection.get("countUnit"),
                target_storage_class=action.get("targetStorageClass"))


# -- what the schema cannot say ---------------------------------------------------------------

def _check_rule(rule: Rule) -> None:
    where = f"rule with rulePriority {rule.priority}"
    if rule.tag_status == "tagged" and not (rule.prefixes or rule.patterns):
        raise invalid_policy(f"The {where} has tagStatus 'tagged' and must specify tagPrefixList or tagPatternList")
    if rule.tag_status != "tagged" and (rule.prefixes or rule.patterns):
        raise invalid_policy(f"The {where} has tagStatus '{rule.tag_status}' and must not specify "
                          "tagPrefixList or tagPatternList")
    for pattern in rule.patterns:
        if pattern.count("*") > MAX_WILDCARDS:
            raise invalid_policy(f"The tag pattern '{pattern}' of the {where} has more than {MAX_WILDCARDS} "
                              "wildcards (*)")
    if rule.count_type == "sinceImageTransitioned" and rule.storage_class != "archive":
        raise invalid_policy(f"The {where} has countType 'sinceImageTransitioned' and must specify "
                          "storageClass 'archive'")
    if rule.storage_class == "archive" and rule.count_type != "sinceImageTransitioned":
        raise invalid_policy(f"The {where} has storageClass 'archive', which requires countType "
                          "'sinceImageTransitioned'")
    if rule.action == "transition":
        if rule.target_storage_class is None:
            raise invalid_policy(f"The {where} has action type 'transition' and must specify targetStorageClass")
        if rule.storage_class == "archive":
            raise invalid_policy(f"The {where} selects images in the archive storage class, which can only be "
                              "expired, not transitioned")
    elif rule.target_storage_class is not None:
        raise invalid_policy(f"The {where} has action type '{rule.action}'; targetStorageClass can only be "
                          "specified with action type 'transition'")
    if rule.storage_class == "archive" and rule.action == "expire" and rule.count_number < MIN_ARCHIVE_DAYS:
        raise invalid_policy(f"The {where} expires archived images after {rule.count_number} days; archived "
                          f"images have a minimum storage duration of {MIN_ARCHIVE_DAYS} days")


def _check_together(rules: list[Rule]) -> None:
    """Unique priorities; per storage class (the archive rules never see the images the
    standard ones see, so an archive-then-expire policy has one ``any`` rule per class): the
    ``any`` rule last, and one rule at most for untagged images."""
    seen: set[int] = set()
    for rule in rules:
        if rule.priority in seen:
            raise invalid_policy(f"The rulePriority {rule.priority} is used by more than one rule; "
                              "every rule must have a unique rulePriority")
        seen.add(rule.priority)
    for storage_class in STORAGE_CLASSES:
        group = [rule for rule in rules if rule.storage_class == storage_class]
        if not group:
            continue
        highest = max(rule.priority for rule in group)
        for rule in group:
            if rule.tag_status == "any" and rule.priority != highest:
                raise invalid_policy(f"The rule with rulePriority {rule.priority} has tagStatus 'any' and must "
                                  f"have the highest rulePriority of the rules for the {storage_class} "
                                  "storage class")
        untagged = sorted(rule.priority for rule in group if rule.tag_status == "untagged")
        if len(untagged) > 1:
            raise invalid_policy(f"Only one rule can select untagged images; rules with rulePriority "
                              f"{untagged} have tagStatus 'untagged'")
