"""The lifecycle policy grammar: what parses, and the message for what does not (ECR's where it
is known, ours where it is not: the test names say which)."""

from __future__ import annotations

import json

import pytest

from ecr_emulator.errors import InvalidParameterException
from ecr_emulator.lifecycle.policy import parse

PREFIX = ("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
          "'Lifecycle policy validation failure: ")


def _rule(priority=1, selection=None, action=None, **extra):
    rule = {"rulePriority": priority,
            "selection": selection or {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
            "action": action or {"type": "expire"}, **extra}
    return rule


def _error(document) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(InvalidParameterException) as info:
        parse(text)
    message = info.value.message
    assert message.startswith(PREFIX) and message.endswith("'")
    return message[len(PREFIX):-1]


def test_a_full_policy_parses_in_priority_order():
    rules = parse(json.dumps({"rules": [
        _rule(10, {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 30}),
        _rule(1, {"tagStatus": "tagged", "tagPatternList": ["prod*", "*-rc*"], "countType": "imageCountMoreThan",
                  "countNumber": 5}, description="keep five"),
        _rule(2, {"tagStatus": "tagged", "tagPrefixList": ["feature"], "storageClass": "standard",
                  "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 14},
              {"type": "transition", "targetStorageClass": "archive"}),
        _rule(3, {"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned",
                  "countUnit": "days", "countNumber": 90}),
    ]}))
    assert [r.priority for r in rules] == [1, 2, 3, 10]
    assert rules[0].patterns == ("prod*", "*-rc*") and rules[0].description == "keep five"
    assert rules[1].action == "transition" and rules[1].target_storage_class == "archive"
    assert rules[2].storage_class == "archive"


@pytest.mark.parametrize("document, detail", [
    ("not json", "Could not map policyString into LifecyclePolicy."),
    ("[1, 2]", 'instance type (array) does not match any allowed primitive type (allowed: ["object"])'),
    ({}, 'object has missing required properties (["rules"])'),
    ({"rules": []}, "array is too short: must have at least 1 elements but instance has 0 elements"),
    ({"rules": {}}, 'instance type (object) does not match any allowed primitive type (allowed: ["array"])'),
    ({"rules": [{}]}, 'object has missing required properties (["action","rulePriority","selection"])'),
    ({"rules": [_rule(extra=1)]}, 'object instance has properties which are not allowed by the schema: ["extra"]'),
    ({"rules": [_rule(0)]}, "numeric instance is lower than the required minimum (minimum: 1, found: 0)"),
    ({"rules": [_rule("1")]}, 'instance type (string) does not match any allowed primitive type (allowed: ["integer"])'),
    ({"rules": [_rule(selection={"tagStatus": "untagged", "countType": "imageCountMoreThan"})]},
     'object has missing required properties (["countNumber"])'),
    ({"rules": [_rule(selection={"tagStatus": "old", "countType": "imageCountMoreThan", "countNumber": 1})]},
     'instance value ("old") not found in enum (possible values: ["tagged","untagged","any"])'),
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "newest", "countNumber": 1})]},
     'instance value ("newest") not found in enum (possible values: ["imageCountMoreThan","sinceImagePushed",'
     '"sinceImagePulled","sinceImageTransitioned"])'),
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": "days",
                                 "countNumber": 1})]},
     "instance failed to match exactly one schema (matched 0 out of 2)"),
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 1})]},
     "instance failed to match exactly one schema (matched 0 out of 2)"),
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "hours",
                                 "countNumber": 1})]},
     'instance value ("hours") not found in enum (possible values: ["days"])'),
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 0})]},
     "numeric instance is lower than the required minimum (minimum: 1, found: 0)"),
    ({"rules": [_rule(action={"type": "delete"})]},
     'instance value ("delete") not found in enum (possible values: ["expire","transition"])'),
    ({"rules": [_rule(action={"type": "transition", "targetStorageClass": "glacier"})]},
     'instance value ("glacier") not found in enum (possible values: ["archive"])'),
])
def test_a_bad_policy_gets_the_schema_validators_message(document, detail):
    """The JSON schema validator's wording ECR answers (sources: ecr_emulator/lifecycle/policy.py)."""
    assert _error(document) == detail


