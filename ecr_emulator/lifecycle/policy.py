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

from ..errors import InvalidParameterException

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
AGE_TYPES = COUNT_TYPES[1:]
STORAGE_CLASSES = ("standard", "archive")
ACTIONS = ("expire", "transition")
MAX_WILDCARDS = 4
#: archived images stay at least this long before a policy may expire them
MIN_ARCHIVE_DAYS = 90

_TOP = {"rules"}
_RULE = {"rulePriority", "description", "selection", "action"}
_RULE_REQUIRED = ("action", "rulePriority", "selection")
_SELECTION = {"tagStatus", "tagPatternList", "tagPrefixList", "storageClass", "countType", "countUnit",
              "countNumber"}
_SELECTION_REQUIRED = ("countNumber", "countType", "tagStatus")
_ACTION = {"type", "targetStorageClass"}


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
    """The rules of ``text`` in priority order; raises InvalidParameterException as ECR would."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise invalid_policy("Could not map policyString into LifecyclePolicy.") from None
    _object(document, _TOP, ("rules",))
    rules = document["rules"]
    _type(rules, "array")
    if not rules:
        raise invalid_policy("array is too short: must have at least 1 elements but instance has 0 elements")
    parsed = [_rule(rule) for rule in rules]
    _check_together(parsed)
    return sorted(parsed, key=lambda rule: rule.priority)


# -- the schema ----------------------------------------------------------------------------

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    return _JSON_TYPES.get(type(value), "object")


def _type(value, wanted: str) -> None:
    if _json_type(value) != wanted:
        raise invalid_policy(f"instance type ({_json_type(value)}) does not match any allowed primitive type "
                          f'(allowed: ["{wanted}"])')


def _object(value, allowed: set[str], required: tuple[str, ...]) -> None:
    _type(value, "object")
    missing = [key for key in required if key not in value]
    if missing:
        raise invalid_policy(f"object has missing required properties ({_list(missing)})")
    extra = sorted(set(value) - allowed)
    if extra:
        raise invalid_policy(f"object instance has properties which are not allowed by the schema: {_list(extra)}")


def _list(names) -> str:
    return json.dumps(list(names), separators=(",", ":"))


def _enum(value, allowed: tuple[str, ...]) -> str:
    _type(value, "string")
    if value not in allowed:
        raise invalid_policy(f"instance value ({json.dumps(value)}) not found in enum (possible values: {_list(allowed)})")
    return value


def _integer(value, minimum: int) -> int:
    _type(value, "integer")
    if value < minimum:
        raise invalid_policy(f"numeric instance is lower than the required minimum (minimum: {minimum}, found: {value})")
    return int(value)


def _strings(value) -> tuple[str, ...]:
    _type(value, "array")
    if not value:
        raise invalid_policy("array is too short: must have at least 1 elements but instance has 0 elements")
    for item in value:
        _type(item, "string")
        if not item:
            raise invalid_policy("string \"\" is too short (length: 0, required minimum: 1)")
    return tuple(value)


def _rule(rule) -> Rule:
    _object(rule, _RULE, _RULE_REQUIRED)
    priority = _integer(rule["rulePriority"], 1)
    description = rule.get("description")
    if description is not None:
        _type(description, "string")
    selection, action = rule["selection"], rule["action"]
    _object(selection, _SELECTION, _SELECTION_REQUIRED)
    _object(action, _ACTION, ("type",))
    tag_status = _enum(selection["tagStatus"], TAG_STATUSES)
    count_type = _enum(selection["countType"], COUNT_TYPES)
    count_unit = selection.get("countUnit")
    if count_unit is not None:
        _enum(count_unit, ("days",))
    # the schema's oneOf: a count rule has no unit, an age rule must have one
    if (count_type in AGE_TYPES) != (count_unit is not None):
        raise invalid_policy("instance failed to match exactly one schema (matched 0 out of 2)")
    count_number = _integer(selection["countNumber"], 1)
    storage_class = _enum(selection.get("storageClass", "standard"), STORAGE_CLASSES)
    prefixes = _strings(selection["tagPrefixList"]) if "tagPrefixList" in selection else ()
    patterns = _strings(selection["tagPatternList"]) if "tagPatternList" in selection else ()
    kind = _enum(action["type"], ACTIONS)
    target = action.get("targetStorageClass")
    if target is not None:
        _enum(target, ("archive",))
    parsed = Rule(priority=priority, tag_status=tag_status, count_type=count_type, count_number=count_number,
                  action=kind, description=description, prefixes=prefixes, patterns=patterns,
                  storage_class=storage_class, count_unit=count_unit, target_storage_class=target)
    _check_rule(parsed)
    return parsed


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