@pytest.mark.parametrize("document, detail", [
    ({"rules": [_rule(selection={"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1})]},
     "The rule with rulePriority 1 has tagStatus 'tagged' and must specify tagPrefixList or tagPatternList"),
    ({"rules": [_rule(selection={"tagStatus": "untagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan",
                                 "countNumber": 1})]},
     "The rule with rulePriority 1 has tagStatus 'untagged' and must not specify tagPrefixList or tagPatternList"),
    ({"rules": [_rule(selection={"tagStatus": "tagged", "tagPatternList": ["*a*b*c*d*e"],
                                 "countType": "imageCountMoreThan", "countNumber": 1})]},
     "The tag pattern '*a*b*c*d*e' of the rule with rulePriority 1 has more than 4 wildcards (*)"),
    ({"rules": [_rule(1), _rule(1, {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})]},
     "The rulePriority 1 is used by more than one rule; every rule must have a unique rulePriority"),
    ({"rules": [_rule(1, {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}), _rule(2)]},
     "The rule with rulePriority 1 has tagStatus 'any' and must have the highest rulePriority of the rules for "
     "the standard storage class"),
    ({"rules": [_rule(1), _rule(2)]},
     "Only one rule can select untagged images; rules with rulePriority [1, 2] have tagStatus 'untagged'"),
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "sinceImageTransitioned", "countUnit": "days",
                                 "countNumber": 90})]},
     "The rule with rulePriority 1 has countType 'sinceImageTransitioned' and must specify storageClass 'archive'"),
    ({"rules": [_rule(selection={"tagStatus": "any", "storageClass": "archive", "countType": "sinceImagePushed",
                                 "countUnit": "days", "countNumber": 90})]},
     "The rule with rulePriority 1 has storageClass 'archive', which requires countType 'sinceImageTransitioned'"),
    ({"rules": [_rule(action={"type": "transition"})]},
     "The rule with rulePriority 1 has action type 'transition' and must specify targetStorageClass"),
    ({"rules": [_rule(action={"type": "expire", "targetStorageClass": "archive"})]},
     "The rule with rulePriority 1 has action type 'expire'; targetStorageClass can only be specified with action "
     "type 'transition'"),
    ({"rules": [_rule(selection={"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned",
                                 "countUnit": "days", "countNumber": 90},
                      action={"type": "transition", "targetStorageClass": "archive"})]},
     "The rule with rulePriority 1 selects images in the archive storage class, which can only be expired, not "
     "transitioned"),
    ({"rules": [_rule(selection={"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned",
                                 "countUnit": "days", "countNumber": 30})]},
     "The rule with rulePriority 1 expires archived images after 30 days; archived images have a minimum "
     "storage duration of 90 days"),
])
def test_a_bad_policy_rule_gets_a_message_of_ours(document, detail):
    """ECR refuses these rules (its user guide states them), but its wording is not public: these
    sentences are the emulator's own."""
    assert _error(document) == detail


_UNTAGGED = {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}


@pytest.mark.parametrize("document, detail", [
    # the document's own members before its rules
    ({"rules": {}, "x": 1}, 'object instance has properties which are not allowed by the schema: ["x"]'),
    # every missing member named, before the unknown ones
    ({"rules": [{"rulePriority": 1, "extra": 1}]}, 'object has missing required properties (["action","selection"])'),
    # the action's members are checked before the selection's values
    ({"rules": [_rule(selection={**_UNTAGGED, "tagStatus": "old"}, action={"type": "expire", "x": 1})]},
     'object instance has properties which are not allowed by the schema: ["x"]'),
    # a bad unit before the count type/unit pairing
    ({"rules": [_rule(selection={**_UNTAGGED, "tagStatus": "any", "countUnit": "hours"})]},
     'instance value ("hours") not found in enum (possible values: ["days"])'),
    # the pairing before the number
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 0})]},
     "instance failed to match exactly one schema (matched 0 out of 2)"),
    # the type before the enum; a null that may stand for an absent member is never named
    ({"rules": [_rule(selection={**_UNTAGGED, "countType": 5})]},
     'instance type (integer) does not match any allowed primitive type (allowed: ["string"])'),
    ({"rules": [_rule(selection={"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": 5,
                                 "countNumber": 1})]},
     'instance type (integer) does not match any allowed primitive type (allowed: ["string"])'),
    ({"rules": [_rule(selection={**_UNTAGGED, "storageClass": None})]},
     'instance type (null) does not match any allowed primitive type (allowed: ["string"])'),
    ({"rules": [_rule(description=5)]},
     'instance type (integer) does not match any allowed primitive type (allowed: ["string"])'),
    # tag lists: the prefix list first, each list before its items, the items in order
    ({"rules": [_rule(selection={**_UNTAGGED, "tagStatus": "tagged", "tagPatternList": ["v", ""],
                                 "tagPrefixList": []})]},
     "array is too short: must have at least 1 elements but instance has 0 elements"),
    ({"rules": [_rule(selection={**_UNTAGGED, "tagStatus": "tagged", "tagPrefixList": ["v", 1, ""]})]},
     'instance type (integer) does not match any allowed primitive type (allowed: ["string"])'),
    ({"rules": [_rule(selection={**_UNTAGGED, "tagStatus": "tagged", "tagPatternList": ["", 1]})]},
     'string "" is too short (length: 0, required minimum: 1)'),
    # a float with no fraction is an integer (and is answered as written)
    ({"rules": [_rule(0.0)]}, "numeric instance is lower than the required minimum (minimum: 1, found: 0.0)"),
    # rule by rule: the first rule's own checks before the second rule's schema
    ({"rules": [_rule(selection={**_UNTAGGED, "tagStatus": "tagged"}), _rule(2, action={"type": "delete"})]},
     "The rule with rulePriority 1 has tagStatus 'tagged' and must specify tagPrefixList or tagPatternList"),
])
def test_of_several_failures_the_first_in_ecrs_order_is_answered(document, detail):
    assert _error(document) == detail


def test_a_null_optional_member_is_absent_and_whole_floats_are_integers():
    [rule] = parse(json.dumps({"rules": [_rule(1.0, {**_UNTAGGED, "countUnit": None, "countNumber": 2.0},
                                               {"type": "expire", "targetStorageClass": None}, description=None)]}))
    assert (rule.priority, rule.count_number, rule.count_unit, rule.target_storage_class, rule.description) == \
        (1, 2, None, None, None)
    assert type(rule.priority) is int and type(rule.count_number) is int
